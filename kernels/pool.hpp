// Max pool over windows from a depthwise sliding-window generator (FINN op Pool, Function MaxPool).
//
// Per output pixel the input is CF = C/PE channel folds of K2 window words of PE channels (the
// depthwise window order of sliding_window.hpp); the output is one word per channel fold, written
// with the fold's last window word. A frame takes PIXELS * CF * K2 cycles, FINN's get_exp_cycles.
// The configuration (CFG) holds C, PE, K2, PIXELS (output pixels per frame) and the element type elem_t.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <typename CFG>
void max_pool(hls::stream<ap_uint<CFG::PE * CFG::elem_t::width>>& in,
              hls::stream<ap_uint<CFG::PE * CFG::elem_t::width>>& out, unsigned frames) {
    typedef typename CFG::elem_t T;
    constexpr unsigned PE = CFG::PE, K2 = CFG::K2, FOLDS = CFG::PIXELS * (CFG::C / PE);
    static_assert(CFG::C % PE == 0, "PE must divide the channel count");
#if DFK_FAST_CSIM
    // C simulation: the same maxima on native integers.
    int64_t best[PE], values[PE];
    for (unsigned fold = 0; fold < frames * FOLDS; fold++) {
        for (unsigned k = 0; k < K2; k++) {
            unpack<PE, T::width, is_signed_ap<T>::value>(in.read(), values);
            for (unsigned pe = 0; pe < PE; pe++) best[pe] = (k == 0 || values[pe] > best[pe]) ? values[pe] : best[pe];
        }
        out.write(pack<PE, T::width, PE * T::width>(best));
    }
#else
    T best[PE];
#pragma HLS ARRAY_PARTITION variable = best complete
    unsigned k = 0;
    for (unsigned i = 0; i < frames * FOLDS * K2; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = FOLDS * K2 max = FOLDS * K2
        DFK_CYCLE();
        const ap_uint<PE * T::width> word = in.read();
        ap_uint<PE * T::width> result;
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            const T value = get_lane<T>(word, pe);
            const T max = k == 0 || value > best[pe] ? value : best[pe];
            best[pe] = max;
            set_lane(result, pe, max);
        }
        if (k == K2 - 1) out.write(result);
        k = k == K2 - 1 ? 0 : k + 1;
    }
#endif
}

}  // namespace dfk
