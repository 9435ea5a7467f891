// Stream data width converter (FINN op StreamingDataWidthConverter): repacks a frame of IN_WORDS
// words of IN_W bits into OUT_WORDS words of OUT_W bits, lowest bits first. The frame's bit count is
// a multiple of both widths (FINN inserts converters only where it is).
//
// One II=1 loop over max(IN_WORDS, OUT_WORDS) iterations per frame (compiler/estimate/cycles.py):
// each iteration moves a word on the side with more words and, when needed, one on the other side.
// Pending bits wait in a buffer of IN_W + OUT_W - gcd(IN_W, OUT_W) bits (the larger width when one
// divides the other): a word is read only while fewer than OUT_W bits are pending.
// The configuration (CFG) holds IN_W, OUT_W, IN_WORDS and OUT_WORDS (per frame).
#pragma once
#include "stream_utils.hpp"

namespace dfk {

constexpr unsigned gcd(unsigned a, unsigned b) { return b == 0 ? a : gcd(b, a % b); }

template <typename CFG>
void data_width_converter(hls::stream<ap_uint<CFG::IN_W>>& in, hls::stream<ap_uint<CFG::OUT_W>>& out,
                          unsigned frames) {
    constexpr unsigned IN_W = CFG::IN_W, OUT_W = CFG::OUT_W, IN_WORDS = CFG::IN_WORDS, OUT_WORDS = CFG::OUT_WORDS;
    constexpr unsigned STEPS = IN_WORDS > OUT_WORDS ? IN_WORDS : OUT_WORDS;
    static_assert(IN_W * IN_WORDS == OUT_W * OUT_WORDS, "a frame must have as many bits in as out");
#if DFK_FAST_CSIM
    // C simulation: the same repacking on 64-bit chunks (shifting wide ap_uints is slow).
    constexpr unsigned IN_CHUNKS = (IN_W + 63) / 64, OUT_CHUNKS = (OUT_W + 63) / 64;
    constexpr unsigned CHUNKS = (IN_W + OUT_W + 63) / 64 + 1;
    for (unsigned frame = 0; frame < frames; frame++) {
        uint64_t buffer[CHUNKS] = {};   // pending bits, lowest first
        unsigned pending = 0;
        for (unsigned i = 0; i < IN_WORDS; i++) {
            uint64_t word[IN_CHUNKS + 1];
            word_chunks(in.read(), word);
            for (unsigned c = 0; c < IN_CHUNKS; c++) {     // append the word's bits at `pending`
                const unsigned bit = pending + 64 * c, shift = bit % 64;
                buffer[bit / 64] |= word[c] << shift;
                if (shift) buffer[bit / 64 + 1] |= word[c] >> (64 - shift);
            }
            pending += IN_W;
            while (pending >= OUT_W) {
                uint64_t result[OUT_CHUNKS];
                for (unsigned c = 0; c < OUT_CHUNKS; c++) result[c] = buffer[c];
                if (OUT_W % 64) result[OUT_CHUNKS - 1] &= (uint64_t(1) << (OUT_W % 64)) - 1;
                out.write(chunks_word<OUT_W>(result));
                for (unsigned c = 0; c < CHUNKS; c++) {       // drop the OUT_W bits written
                    const unsigned from = c + OUT_W / 64, shift = OUT_W % 64;
                    const uint64_t low = from < CHUNKS ? buffer[from] : 0;
                    const uint64_t high = from + 1 < CHUNKS ? buffer[from + 1] : 0;
                    buffer[c] = shift ? (low >> shift) | (high << (64 - shift)) : low;
                }
                pending -= OUT_W;
            }
        }
    }
#else
    constexpr unsigned BUFFER_W = IN_W + OUT_W - gcd(IN_W, OUT_W);
    ap_uint<BUFFER_W> buffer = 0;   // pending bits, lowest first
    unsigned pending = 0;           // below OUT_W before a read, so a read fits
    for (unsigned i = 0; i < frames * STEPS; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = STEPS max = STEPS
        DFK_CYCLE();
        if (IN_WORDS >= OUT_WORDS || pending < OUT_W) {
            buffer |= ap_uint<BUFFER_W>(in.read()) << pending;
            pending += IN_W;
        }
        if (OUT_WORDS >= IN_WORDS || pending >= OUT_W) {
            out.write(ap_uint<OUT_W>(buffer.range(OUT_W - 1, 0)));
            buffer >>= OUT_W;
            pending -= OUT_W;
        }
    }
#endif
}

}  // namespace dfk
