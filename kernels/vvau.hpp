// Vector-vector-activation unit (FINN op VVAU): depthwise convolution, every channel c has its own
// K weights: out[c] = act(sum_k in[k][c] * W[c][k]).
//
// The input comes from a depthwise sliding window whose SIMD equals this PE: per output pixel,
// CF = C/PE channel folds of K window positions of PE channels. A word carries SIMD positions of
// PE channels, lane s*PE + pe = position sf*SIMD + s of channel cf*PE + pe (FINN's VVAU layout: a
// parallel window's word, or SIMD serial window words packed by a width converter). So a pixel
// takes CF * SF cycles (SF = K/SIMD), FINN's get_exp_cycles.
// weights[pe][cf * SF + sf][s] = W[cf * PE + pe][sf * SIMD + s], reshaped into one memory of CF * SF
// words of PE * SIMD weights (FINN's estimate); thresholds[pe][cf][t] as in mvau.hpp.
// The configuration (CFG) holds C, PE, SIMD, K, NT, ACT_VAL, PIXELS (output pixels per frame), the
// element types in_t, weight_t, acc_t, out_t and MUL, the multiplier (FINN's resType).
#pragma once
#include "multiply.hpp"
#include "thresholding.hpp"

namespace dfk {

template <typename CFG, typename WMem, typename TMem>
void vvau(hls::stream<ap_uint<CFG::SIMD * CFG::PE * CFG::in_t::width>>& in,
          hls::stream<ap_uint<CFG::PE * CFG::out_t::width>>& out,
          const WMem weights[CFG::PE][(CFG::C / CFG::PE) * (CFG::K / CFG::SIMD)][CFG::SIMD],
          const TMem thresholds[CFG::PE][CFG::C / CFG::PE][CFG::NT > 0 ? CFG::NT : 1], unsigned frames) {
    typedef typename CFG::in_t TI;
    typedef typename CFG::weight_t TW;
    typedef typename CFG::acc_t TA;
    typedef typename CFG::out_t TO;
    constexpr unsigned PE = CFG::PE, SIMD = CFG::SIMD, CF = CFG::C / PE, SF = CFG::K / SIMD;
    static_assert(CFG::C % PE == 0, "PE must divide the channel count");
    static_assert(CFG::K % SIMD == 0, "SIMD must divide the kernel size");
#pragma HLS ARRAY_RESHAPE variable = weights complete dim = 1
#pragma HLS ARRAY_RESHAPE variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    TA acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    unsigned cf = 0, sf = 0, address = 0;     // address = cf * SF + sf, the weight word
    for (unsigned i = 0; i < frames * CFG::PIXELS * CF * SF; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::PIXELS * CF * SF max = CFG::PIXELS * CF * SF
        DFK_CYCLE();
        const ap_uint<SIMD * PE * TI::width> word = in.read();
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            TA sum = sf == 0 ? TA(0) : acc[pe];
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                sum += product<TI, TW, CFG::MUL>::of(get_lane<TI>(word, s * PE + pe), TW(weights[pe][address][s]));
            }
            acc[pe] = sum;
        }
        if (sf == SF - 1) {
            ap_uint<PE * TO::width> result;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                set_lane(result, pe, CFG::NT > 0 ? TO(activate<CFG::NT, CFG::ACT_VAL>(acc[pe], thresholds[pe][cf]))
                                                 : TO(acc[pe]));
            }
            out.write(result);
        }
        address = address == CF * SF - 1 ? 0 : address + 1;
        if (++sf == SF) {
            sf = 0;
            cf = cf == CF - 1 ? 0 : cf + 1;
        }
    }
}

}  // namespace dfk
