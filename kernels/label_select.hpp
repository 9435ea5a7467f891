// Top-K label select (FINN op LabelSelect, ONNX TopK semantics): outputs the indices of the K
// largest of LABELS values, largest first; among equal values the lower index comes first.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned LABELS, unsigned PE, unsigned K, typename TI, typename TO>
void label_select(hls::stream<ap_uint<PE * TI::width>>& in, hls::stream<ap_uint<TO::width>>& out,
                  unsigned reps) {
    static_assert(LABELS % PE == 0, "PE must divide the label count");
    static_assert(K <= LABELS, "K must not exceed the label count");
    for (unsigned rep = 0; rep < reps; rep++) {
        TI top_value[K];
        unsigned top_index[K];
        unsigned filled = 0;
        for (unsigned lf = 0; lf < LABELS / PE; lf++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            const ap_uint<PE * TI::width> word = in.read();
            for (unsigned pe = 0; pe < PE; pe++) {
                const TI value = get_lane<TI>(word, pe);
                const unsigned index = lf * PE + pe;
                // Insertion into the sorted top list; strict '>' keeps earlier indices ahead on ties.
                unsigned pos = filled;
                while (pos > 0 && value > top_value[pos - 1]) pos--;
                if (pos < K) {
                    for (unsigned j = (filled < K ? filled : K - 1); j > pos; j--) {
                        top_value[j] = top_value[j - 1];
                        top_index[j] = top_index[j - 1];
                    }
                    top_value[pos] = value;
                    top_index[pos] = index;
                    if (filled < K) filled++;
                }
            }
        }
        for (unsigned k = 0; k < K; k++) out.write(ap_uint<TO::width>(top_index[k]));
    }
}

}  // namespace dfk
