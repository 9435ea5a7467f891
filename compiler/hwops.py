"""Facts about FINN's HW nodes that several stages read: op types (a generic op, MVAU, and its
backends' specializations, MVAU_hls and MVAU_rtl), where products are computed and how many share a
DSP slice, the FIFO in front of each input and the widest word."""
import math
from typing import NamedTuple

BACKEND_SUFFIXES = ("_hls", "_rtl")
MIN_FIFO_DEPTH = 2         # every stream between two layers has a FIFO of at least this many words


def base_op(op_type):
    """MVAU_hls -> MVAU: what a layer computes, whichever backend FINN specialized it to."""
    for suffix in BACKEND_SUFFIXES:
        if op_type.endswith(suffix):
            return op_type[: -len(suffix)]
    return op_type


# A multiplier whose product (the signed operands' widths added) is narrower than this is not worth a
# DSP slice: Yosys' synth_xilinx keeps it in LUTs (its DSP_Y_MINWIDTH), and so do our kernels and counts.
MIN_DSP_PRODUCT_BITS = 9


def multiplies_on_dsp(inst, part):
    """Whether a layer's products go to DSP slices: where FINN's estimate counts DSPs (resType dsp, and
    FINN's RTL MVAU/VVAU), they are multiplications (multiplies) and a DSP's multiplier is at least
    MIN_DSP_PRODUCT_BITS wide (the packed weights count, dsp_packing); else LUTs. The HLS kernels, the
    synthesis of the RTL, our DSP count (dsp_slices) and our cost model all follow it."""
    if not hasattr(inst, "dsp_estimation") or inst.dsp_estimation(part) == 0:
        return False
    if base_op(inst.onnx_node.op_type) not in ("MVAU", "VVAU"):
        return True
    if not multiplies(inst):
        return False
    x_type, w_type = inst.get_input_datatype(0), inst.get_input_datatype(1)
    packing = dsp_packing(inst)
    w_bits = packing.packed_bits if packing.lanes > 1 else signed_bits(w_type.min(), w_type.max())
    return signed_bits(x_type.min(), x_type.max()) + w_bits >= MIN_DSP_PRODUCT_BITS


# Vitis HLS BIND_STORAGE implementations (and rom.sv's styles) of FINN's ram_style values.
RAM_IMPL = {"block": "bram", "distributed": "lutram", "ultra": "uram"}


def memory_impl(inst, part, style_attr="ram_style", estimated=True):
    """The implementation of a layer's memory (bram, lutram, uram): its ram_style, or for `auto` where
    FINN's estimate of the node puts it on `part` (estimated: the node's BRAM/URAM estimate covers this
    memory; else LUTRAM)."""
    style = inst.get_nodeattr(style_attr) if style_attr in inst.get_nodeattr_types() else "auto"
    if style != "auto":
        return RAM_IMPL[style]
    if estimated and inst.uram_estimation(part) > 0:
        return "uram"
    if estimated and inst.bram_estimation(part) > 0:
        return "bram"
    return "lutram"


def weight_words(inst):
    """Words of a MAC layer's (MVAU, VVAU) weight memory: one per (neuron fold, synapse fold)."""
    get = inst.get_nodeattr
    if base_op(inst.onnx_node.op_type) == "MVAU":
        return (get("MH") // get("PE")) * (get("MW") // get("SIMD"))
    return (get("Channels") // get("PE")) * (math.prod(get("Kernel")) // get("SIMD"))


def constants_impl(inst, part, kind):
    """Where a layer's constants of `kind` (weights, thresholds, params) live, in both backends and in
    our cost model."""
    op = base_op(inst.onnx_node.op_type)
    if kind == "thresholds" and op == "MVAU":      # FINN's MVAU estimate counts the weights' memory only
        return memory_impl(inst, part, "ram_style_thresholds", estimated=False)
    if kind == "thresholds" and op == "VVAU":      # FINN's VVAU estimate counts no threshold memory
        return "lutram"
    if kind == "weights" and op in ("MVAU", "VVAU") and weight_words(inst) == 1 \
            and inst.get_nodeattr("ram_style") == "auto":
        return "lutram"     # one word, read every cycle: constants in the logic, where FINN would spend block RAM
    return memory_impl(inst, part)


# The multiplier ports of a DSP48E1, signed: 25 x 18 bits (a DSP48E2's 27 x 18 holds whatever these do).
DSP_A_BITS, DSP_B_BITS = 25, 18


def signed_bits(lo, hi):
    """Bits of the narrowest two's-complement type holding [lo, hi]."""
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


class DspPacking(NamedTuple):
    """How our MVAU kernels share a DSP multiplier between PE lanes (rtl/packed_multiply.sv,
    kernels/multiply.hpp): the products of neighbouring lanes have the same input x, so x times their
    weights packed `shift` bits apart (w0 + w1 2^shift + ...) gives `lanes` of them at once, `shift`
    being the signed width of any one product and `packed_bits` the packed weights' signed width."""
    lanes: int
    shift: int = 0
    packed_bits: int = 0


def multiplies(inst):
    """Whether a MAC layer's (MVAU, VVAU) products are multiplications: both operands integers. One
    bipolar operand negates or passes the other, two make an XNOR: no multiplier, in LUTs whatever
    resType says."""
    x_type, w_type = inst.get_input_datatype(0), inst.get_input_datatype(1)
    return x_type.is_integer() and w_type.is_integer() and "BIPOLAR" not in (x_type.name, w_type.name) \
        and not ("binaryXnorMode" in inst.get_nodeattr_types() and inst.get_nodeattr("binaryXnorMode"))


def dsp_packing(inst):
    """The DspPacking of a layer: as many lanes as a DSP's 25-bit port holds where the products are on
    DSP slices (resType dsp) and multiply (multiplies), x within the 18-bit port; else one product
    per multiplier."""
    if base_op(inst.onnx_node.op_type) != "MVAU" or inst.get_nodeattr("resType") != "dsp" or not multiplies(inst):
        return DspPacking(1)
    x_type, w_type = inst.get_input_datatype(0), inst.get_input_datatype(1)
    if signed_bits(x_type.min(), x_type.max()) > DSP_B_BITS:
        return DspPacking(1)
    corners = [int(x) * int(w) for x in (x_type.min(), x_type.max()) for w in (w_type.min(), w_type.max())]
    shift = signed_bits(min(corners), max(corners))
    best = DspPacking(1)
    for lanes in range(2, inst.get_nodeattr("PE") + 1):
        spread = sum(1 << (i * shift) for i in range(lanes))      # the packed weights are w * spread at most
        packed_bits = signed_bits(int(w_type.min()) * spread, int(w_type.max()) * spread)
        if packed_bits > DSP_A_BITS:
            break
        best = DspPacking(lanes, shift, packed_bits)
    return best


def dsp_slices(inst, part):
    """DSP slices of a layer's products in our kernels: one per product of a MAC layer (MVAU, VVAU:
    PE * SIMD, where FINN's VVAU estimate counts PE), over the packing; FINN's count for other ops."""
    if not multiplies_on_dsp(inst, part):
        return 0
    if base_op(inst.onnx_node.op_type) not in ("MVAU", "VVAU"):
        return int(inst.dsp_estimation(part))
    operand_bits = inst.get_input_datatype(0).bitwidth() + inst.get_input_datatype(1).bitwidth()
    return math.ceil(inst.get_nodeattr("PE") / dsp_packing(inst).lanes) * inst.get_nodeattr("SIMD") \
        * math.ceil(operand_bits / 48)     # FINN's rule for products wider than a DSP


def threshold_stages(count):
    """Stages of rtl/threshold_search.sv's binary search over `count` thresholds: 2^stages - 1 >= count."""
    return max(1, int(count).bit_length())


def fifo_depth(inst, port):
    """Words of the FIFO in front of input `port` of a HW node (custom op instance): FINN's
    inFIFODepths, as FIFO sizing sets it, at least MIN_FIFO_DEPTH."""
    depths = inst.get_nodeattr("inFIFODepths")
    return max(MIN_FIFO_DEPTH, int(depths[port]) if port < len(depths) else MIN_FIFO_DEPTH)

# FIFOs (and buffers) deeper than this (and bigger than SMALL_FIFO_BITS) go to block RAM; shallower ones to SRL/LUTRAM.
SRL_FIFO_DEPTH, SMALL_FIFO_BITS = 64, 1024


def fifo_style(depth, width):
    """Where a FIFO of `depth` words of `width` bits lives: "block" (BRAM) or "distributed" (SRL/LUTRAM)."""
    return "block" if depth > SRL_FIFO_DEPTH and depth * width > SMALL_FIFO_BITS else "distributed"

# A reorg (space-to-depth over NHWC, compiler/frontend/reorg.py) as FINN's Shuffle node: its transpose of
# (N, H/b, b, W/b, b, C)
REORG_NHWC_PERM = (0, 1, 3, 2, 4, 5)


def reorg_attrs(h, w, channels, block):
    """The shape attributes of a Shuffle node that reorganizes an (N=1) h x w x channels image by `block`."""
    return dict(in_shape=[1, h, w, channels], transpose_in_shape=[1, h // block, block, w // block, block, channels],
                perm=list(REORG_NHWC_PERM), transpose_out_shape=[1, h // block, w // block, block, block, channels],
                out_shape=[1, h // block, w // block, block * block * channels], NumChannels=channels)


def reorg_shape(inst):
    """(in_h, in_w, channels, block) of a Shuffle node that is a reorg; None for any other shuffle."""
    if tuple(inst.get_nodeattr("perm")) != REORG_NHWC_PERM:
        return None
    n, h, block, w, block_w, c = inst.get_nodeattr("transpose_in_shape")
    if block != block_w \
            or list(inst.get_nodeattr("in_shape")) != [n, h * block, w * block, c] \
            or list(inst.get_nodeattr("out_shape")) != [n, h, w, block * block * c]:
        return None
    return h * block, w * block, c, block


# The AXI DMA's stream widths: the accelerator's first input and last output word each fit the widest.
DMA_STREAM_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)

# The widest ap_uint Vitis HLS documents (AP_INT_MAX_W may be raised to this many bits): every stream
# word and every buffer word of the HLS kernels stays within it; the folding rules refuse wider.
WIDEST_WORD = 4096
# The widest word of a reshaped array Vitis HLS builds (XFORM 203-133 refuses wider): a MAC layer's
# weight memory word, PE * SIMD weights read in one cycle. Its weights are read one by one, so no
# ap_uint of that width exists and AP_INT_MAX_W does not bound it.
WIDEST_MEMORY_WORD = 65536


def converter_buffer_bits(in_bits, out_bits):
    """Bits a width converter from `in_bits`- to `out_bits`-wide words keeps (kernels/
    data_width_converter.hpp): both widths less their gcd, which is the wider when one divides the other."""
    return in_bits + out_bits - math.gcd(in_bits, out_bits)
