// Sliding-window generator (FINN op ConvolutionInputGenerator): turns an NHWC feature map into
// the stream of convolution windows that a matrix-vector unit consumes.
//
// Words carry SIMD channels; a pixel is CF = C/SIMD words. For every output pixel the window is
// emitted as
//   standard:  for kh, for kw, for cf   (im2col order: kernel position major, channels minor)
//   depthwise: for cf, for kh, for kw   (channel fold major, as VVAU and Pool consume it)
// Input rows are kept in a circular buffer of the rows one window spans, so memory is
// BUF_ROWS * IN_W * CF words, not a whole frame.
// PARALLEL (FINN parallel_window=1, needs CF = 1): each window leaves as one OutWord holding the
// K_H * K_W pixels in im2col order, so the consumer takes a whole window per cycle.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned IN_H, unsigned IN_W, unsigned K_H, unsigned K_W, unsigned S_H, unsigned S_W,
          unsigned D_H, unsigned D_W, unsigned OUT_H, unsigned OUT_W, unsigned CF, bool DEPTHWISE,
          typename Word, bool PARALLEL = false, typename OutWord = Word>
void sliding_window(hls::stream<Word>& in, hls::stream<OutWord>& out, unsigned reps) {
    static_assert(!PARALLEL || (CF == 1 && OutWord::width == K_H * K_W * Word::width),
                  "a parallel window needs all channels in one word and an output word of K_H*K_W pixels");
    constexpr unsigned SPAN_H = (K_H - 1) * D_H + 1;                  // rows one window touches
    constexpr unsigned BUF_ROWS = SPAN_H;
    static_assert((OUT_H - 1) * S_H + SPAN_H <= IN_H, "window runs past the input height");
    static_assert((OUT_W - 1) * S_W + (K_W - 1) * D_W + 1 <= IN_W, "window runs past the input width");
    Word buf[BUF_ROWS][IN_W][CF];
    for (unsigned rep = 0; rep < reps; rep++) {
        unsigned rows_read = 0;
        for (unsigned oy = 0; oy < OUT_H; oy++) {
            // Read input rows until the last row this output row needs is buffered.
            for (; rows_read < oy * S_H + SPAN_H; rows_read++) {
                for (unsigned x = 0; x < IN_W; x++) {
                    for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                        DFK_CYCLE();
                        buf[rows_read % BUF_ROWS][x][cf] = in.read();
                    }
                }
            }
            for (unsigned ox = 0; ox < OUT_W; ox++) {
                if (PARALLEL) {
#pragma HLS PIPELINE II = 1
                    DFK_CYCLE();
                    OutWord window;
                    for (unsigned k = 0; k < K_H * K_W; k++) {
#pragma HLS UNROLL
                        window.range((k + 1) * Word::width - 1, k * Word::width) =
                            buf[(oy * S_H + (k / K_W) * D_H) % BUF_ROWS][ox * S_W + (k % K_W) * D_W][0];
                    }
                    out.write(window);
                    continue;
                }
                constexpr unsigned WINDOW = K_H * K_W * CF;
                for (unsigned i = 0; i < WINDOW; i++) {
#pragma HLS PIPELINE II = 1
                    DFK_CYCLE();
                    unsigned kh, kw, cf;
                    if (DEPTHWISE) {
                        cf = i / (K_H * K_W);
                        kh = (i / K_W) % K_H;
                        kw = i % K_W;
                    } else {
                        kh = i / (K_W * CF);
                        kw = (i / CF) % K_W;
                        cf = i % CF;
                    }
                    out.write(buf[(oy * S_H + kh * D_H) % BUF_ROWS][ox * S_W + kw * D_W][cf]);
                }
            }
        }
        // Rows below the last window (stride or size leftovers) are read and dropped.
        for (; rows_read < IN_H; rows_read++) {
            for (unsigned i = 0; i < IN_W * CF; i++) {
#pragma HLS PIPELINE II = 1
                DFK_CYCLE();
                in.read();
            }
        }
    }
}

}  // namespace dfk
