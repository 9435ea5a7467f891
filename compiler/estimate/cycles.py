"""Cycles per frame of every layer of our libraries (RTL modules and HLS kernels share them): the
one cycle model the estimates, the folding optimizer and the codegen's stated cycles use, checked
against rtlsim in tests/test_rtl.py.

A layer's cycles per frame are its steady-state interval: the cycles between two frames' last
output words while the input always has a word and the output always takes one. Where FINN's
get_exp_cycles() models FINN's own implementation differently (the sliding window, global pool,
label select, width converter), ours is the one that holds for our hardware.
"""
import math
from functools import lru_cache

from compiler.hwops import base_op, reorg_shape


def pow2_at_least(n):
    return 1 << max(0, int(n - 1).bit_length())


def window_buffer_words(in_h, in_w, k_h, k_w, s_h, s_w, d_h, d_w, cf):
    """Words the serial sliding window keeps: the window's span plus one stride of input, so that
    reading goes on while a window is written, rounded up to a power of two."""
    span = ((k_h - 1) * d_h * in_w + (k_w - 1) * d_w + 1) * cf
    return pow2_at_least(span + (s_h * in_w if in_h > 1 else s_w) * cf)


@lru_cache(maxsize=None)
def sliding_window_cycles(in_h, in_w, k_h, k_w, s_h, s_w, d_h, d_w, out_h, out_w, cf, depthwise):
    """Cycles per frame of rtl/sliding_window.sv (and kernels/sliding_window.hpp): its schedule,
    counted. Each cycle it reads the next input word if the word's buffer slot is free and writes
    the next window word if that word has been read (or is read in the same cycle)."""
    reads, writes = in_h * in_w * cf, out_h * out_w * k_h * k_w * cf
    buffer = window_buffer_words(in_h, in_w, k_h, k_w, s_h, s_w, d_h, d_w, cf)
    # Offsets of a window's words in emission order, relative to its first word.
    row, col = d_h * in_w * cf, d_w * cf
    if depthwise:
        offsets = [c + kh * row + kw * col for c in range(cf) for kh in range(k_h) for kw in range(k_w)]
    else:
        offsets = [kh * row + kw * col + c for kh in range(k_h) for kw in range(k_w) for c in range(cf)]
    origins = [(oy * s_h * in_w + ox * s_w) * cf for oy in range(out_h) for ox in range(out_w)]
    read = written = cycles = 0
    window, word = 0, 0             # the next window word to write: window index, word within it
    per_window = len(offsets)
    while read < reads or written < writes:
        origin = origins[window] if written < writes else 0
        do_read = read < reads and (written == writes or read < origin + buffer)
        if written < writes and origin + offsets[word] < read + do_read:
            written += 1
            word += 1
            if word == per_window:
                word, window = 0, window + 1
        read += do_read
        cycles += 1
    return cycles


def _words(shape):
    return math.prod(shape[:-1])


def layer_cycles(inst):
    """Cycles per frame of one HW node (custom op instance) in our implementation."""
    op, get = base_op(inst.onnx_node.op_type), inst.get_nodeattr
    if op == "GlobalAccPool":       # a fold's sum leaves with its last pixel's word (FINN: CF more)
        return _words(inst.get_folded_input_shape())
    if op == "LabelSelect":         # the indices leave while the next vector comes in (FINN: the input only)
        return math.prod(get("numInputVectors")) * max(get("Labels") // get("PE"), get("K"))
    if op == "StreamingDataWidthConverter":    # one word in and one out per cycle (FINN: 0, free)
        return max(_words(inst.get_folded_input_shape()), _words(inst.get_folded_output_shape()))
    if op == "ConvolutionInputGenerator":
        (ih, iw), (oh, ow) = get("IFMDim"), get("OFMDim")
        (kh, kw), (sh, sw), (dh, dw) = get("ConvKernelDim"), get("Stride"), get("Dilation")
        cf = get("IFMChannels") // get("SIMD")
        if get("parallel_window"):
            return ih * iw * cf
        return sliding_window_cycles(ih, iw, kh, kw, sh, sw, dh, dw, oh, ow, cf, bool(get("depthwise")))
    if op == "Shuffle" and reorg_shape(inst) is not None:     # kernels/reorg.hpp: buffer B-1 rows, emit B
        h, w, channels, block = reorg_shape(inst)
        return h // block * (2 * block - 1) * w * (channels // get("SIMD"))
    return int(inst.get_exp_cycles())
