// Matrix-vector-activation unit (FINN op MVAU): out = act(W^T x) for every input vector x.
//
// W is MW x MH. PE output channels are computed in parallel, each over SIMD inputs per cycle, so a
// vector takes NF * SF cycles (NF = MH/PE neuron folds, SF = MW/SIMD synapse folds), FINN's
// get_exp_cycles. The SF input words of a vector are buffered during the first neuron fold and
// reused for the others.
//
// Weights are stored as weights[pe][nf * SF + sf][simd] = W[sf * SIMD + simd][nf * PE + pe], and
// reshaped into one memory of NF * SF words of PE * SIMD weights: each cycle reads one word, the
// memory FINN's estimate counts (mem_width PE * SIMD * weight bits, depth NF * SF).
// With NT > 0 thresholds per channel, thresholds[pe][nf][t] belong to channel nf * PE + pe and the
// output is ACT_VAL + #{t : acc >= threshold[t]} (FINN MultiThreshold semantics, ascending
// thresholds, see thresholding.hpp); with NT == 0 the accumulator itself is the output.
//
// Inputs and weights may be `bipolar` (multiply.hpp). The configuration (CFG) holds MW, MH, SIMD, PE,
// NT, ACT_VAL, VECTORS (input vectors per frame), the element types in_t, weight_t, acc_t, out_t,
// MUL, the multiplier (FINN's resType), and PACK, PACK_SHIFT, PACKED_BITS: the products per DSP
// multiplier (that many neighbouring PE lanes share one, packed_product in multiply.hpp; else 1).
#pragma once
#include "multiply.hpp"
#include "thresholding.hpp"
#if DFK_FAST_CSIM
#include <type_traits>
#endif

namespace dfk {

#if DFK_FAST_CSIM
// C simulation: the same function on native integers. Each input vector is unpacked once; an output
// channel's MW weights are contiguous in `weights` (channel nf*PE+pe starts at pe*NF*MW + nf*MW), so
// each output is a plain dot product the compiler vectorizes; thresholds are found by binary search.
// Exact because FINN sizes acc_t to hold every accumulator value (MinimizeAccumulatorWidth).
// Signedness of the bits an element type is stored in.
template <typename T> struct stored_signed { static const bool value = is_signed_ap<T>::value; };
template <> struct stored_signed<bipolar> { static const bool value = false; };

template <typename CFG, typename WMem, typename TMem>
void mvau_fast(hls::stream<ap_uint<CFG::SIMD * CFG::in_t::width>>& in,
               hls::stream<ap_uint<CFG::PE * CFG::out_t::width>>& out, const WMem* w,
               const TMem thresholds[CFG::PE][CFG::MH / CFG::PE][CFG::NT > 0 ? CFG::NT : 1], unsigned frames) {
    typedef typename CFG::in_t TI;
    typedef typename CFG::weight_t TW;
    static_assert(CFG::acc_t::width <= 64, "accumulators wider than 64 bits");
    constexpr unsigned MW = CFG::MW, SIMD = CFG::SIMD, PE = CFG::PE, SF = MW / SIMD, NF = CFG::MH / PE;
    constexpr bool X_BIPOLAR = std::is_same<TI, bipolar>::value, W_BIPOLAR = std::is_same<TW, bipolar>::value;
    using X = typename std::conditional<(TI::width < 16), int16_t, int64_t>::type;
    using Acc = typename std::conditional<(CFG::acc_t::width <= 32 && TI::width < 16), int32_t, int64_t>::type;
    X x[MW];
    int64_t result[PE];
    for (unsigned v = 0; v < frames * CFG::VECTORS; v++) {
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
                result[pe] = CFG::NT > 0 ? int64_t(activate<CFG::NT, CFG::ACT_VAL>(acc, thresholds[pe][nf]))
                                         : int64_t(acc);
            }
            out.write(pack<PE, CFG::out_t::width, PE * CFG::out_t::width>(result));
        }
    }
}
#endif

template <typename CFG, typename WMem, typename TMem>
void mvau(hls::stream<ap_uint<CFG::SIMD * CFG::in_t::width>>& in, hls::stream<ap_uint<CFG::PE * CFG::out_t::width>>& out,
          const WMem weights[CFG::PE][(CFG::MH / CFG::PE) * (CFG::MW / CFG::SIMD)][CFG::SIMD],
          const TMem thresholds[CFG::PE][CFG::MH / CFG::PE][CFG::NT > 0 ? CFG::NT : 1], unsigned frames) {
    typedef typename CFG::in_t TI;
    typedef typename CFG::weight_t TW;
    typedef typename CFG::acc_t TA;
    typedef typename CFG::out_t TO;
    constexpr unsigned SIMD = CFG::SIMD, PE = CFG::PE, SF = CFG::MW / SIMD, NF = CFG::MH / PE, PACK = CFG::PACK;
    static_assert(CFG::MW % SIMD == 0, "SIMD must divide MW");
    static_assert(CFG::MH % PE == 0, "PE must divide MH");
#if DFK_FAST_CSIM
    mvau_fast<CFG>(in, out, &weights[0][0][0], thresholds, frames);
#else
#pragma HLS ARRAY_RESHAPE variable = weights complete dim = 1
#pragma HLS ARRAY_RESHAPE variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    ap_uint<SIMD * TI::width> input_buf[SF];
    TA acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    unsigned nf = 0, sf = 0, address = 0;     // address = nf * SF + sf, the weight word
    for (unsigned i = 0; i < frames * CFG::VECTORS * NF * SF; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::VECTORS * NF * SF max = CFG::VECTORS * NF * SF
        DFK_CYCLE();
        if (nf == 0) input_buf[sf] = in.read();
        const ap_uint<SIMD * TI::width> x = input_buf[sf];
        if (PACK > 1) {
            // PACK neighbouring lanes' products of one input from one multiplier (packed_product)
            typedef typename element<TI>::stored XI;
            typedef typename element<TW>::stored WI;
            constexpr int XS = XI::width + !is_signed_ap<XI>::value, WS = WI::width + !is_signed_ap<WI>::value;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                if (sf == 0) acc[pe] = 0;
            }
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                const ap_int<XS> xs = get_lane<XI>(x, s);
                for (unsigned group = 0; group < PE; group += PACK) {
#pragma HLS UNROLL
                    ap_int<WS> w[PACK];
                    typedef packed_product<PACK, XS, WS, CFG::PACK_SHIFT, CFG::PACKED_BITS> multiply;
                    typename multiply::type p[PACK];
                    for (unsigned lane = 0; lane < PACK; lane++) {
#pragma HLS UNROLL
                        w[lane] = group + lane < PE ? ap_int<WS>(WI(weights[group + lane][address][s])) : ap_int<WS>(0);
                    }
                    multiply::of(xs, w, p);
                    for (unsigned lane = 0; lane < PACK && group + lane < PE; lane++) {
#pragma HLS UNROLL
                        acc[group + lane] += p[lane];
                    }
                }
            }
        } else {
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                TA sum = sf == 0 ? TA(0) : acc[pe];
                for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    sum += product<TI, TW, CFG::MUL>::of(get_lane<typename element<TI>::stored>(x, s),
                                                         typename element<TW>::stored(weights[pe][address][s]));
                }
                acc[pe] = sum;
            }
        }
        if (sf == SF - 1) {
            ap_uint<PE * TO::width> result;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                set_lane(result, pe, CFG::NT > 0 ? TO(activate<CFG::NT, CFG::ACT_VAL>(acc[pe], thresholds[pe][nf]))
                                                 : TO(acc[pe]));
            }
            out.write(result);
        }
        address = address == NF * SF - 1 ? 0 : address + 1;
        if (++sf == SF) {
            sf = 0;
            nf = nf == NF - 1 ? 0 : nf + 1;
        }
    }
#endif
}

}  // namespace dfk
