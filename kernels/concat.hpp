// Channel concatenation of several streams (FINN op StreamingConcat): per pixel, the channels of
// input 0, then of input 1, ... SIMD channels per word on every input and on the output; each
// element is widened to the output type.
//
// The layer moves one input's part of a pixel at a time: for each pixel, concat_part(in0, out),
// concat_part(in1, out), ... (the number of inputs varies, so the pixel loop lives in the layer).
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned SIMD, unsigned CF, typename TI, typename TO>
void concat_part(hls::stream<ap_uint<SIMD * TI::width>>& in, hls::stream<ap_uint<SIMD * TO::width>>& out) {
#pragma HLS INLINE
    for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
        DFK_CYCLE();
        const ap_uint<SIMD * TI::width> word = in.read();
        ap_uint<SIMD * TO::width> result;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            set_lane(result, s, TO(get_lane<TI>(word, s)));
        }
        out.write(result);
    }
}

}  // namespace dfk
