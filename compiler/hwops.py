"""Facts about FINN's HW nodes that several stages read: op types (a generic op, MVAU, and its
backends' specializations, MVAU_hls and MVAU_rtl), the FIFO in front of each input and the widest word."""
import math

BACKEND_SUFFIXES = ("_hls", "_rtl")
MIN_FIFO_DEPTH = 2         # every stream between two layers has a FIFO of at least this many words


def base_op(op_type):
    """MVAU_hls -> MVAU: what a layer computes, whichever backend FINN specialized it to."""
    for suffix in BACKEND_SUFFIXES:
        if op_type.endswith(suffix):
            return op_type[: -len(suffix)]
    return op_type


def multiplies_on_dsp(inst, part):
    """Whether a layer's products go to DSP slices: where FINN's estimate counts DSPs (resType dsp, and
    FINN's RTL MVAU/VVAU); else LUTs. The HLS kernels and the synthesis of the RTL both follow it."""
    return hasattr(inst, "dsp_estimation") and inst.dsp_estimation(part) > 0


def fifo_depth(inst, port):
    """Words of the FIFO in front of input `port` of a HW node (custom op instance): FINN's
    inFIFODepths, as FIFO sizing sets it, at least MIN_FIFO_DEPTH."""
    depths = inst.get_nodeattr("inFIFODepths")
    return max(MIN_FIFO_DEPTH, int(depths[port]) if port < len(depths) else MIN_FIFO_DEPTH)

# The AXI DMA's stream widths: the accelerator's first input and last output word each fit the widest.
DMA_STREAM_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)

# The widest ap_uint Vitis HLS documents (AP_INT_MAX_W may be raised to this many bits): every stream
# word and every buffer word of the HLS kernels stays within it; the folding rules refuse wider.
WIDEST_WORD = 4096


def converter_buffer_bits(in_bits, out_bits):
    """Bits a width converter from `in_bits`- to `out_bits`-wide words keeps (kernels/
    data_width_converter.hpp): both widths less their gcd, which is the wider when one divides the other."""
    return in_bits + out_bits - math.gcd(in_bits, out_bits)
