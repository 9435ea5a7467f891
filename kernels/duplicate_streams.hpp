// Duplicate a stream into two (FINN op DuplicateStreams with NumOutputStreams = 2): the fork in
// front of a residual branch.
#pragma once
#include "stream_utils.hpp"

namespace dfk {

template <unsigned WORDS, typename Word>
void duplicate_streams(hls::stream<Word>& in, hls::stream<Word>& out0, hls::stream<Word>& out1, unsigned reps) {
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
            DFK_CYCLE();
            const Word word = in.read();
            out0.write(word);
            out1.write(word);
        }
    }
}

}  // namespace dfk
