// Global accumulating pool (FINN op GlobalAccPool): the sum of every channel over all pixels of a
// frame. PE channels per word; one output word per channel fold, after the last pixel.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned C, unsigned PE, unsigned PIXELS, typename TI, typename TO>
void global_acc_pool(hls::stream<ap_uint<PE * TI::width>>& in, hls::stream<ap_uint<PE * TO::width>>& out,
                     unsigned reps) {
    static_assert(C % PE == 0, "PE must divide the channel count");
    constexpr unsigned CF = C / PE;
    TO sums[CF][PE];
#pragma HLS ARRAY_PARTITION variable = sums complete dim = 2
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned p = 0; p < PIXELS; p++) {
            for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                DFK_CYCLE();
                const ap_uint<PE * TI::width> word = in.read();
                for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                    sums[cf][pe] = (p == 0 ? TO(0) : sums[cf][pe]) + get_lane<TI>(word, pe);
                }
            }
        }
        for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            ap_uint<PE * TO::width> result;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                set_lane(result, pe, sums[cf][pe]);
            }
            out.write(result);
        }
    }
}

}  // namespace dfk
