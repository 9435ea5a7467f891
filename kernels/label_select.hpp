// Top-K label select (FINN op LabelSelect, ONNX TopK semantics): outputs the indices of the K
// largest of LABELS values, largest first; among equal values the lower index comes first.
//
// K slots of (value, index) in registers, sorted; each cycle inserts the PE values of one input
// word through a fixed network of K compares (a new value goes behind the slots whose value it does
// not exceed, so earlier indices stay ahead on ties). A vector's K indices are written while the
// next vector is read, so a vector takes max(LABELS/PE, K) cycles (compiler/estimate/cycles.py); the
// last vector's indices follow in K more cycles at the end of the call.
// The configuration (CFG) holds LABELS, PE, K, VECTORS (vectors per frame) and the types in_t, out_t.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <typename CFG>
void label_select(hls::stream<ap_uint<CFG::PE * CFG::in_t::width>>& in, hls::stream<ap_uint<CFG::out_t::width>>& out,
                  unsigned frames) {
    typedef typename CFG::in_t TI;
    typedef ap_uint<CFG::out_t::width> Index;
    constexpr unsigned PE = CFG::PE, K = CFG::K, LF = CFG::LABELS / PE, STEPS = LF > K ? LF : K;
    static_assert(CFG::LABELS % PE == 0, "PE must divide the label count");
    static_assert(K <= CFG::LABELS, "K must not exceed the label count");
    TI top_value[K];
    Index top_index[K], ready[K];    // the vector being read; the one being written
    bool filled[K];
#pragma HLS ARRAY_PARTITION variable = top_value complete
#pragma HLS ARRAY_PARTITION variable = top_index complete
#pragma HLS ARRAY_PARTITION variable = ready complete
#pragma HLS ARRAY_PARTITION variable = filled complete
    const unsigned vectors = frames * CFG::VECTORS;
    unsigned v = 0, t = 0;           // vector being read (vectors: none, the last one's indices leave), its step
    for (unsigned i = 0; i < (vectors ? vectors * STEPS + K : 0); i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::VECTORS * STEPS max = CFG::VECTORS * STEPS
        DFK_CYCLE();
        if (v > 0 && t < K) out.write(ready[t]);
        if (v < vectors && t < LF) {
            const ap_uint<PE * TI::width> word = in.read();
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                const TI value = get_lane<TI>(word, pe);
                const Index index = t * PE + pe;
                // The entry goes to the first slot it beats (an empty one, or one with a smaller
                // value); the entries from there on move one slot down, the last one drops out.
                bool beats[K];
#pragma HLS ARRAY_PARTITION variable = beats complete
                const bool first = t == 0 && pe == 0;      // a new vector: every slot is free
                for (unsigned k = 0; k < K; k++) {
#pragma HLS UNROLL
                    beats[k] = first || !filled[k] || value > top_value[k];
                }
                for (unsigned k = K; k-- > 0;) {
#pragma HLS UNROLL
                    if (!beats[k]) continue;
                    if (k > 0 && beats[k - 1]) {
                        top_value[k] = top_value[k - 1];
                        top_index[k] = top_index[k - 1];
                        filled[k] = filled[k - 1] && !first;
                    } else {
                        top_value[k] = value;
                        top_index[k] = index;
                        filled[k] = true;
                    }
                }
            }
        }
        if (t == STEPS - 1) {
            for (unsigned k = 0; k < K; k++) {
#pragma HLS UNROLL
                ready[k] = top_index[k];
            }
            t = 0;
            v++;
        } else {
            t++;
        }
    }
}

}  // namespace dfk
