// FMPadding: zero-pad an NHWC feature map (FINN op FMPadding).
//
// Words carry SIMD channels; a pixel is CF = C/SIMD words. Padding order as FINN's `Padding`
// attribute: top, left, bottom, right.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned IN_H, unsigned IN_W, unsigned PAD_T, unsigned PAD_L, unsigned PAD_B, unsigned PAD_R,
          unsigned CF, typename Word>
void fmpadding(hls::stream<Word>& in, hls::stream<Word>& out, unsigned reps) {
    constexpr unsigned OUT_H = IN_H + PAD_T + PAD_B;
    constexpr unsigned OUT_W = IN_W + PAD_L + PAD_R;
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned y = 0; y < OUT_H; y++) {
            for (unsigned x = 0; x < OUT_W; x++) {
                for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                    DFK_CYCLE();
                    bool inside = y >= PAD_T && y < PAD_T + IN_H && x >= PAD_L && x < PAD_L + IN_W;
                    out.write(inside ? in.read() : Word(0));
                }
            }
        }
    }
}

}  // namespace dfk
