// Reorg: space-to-depth of an NHWC feature map by BLOCK (ONNX SpaceToDepth; FINN's Shuffle node with
// perm (0, 1, 3, 2, 4, 5), MixQ's ReorgLayer).
//
// Output pixel (Y, X) holds the BLOCK x BLOCK input pixels (BLOCK*Y + i, BLOCK*X + j), i major, each
// pixel's C channels in order: output channel (i * BLOCK + j) * C + c. Words carry SIMD channels; a
// pixel is CF = C/SIMD words. The first BLOCK-1 rows of each band of BLOCK rows wait in a buffer of
// (BLOCK-1) * IN_W * CF words; during the band's last row, each output pixel first takes its buffered
// rows' words, then passes its last row's BLOCK pixels straight through as they arrive. A band takes
// (BLOCK-1) * IN_W * CF cycles to buffer and BLOCK * IN_W * CF to emit: a frame takes
// OUT_H * (2 * BLOCK - 1) * IN_W * CF cycles (1.5x its input words at BLOCK 2); latency BLOCK-1 rows.
// The configuration (CFG) holds IN_H, IN_W, BLOCK, CF and word_t.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <typename CFG>
void reorg(hls::stream<typename CFG::word_t>& in, hls::stream<typename CFG::word_t>& out, unsigned frames) {
    typedef typename CFG::word_t Word;
    constexpr unsigned B = CFG::BLOCK, CF = CFG::CF, ROW = CFG::IN_W * CF, OUT_W = CFG::IN_W / B;
    constexpr unsigned BUFFERED = (B - 1) * ROW;                // words of a band's first B-1 rows
    constexpr unsigned PIXEL_OUT = B * B * CF;                  // an output pixel's words
    constexpr unsigned BAND = BUFFERED + OUT_W * PIXEL_OUT;     // cycles per band of B input rows
    constexpr unsigned BANDS = CFG::IN_H / B;
    static_assert(CFG::IN_H % B == 0 && CFG::IN_W % B == 0, "the block must divide the image");
    Word rows[BUFFERED];
    // t: cycle within the band; x, w: the output pixel being emitted and its word
    unsigned t = 0, x = 0, w = 0;
    for (unsigned i = 0; i < frames * BANDS * BAND; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = BANDS * BAND max = BANDS * BAND
#pragma HLS DEPENDENCE variable = rows inter false
        DFK_CYCLE();
        if (t < BUFFERED) {
            rows[t] = in.read();                                // row r at r * ROW
        } else {
            // word w of output pixel x: patch row w / (B CF), column B x + (w / CF) % B, fold w % CF
            const unsigned patch_row = w / (B * CF), col = B * x + (w / CF) % B, fold = w % CF;
            out.write(patch_row < B - 1 ? rows[patch_row * ROW + col * CF + fold] : in.read());
            if (++w == PIXEL_OUT) {
                w = 0;
                x = x == OUT_W - 1 ? 0 : x + 1;
            }
        }
        t = t == BAND - 1 ? 0 : t + 1;
    }
}

}  // namespace dfk
