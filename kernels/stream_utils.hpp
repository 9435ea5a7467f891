// Packing of parallel lanes into stream words, shared by all kernels.
//
// A stream word carries N lanes of one element type; lane i occupies bits [i*B, (i+1)*B) of the
// word (lane 0 in the least significant bits), as in FINN's stream packing.
#pragma once
#include <ap_int.h>
#include <hls_stream.h>
#include <cstdint>

// Two ways to run the kernels in C simulation. By default (DFK_FAST_CSIM is 1) some kernels take
// native-integer shortcuts that compute the same values as their synthesizable loops, much faster.
// Define DFK_SYNTH_CSIM to simulate the synthesizable loops themselves: the code Vitis HLS synthesizes.
#if !defined(__SYNTHESIS__) && !defined(DFK_SYNTH_CSIM)
#define DFK_FAST_CSIM 1
#else
#define DFK_FAST_CSIM 0
#endif

// Cycle counting for tests (with DFK_SYNTH_CSIM): DFK_CYCLE() marks one iteration of an II=1
// pipelined loop, i.e. one clock cycle of the synthesized kernel.
#ifdef DFK_COUNT_CYCLES
namespace dfk {
inline unsigned long long& cycle_counter() {
    static unsigned long long cycles = 0;
    return cycles;
}
}  // namespace dfk
#define DFK_CYCLE() (++dfk::cycle_counter())
#else
#define DFK_CYCLE()
#endif

namespace dfk {

// Signedness of an ap_int/ap_uint element type.
template <typename T> struct is_signed_ap;
template <int W> struct is_signed_ap<ap_int<W>> { static const bool value = true; };
template <int W> struct is_signed_ap<ap_uint<W>> { static const bool value = false; };

// Lane `i` of `word`, reinterpreted as element type T (ap_int<B> or ap_uint<B>).
template <typename T, int W>
inline T get_lane(const ap_uint<W>& word, unsigned i) {
#pragma HLS INLINE
    T value;
#if DFK_FAST_CSIM
    if (W <= 64) return T(word.to_uint64() >> (i * T::width));   // cheaper than range()
#endif
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

#if DFK_FAST_CSIM
// C simulation only: convert whole words between packed lanes and native integers. Slicing an
// ap_uint lane by lane costs more than the arithmetic; these touch each 64-bit chunk once.

namespace dfk {

// Chunk c (bits 64c..64c+63) of a word. A wide ap_uint keeps its value in 64-bit words
// (its ap_private V, get_pVal), much cheaper to reach than by slicing with range().
template <int W, bool WIDE = (W > 64)> struct chunk_access {
    static uint64_t get(const ap_uint<W>& word, int) { return word.to_uint64(); }
    static void set(ap_uint<W>& word, int, uint64_t value) { word = value; }
};
template <int W> struct chunk_access<W, true> {
    static uint64_t get(const ap_uint<W>& word, int c) { return word.V.get_pVal(c); }
    static void set(ap_uint<W>& word, int c, uint64_t value) { word.V.get_pVal(c) = value; }
};

// The 64-bit chunks of a word, lowest first, plus a zero chunk.
template <int W>
inline void word_chunks(const ap_uint<W>& word, uint64_t chunks[(W + 63) / 64 + 1]) {
    for (int c = 0; c * 64 < W; c++) chunks[c] = chunk_access<W>::get(word, c);
    chunks[(W + 63) / 64] = 0;
}

// The word whose 64-bit chunks, lowest first, are `chunks` (bits above W must be zero).
template <int W>
inline ap_uint<W> chunks_word(const uint64_t* chunks) {
    ap_uint<W> word;
    for (int c = 0; c * 64 < W; c++) chunk_access<W>::set(word, c, chunks[c]);
    return word;
}

// The LANES lanes of BITS bits each in `word`, sign-extended if SIGNED, into out[0..LANES).
template <unsigned LANES, unsigned BITS, bool SIGNED, typename N, int W>
inline void unpack(const ap_uint<W>& word, N* out) {
    static_assert(BITS <= 64, "lanes wider than 64 bits");
    uint64_t chunks[(W + 63) / 64 + 1];
    word_chunks(word, chunks);
    const uint64_t mask = BITS == 64 ? ~uint64_t(0) : (uint64_t(1) << BITS) - 1;
    for (unsigned i = 0; i < LANES; i++) {
        const unsigned bit = i * BITS, c = bit / 64, shift = bit % 64;
        uint64_t raw = chunks[c] >> shift;
        if (shift + BITS > 64) raw |= chunks[c + 1] << (64 - shift);
        raw &= mask;
        if (SIGNED && BITS < 64 && (raw >> (BITS - 1)) & 1) raw |= ~mask;
        out[i] = N(int64_t(raw));
    }
}

// Pack LANES native values (two's complement, truncated to BITS) into one word.
template <unsigned LANES, unsigned BITS, int W, typename N>
inline ap_uint<W> pack(const N* values) {
    static_assert(LANES * BITS <= W, "lanes do not fit the word");
    constexpr int CHUNKS = (W + 63) / 64;
    uint64_t chunks[CHUNKS + 1] = {};
    const uint64_t mask = BITS == 64 ? ~uint64_t(0) : (uint64_t(1) << BITS) - 1;
    for (unsigned i = 0; i < LANES; i++) {
        const unsigned bit = i * BITS, c = bit / 64, shift = bit % 64;
        const uint64_t raw = uint64_t(int64_t(values[i])) & mask;
        chunks[c] |= raw << shift;
        if (shift + BITS > 64) chunks[c + 1] |= raw >> (64 - shift);
    }
    return chunks_word<W>(chunks);
}

}  // namespace dfk
#endif
