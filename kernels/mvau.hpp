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
// thresholds, see thresholding.hpp); with NT == 0 the accumulator itself is the output.
//
// Inputs and weights may be `bipolar` (FINN BIPOLAR: -1/+1 stored as one bit). One bipolar operand
// negates or passes the other; two bipolar operands make each product an XNOR and the accumulator
// a popcount, the number of agreeing bits (FINN's binaryXnorMode, also FINN's BIPOLAR x BIPOLAR).
#pragma once
#include "thresholding.hpp"
#if DFK_NATIVE_CSIM
#include <type_traits>
#endif

namespace dfk {

// FINN's BIPOLAR element type {-1, +1}, one bit: 1 is +1, 0 is -1.
struct bipolar {
    static const int width = 1;
};

// How an element type is stored in its bits, and its value.
template <typename T> struct element {
    typedef T stored;
    static T value(const stored& bits) { return bits; }
};
template <> struct element<bipolar> {
    typedef ap_uint<1> stored;
    static ap_int<2> value(const stored& bit) { return bit ? 1 : -1; }
};

// One lane's contribution to the accumulator.
template <typename TI, typename TW> struct product {
    static ap_int<TI::width + TW::width + 1> of(const typename element<TI>::stored& x,
                                                const typename element<TW>::stored& w) {
#pragma HLS INLINE
        return element<TI>::value(x) * element<TW>::value(w);
    }
};
template <> struct product<bipolar, bipolar> {     // XNOR: 1 where the bits agree
    static ap_uint<1> of(const ap_uint<1>& x, const ap_uint<1>& w) { return x == w; }
};

#if DFK_NATIVE_CSIM
// C simulation: the same function on native integers. Each input vector is unpacked once; an output
// channel's MW weights are contiguous in `weights` (channel nf*PE+pe starts at pe*NF*MW + nf*MW), so
// each output is a plain dot product the compiler vectorizes; thresholds are found by binary search.
// Exact because FINN sizes TA to hold every accumulator value (MinimizeAccumulatorWidth).
// Signedness of the bits an element type is stored in.
template <typename T> struct stored_signed { static const bool value = is_signed_ap<T>::value; };
template <> struct stored_signed<bipolar> { static const bool value = false; };

template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NT, int ACT_VAL,
          typename TI, typename TW, typename TA, typename TO, typename WMem, typename TMem>
void mvau_native(hls::stream<ap_uint<SIMD * TI::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
                 const WMem weights[PE][(MH / PE) * (MW / SIMD)][SIMD],
                 const TMem thresholds[PE][MH / PE][NT > 0 ? NT : 1], unsigned num_vectors) {
    static_assert(TA::width <= 64, "accumulators wider than 64 bits");
    constexpr unsigned SF = MW / SIMD, NF = MH / PE;
    constexpr bool X_BIPOLAR = std::is_same<TI, bipolar>::value, W_BIPOLAR = std::is_same<TW, bipolar>::value;
    using X = typename std::conditional<(TI::width < 16), int16_t, int64_t>::type;
    using Acc = typename std::conditional<(TA::width <= 32 && TI::width < 16), int32_t, int64_t>::type;
    const WMem* w = &weights[0][0][0];
    X x[MW];
    int64_t result[PE];
    for (unsigned v = 0; v < num_vectors; v++) {
        for (unsigned sf = 0; sf < SF; sf++)
            unpack<SIMD, TI::width, stored_signed<TI>::value>(in.read(), &x[sf * SIMD]);
        if (X_BIPOLAR)
            for (unsigned i = 0; i < MW; i++) x[i] = 2 * x[i] - 1;
        for (unsigned nf = 0; nf < NF; nf++) {
            for (unsigned pe = 0; pe < PE; pe++) {
                const WMem* row = w + (size_t(pe) * NF + nf) * MW;
                Acc acc = 0;
                if (W_BIPOLAR)
                    for (unsigned i = 0; i < MW; i++) acc += Acc(x[i]) * (2 * Acc(row[i]) - 1);
                else
                    for (unsigned i = 0; i < MW; i++) acc += Acc(x[i]) * Acc(row[i]);
                if (X_BIPOLAR && W_BIPOLAR) acc = (acc + Acc(MW)) / 2;   // +-1 dot product -> agreeing bits
                result[pe] = NT > 0 ? int64_t(activate<NT, ACT_VAL>(acc, thresholds[pe][nf])) : int64_t(acc);
            }
            out.write(pack<PE, TO::width, PE * TO::width>(result));
        }
    }
}
#endif

template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NT, int ACT_VAL,
          typename TI, typename TW, typename TA, typename TO, typename WMem, typename TMem>
void mvau(hls::stream<ap_uint<SIMD * TI::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
          const WMem weights[PE][(MH / PE) * (MW / SIMD)][SIMD], const TMem thresholds[PE][MH / PE][NT > 0 ? NT : 1],
          unsigned num_vectors) {
    static_assert(MW % SIMD == 0, "SIMD must divide MW");
    static_assert(MH % PE == 0, "PE must divide MH");
    constexpr unsigned SF = MW / SIMD;
    constexpr unsigned NF = MH / PE;
#if DFK_NATIVE_CSIM
    mvau_native<MW, MH, SIMD, PE, NT, ACT_VAL, TI, TW, TA, TO>(in, out, weights, thresholds, num_vectors);
#else
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
                DFK_CYCLE();
                if (nf == 0) input_buf[sf] = in.read();
                const ap_uint<SIMD * TI::width> x = input_buf[sf];
                for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                    TA sum = sf == 0 ? TA(0) : acc[pe];
                    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                        sum += product<TI, TW>::of(get_lane<typename element<TI>::stored>(x, s),
                                                   typename element<TW>::stored(weights[pe][nf * SF + sf][s]));
                    }
                    acc[pe] = sum;
                }
                if (sf == SF - 1) {
                    ap_uint<PE * TO::width> result;
                    for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                        set_lane(result, pe, NT > 0 ? TO(activate<NT, ACT_VAL>(acc[pe], thresholds[pe][nf])) : TO(acc[pe]));
                    }
                    out.write(result);
                }
            }
        }
    }
#endif
}

}  // namespace dfk
