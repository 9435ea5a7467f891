// Multi-threshold activation (FINN op Thresholding, and the activation inside MVAU/VVAU):
// out = ACT_VAL + #{t : x >= thresholds[t]} over NT ascending thresholds.
#pragma once
#include "stream_utils.hpp"
#if DFK_NATIVE_CSIM
#include <type_traits>
#endif

namespace dfk {

template <unsigned NT, int ACT_VAL, typename TA, typename TMem>
inline int activate(const TA& x, const TMem* thresholds) {
#pragma HLS INLINE
#if DFK_NATIVE_CSIM
    // Exact comparisons on native integers: up to 256 thresholds a count the compiler vectorizes
    // (in 32 bits where that holds every value), beyond a branch-free binary search.
    const int64_t value = int64_t(x);
    if (NT <= 256) {
        int count = 0;
        constexpr bool FITS_32 = std::is_signed<TMem>::value ? sizeof(TMem) <= 4 : sizeof(TMem) < 4;
        if (FITS_32 && value >= INT32_MIN && value <= INT32_MAX) {
            for (unsigned t = 0; t < NT; t++) count += int32_t(value) >= int32_t(thresholds[t]);
        } else {
            for (unsigned t = 0; t < NT; t++) count += value >= int64_t(thresholds[t]);
        }
        return ACT_VAL + count;
    }
    const TMem* base = thresholds;
    for (unsigned n = NT; n > 1;) {
        const unsigned half = n / 2;
        base = int64_t(base[half - 1]) <= value ? base + half : base;
        n -= half;
    }
    return ACT_VAL + int(base - thresholds) + (int64_t(*base) <= value);
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
