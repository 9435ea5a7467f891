// Global accumulating pool (FINN op GlobalAccPool): the sum of every channel over all PIXELS pixels
// of a frame. PE channels per word; a channel fold's sum is written in the cycle that reads the
// fold's word of the last pixel, so a frame takes PIXELS * C/PE cycles (compiler/estimate/cycles.py).
// The configuration (CFG) holds C, PE, PIXELS, VECTORS (pooled vectors per frame: FINN's batch) and
// the element types in_t, out_t.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <typename CFG>
void global_acc_pool(hls::stream<ap_uint<CFG::PE * CFG::in_t::width>>& in,
                     hls::stream<ap_uint<CFG::PE * CFG::out_t::width>>& out, unsigned frames) {
    typedef typename CFG::in_t TI;
    typedef typename CFG::out_t TO;
    constexpr unsigned PE = CFG::PE, CF = CFG::C / PE, PIXELS = CFG::PIXELS;
    static_assert(CFG::C % PE == 0, "PE must divide the channel count");
    TO sums[CF][PE];
#pragma HLS ARRAY_PARTITION variable = sums complete dim = 2
    unsigned p = 0, cf = 0;
    for (unsigned i = 0; i < frames * CFG::VECTORS * PIXELS * CF; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::VECTORS * PIXELS * CF max = CFG::VECTORS * PIXELS * CF
        DFK_CYCLE();
        const ap_uint<PE * TI::width> word = in.read();
        ap_uint<PE * TO::width> result;
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            const TO sum = (p == 0 ? TO(0) : sums[cf][pe]) + get_lane<TI>(word, pe);
            sums[cf][pe] = sum;
            set_lane(result, pe, sum);
        }
        if (p == PIXELS - 1) out.write(result);
        if (++cf == CF) {
            cf = 0;
            p = p == PIXELS - 1 ? 0 : p + 1;
        }
    }
}

}  // namespace dfk
