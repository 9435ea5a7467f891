// Max pool over windows from a depthwise sliding-window generator (FINN op Pool, Function MaxPool).
//
// Per output pixel the input is CF = C/PE channel folds of K2 window words of PE channels
// (the depthwise window order of sliding_window.hpp); the output is one word per channel fold.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned CF, unsigned PE, unsigned K2, typename T>
void max_pool(hls::stream<ap_uint<PE * T::width>>& in, hls::stream<ap_uint<PE * T::width>>& out,
              unsigned num_pixels) {
#if DFK_NATIVE_CSIM
    // C simulation: the same maxima on native integers.
    int64_t best[PE], values[PE];
    for (unsigned p = 0; p < num_pixels; p++) {
        for (unsigned cf = 0; cf < CF; cf++) {
            for (unsigned k = 0; k < K2; k++) {
                unpack<PE, T::width, is_signed_ap<T>::value>(in.read(), values);
                for (unsigned pe = 0; pe < PE; pe++) best[pe] = (k == 0 || values[pe] > best[pe]) ? values[pe] : best[pe];
            }
            out.write(pack<PE, T::width, PE * T::width>(best));
        }
    }
    return;
#endif
    for (unsigned p = 0; p < num_pixels; p++) {
        for (unsigned cf = 0; cf < CF; cf++) {
            T best[PE];
#pragma HLS ARRAY_PARTITION variable = best complete
            for (unsigned k = 0; k < K2; k++) {
#pragma HLS PIPELINE II = 1
                DFK_CYCLE();
                const ap_uint<PE * T::width> word = in.read();
                for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                    const T value = get_lane<T>(word, pe);
                    if (k == 0 || value > best[pe]) best[pe] = value;
                }
            }
            ap_uint<PE * T::width> result;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                set_lane(result, pe, best[pe]);
            }
            out.write(result);
        }
    }
}

}  // namespace dfk
