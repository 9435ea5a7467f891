// Sliding-window generator (FINN op ConvolutionInputGenerator): turns an NHWC feature map into
// the stream of convolution windows that a matrix-vector unit consumes.
//
// Words carry SIMD channels; a pixel is CF = C/SIMD words. For every output pixel the window is
// emitted as
//   standard:  for kh, for kw, for cf   (im2col order: kernel position major, channels minor)
//   depthwise: for cf, for kh, for kw   (channel fold major, as VVAU and Pool consume it)
// PARALLEL (FINN parallel_window=1): per output pixel and channel fold one window_t word holding the
// K_H * K_W window pixels (kernel position major, SIMD channels minor), so the consumer takes a
// whole window per cycle. CF > 1 only for depthwise windows (FINN asserts SIMD = C otherwise).
//
// Serial schedule: the same as rtl/sliding_window.sv, reading the input and writing windows overlap.
// Words are kept in a circular buffer by their index in the frame; each cycle reads the next input
// word if its slot is free (the word it replaces precedes the current window) and writes the next
// window word if it has been read. The next frame starts in the cycle after the last one's last word.
// The cycles per frame are that schedule's count (compiler/estimate/cycles.py, CFG::CYCLES); a
// parallel window takes one cycle per input word.
//
// The configuration (CFG) holds IN_H, IN_W, K_H, K_W, S_H, S_W, D_H, D_W, OUT_H, OUT_W, CF, DEPTHWISE,
// PARALLEL, CYCLES, RAM_STYLE (FINN's ram_style: the memory of the buffer, or of a 2D parallel
// window's line buffers), word_t (input word) and window_t (output word).
#pragma once
#include "stream_utils.hpp"
#if DFK_FAST_CSIM
#include <vector>
#endif

namespace dfk {

// Where a buffer lives (FINN's ram_style; codegen resolves `auto` as FINN's estimate counts it).
enum ram_style { ram_block, ram_distributed, ram_ultra };

// Smallest power of two >= n: buffer addresses are then word indices modulo BUF, a bit mask.
constexpr unsigned pow2_at_least(unsigned n, unsigned p = 1) { return p >= n ? p : pow2_at_least(n, 2 * p); }

// Runs Schedule::run(in, out, frames, memory) with memory[ROWS][DEPTH] in the RAM STYLE names; each
// row is its own memory of one read and one write port. STYLE is a constant, so one branch is built
// (a pragma takes no template argument, hence one branch per style).
template <ram_style STYLE, typename Word, unsigned ROWS, unsigned DEPTH, typename Schedule, typename In, typename Out>
void with_memory(In& in, Out& out, unsigned frames) {
#pragma HLS INLINE
    if (STYLE == ram_block) {
        Word memory[ROWS][DEPTH];
#pragma HLS ARRAY_PARTITION variable = memory complete dim = 1
#pragma HLS BIND_STORAGE variable = memory type = ram_s2p impl = bram
        Schedule::run(in, out, frames, memory);
    } else if (STYLE == ram_distributed) {
        Word memory[ROWS][DEPTH];
#pragma HLS ARRAY_PARTITION variable = memory complete dim = 1
#pragma HLS BIND_STORAGE variable = memory type = ram_s2p impl = lutram
        Schedule::run(in, out, frames, memory);
    } else {
        Word memory[ROWS][DEPTH];
#pragma HLS ARRAY_PARTITION variable = memory complete dim = 1
#pragma HLS BIND_STORAGE variable = memory type = ram_s2p impl = uram
        Schedule::run(in, out, frames, memory);
    }
}

template <typename CFG> struct window_serial {
    typedef typename CFG::word_t Word;
    static const unsigned READS = CFG::IN_H * CFG::IN_W * CFG::CF;
    static const unsigned WRITES = CFG::OUT_H * CFG::OUT_W * CFG::K_H * CFG::K_W * CFG::CF;
    // Words from a window's first to its last: the minimum buffer. One stride more lets the next
    // window's (or window row's) input arrive while this one is written.
    static const unsigned SPAN = ((CFG::K_H - 1) * CFG::D_H * CFG::IN_W + (CFG::K_W - 1) * CFG::D_W + 1) * CFG::CF;
    static const unsigned BUF = pow2_at_least(SPAN + (CFG::IN_H > 1 ? CFG::S_H * CFG::IN_W : CFG::S_W) * CFG::CF);

    static void run(hls::stream<Word>& in, hls::stream<Word>& out, unsigned frames, Word buf[1][BUF]) {
        // The window's words in emission order: counters c0 (innermost) .. c2 of n0 .. n2 values, each
        // step moving the word's offset within the window by STEP0 .. STEP2 (rtl/sliding_window.sv).
        constexpr bool DW = CFG::DEPTHWISE;
        constexpr unsigned ROW = CFG::D_H * CFG::IN_W * CFG::CF, COL = CFG::D_W * CFG::CF;
        constexpr unsigned N0 = DW ? CFG::K_W : CFG::CF, STEP0 = DW ? COL : 1;
        constexpr unsigned N1 = DW ? CFG::K_H : CFG::K_W, STEP1 = DW ? ROW : COL;
        constexpr unsigned N2 = DW ? CFG::CF : CFG::K_H, STEP2 = DW ? 1 : ROW;
        constexpr unsigned NEXT_ROW = CFG::S_H * CFG::IN_W * CFG::CF, NEXT_COL = CFG::S_W * CFG::CF;
        unsigned read = 0, written = 0;        // words read from `in` / written to `out` in this frame
        unsigned origin = 0, row_origin = 0;   // first word of the current window / of its window row
        unsigned offset = 0;                   // of the next window word from `origin`
        unsigned c0 = 0, c1 = 0, c2 = 0, ox = 0;
        for (unsigned frame = 0; frame < frames;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::CYCLES max = CFG::CYCLES
            DFK_CYCLE();
            const unsigned needed = origin + offset;
            const bool do_read = read < READS && (written == WRITES || read < origin + BUF);
            Word fresh;
            if (do_read) {
                fresh = in.read();
                buf[0][read & (BUF - 1)] = fresh;
            }
            const bool do_write = written < WRITES && needed < read + do_read;
            if (do_write) {
                out.write(needed == read ? fresh : buf[0][needed & (BUF - 1)]);
                if (c0 != N0 - 1) {
                    c0++;
                    offset += STEP0;
                } else if (c1 != N1 - 1) {
                    c0 = 0;
                    c1++;
                    offset += STEP1 - (N0 - 1) * STEP0;
                } else if (c2 != N2 - 1) {
                    c0 = c1 = 0;
                    c2++;
                    offset += STEP2 - (N1 - 1) * STEP1 - (N0 - 1) * STEP0;
                } else {                        // the window is complete: on to the next output pixel
                    c0 = c1 = c2 = offset = 0;
                    if (ox == CFG::OUT_W - 1) {
                        ox = 0;
                        row_origin += NEXT_ROW;
                        origin = row_origin;
                    } else {
                        ox++;
                        origin += NEXT_COL;
                    }
                }
            }
            read += do_read;
            written += do_write;
            if (read == READS && written == WRITES) {
                read = written = origin = row_origin = 0;
                frame++;
            }
        }
    }
};

// Whether the incoming word (of one channel fold) is the bottom-right word of a window: rows before
// the first window row, then every S_H-th row while window rows remain; columns alike
// (rtl/sliding_window_parallel.sv).
template <typename CFG> struct window_corner {
    static const unsigned SPAN_H = (CFG::K_H - 1) * CFG::D_H + 1, SPAN_W = (CFG::K_W - 1) * CFG::D_W + 1;
    unsigned cf, x, y, row_wait, rows_left, col_wait, cols_left;

    window_corner() { start_frame(); }
    void start_frame() {
        cf = x = y = 0;
        row_wait = SPAN_H - 1;
        rows_left = CFG::OUT_H;
        start_row();
    }
    void start_row() {
        col_wait = SPAN_W - 1;
        cols_left = CFG::OUT_W;
    }
    bool completes() const { return row_wait == 0 && rows_left != 0 && col_wait == 0 && cols_left != 0; }
    void advance() {
#pragma HLS INLINE
        if (cf != CFG::CF - 1) {
            cf++;
            return;
        }
        cf = 0;
        if (x != CFG::IN_W - 1) {
            x++;
            if (col_wait != 0) col_wait--;
            else { col_wait = CFG::S_W - 1; if (cols_left != 0) cols_left--; }
            return;
        }
        x = 0;
        start_row();
        if (y == CFG::IN_H - 1) { start_frame(); return; }
        y++;
        if (row_wait != 0) row_wait--;
        else { row_wait = CFG::S_H - 1; if (rows_left != 0) rows_left--; }
    }
};

// Parallel window, 1D (or a window within one row): the last SPAN - 1 input words in a shift
// register with a tap at each window position, no memory indexed by a computed address.
template <typename CFG> struct window_parallel_registers {
    typedef typename CFG::word_t Word;
    typedef typename CFG::window_t Window;
    static const unsigned SPAN = (window_corner<CFG>::SPAN_H - 1) * CFG::IN_W * CFG::CF
                                 + (window_corner<CFG>::SPAN_W - 1) * CFG::CF + 1;

    static void run(hls::stream<Word>& in, hls::stream<Window>& out, unsigned frames) {
        constexpr unsigned READS = CFG::IN_H * CFG::IN_W * CFG::CF;
        Word history[SPAN];             // history[d] is the word d words before the incoming one
#pragma HLS ARRAY_PARTITION variable = history complete
        window_corner<CFG> corner;
        for (unsigned i = 0; i < frames * READS; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = READS max = READS
            DFK_CYCLE();
            for (unsigned d = SPAN - 1; d > 0; d--) {
#pragma HLS UNROLL
                history[d] = history[d - 1];
            }
            history[0] = in.read();
            if (corner.completes()) {
                Window window;
                for (unsigned k = 0; k < CFG::K_H * CFG::K_W; k++) {
#pragma HLS UNROLL
                    const unsigned behind = ((CFG::K_H - 1 - k / CFG::K_W) * CFG::D_H * CFG::IN_W
                                             + (CFG::K_W - 1 - k % CFG::K_W) * CFG::D_W) * CFG::CF;
                    window.range((k + 1) * Word::width - 1, k * Word::width) = history[behind];
                }
                out.write(window);
            }
            corner.advance();
        }
    }
};

// Parallel window spanning rows: per kernel row a shift register of the row's last TAIL words (its
// taps), and between kernel rows a line buffer that delays the words leaving one row's register
// until the row D_H rows up reaches them: LINE = D_H * IN_W * CF - TAIL words, one memory per row
// (RAM_STYLE), read and written at the same address each cycle. FINN's parallel window has the same
// K_H - 1 line buffers of that depth (its BRAM estimate).
template <typename CFG> struct window_parallel_lines {
    typedef typename CFG::word_t Word;
    typedef typename CFG::window_t Window;
    static const unsigned TAIL = (window_corner<CFG>::SPAN_W - 1) * CFG::CF + 1;
    static const unsigned LINE = CFG::D_H * CFG::IN_W * CFG::CF - TAIL;

    static void run(hls::stream<Word>& in, hls::stream<Window>& out, unsigned frames, Word lines[CFG::K_H - 1][LINE]) {
        // An address is read and written in one cycle and comes back LINE >= 4 cycles later.
#pragma HLS DEPENDENCE variable = lines inter false
        constexpr unsigned READS = CFG::IN_H * CFG::IN_W * CFG::CF;
        Word rows[CFG::K_H][TAIL];      // rows[kh][d]: kernel row kh's word d words before its newest
#pragma HLS ARRAY_PARTITION variable = rows complete dim = 0
        window_corner<CFG> corner;
        unsigned address = 0;           // of the line buffers' oldest word
        for (unsigned i = 0; i < frames * READS; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = READS max = READS
            DFK_CYCLE();
            Word incoming = in.read();  // into the bottom kernel row, then the one above, ...
            for (unsigned r = CFG::K_H; r-- > 0;) {
#pragma HLS UNROLL
                const Word leaving = rows[r][TAIL - 1];
                for (unsigned d = TAIL - 1; d > 0; d--) {
#pragma HLS UNROLL
                    rows[r][d] = rows[r][d - 1];
                }
                rows[r][0] = incoming;
                if (r > 0) {
                    incoming = lines[r - 1][address];
                    lines[r - 1][address] = leaving;
                }
            }
            if (corner.completes()) {
                Window window;
                for (unsigned k = 0; k < CFG::K_H * CFG::K_W; k++) {
#pragma HLS UNROLL
                    const unsigned behind = (CFG::K_W - 1 - k % CFG::K_W) * CFG::D_W * CFG::CF;
                    window.range((k + 1) * Word::width - 1, k * Word::width) = rows[k / CFG::K_W][behind];
                }
                out.write(window);
            }
            address = address == LINE - 1 ? 0 : address + 1;
            corner.advance();
        }
    }
};

// Line buffers pay off when they replace a long register span: 2D windows over rows several words
// longer than a window row. Otherwise the span stays in registers.
template <typename CFG> struct window_uses_lines {
    static const bool value = CFG::K_H > 1 && CFG::IN_W > 1 &&
                              CFG::D_H * CFG::IN_W >= window_corner<CFG>::SPAN_W + 4;
};

// Picks the variant at compile time (their output streams differ in type).
template <typename CFG, bool PARALLEL = CFG::PARALLEL, bool LINES = window_uses_lines<CFG>::value>
struct sliding_window_variant;

template <typename CFG, bool LINES> struct sliding_window_variant<CFG, false, LINES> {
    static void run(hls::stream<typename CFG::word_t>& in, hls::stream<typename CFG::window_t>& out, unsigned frames) {
        typedef window_serial<CFG> S;
#if DFK_FAST_CSIM
        // C simulation: the same windows from a whole buffered frame, without the cycle schedule.
        std::vector<typename CFG::word_t> frame(S::READS);
        for (unsigned f = 0; f < frames; f++) {
            for (unsigned i = 0; i < S::READS; i++) frame[i] = in.read();
            for (unsigned oy = 0; oy < CFG::OUT_H; oy++) {
                for (unsigned ox = 0; ox < CFG::OUT_W; ox++) {
                    const typename CFG::word_t* origin = &frame[(oy * CFG::S_H * CFG::IN_W + ox * CFG::S_W) * CFG::CF];
                    for (unsigned w = 0; w < CFG::K_H * CFG::K_W * CFG::CF; w++) {
                        // w in emission order -> (kh, kw, cf)
                        const unsigned cf = CFG::DEPTHWISE ? w / (CFG::K_H * CFG::K_W) : w % CFG::CF;
                        const unsigned k = CFG::DEPTHWISE ? w % (CFG::K_H * CFG::K_W) : w / CFG::CF;
                        out.write(origin[((k / CFG::K_W) * CFG::D_H * CFG::IN_W + (k % CFG::K_W) * CFG::D_W) * CFG::CF + cf]);
                    }
                }
            }
        }
#else
        with_memory<CFG::RAM_STYLE, typename CFG::word_t, 1, S::BUF, S>(in, out, frames);
#endif
    }
};

template <typename CFG> struct sliding_window_variant<CFG, true, false> {
    static void run(hls::stream<typename CFG::word_t>& in, hls::stream<typename CFG::window_t>& out, unsigned frames) {
        window_parallel_registers<CFG>::run(in, out, frames);
    }
};

template <typename CFG> struct sliding_window_variant<CFG, true, true> {
    static void run(hls::stream<typename CFG::word_t>& in, hls::stream<typename CFG::window_t>& out, unsigned frames) {
        typedef window_parallel_lines<CFG> L;
        with_memory<CFG::RAM_STYLE, typename CFG::word_t, CFG::K_H - 1, L::LINE, L>(in, out, frames);
    }
};

template <typename CFG>
void sliding_window(hls::stream<typename CFG::word_t>& in, hls::stream<typename CFG::window_t>& out, unsigned frames) {
#pragma HLS INLINE
    static_assert((CFG::OUT_H - 1) * CFG::S_H + (CFG::K_H - 1) * CFG::D_H + 1 <= CFG::IN_H,
                  "window runs past the input height");
    static_assert((CFG::OUT_W - 1) * CFG::S_W + (CFG::K_W - 1) * CFG::D_W + 1 <= CFG::IN_W,
                  "window runs past the input width");
    static_assert(CFG::PARALLEL ? CFG::window_t::width == CFG::K_H * CFG::K_W * CFG::word_t::width
                                : CFG::window_t::width == CFG::word_t::width,
                  "a window word holds K_H*K_W input words (parallel), else one");
    static_assert(!CFG::PARALLEL || CFG::DEPTHWISE || CFG::CF == 1,
                  "a standard parallel window needs all channels in one word");
    sliding_window_variant<CFG>::run(in, out, frames);
}

}  // namespace dfk
