// Elementwise binary op with a per-channel constant (FINN ops ElementwiseAdd/Sub/Mul with a
// `const` right-hand side): out[c] = in[c] OP param[c], PE channels per word.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

struct Add { template <typename A, typename B> static auto apply(const A& a, const B& b) { return a + b; } };
struct Sub { template <typename A, typename B> static auto apply(const A& a, const B& b) { return a - b; } };
struct Mul { template <typename A, typename B> static auto apply(const A& a, const B& b) { return a * b; } };

// PARAMS is the length of the constant: C (per channel) or 1 (broadcast scalar).
template <typename Op, unsigned C, unsigned PE, unsigned PARAMS, typename TL, typename TR, typename TO,
          typename PMem>
void elementwise_const(hls::stream<ap_uint<PE * TL::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
                       const PMem params[PARAMS], unsigned num_pixels) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    static_assert(PARAMS == C || PARAMS == 1, "the constant must be per channel or a scalar");
    for (unsigned p = 0; p < num_pixels; p++) {
        for (unsigned cf = 0; cf < C / PE; cf++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            const ap_uint<PE * TL::width> word = in.read();
            ap_uint<PE * TO::width> result;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                const TR param = params[PARAMS == 1 ? 0 : cf * PE + pe];
                set_lane(result, pe, TO(Op::apply(get_lane<TL>(word, pe), param)));
            }
            out.write(result);
        }
    }
}

}  // namespace dfk

namespace dfk {

// Elementwise binary op on two streams of the same shape (FINN ElementwiseAdd/... with both sides
// `input`, e.g. a residual add): out[c] = in0[c] OP in1[c], PE channels per word.
template <typename Op, unsigned C, unsigned PE, typename TL, typename TR, typename TO>
void elementwise_streams(hls::stream<ap_uint<PE * TL::width>>& in0, hls::stream<ap_uint<PE * TR::width>>& in1,
                         hls::stream<ap_uint<PE * TO::width>>& out, unsigned num_pixels) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    for (unsigned p = 0; p < num_pixels; p++) {
        for (unsigned cf = 0; cf < C / PE; cf++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            const ap_uint<PE * TL::width> lhs = in0.read();
            const ap_uint<PE * TR::width> rhs = in1.read();
            ap_uint<PE * TO::width> result;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                set_lane(result, pe, TO(Op::apply(get_lane<TL>(lhs, pe), get_lane<TR>(rhs, pe))));
            }
            out.write(result);
        }
    }
}

}  // namespace dfk
