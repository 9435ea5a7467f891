"""Graph rewrites that work around known qonnx 1.0.0 / finn-plus 1.6.1 problems.

Each is a small qonnx Transformation named after the problem; the docstring names the symptom, so it
can be deleted once the upstream fix lands.
"""
import warnings

import numpy as np
from onnx import helper
from qonnx.transformation.base import Transformation
from qonnx.transformation.composed import ComposedTransformation
from qonnx.transformation.change_3d_tensors_to_4d import Change3DTo4DTensors
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul
from qonnx.util.basic import get_by_name


class Change3DTo4DTensorsAcrossConcat(Transformation):
    """Change3DTo4DTensors refuses graphs with a Concat ("found unsupported nodes"), so multi-branch
    1D nets stay 3D and conv lowering fails. A channel concat of (N, C, L) tensors is still a
    channel concat of (N, C, L, 1) tensors: lift the Concat nodes out, convert the rest, put them
    back with a non-negative axis."""

    def apply(self, model):
        concats = [(index, node) for index, node in enumerate(model.graph.node) if node.op_type == "Concat"]
        for index, node in concats:
            axis = get_by_name(node.attribute, "axis")
            axis.i %= len(model.get_tensor_shape(node.output[0]))
        for _, node in reversed(concats):
            model.graph.node.remove(node)
        model = model.transform(Change3DTo4DTensors())
        for index, node in concats:
            model.graph.node.insert(index, node)
        return model, False


class ConvBiasQuantParamsAsVectors(Transformation):
    """qonnx's ExtractBiasFromConv (run by ConvertQONNXtoFINN) reshapes a quantized conv bias's
    scale and zero point unless their shape is (1,); Brevitas exports them 0-d, so a conv with an
    Int32Bias fails with "cannot reshape array of size 1 into shape (1,C,1,1)". Give them shape (1,)."""

    def apply(self, model):
        for conv in model.get_nodes_by_op_type("Conv"):
            quant = model.find_producer(conv.input[2]) if len(conv.input) > 2 else None
            if quant is None or quant.op_type != "Quant":
                continue
            for name in quant.input[1:3]:
                value = model.get_initializer(name)
                if value is not None and value.ndim == 0:
                    model.set_initializer(name, value.reshape(1))
        return model, False


class PadMaxPoolDilationsTo2D(Transformation):
    """Change3DTo4DTensors leaves MaxPool with a 1-element `dilations`, so onnxruntime fails with
    "Attribute dilations has incorrect size". Extend it to one entry per spatial axis."""

    def apply(self, model):
        for node in model.get_nodes_by_op_type("MaxPool"):
            dilations = get_by_name(node.attribute, "dilations")
            kernel = get_by_name(node.attribute, "kernel_shape")
            if dilations is not None and len(dilations.ints) < len(kernel.ints):
                padded = list(dilations.ints) + [1] * (len(kernel.ints) - len(dilations.ints))
                node.attribute.remove(dilations)
                node.attribute.append(helper.make_attribute("dilations", padded))
        return model, False


class MakeGraphInputNHWC(Transformation):
    """With an NCHW graph input, a Transpose stays between the first HW layers and
    CreateDataflowPartition fails with "cycle-free graph violated: partition depends on itself".
    Make the graph input NHWC by prepending a Transpose NHWC->NCHW, which streamlining then absorbs
    into the first layer."""

    def apply(self, model):
        graph_in = model.graph.input[0]
        shape = model.get_tensor_shape(graph_in.name)
        if len(shape) != 4 or model.get_tensor_layout(graph_in.name) == ["N", "H", "W", "C"]:
            return model, False
        n, c, h, w = shape
        nchw_name = model.make_new_valueinfo_name()
        model.graph.value_info.append(helper.make_tensor_value_info(nchw_name, graph_in.type.tensor_type.elem_type, shape))
        model.set_tensor_datatype(nchw_name, model.get_tensor_datatype(graph_in.name))
        for consumer in model.find_consumers(graph_in.name):
            for i, name in enumerate(consumer.input):
                if name == graph_in.name:
                    consumer.input[i] = nchw_name
        transpose = helper.make_node("Transpose", [graph_in.name], [nchw_name], perm=[0, 3, 1, 2])
        model.graph.node.insert(0, transpose)
        model.set_tensor_shape(graph_in.name, [n, h, w, c])
        model.set_tensor_layout(graph_in.name, ["N", "H", "W", "C"])
        return model.transform(InferShapes()), False


class BypassOrderPreservingTransposeBeforeFlatten(Transformation):
    """After a global pool the tensor is N x 1 x 1 x C, and the NHWC->NCHW Transpose before the
    Flatten/Reshape to the dense layers stays in the graph: RemoveCNVtoFCFlatten only absorbs it into
    a following MVAU, so with a Thresholding (an input quantizer) there, the Transpose splits the
    dataflow partition. A Transpose that moves only size-1 axes does not reorder data: feed the
    Flatten/Reshape from its input directly."""

    def apply(self, model):
        for node in model.get_nodes_by_op_type("Transpose"):
            consumer = model.find_consumer(node.output[0])
            if consumer is None or consumer.op_type not in ("Flatten", "Reshape"):
                continue
            shape = model.get_tensor_shape(node.input[0])
            perm = get_by_name(node.attribute, "perm").ints
            moved = [axis for axis in perm if shape[axis] != 1]
            if moved == sorted(moved) and len(model.find_consumers(node.output[0])) == 1:
                consumer.input[0] = node.input[0]
                model.graph.node.remove(node)
                return model, True
        return model, False


class SnapIntegerBiases(Transformation):
    """MoveMulPastAdd divides an integer bias (Brevitas Int32Bias: bias = k * scale) by the scale in
    float32, leaving values like 65.00001 or -29856.998 (a few ulps off), which then cannot run as an
    integer add in hardware. Round Add constants on integer streams whose values are all within a
    relative `tol` of integers."""

    def __init__(self, tol=1e-6):
        super().__init__()
        self.tol = tol

    def apply(self, model):
        for node in model.get_nodes_by_op_type("Add"):
            dynamic = [t for t in node.input if model.get_initializer(t) is None]
            constant = [t for t in node.input if model.get_initializer(t) is not None]
            if len(dynamic) != 1 or len(constant) != 1 or not model.get_tensor_datatype(dynamic[0]).is_integer():
                continue
            value = model.get_initializer(constant[0])
            rounded = np.round(value)
            if not np.array_equal(value, rounded) and (np.abs(value - rounded) <= self.tol * np.maximum(1, np.abs(value))).all():
                model.set_initializer(constant[0], rounded.astype(value.dtype))
        return model, False


class MinimizeWeightBitWidthKeepingBipolar(Transformation):
    """FINN's MinimizeWeightBitWidth turns BIPOLAR weights (-1/+1, one bit) into INT2: with
    |min| = max it takes the smallest type holding -max - 1 = -2. That doubles the weight memory and
    the multipliers of every binary-weight layer, so the estimate step no longer matches the folding
    optimizer's plan (BNN-PYNQ's w1a2 networks). Run it, then give BIPOLAR weights their type back."""

    def apply(self, model):
        from finn.transformation.fpgadataflow.minimize_weight_bit_width import MinimizeWeightBitWidth
        from qonnx.custom_op.registry import getCustomOp

        bipolar = [node.name for node in model.graph.node
                   if "weightDataType" in getCustomOp(node).get_nodeattr_types()
                   and getCustomOp(node).get_nodeattr("weightDataType") == "BIPOLAR"]
        model = model.transform(MinimizeWeightBitWidth())
        for name in bipolar:
            getCustomOp(model.get_node_from_name(name)).set_nodeattr("weightDataType", "BIPOLAR")
        return model, False


class XnorPopcountAccumulatorsUnsigned(Transformation):
    """FINN's MinimizeAccumulatorWidth sizes the accumulator of an XNOR-popcount MVAU (binaryXnorMode)
    for the sum of -1/+1 weights over 0/1 inputs (INT7 for 64 inputs), but the MVAU computes the
    popcount, 0..MW (UINT7 for 64): without an activation its output type cannot hold MW, and a
    LabelSelect after it (BNN-PYNQ's last layer) reads 64 as -64. Give it UINT<bits of MW>, rounded up
    to whole bytes at the graph's output, as FINN does for a last layer."""

    def apply(self, model):
        from qonnx.core.datatype import DataType
        from qonnx.custom_op.registry import getCustomOp
        from qonnx.transformation.infer_datatypes import InferDataTypes

        for node in model.graph.node:
            inst = getCustomOp(node)
            if not (node.op_type.startswith("MVAU") and inst.get_nodeattr("binaryXnorMode")):
                continue
            bits = int(inst.get_nodeattr("MW")).bit_length()
            inst.set_nodeattr("accDataType", f"UINT{bits}")
            if inst.get_nodeattr("noActivation"):
                if node.output[0] == model.graph.output[0].name:
                    bits = -(-bits // 8) * 8
                inst.set_nodeattr("outputDataType", f"UINT{bits}")
                model.set_tensor_datatype(node.output[0], DataType[f"UINT{bits}"])
        return model.transform(InferDataTypes()), False


class InferThresholdingLayerWithBipolar(Transformation):
    """FINN's InferThresholdingLayer refuses a BIPOLAR MultiThreshold ("out_scale must be 1 for HLS
    conversion") although its Thresholding layer outputs BIPOLAR: the count of thresholds passed, 0
    or 1, read as -1 or +1. Give such MultiThresholds (out_scale 2, out_bias -1) their count, out_scale
    1 and out_bias 0, and run it: every MultiThreshold becomes a Thresholding layer."""

    def apply(self, model):
        from finn.transformation.fpgadataflow.convert_to_hw.thresholding import InferThresholdingLayer
        from qonnx.custom_op.registry import getCustomOp

        for node in model.get_nodes_by_op_type("MultiThreshold"):
            inst = getCustomOp(node)
            if inst.get_nodeattr("out_dtype") == "BIPOLAR":
                inst.set_nodeattr("out_scale", 1.0)
                inst.set_nodeattr("out_bias", 0.0)
        return model.transform(InferThresholdingLayer()), False


class ConstantChannelsOfZeroGammaBatchNorm(Transformation):
    """A BatchNorm channel whose gamma is zero (pruning zeroes them; Imperial's published model has
    one of -0.0) outputs its beta whatever the input. FINN's streamlining divides the next
    thresholds by gamma: for -0.0 they become -inf, clipped to -2^31, and the channel outputs its
    maximum instead of its quantized beta. Where such a BatchNorm feeds a MultiThreshold, give the
    channel the identity affine and thresholds that are passed always (those at or below beta) or
    never: the channel's output is its quantized beta, exactly, for either sign of zero and of beta."""

    UNREACHABLE = 2.0 ** 60         # beyond any value a MultiThreshold input takes; clipped later

    def apply(self, model):
        for bn in model.get_nodes_by_op_type("BatchNormalization"):
            consumers = model.find_consumers(bn.output[0])
            gamma, beta, mean, var = (model.get_initializer(t) for t in bn.input[1:5])
            if gamma is None or not (gamma == 0).any() or not all(c.op_type == "MultiThreshold" for c in consumers):
                continue
            eps = get_by_name(bn.attribute, "epsilon")
            eps = eps.f if eps is not None else 1e-5
            zero = gamma == 0
            for mt in consumers:
                thresholds = model.get_initializer(mt.input[1])
                thresholds = np.broadcast_to(thresholds, (len(gamma), thresholds.shape[1])).copy()
                passed = thresholds[zero] <= beta[zero, None]
                thresholds[zero] = np.where(passed, -self.UNREACHABLE, self.UNREACHABLE)
                model.set_initializer(mt.input[1], thresholds.astype(np.float32))
            for name, value, identity in zip(bn.input[1:5], (gamma, beta, mean, var), (1.0, 0.0, 0.0, 1.0 - eps)):
                model.set_initializer(name, np.where(zero, identity, value).astype(value.dtype))
        return model, False


class LowerConvsToMatMulOfKind(LowerConvsToMatMul):
    """qonnx lowers a depthwise conv to a dense (k*k*C, C) MatMul that is zero off its diagonal blocks:
    26 MB for SkyNetk5's 512-channel layer, which every later transform deep-copies and serialises, so
    streamlining ran for many minutes. This lowers only the depthwise convs (depthwise=True) or only the
    others, so the depthwise ones can stay compact Convs until streamlining is done."""

    def __init__(self, depthwise):
        super().__init__()
        self.depthwise = depthwise

    def extract_conv_params(self, model, node):
        params = list(super().extract_conv_params(model, node))
        group, ifm_ch, ofm_ch = params[8], params[13], params[14]
        if (group == ifm_ch == ofm_ch) != self.depthwise:
            params[12] = None               # no weight: qonnx leaves the conv as it is
        return tuple(params)

    def apply(self, model):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Found Conv node with non-initialized weight")
            return super().apply(model)


class MoveTransposePastEltwiseKeepingTheOutputScale(Transformation):
    """finn-plus' MoveTransposePastEltwise moves a Transpose past an Add/Mul of a scalar, and
    MoveScalarLinearPastInvariants, in the same StreamlinePlus, moves the scalar back: where nothing
    follows to absorb it (a graph ending in Transpose -> scalar Mul, as SkyNet's head, a conv without
    a bias, does) StreamlinePlus never ends. This one leaves that output scale where it is and otherwise
    moves as finn-plus' does: y = T(x) + a = T(x + T^-1(a))."""

    def apply(self, model):
        outputs = {t.name for t in model.graph.output}
        for node in model.graph.node:
            if node.op_type != "Transpose" or model.is_fork_node(node):
                continue
            successors = model.find_direct_successors(node)
            if not successors or successors[0].op_type not in ("Add", "Mul"):
                continue
            eltwise, x, mid = successors[0], node.input[0], node.output[0]
            (constant,) = [t for t in eltwise.input if t != mid] or [None]
            value = model.get_initializer(constant) if constant else None
            perm = list(get_by_name(node.attribute, "perm").ints)
            if value is None or (value.size == 1 and eltwise.output[0] in outputs) or \
                    (value.size > 1 and value.ndim != len(perm)):
                continue
            if value.size > 1:
                model.set_initializer(constant, value.transpose(np.argsort(perm)))
            out = eltwise.output[0]
            eltwise.input[list(eltwise.input).index(mid)] = x
            eltwise.output[0], node.input[0], node.output[0] = mid, mid, out
            model.set_tensor_shape(mid, None)          # now the untransposed shape: inferred again
            graph = model.graph
            graph.node.remove(eltwise)
            graph.node.insert(list(graph.node).index(node), eltwise)
            return model.transform(InferShapes()), True
        return model, False


def streamline_plus():
    """finn-plus' StreamlinePlus with MoveTransposePastEltwiseKeepingTheOutputScale in place of
    MoveTransposePastEltwise."""
    from finn.transformation.streamline.reorder import MoveTransposePastEltwise
    from finn.transformation.streamline.streamline_plus import StreamlinePlus

    def swapped(transform):
        if isinstance(transform, ComposedTransformation):
            transform.transformations = [swapped(t) for t in transform.transformations]
        if isinstance(transform, MoveTransposePastEltwise):
            return MoveTransposePastEltwiseKeepingTheOutputScale()
        return transform
    return swapped(StreamlinePlus())
