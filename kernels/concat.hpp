// Channel concatenation of several streams (FINN op StreamingConcat): per pixel, the channels of
// input 0, then of input 1, ... SIMD channels per word on every input and on the output; each
// element is widened to the output type. One loop over the output words: each cycle reads the word
// of the input whose channels come next and writes it, so a frame takes PIXELS * (CF_0 + CF_1 + ...)
// cycles, FINN's get_exp_cycles.
//
// The configuration (CFG) holds SIMD, PIXELS, out_t and `inputs`, a concat_inputs<concat_input<elem_t,
// CF>, ...> list of each input's element type and channel folds (channels / SIMD), in input order.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <typename T, unsigned CF> struct concat_input {
    typedef T elem_t;
    static const unsigned folds = CF;
};
template <typename... Inputs> struct concat_inputs {};

// Channel folds of a pixel over all inputs.
template <typename List> struct concat_folds;
template <> struct concat_folds<concat_inputs<>> { static const unsigned value = 0; };
template <typename First, typename... Rest> struct concat_folds<concat_inputs<First, Rest...>> {
    static const unsigned value = First::folds + concat_folds<concat_inputs<Rest...>>::value;
};

// Reads word `j` of a pixel from the input it belongs to (inputs from the one whose first word is
// OFFSET), widened into `result`.
template <unsigned SIMD, typename TO, unsigned OFFSET>
inline void concat_take(concat_inputs<>, unsigned, ap_uint<SIMD * TO::width>&) {}

template <unsigned SIMD, typename TO, unsigned OFFSET, typename First, typename... Rest, typename Stream,
          typename... Streams>
inline void concat_take(concat_inputs<First, Rest...>, unsigned j, ap_uint<SIMD * TO::width>& result, Stream& in,
                        Streams&... ins) {
#pragma HLS INLINE
    typedef typename First::elem_t TI;
    if (j >= OFFSET && j < OFFSET + First::folds) {
        const ap_uint<SIMD * TI::width> word = in.read();
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            set_lane(result, s, TO(get_lane<TI>(word, s)));
        }
    }
    concat_take<SIMD, TO, OFFSET + First::folds>(concat_inputs<Rest...>(), j, result, ins...);
}

// The input streams come last: concat<CFG>(out, frames, in0, in1, ...).
template <typename CFG, typename... Streams>
void concat(hls::stream<ap_uint<CFG::SIMD * CFG::out_t::width>>& out, unsigned frames, Streams&... ins) {
    constexpr unsigned WORDS = concat_folds<typename CFG::inputs>::value;     // per pixel
    unsigned j = 0;
    for (unsigned i = 0; i < frames * CFG::PIXELS * WORDS; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::PIXELS * WORDS max = CFG::PIXELS * WORDS
        DFK_CYCLE();
        ap_uint<CFG::SIMD * CFG::out_t::width> result;
        concat_take<CFG::SIMD, typename CFG::out_t, 0>(typename CFG::inputs(), j, result, ins...);
        out.write(result);
        j = j == WORDS - 1 ? 0 : j + 1;
    }
}

}  // namespace dfk
