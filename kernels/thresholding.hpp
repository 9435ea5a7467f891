// Multi-threshold activation (FINN op Thresholding, and the activation inside MVAU/VVAU):
// out = ACT_VAL + #{t : x >= thresholds[t]} over NT ascending thresholds.
#pragma once
#include "stream_utils.hpp"
#if DFK_FAST_CSIM
#include <type_traits>
#endif

namespace dfk {

template <unsigned NT, int ACT_VAL, typename TA, typename TMem>
inline int activate(const TA& x, const TMem* thresholds) {
#pragma HLS INLINE
#if DFK_FAST_CSIM
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

// Standalone thresholding (FINN op Thresholding) of C channels, PE per word, PIXELS words of C
// channels per frame: thresholds[pe][cf][t] belong to channel cf*PE+pe. A frame takes PIXELS * C/PE
// cycles. The configuration (CFG) holds C, PE, NT, ACT_VAL, PIXELS and the element types in_t, out_t.
template <typename CFG, typename TMem>
void thresholding(hls::stream<ap_uint<CFG::PE * CFG::in_t::width>>& in,
                  hls::stream<ap_uint<CFG::PE * CFG::out_t::width>>& out,
                  const TMem thresholds[CFG::PE][CFG::C / CFG::PE][CFG::NT], unsigned frames) {
    typedef typename CFG::in_t TI;
    typedef typename CFG::out_t TO;
    constexpr unsigned PE = CFG::PE, CF = CFG::C / PE;
    static_assert(CFG::C % PE == 0, "PE must divide the channel count");
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    unsigned cf = 0;
    for (unsigned i = 0; i < frames * CFG::PIXELS * CF; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::PIXELS * CF max = CFG::PIXELS * CF
        DFK_CYCLE();
        const ap_uint<PE * TI::width> word = in.read();
        ap_uint<PE * TO::width> result;
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            set_lane(result, pe, TO(activate<CFG::NT, CFG::ACT_VAL>(get_lane<TI>(word, pe), thresholds[pe][cf])));
        }
        out.write(result);
        cf = cf == CF - 1 ? 0 : cf + 1;
    }
}

}  // namespace dfk
