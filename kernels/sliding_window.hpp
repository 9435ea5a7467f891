// Sliding-window generator (FINN op ConvolutionInputGenerator): turns an NHWC feature map into
// the stream of convolution windows that a matrix-vector unit consumes.
//
// Words carry SIMD channels; a pixel is CF = C/SIMD words. For every output pixel the window is
// emitted as
//   standard:  for kh, for kw, for cf   (im2col order: kernel position major, channels minor)
//   depthwise: for cf, for kh, for kw   (channel fold major, as VVAU and Pool consume it)
// PARALLEL (FINN parallel_window=1): per output pixel and channel fold one OutWord holding the
// K_H * K_W window pixels (kernel position major, SIMD channels minor), so the consumer takes a
// whole window per cycle. CF > 1 only for depthwise windows (FINN asserts SIMD = C otherwise).
//
// Schedule: like FINN's RTL generator (ConvolutionInputGenerator_rtl), reading the input and
// writing windows overlap. Words are kept in a circular buffer by their index in the frame; each
// cycle reads the next input word if its slot is free (the word it replaces precedes the current
// window) and writes the next window word if it has been read. CYCLES, if given, is the number of
// cycles per frame to take at least: the describer passes FINN's get_exp_cycles(), which includes
// the RTL's pipeline latency and stalls, so that the folding estimates and the kernel agree.
// Where FINN's formula is below what any one-read-one-write-per-cycle schedule can do (some 1D
// configurations, see tests), the kernel takes the cycles it needs.
#pragma once
#include "stream_utils.hpp"
#if DFK_NATIVE_CSIM
#include <vector>
#endif

namespace dfk {

// Smallest power of two >= n: buffer addresses are then word indices modulo BUF, a bit mask.
constexpr unsigned pow2_at_least(unsigned n, unsigned p = 1) { return p >= n ? p : pow2_at_least(n, 2 * p); }

template <unsigned IN_H, unsigned IN_W, unsigned K_H, unsigned K_W, unsigned S_H, unsigned S_W,
          unsigned D_H, unsigned D_W, unsigned OUT_H, unsigned OUT_W, unsigned CF, bool DEPTHWISE,
          typename Word, unsigned CYCLES>
void sliding_window_serial(hls::stream<Word>& in, hls::stream<Word>& out, unsigned reps) {
    constexpr unsigned READS = IN_H * IN_W * CF;
    constexpr unsigned WRITES = OUT_H * OUT_W * K_H * K_W * CF;
    // Words from a window's first to its last: the minimum buffer.
    constexpr unsigned SPAN = ((K_H - 1) * D_H * IN_W + (K_W - 1) * D_W + 1) * CF;
    // One stride more lets the next window's (or window row's) input arrive while this one is written.
    constexpr unsigned BUF = pow2_at_least(SPAN + (IN_H > 1 ? S_H * IN_W : S_W) * CF);
#if DFK_NATIVE_CSIM
    // C simulation: the same windows from a whole buffered frame, without the cycle schedule.
    std::vector<Word> frame(READS);
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned i = 0; i < READS; i++) frame[i] = in.read();
        for (unsigned oy = 0; oy < OUT_H; oy++) {
            for (unsigned ox = 0; ox < OUT_W; ox++) {
                const Word* origin = &frame[(oy * S_H * IN_W + ox * S_W) * CF];
                if (DEPTHWISE) {
                    for (unsigned cf = 0; cf < CF; cf++)
                        for (unsigned kh = 0; kh < K_H; kh++)
                            for (unsigned kw = 0; kw < K_W; kw++)
                                out.write(origin[(kh * D_H * IN_W + kw * D_W) * CF + cf]);
                } else {
                    for (unsigned kh = 0; kh < K_H; kh++)
                        for (unsigned kw = 0; kw < K_W; kw++)
                            for (unsigned cf = 0; cf < CF; cf++)
                                out.write(origin[(kh * D_H * IN_W + kw * D_W) * CF + cf]);
                }
            }
        }
    }
    return;
#endif
    Word buf[BUF];
    for (unsigned rep = 0; rep < reps; rep++) {
        unsigned read = 0, written = 0;     // words read from `in` / written to `out` in this frame
        unsigned origin = 0;                // index of the current window's first word (top left, cf 0)
        unsigned ox = 0, kh = 0, kw = 0, cf = 0;
        for (unsigned t = 0; t < CYCLES || read < READS || written < WRITES; t++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            const unsigned needed = origin + (kh * D_H * IN_W + kw * D_W) * CF + cf;
            const bool do_read = read < READS && (written == WRITES || read < origin + BUF);
            Word fresh;
            if (do_read) {
                fresh = in.read();
                buf[read & (BUF - 1)] = fresh;
            }
            if (written < WRITES && needed < read + do_read) {
                out.write(needed == read ? fresh : buf[needed & (BUF - 1)]);
                written++;
                // Next window word in emission order (the innermost counter first); after the last
                // word of a window, the next window.
                unsigned& c0 = DEPTHWISE ? kw : cf;
                unsigned& c1 = DEPTHWISE ? kh : kw;
                unsigned& c2 = DEPTHWISE ? cf : kh;
                const unsigned n0 = DEPTHWISE ? K_W : CF, n1 = DEPTHWISE ? K_H : K_W, n2 = DEPTHWISE ? CF : K_H;
                bool window_done = false;
                if (++c0 == n0) {
                    c0 = 0;
                    if (++c1 == n1) {
                        c1 = 0;
                        if (++c2 == n2) {
                            c2 = 0;
                            window_done = true;
                        }
                    }
                }
                if (window_done) {
                    origin += S_W * CF;
                    if (++ox == OUT_W) {
                        ox = 0;
                        origin += (S_H * IN_W - OUT_W * S_W) * CF;
                    }
                }
            }
            read += do_read;
        }
    }
}

template <unsigned IN_H, unsigned IN_W, unsigned K_H, unsigned K_W, unsigned S_H, unsigned S_W,
          unsigned D_H, unsigned D_W, unsigned OUT_H, unsigned OUT_W, unsigned CF, typename Word,
          typename OutWord, unsigned CYCLES>
void sliding_window_parallel(hls::stream<Word>& in, hls::stream<OutWord>& out, unsigned reps) {
    static_assert(OutWord::width == K_H * K_W * Word::width, "a parallel window word holds K_H*K_W input words");
    constexpr unsigned READS = IN_H * IN_W * CF;
    constexpr unsigned SPAN_H = (K_H - 1) * D_H + 1, SPAN_W = (K_W - 1) * D_W + 1;
    // A window (of one channel fold) is complete when its bottom-right word arrives; its other words
    // are then at fixed distances behind the newest: a shift register of SPAN words with K_H*K_W taps
    // (registers: a few pixels for 1D windows; 2D windows span K_H-1 rows, which FINN's RTL keeps
    // in line buffers).
    constexpr unsigned SPAN = ((SPAN_H - 1) * IN_W + SPAN_W - 1) * CF + 1;
    constexpr unsigned BUF = pow2_at_least(SPAN);
    Word buf[BUF];
#pragma HLS ARRAY_PARTITION variable = buf complete
    for (unsigned rep = 0; rep < reps; rep++) {
        unsigned y = 0, x = 0, cf = 0;
        for (unsigned t = 0; t < CYCLES || t < READS; t++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            if (t >= READS) continue;       // FINN's pipeline latency
            buf[t & (BUF - 1)] = in.read();
            // Is (y, x) the bottom-right pixel of a window?
            const bool row = y + 1 >= SPAN_H && (y + 1 - SPAN_H) % S_H == 0 && (y + 1 - SPAN_H) / S_H < OUT_H;
            const bool col = x + 1 >= SPAN_W && (x + 1 - SPAN_W) % S_W == 0 && (x + 1 - SPAN_W) / S_W < OUT_W;
            if (row && col) {
                OutWord window;
                for (unsigned k = 0; k < K_H * K_W; k++) {
#pragma HLS UNROLL
                    const unsigned behind = ((K_H - 1 - k / K_W) * D_H * IN_W + (K_W - 1 - k % K_W) * D_W) * CF;
                    window.range((k + 1) * Word::width - 1, k * Word::width) = buf[(t - behind) & (BUF - 1)];
                }
                out.write(window);
            }
            if (++cf == CF) { cf = 0; if (++x == IN_W) { x = 0; y++; } }
        }
    }
}

// Picks the serial or the parallel variant at compile time (their output streams differ in type).
template <bool PARALLEL> struct sliding_window_variant;

template <> struct sliding_window_variant<false> {
    template <unsigned IN_H, unsigned IN_W, unsigned K_H, unsigned K_W, unsigned S_H, unsigned S_W, unsigned D_H,
              unsigned D_W, unsigned OUT_H, unsigned OUT_W, unsigned CF, bool DEPTHWISE, unsigned CYCLES, typename Word>
    static void run(hls::stream<Word>& in, hls::stream<Word>& out, unsigned reps) {
        sliding_window_serial<IN_H, IN_W, K_H, K_W, S_H, S_W, D_H, D_W, OUT_H, OUT_W, CF, DEPTHWISE, Word, CYCLES>(
            in, out, reps);
    }
};

template <> struct sliding_window_variant<true> {
    template <unsigned IN_H, unsigned IN_W, unsigned K_H, unsigned K_W, unsigned S_H, unsigned S_W, unsigned D_H,
              unsigned D_W, unsigned OUT_H, unsigned OUT_W, unsigned CF, bool DEPTHWISE, unsigned CYCLES, typename Word,
              typename OutWord>
    static void run(hls::stream<Word>& in, hls::stream<OutWord>& out, unsigned reps) {
        static_assert(DEPTHWISE || CF == 1, "a standard parallel window needs all channels in one word");
        sliding_window_parallel<IN_H, IN_W, K_H, K_W, S_H, S_W, D_H, D_W, OUT_H, OUT_W, CF, Word, OutWord, CYCLES>(
            in, out, reps);
    }
};

template <unsigned IN_H, unsigned IN_W, unsigned K_H, unsigned K_W, unsigned S_H, unsigned S_W,
          unsigned D_H, unsigned D_W, unsigned OUT_H, unsigned OUT_W, unsigned CF, bool DEPTHWISE,
          typename Word, bool PARALLEL = false, typename OutWord = Word, unsigned CYCLES = 0>
void sliding_window(hls::stream<Word>& in, hls::stream<OutWord>& out, unsigned reps) {
#pragma HLS INLINE
    static_assert((OUT_H - 1) * S_H + (K_H - 1) * D_H + 1 <= IN_H, "window runs past the input height");
    static_assert((OUT_W - 1) * S_W + (K_W - 1) * D_W + 1 <= IN_W, "window runs past the input width");
    sliding_window_variant<PARALLEL>::template run<IN_H, IN_W, K_H, K_W, S_H, S_W, D_H, D_W, OUT_H, OUT_W, CF,
                                                   DEPTHWISE, CYCLES>(in, out, reps);
}

}  // namespace dfk
