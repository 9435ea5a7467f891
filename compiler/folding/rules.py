"""Which folding values each FINN HW op accepts, as finn-plus 1.6.1's op classes assert them.

Every number comes from the node's own attributes (MH, MW, NumChannels, ...); nothing is
recomputed from the graph's tensors.
"""
import json
import math

from qonnx.custom_op.registry import getCustomOp

from finn.util.fpgadataflow import is_fpgadataflow_node

# The attributes FINN's build extracts into (auto_/applied_)folding_config.json, in FINN's order.
FOLDING_ATTRS = (
    "PE", "SIMD", "EmbFold", "SeqFold", "parallel_window", "ram_style", "ram_style_thresholds",
    "ram_style_mask", "depth", "impl_style", "resType", "mac_resource", "mem_mode",
    "runtime_writeable_weights", "depth_trigger_uram", "depth_trigger_bram",
)
# FIFO sizing results that FINN's final_hw_config.json adds; accepted in a config, never extracted.
FIFO_ATTRS = ("inFIFODepths", "outFIFODepths")


def base_op(op_type):
    """MVAU_hls -> MVAU: the rules hold for the generic op and both of its backends."""
    for suffix in ("_hls", "_rtl"):
        if op_type.endswith(suffix):
            return op_type[: -len(suffix)]
    return op_type


class FoldingError(ValueError):
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
    # FINN asserts this for non-Versal parts only; every board this project targets is non-Versal.
    streamed = (base_op(op) == "MVAU" or op == "Thresholding_hls") and get("mem_mode") == "internal_decoupled"
    if streamed and not get("runtime_writeable_weights"):
        yield ("ram_style", lambda v: v != "ultra",
               "URAM weights need runtime_writeable_weights=1 (they cannot be initialised from the bitfile)")


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
