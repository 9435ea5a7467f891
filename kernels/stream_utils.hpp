// Packing of parallel lanes into stream words, shared by all kernels.
//
// A stream word carries N lanes of one element type; lane i occupies bits [i*B, (i+1)*B) of the
// word (lane 0 in the least significant bits), as in FINN's stream packing.
#pragma once
#include <ap_int.h>
#include <hls_stream.h>

namespace dfk {

// Lane `i` of `word`, reinterpreted as element type T (ap_int<B> or ap_uint<B>).
template <typename T, int W>
inline T get_lane(const ap_uint<W>& word, unsigned i) {
#pragma HLS INLINE
    T value;
    value.range(T::width - 1, 0) = word.range((i + 1) * T::width - 1, i * T::width);
    return value;
}

// Store `value` (any ap type of width B) into lane `i` of `word`.
template <typename T, int W>
inline void set_lane(ap_uint<W>& word, unsigned i, const T& value) {
#pragma HLS INLINE
    word.range((i + 1) * T::width - 1, i * T::width) = value.range(T::width - 1, 0);
}

}  // namespace dfk
