// Elementwise binary ops (FINN ops ElementwiseAdd/Sub/Mul/Max), PE channels per word, PIXELS words of C
// channels per frame; a frame takes PIXELS * C/PE cycles, FINN's get_exp_cycles.
//   elementwise_const:   out[c] = in[c] OP param[c], with a per-channel constant (or one scalar);
//   elementwise_streams: out[c] = in0[c] OP in1[c], two streams of the same shape (a residual add).
// The configuration (CFG) holds the op (op_t: Add, Sub, Mul or Max), C, PE, PIXELS and the element types
// lhs_t, rhs_t, out_t.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

struct Add { template <typename A, typename B> static auto apply(const A& a, const B& b) { return a + b; } };
struct Sub { template <typename A, typename B> static auto apply(const A& a, const B& b) { return a - b; } };
struct Mul { template <typename A, typename B> static auto apply(const A& a, const B& b) { return a * b; } };
// Both operands are widened to their sum's type, which holds either exactly.
struct Max {
    template <typename A, typename B> static auto apply(const A& a, const B& b) {
        typedef decltype(a + b) T;
        return T(a) > T(b) ? T(a) : T(b);
    }
};

// params[pe][cf] is the constant of channel cf*PE+pe (params[PE][C/PE]), or params[1][1] one scalar
// for every channel; reshaped into one memory of C/PE words of PE constants (the memory FINN's
// estimate counts), so a word's constants are one read.
template <typename CFG, typename PMem, unsigned LANES, unsigned FOLDS>
void elementwise_const(hls::stream<ap_uint<CFG::PE * CFG::lhs_t::width>>& in,
                       hls::stream<ap_uint<CFG::PE * CFG::out_t::width>>& out, const PMem (&params)[LANES][FOLDS],
                       unsigned frames) {
    typedef typename CFG::lhs_t TL;
    typedef typename CFG::rhs_t TR;
    typedef typename CFG::out_t TO;
    constexpr unsigned PE = CFG::PE, CF = CFG::C / PE;
    static_assert(CFG::C % PE == 0, "PE must divide the channel count");
    static_assert((LANES == PE && FOLDS == CF) || (LANES == 1 && FOLDS == 1),
                  "the constant must be per channel or a scalar");
#pragma HLS ARRAY_RESHAPE variable = params complete dim = 1
    unsigned cf = 0;
    for (unsigned i = 0; i < frames * CFG::PIXELS * CF; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::PIXELS * CF max = CFG::PIXELS * CF
        DFK_CYCLE();
        const ap_uint<PE * TL::width> word = in.read();
        ap_uint<PE * TO::width> result;
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            const TR param = LANES == 1 && FOLDS == 1 ? params[0][0] : params[pe][cf];
            set_lane(result, pe, TO(CFG::op_t::apply(get_lane<TL>(word, pe), param)));
        }
        out.write(result);
        cf = cf == CF - 1 ? 0 : cf + 1;
    }
}

template <typename CFG>
void elementwise_streams(hls::stream<ap_uint<CFG::PE * CFG::lhs_t::width>>& in0,
                         hls::stream<ap_uint<CFG::PE * CFG::rhs_t::width>>& in1,
                         hls::stream<ap_uint<CFG::PE * CFG::out_t::width>>& out, unsigned frames) {
    typedef typename CFG::lhs_t TL;
    typedef typename CFG::rhs_t TR;
    typedef typename CFG::out_t TO;
    constexpr unsigned PE = CFG::PE, WORDS = CFG::PIXELS * (CFG::C / PE);
    static_assert(CFG::C % PE == 0, "PE must divide the channel count");
    for (unsigned i = 0; i < frames * WORDS; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = WORDS max = WORDS
        DFK_CYCLE();
        const ap_uint<PE * TL::width> lhs = in0.read();
        const ap_uint<PE * TR::width> rhs = in1.read();
        ap_uint<PE * TO::width> result;
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            set_lane(result, pe, TO(CFG::op_t::apply(get_lane<TL>(lhs, pe), get_lane<TR>(rhs, pe))));
        }
        out.write(result);
    }
}

}  // namespace dfk
