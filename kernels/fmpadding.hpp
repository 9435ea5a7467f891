// FMPadding: zero-pad an NHWC feature map (FINN op FMPadding).
//
// Words carry SIMD channels; a pixel is CF = C/SIMD words. Padding order as FINN's `Padding`
// attribute: top, left, bottom, right. A frame takes OUT_H * OUT_W * CF cycles, FINN's get_exp_cycles.
// The configuration (CFG) holds IN_H, IN_W, PAD_T, PAD_L, PAD_B, PAD_R, CF, IMAGES (images per frame:
// FINN's numInputVectors) and word_t.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <typename CFG>
void fmpadding(hls::stream<typename CFG::word_t>& in, hls::stream<typename CFG::word_t>& out, unsigned frames) {
    typedef typename CFG::word_t Word;
    constexpr unsigned OUT_H = CFG::IN_H + CFG::PAD_T + CFG::PAD_B, OUT_W = CFG::IN_W + CFG::PAD_L + CFG::PAD_R;
    constexpr unsigned WORDS = OUT_H * OUT_W * CFG::CF;
    unsigned y = 0, x = 0, cf = 0;
    for (unsigned i = 0; i < frames * CFG::IMAGES * WORDS; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::IMAGES * WORDS max = CFG::IMAGES * WORDS
        DFK_CYCLE();
        const bool inside = y >= CFG::PAD_T && y < CFG::PAD_T + CFG::IN_H && x >= CFG::PAD_L && x < CFG::PAD_L + CFG::IN_W;
        out.write(inside ? in.read() : Word(0));
        if (++cf == CFG::CF) {
            cf = 0;
            if (++x == OUT_W) {
                x = 0;
                y = y == OUT_H - 1 ? 0 : y + 1;
            }
        }
    }
}

}  // namespace dfk
