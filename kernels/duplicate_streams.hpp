// Duplicate a stream into several (FINN op DuplicateStreams): the fork in front of a residual
// branch (two outputs) or of a multi-branch stem (one output per branch).
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <typename Word>
void write_each(const Word&) {}

template <typename Word, typename... Rest>
void write_each(const Word& word, hls::stream<Word>& out, Rest&... rest) {
#pragma HLS INLINE
    out.write(word);
    write_each(word, rest...);
}

// The output streams come last (a parameter pack): duplicate_streams<WORDS>(in, reps, out0, out1, ...).
template <unsigned WORDS, typename Word, typename... Outs>
void duplicate_streams(hls::stream<Word>& in, unsigned reps, Outs&... outs) {
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            write_each(in.read(), outs...);
        }
    }
}

}  // namespace dfk
