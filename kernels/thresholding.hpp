// Multi-threshold activation (FINN op Thresholding, and the activation inside MVAU/VVAU):
// out = ACT_VAL + #{t : x >= thresholds[t]} over NT ascending thresholds.
#pragma once
#include "stream_utils.hpp"
#if DFK_NATIVE_CSIM
#include <algorithm>
#endif

namespace dfk {

template <unsigned NT, int ACT_VAL, typename TA, typename TMem>
inline int activate(const TA& x, const TMem* thresholds) {
#pragma HLS INLINE
#if DFK_NATIVE_CSIM
    // Binary search over the ascending thresholds, compared at full precision.
    return ACT_VAL + int(std::upper_bound(thresholds, thresholds + NT, int64_t(x),
                                          [](int64_t a, TMem b) { return a < int64_t(b); }) - thresholds);
#else
    int count = 0;
    for (unsigned t = 0; t < NT; t++) {
#pragma HLS UNROLL
        count += x >= thresholds[t];
    }
    return ACT_VAL + count;
#endif
}

// Standalone thresholding of C channels, PE per word: thresholds[pe][cf][t] belong to channel cf*PE+pe.
template <unsigned C, unsigned PE, unsigned NT, int ACT_VAL, typename TI, typename TO, typename TMem>
void thresholding(hls::stream<ap_uint<PE * TI::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
                  const TMem thresholds[PE][C / PE][NT], unsigned num_pixels) {
    static_assert(C % PE == 0, "PE must divide the channel count");
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    for (unsigned p = 0; p < num_pixels; p++) {
        for (unsigned cf = 0; cf < C / PE; cf++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            const ap_uint<PE * TI::width> word = in.read();
            ap_uint<PE * TO::width> result;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                set_lane(result, pe, TO(activate<NT, ACT_VAL>(get_lane<TI>(word, pe), thresholds[pe][cf])));
            }
            out.write(result);
        }
    }
}

}  // namespace dfk
