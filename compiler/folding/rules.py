"""Which folding values each FINN HW op accepts, as finn-plus 1.6.1's op classes assert them.

Every number comes from the node's own attributes (MH, MW, NumChannels, ...); nothing is
recomputed from the graph's tensors.
"""
import json
import math

from qonnx.custom_op.registry import getCustomOp

from finn.util.fpgadataflow import is_fpgadataflow_node

from compiler.hwops import WIDEST_MEMORY_WORD, WIDEST_WORD, base_op, converter_buffer_bits
from models.errors import UserError

# The attributes FINN's build extracts into (auto_/applied_)folding_config.json, in FINN's order.
FOLDING_ATTRS = (
    "PE", "SIMD", "EmbFold", "SeqFold", "parallel_window", "ram_style", "ram_style_thresholds",
    "ram_style_mask", "depth", "impl_style", "resType", "mac_resource", "mem_mode",
    "runtime_writeable_weights", "depth_trigger_uram", "depth_trigger_bram",
)
# FIFO sizing results that FINN's final_hw_config.json adds; accepted in a config, never extracted.
FIFO_ATTRS = ("inFIFODepths", "outFIFODepths")



class FoldingError(UserError):
    """A folding config that FINN would reject or turn into broken hardware."""


def hw_nodes(model):
    """name -> node for the FINN HW nodes (FINN's own test: backend=fpgadataflow), in graph order."""
    nodes = [n for n in model.graph.node if is_fpgadataflow_node(n)]
    names = [n.name for n in nodes]
    bad = sorted({name for name in names if not name or names.count(name) > 1})
    if bad:
        raise FoldingError("folding configs are keyed by node name, but these HW node names are empty or "
                           f"repeated: {', '.join(map(json.dumps, bad))} (run qonnx GiveUniqueNodeNames)")
    return dict(zip(names, nodes))


def configurable_attrs(inst):
    """The folding/FIFO attributes this op has, in FINN's order."""
    types = inst.get_nodeattr_types()
    return [a for a in FOLDING_ATTRS + FIFO_ATTRS if a in types]


# What PE / SIMD must divide. Each entry gives a text for messages and the numbers.
def _attr(name):
    return lambda inst: (f"{name}={inst.get_nodeattr(name)}", [inst.get_nodeattr(name)])


def _kernel_size(inst):
    kernel = inst.get_nodeattr("Kernel")
    return f"the kernel size (Kernel={kernel}: {math.prod(kernel)})", [math.prod(kernel)]


def _every_stream(inst):
    channels = inst.get_nodeattr("ChannelsPerStream")
    return f"every entry of ChannelsPerStream={channels}", channels


def _output_channels(inst):
    channels = int(inst.get_normal_output_shape()[-1])
    return f"the output's channel count ({channels})", [channels]


def _input_channels(inst):
    channels = int(inst.get_normal_input_shape()[-1])
    return f"the input's channel count ({channels})", [channels]


_NUM_CHANNELS = _attr("NumChannels")
_DIVIDES = {
    "MVAU": {"PE": _attr("MH"), "SIMD": _attr("MW")},
    "VVAU": {"PE": _attr("Channels"), "SIMD": _kernel_size},
    "ConvolutionInputGenerator": {"SIMD": _attr("IFMChannels")},
    "Thresholding": {"PE": _NUM_CHANNELS},
    "Pool": {"PE": _attr("Channels")},
    "LabelSelect": {"PE": _attr("Labels")},
    "GlobalAccPool": {"PE": _NUM_CHANNELS},
    "DuplicateStreams": {"PE": _NUM_CHANNELS},
    "Requant": {"PE": _NUM_CHANNELS},
    "PWPolyF": {"PE": _NUM_CHANNELS},
    "FMPadding": {"SIMD": _NUM_CHANNELS},
    "FMPadding_Pixel": {"SIMD": _NUM_CHANNELS},
    "Pad1D": {"SIMD": _NUM_CHANNELS},
    "Crop": {"SIMD": _NUM_CHANNELS},
    "UpsampleNearestNeighbour": {"SIMD": _NUM_CHANNELS},
    "StreamingConcat": {"SIMD": _every_stream},
    "StreamingSplit": {"SIMD": _every_stream},
}
# Other ops (elementwise, reshape, ...) fold the last axis, as SetFolding assumes for them.
_FALLBACK = {"PE": _output_channels, "SIMD": _input_channels}


def _divisors(numbers):
    return [d for d in range(1, min(numbers) + 1) if all(n % d == 0 for n in numbers)]


def rules(inst):
    """attr -> (sorted legal values, why) for every configurable attribute with a finite domain.

    A value's legality can depend on the node's other attributes (e.g. SIMD on parallel_window):
    the rules are evaluated for the attributes the node currently has."""
    op = inst.onnx_node.op_type
    types = inst.get_nodeattr_types()
    found = {}
    for attr in ("PE", "SIMD"):
        if attr in types:
            what, numbers = _DIVIDES.get(base_op(op), _FALLBACK).get(attr, _FALLBACK[attr])(inst)
            found[attr] = (_divisors(numbers), f"{attr} must divide {what}")
    for attr in configurable_attrs(inst):
        allowed = inst.get_nodeattr_allowed_values(attr)
        if allowed is not None and attr not in found:
            found[attr] = (sorted(allowed), f"{op} knows only the values below")
    for attr, keep, why in _restrictions(inst):
        values, reason = found[attr]
        found[attr] = ([v for v in values if keep(v)], f"{reason}; {why}")
    return found


def _restrictions(inst):
    """Extra per-op constraints FINN asserts at code generation: (attr, keep(value), why)."""
    op = inst.onnx_node.op_type
    get = inst.get_nodeattr
    if op == "MVAU_hls":
        mw = get("MW")
        yield "SIMD", lambda v: v >= mw / 1024, f"MVAU_hls needs SIMD >= MW/1024 = {mw / 1024:g}"
    if op == "MVAU_rtl":
        yield "resType", lambda v: v != "lut", "MVAU_rtl has no LUT-based compute core"
    if base_op(op) == "ConvolutionInputGenerator":
        k_h, k_w = get("ConvKernelDim")
        if get("parallel_window") and not get("depthwise") and k_h * k_w > 1:
            channels = get("IFMChannels")
            yield ("SIMD", lambda v: v == channels,
                   f"with parallel_window=1 (not depthwise) SIMD must equal IFMChannels={channels}")
        if get("dynamic_mode"):
            yield "parallel_window", lambda v: v == 0, "dynamic_mode=1 does not work with parallel_window=1"
        if get("parallel_window") and (k_h == 1 or get("IFMDim")[1] == 1):
            yield ("ram_style", lambda v: v in ("auto", "distributed"),
                   "a 1D parallel window keeps its span in registers (FINN's estimate: no RAM)")
    # Our kernels keep weights, thresholds and constants on chip, in ROMs the bitstream initialises.
    types = inst.get_nodeattr_types()
    if base_op(op) in ("MVAU", "VVAU", "Thresholding") or base_op(op).startswith("Elementwise"):
        if "ram_style" in types:
            yield ("ram_style", lambda v: v != "ultra",
                   "our kernels keep its constants in ROMs the bitstream initialises, which UltraRAM cannot be")
        if "mem_mode" in types:
            yield ("mem_mode", lambda v: v in ("internal_embedded", "internal_decoupled"),
                   "our kernels keep its constants on chip (either internal mode: one ROM per layer)")
        if "runtime_writeable_weights" in types:
            yield ("runtime_writeable_weights", lambda v: v == 0,
                   "our kernels' constants are part of the bitstream, not writeable at run time")


def word_widths(inst):
    """(what, bits, limit) of every word our kernels build for this node: its streams' words, which
    Vitis HLS holds in ap_uints (WIDEST_WORD), and a MAC layer's weight memory word (PE * SIMD weights,
    read in one cycle from a reshaped array: WIDEST_MEMORY_WORD)."""
    op, get = base_op(inst.onnx_node.op_type), inst.get_nodeattr
    node = inst.onnx_node
    # the other inputs are constants (weights, thresholds, parameters)
    streamed = len(node.input) if op == "StreamingConcat" else \
        2 if op.startswith("Elementwise") and get("rhs_style") == "input" else 1
    for i in range(streamed):
        yield f"input {i} word", inst.get_instream_width(i), WIDEST_WORD
    for i in range(len(node.output)):
        yield f"output {i} word", inst.get_outstream_width(i), WIDEST_WORD
    if op in ("MVAU", "VVAU"):
        yield "weight word", get("PE") * get("SIMD") * inst.get_input_datatype(1).bitwidth(), WIDEST_MEMORY_WORD
    if op == "StreamingDataWidthConverter":
        yield "buffer", converter_buffer_bits(inst.get_instream_width(), inst.get_outstream_width()), WIDEST_WORD


def too_wide(inst):
    """What of this node is wider than its limit (word_widths), as text (empty if nothing)."""
    return ", ".join(f"its {what} has {bits} bits (at most {limit})" for what, bits, limit in word_widths(inst)
                     if bits > limit)


def converter_too_wide(written_bits, read_bits):
    """Why no width converter can join words of these widths (empty if one can)."""
    if written_bits == read_bits or converter_buffer_bits(written_bits, read_bits) <= WIDEST_WORD:
        return ""
    return (f"a width converter from {written_bits}- to {read_bits}-bit words needs a "
            f"{converter_buffer_bits(written_bits, read_bits)}-bit buffer")


WIDEST_WORD_WHY = (f"every stream and buffer word must stay within {WIDEST_WORD} bits (AP_INT_MAX_W, the widest "
                   f"ap_uint Vitis HLS supports) and a weight memory word within {WIDEST_MEMORY_WORD} bits (the "
                   "widest reshaped array word): lower PE/SIMD")


def legal_values(node_inst):
    """attr -> sorted list of the values FINN accepts for this node (PE, SIMD, ram_style, ...)."""
    return {attr: values for attr, (values, _) in rules(node_inst).items()}


def coupled(model):
    """(producer, attr, consumer, attr) pairs that must be equal.

    A depthwise sliding window generator emits windows channel-group by channel-group; the VVAU or
    Pool it feeds must take the same group, so SetFolding sets the generator's SIMD to their PE."""
    for node in hw_nodes(model).values():
        if base_op(node.op_type) == "ConvolutionInputGenerator" and getCustomOp(node).get_nodeattr("depthwise"):
            consumer = model.find_consumer(node.output[0])
            if consumer is not None and base_op(consumer.op_type) in ("VVAU", "Pool"):
                yield node, "SIMD", consumer, "PE"
