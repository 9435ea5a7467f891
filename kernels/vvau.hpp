// Vector-vector-activation unit (FINN op VVAU): depthwise convolution, every channel c has its own
// K weights: out[c] = act(sum_k in[k][c] * W[c][k]).
//
// The input comes from a depthwise sliding window with SIMD = PE: per output pixel, CF = C/PE channel
// folds of K window words of PE channels. weights[pe][cf * K + k] = W[cf * PE + pe][k];
// thresholds[pe][cf][t] as in mvau.hpp. One word per cycle: CF * K cycles per pixel.
#pragma once
#include "thresholding.hpp"

namespace dfk {

template <unsigned C, unsigned PE, unsigned K, unsigned NT, int ACT_VAL, typename TI, typename TW, typename TA,
          typename TO, typename WMem, typename TMem>
void vvau(hls::stream<ap_uint<PE * TI::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
          const WMem weights[PE][(C / PE) * K], const TMem thresholds[PE][C / PE][NT > 0 ? NT : 1],
          unsigned num_pixels) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    constexpr unsigned CF = C / PE;
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    TA acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    for (unsigned p = 0; p < num_pixels; p++) {
        for (unsigned cf = 0; cf < CF; cf++) {
            for (unsigned k = 0; k < K; k++) {
#pragma HLS PIPELINE II = 1
                DFK_CYCLE();
                const ap_uint<PE * TI::width> word = in.read();
                for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                    const TA product = get_lane<TI>(word, pe) * TW(weights[pe][cf * K + k]);
                    acc[pe] = k == 0 ? product : TA(acc[pe] + product);
                }
                if (k == K - 1) {
                    ap_uint<PE * TO::width> result;
                    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                        set_lane(result, pe, NT > 0 ? TO(activate<NT, ACT_VAL>(acc[pe], thresholds[pe][cf])) : TO(acc[pe]));
                    }
                    out.write(result);
                }
            }
        }
    }
}

}  // namespace dfk
