"""Input parallelism past one sample per cycle for 1D networks: the polyphase form of the first
convolution and its max pool.

Every dataflow layer takes at most one pixel a cycle, so a network whose first convolution sees N
samples cannot stream a frame in fewer than N cycles (VGG10 on RadioML: 1024). When that convolution
is followed by a max pool of F samples, both can work on F samples at a time:

  x (1, N, 1, C) -> Reshape (1, N/F, 1, F*C): F consecutive samples in one pixel (the same bytes)
  -> Im2Col over the N/F pixels (kernel K', padding of whole pixels)
  -> one MatMul + MultiThreshold per phase q = 0..F-1: output sample F*i + q, from the window's
     samples it needs (the weights of the others are zero)
  -> Max of the F phases (F - 1 Maxes of two): the max pool, one pooled pixel per input pixel.

Sample F*i + q + t - pad of the original window (tap t) is sub-sample s = off % F of pixel
i + off // F, off = q + t - pad; so the new window spans the pixels off // F takes. Output values are
those of the original graph exactly (the phases' thresholds are the original ones). The Reshape stays
on the host (the driver's first step), the Max becomes FINN's ElementwiseMax.
"""
import numpy as np
from onnx import TensorProto, helper
from qonnx.transformation.base import Transformation
from qonnx.transformation.general import RemoveUnusedTensors, SortGraph
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import get_by_name

from models.errors import UserError


class PolyphaseError(UserError):
    """The graph's first convolution cannot take several samples per pixel."""


def _attr(node, name):
    return helper.get_attribute_value(get_by_name(node.attribute, name))


def _named(node):
    return f"{node.name} ({node.op_type})" if node.name else node.op_type


def _first_conv_chain(model):
    """(Im2Col, MatMul, MultiThreshold, MaxPoolNHWC) of the first convolution, or a PolyphaseError
    naming what differs."""
    im2col = next((n for n in model.graph.node if n.op_type == "Im2Col"), None)
    if im2col is None:
        raise PolyphaseError("input phases need a convolution (an Im2Col node after streamlining); the graph has none")
    chain, node = [im2col], im2col
    for op_type in ("MatMul", "MultiThreshold", "MaxPoolNHWC"):
        consumers = model.find_consumers(node.output[0])
        if len(consumers) != 1 or consumers[0].op_type != op_type:
            found = ", ".join(map(_named, consumers)) or "nothing"
            raise PolyphaseError(
                f"input phases need the first convolution as Im2Col -> MatMul -> MultiThreshold -> MaxPoolNHWC; "
                f"{_named(node)} feeds {found} where a {op_type} should be")
        node = consumers[0]
        chain.append(node)
    return chain


def _axis(model, im2col, pool, phases):
    """The image axis (1 for H, 2 for W) the 1D convolution and its pool run along, after checking
    that they can be split into `phases` phases."""
    shape = model.get_tensor_shape(im2col.input[0])
    axes = [a for a in (1, 2) if shape[a] > 1]
    if len(axes) != 1:
        raise PolyphaseError(f"{im2col.name}: input phases need a 1D image (H or W of 1), not {shape}")
    axis = axes[0]
    if _attr(im2col, "depthwise"):
        raise PolyphaseError(f"{im2col.name}: input phases need a dense first convolution, not a depthwise one")
    kernel, stride, dilation = (_attr(im2col, a)[axis - 1] for a in ("kernel_size", "stride", "dilations"))
    pads = _attr(im2col, "pad_amount")
    pad_begin, pad_end = pads[axis - 1], pads[axis + 1]
    if stride != 1 or dilation != 1 or pad_begin + pad_end != kernel - 1:
        raise PolyphaseError(
            f"{im2col.name}: input phases need a stride-1, undilated convolution that keeps the length "
            f"(padding kernel - 1 in all); it has kernel {kernel}, stride {stride}, dilation {dilation}, "
            f"padding {pad_begin} + {pad_end}")
    pool_kernel, pool_stride = _attr(pool, "kernel_shape")[axis - 1], _attr(pool, "strides")[axis - 1]
    if pool_kernel != phases or pool_stride != phases or any(_attr(pool, "pads")):
        raise PolyphaseError(
            f"{pool.name}: {phases} input phases need a max pool of {phases} samples with stride {phases} and no "
            f"padding after the first convolution; it pools {pool_kernel} with stride {pool_stride}")
    if shape[axis] % phases:
        raise PolyphaseError(f"{im2col.name}: {phases} input phases need a length divisible by {phases}, not {shape[axis]}")
    return axis, kernel, pad_begin


def phase_weights(weights, channels, kernel, pad_begin, phases):
    """(new kernel, new leading padding, one (new kernel * phases * channels, outputs) matrix per phase)
    of an Im2Col-ordered (kernel * channels, outputs) weight matrix: row t * channels + c is tap t,
    channel c; a new row (p - first) * phases * channels + s * channels + c is sub-sample s of pixel
    offset p."""
    offsets = [q + t - pad_begin for q in range(phases) for t in range(kernel)]
    first, last = min(offsets) // phases, max(offsets) // phases
    new_kernel = last - first + 1
    per_phase = []
    for q in range(phases):
        matrix = np.zeros((new_kernel * phases * channels, weights.shape[1]), dtype=weights.dtype)
        for t in range(kernel):
            pixel, sub = divmod(q + t - pad_begin, phases)
            row = ((pixel - first) * phases + sub) * channels
            matrix[row:row + channels] = weights[t * channels:(t + 1) * channels]
        per_phase.append(matrix)
    return new_kernel, -first, per_phase


class PolyphaseFirstConv(Transformation):
    """Rewrite the first convolution and its max pool of a streamlined 1D graph to take `phases`
    samples per pixel (see the module docstring)."""

    def __init__(self, phases):
        super().__init__()
        self.phases = phases

    def apply(self, model):
        im2col, matmul, threshold, pool = _first_conv_chain(model)
        phases = self.phases
        axis, kernel, pad_begin = _axis(model, im2col, pool, phases)
        shape = model.get_tensor_shape(im2col.input[0])
        channels = shape[3]
        weights = model.get_initializer(matmul.input[1])
        new_kernel, new_pad, per_phase = phase_weights(weights, channels, kernel, pad_begin, phases)

        # F samples per pixel: a host Reshape in front of the Im2Col
        phased_shape = list(shape)
        phased_shape[axis] //= phases
        phased_shape[3] *= phases
        phased, target = im2col.name + "_phased", im2col.name + "_phased_shape"
        model.set_initializer(target, np.array(phased_shape, dtype=np.int64))
        model.graph.value_info.append(helper.make_tensor_value_info(phased, TensorProto.FLOAT, phased_shape))
        model.set_tensor_datatype(phased, model.get_tensor_datatype(im2col.input[0]))
        index = list(model.graph.node).index(im2col)
        model.graph.node.insert(index, helper.make_node(
            "Reshape", [im2col.input[0], target], [phased], name=im2col.name + "_phases"))
        im2col.input[0] = phased
        kernel_size, pad_amount = list(_attr(im2col, "kernel_size")), [0, 0, 0, 0]
        kernel_size[axis - 1] = new_kernel
        pad_amount[axis - 1], pad_amount[axis + 1] = new_pad, new_kernel - 1 - new_pad
        get_by_name(im2col.attribute, "kernel_size").ints[:] = kernel_size
        get_by_name(im2col.attribute, "pad_amount").ints[:] = pad_amount
        get_by_name(im2col.attribute, "input_shape").s = ("(" + ",".join(map(str, phased_shape)) + ")").encode()
        model.graph.value_info.remove(model.get_tensor_valueinfo(im2col.output[0]))  # its width changed
        # ... the first convolution once per phase, and their maximum in place of the pool
        weight_type = model.get_tensor_datatype(matmul.input[1])
        thresholds = model.get_initializer(threshold.input[1])
        phase_outputs = []
        for q, matrix in enumerate(per_phase):
            names = {k: f"{matmul.name}_phase{q}_{k}" for k in ("weights", "acc", "thresholds", "out")}
            model.set_initializer(names["weights"], matrix)
            model.set_tensor_datatype(names["weights"], weight_type)
            model.set_initializer(names["thresholds"], thresholds.copy())
            model.set_tensor_datatype(names["thresholds"], model.get_tensor_datatype(threshold.input[1]))
            phase_matmul = helper.make_node("MatMul", [im2col.output[0], names["weights"]], [names["acc"]],
                                            name=f"{matmul.name}_phase{q}")
            phase_threshold = helper.make_node(
                "MultiThreshold", [names["acc"], names["thresholds"]], [names["out"]],
                name=f"{threshold.name}_phase{q}", domain=threshold.domain)
            phase_threshold.attribute.extend(threshold.attribute)
            model.graph.node.extend([phase_matmul, phase_threshold])
            phase_outputs.append(names["out"])
        # two inputs a Max, as FINN's ElementwiseMax takes them
        maximum = phase_outputs[0]
        for q, other in enumerate(phase_outputs[1:], 1):
            out = pool.output[0] if q == phases - 1 else f"{pool.name}_max{q}"
            model.graph.node.append(helper.make_node("Max", [maximum, other], [out], name=f"{pool.name}_max{q}"))
            maximum = out
        for node in (matmul, threshold, pool):
            model.graph.node.remove(node)
        model = model.transform(RemoveUnusedTensors())
        model = model.transform(SortGraph())
        model = model.transform(InferShapes())
        model = model.transform(InferDataTypes())
        return model.transform(InferDataLayouts()), False


def polyphase(model, phases):
    """The graph with its first convolution on `phases` samples per pixel (1: unchanged)."""
    if phases == 1:
        return model
    if phases < 1:
        raise PolyphaseError(f"input phases must be a positive integer, not {phases}")
    return model.transform(PolyphaseFirstConv(phases))
