// Vector-vector-activation unit (FINN op VVAU): depthwise convolution, every channel c has its own
// K weights: out[c] = act(sum_k in[k][c] * W[c][k]).
//
// The input comes from a depthwise sliding window whose SIMD equals this PE: per output pixel,
// CF = C/PE channel folds of K window positions of PE channels. A word carries SIMD positions of
// PE channels, lane s*PE + pe = position sf*SIMD + s of channel cf*PE + pe (FINN's VVAU layout: a
// parallel window's word, or SIMD serial window words packed by a width converter). So a pixel
// takes CF * SF cycles (SF = K/SIMD), FINN's get_exp_cycles.
// weights[pe][cf * SF + sf][s] = W[cf * PE + pe][sf * SIMD + s]; thresholds[pe][cf][t] as in mvau.hpp.
#pragma once
#include "thresholding.hpp"

namespace dfk {

template <unsigned C, unsigned PE, unsigned SIMD, unsigned K, unsigned NT, int ACT_VAL, typename TI, typename TW,
          typename TA, typename TO, typename WMem, typename TMem>
void vvau(hls::stream<ap_uint<SIMD * PE * TI::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
          const WMem weights[PE][(C / PE) * (K / SIMD)][SIMD], const TMem thresholds[PE][C / PE][NT > 0 ? NT : 1],
          unsigned num_pixels) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    static_assert(K % SIMD == 0, "SIMD must divide the kernel size");
    constexpr unsigned CF = C / PE, SF = K / SIMD;
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    TA acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    for (unsigned p = 0; p < num_pixels; p++) {
        for (unsigned cf = 0; cf < CF; cf++) {
            for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
                DFK_CYCLE();
                const ap_uint<SIMD * PE * TI::width> word = in.read();
                for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                    TA sum = sf == 0 ? TA(0) : acc[pe];
                    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                        sum += get_lane<TI>(word, s * PE + pe) * TW(weights[pe][cf * SF + sf][s]);
                    }
                    acc[pe] = sum;
                }
                if (sf == SF - 1) {
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
