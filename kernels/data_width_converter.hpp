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
    if (IN_W + OUT_W <= 64) {   // C simulation: the same repacking in a native 64-bit buffer
        for (unsigned rep = 0; rep < reps; rep++) {
            uint64_t buffer = 0;
            unsigned pending = 0;
            for (unsigned i = 0; i < IN_WORDS; i++) {
                buffer |= in.read().to_uint64() << pending;
                pending += IN_W;
                while (pending >= OUT_W) {
                    out.write(ap_uint<OUT_W>(OUT_W == 64 ? buffer : buffer & ((uint64_t(1) << OUT_W) - 1)));
                    buffer = OUT_W == 64 ? 0 : buffer >> OUT_W;
                    pending -= OUT_W;
                }
            }
        }
        return;
    }
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
