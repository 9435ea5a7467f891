// Stream data width converter (FINN op StreamingDataWidthConverter): repacks a frame of
// IN_WORDS words of IN_W bits into words of OUT_W bits, lowest bits first. The frame's bit count
// must be a multiple of OUT_W (FINN inserts converters only where it is).
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned IN_W, unsigned OUT_W, unsigned IN_WORDS>
void data_width_converter(hls::stream<ap_uint<IN_W>>& in, hls::stream<ap_uint<OUT_W>>& out, unsigned reps) {
    static_assert((IN_W * IN_WORDS) % OUT_W == 0, "frame bits must be a multiple of the output width");
#if DFK_NATIVE_CSIM
    // C simulation: the same repacking on 64-bit chunks (shifting wide ap_uints is slow).
    constexpr unsigned IN_CHUNKS = (IN_W + 63) / 64, OUT_CHUNKS = (OUT_W + 63) / 64;
    constexpr unsigned CHUNKS = (IN_W + OUT_W + 63) / 64 + 1;
    for (unsigned rep = 0; rep < reps; rep++) {
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
    return;
#endif
    for (unsigned rep = 0; rep < reps; rep++) {
        ap_uint<IN_W + OUT_W> buffer = 0;   // pending bits, lowest first
        unsigned pending = 0;
        for (unsigned i = 0; i < IN_WORDS; i++) {
            buffer |= ap_uint<IN_W + OUT_W>(in.read()) << pending;
            pending += IN_W;
            while (pending >= OUT_W) {
                out.write(ap_uint<OUT_W>(buffer.range(OUT_W - 1, 0)));
                buffer >>= OUT_W;
                pending -= OUT_W;
            }
        }
    }
}

}  // namespace dfk
