// Matrix-vector-activation unit (FINN op MVAU): out = act(W^T x) for every input vector x.
//
// W is MW x MH. PE output channels are computed in parallel, each over SIMD inputs per cycle, so a
// vector takes NF * SF cycles (NF = MH/PE neuron folds, SF = MW/SIMD synapse folds), FINN's
// get_exp_cycles. The SF input words of a vector are buffered during the first neuron fold and
// reused for the others.
//
// Weights are stored as weights[pe][nf * SF + sf][simd] = W[sf * SIMD + simd][nf * PE + pe].
// With NT > 0 thresholds per channel, thresholds[pe][nf][t] belong to channel nf * PE + pe and the
// output is ACT_VAL + #{t : acc >= threshold[t]} (FINN MultiThreshold semantics, ascending
// thresholds); with NT == 0 the accumulator itself is the output.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

// Number of thresholds not above `acc`; thresholds are ascending.
template <unsigned NT, typename TA, typename TMem>
inline unsigned count_thresholds(const TA& acc, const TMem* thresholds) {
#pragma HLS INLINE
    unsigned count = 0;
    for (unsigned t = 0; t < NT; t++) {
#pragma HLS UNROLL
        count += acc >= thresholds[t];
    }
    return count;
}

template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NT, int ACT_VAL,
          typename TI, typename TW, typename TA, typename TO, typename WMem, typename TMem>
void mvau(hls::stream<ap_uint<SIMD * TI::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
          const WMem weights[PE][(MH / PE) * (MW / SIMD)][SIMD], const TMem thresholds[PE][MH / PE][NT > 0 ? NT : 1],
          unsigned num_vectors) {
    static_assert(MW % SIMD == 0, "SIMD must divide MW");
    static_assert(MH % PE == 0, "PE must divide MH");
    constexpr unsigned SF = MW / SIMD;
    constexpr unsigned NF = MH / PE;
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    ap_uint<SIMD * TI::width> input_buf[SF];
    TA acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    for (unsigned v = 0; v < num_vectors; v++) {
        for (unsigned nf = 0; nf < NF; nf++) {
            for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
                if (nf == 0) input_buf[sf] = in.read();
                const ap_uint<SIMD * TI::width> x = input_buf[sf];
                for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                    TA sum = sf == 0 ? TA(0) : acc[pe];
                    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                        sum += get_lane<TI>(x, s) * TW(weights[pe][nf * SF + sf][s]);
                    }
                    acc[pe] = sum;
                }
                if (sf == SF - 1) {
                    ap_uint<PE * TO::width> result;
                    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                        if (NT > 0) {
                            set_lane(result, pe, TO(ACT_VAL + int(count_thresholds<NT>(acc[pe], thresholds[pe][nf]))));
                        } else {
                            set_lane(result, pe, TO(acc[pe]));
                        }
                    }
                    out.write(result);
                }
            }
        }
    }
}

}  // namespace dfk
