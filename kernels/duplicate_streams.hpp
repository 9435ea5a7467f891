// Duplicate a stream into several (FINN op DuplicateStreams): the fork in front of a residual
// branch (two outputs) or of a multi-branch stem (one output per branch). A frame takes WORDS cycles.
// The configuration (CFG) holds WORDS (words per frame) and word_t.
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

// The output streams come last: duplicate_streams<CFG>(in, frames, out0, out1, ...).
template <typename CFG, typename... Outs>
void duplicate_streams(hls::stream<typename CFG::word_t>& in, unsigned frames, Outs&... outs) {
    for (unsigned i = 0; i < frames * CFG::WORDS; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = CFG::WORDS max = CFG::WORDS
        DFK_CYCLE();
        write_each(in.read(), outs...);
    }
}

}  // namespace dfk
