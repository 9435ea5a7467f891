"""The frontend's graph steps. Each takes and returns a qonnx ModelWrapper."""
import numpy as np
from onnx import helper

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import (
    GiveReadableTensorNames, GiveUniqueNodeNames, RemoveStaticGraphInputs, RemoveUnusedTensors,
)
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.insert_topk import InsertTopK
from qonnx.util.cleanup import cleanup_model

from compiler.frontend.reorg import (
    CopyLinearAtReorgFork, InferReorgLayer, MergeIdenticalForkedTransposes, SpaceToDepthFromReshapeTranspose,
    scalar_linear_past_invariants,
)
from compiler.frontend.workarounds import (
    BypassOrderPreservingTransposeBeforeFlatten, Change3DTo4DTensorsAcrossConcat, ConstantChannelsOfZeroGammaBatchNorm,
    ConvBiasQuantParamsAsVectors,
    InferThresholdingLayerWithBipolar, LowerConvsToMatMulOfKind, MakeGraphInputNHWC,
    MinimizeWeightBitWidthKeepingBipolar, PadMaxPoolDilationsTo2D, SnapIntegerBiases, streamline_plus,
    XnorPopcountAccumulatorsUnsigned,
)
from models import progress
from models.errors import UserError
from models.sources import ORIGINAL_NAME

# Op types of an exported QONNX graph that this flow maps to hardware (or keeps on the host at the
# graph's ends). Anything else is reported up front instead of failing deep inside a transform.
SUPPORTED_QONNX_OPS = {
    "Quant", "BipolarQuant", "Conv", "MatMul", "Gemm", "BatchNormalization", "Relu", "MaxPool",
    "Add", "Mul", "Sub", "Div", "Reshape", "Flatten", "Transpose", "Identity", "TopK", "Concat",
}
# Nodes that may stay outside the dataflow partition: they run on the host, before or after it.
HOST_OPS = {"MultiThreshold", "Mul", "Add", "Sub", "Div", "Transpose", "Reshape", "Flatten", "Identity"}
FINN_HW_DOMAIN = "finn.custom_op.fpgadataflow"
CHANNELS_LAST = {2: "NC", 3: "NWC", 4: "NHWC"}     # data_layout by tensor rank, channels last


class UnsupportedLayerError(UserError):
    """The model has a layer the flow cannot map to hardware."""


def _tidy(model):
    model = model.transform(InferShapes())
    model = model.transform(FoldConstants())
    model = model.transform(GiveUniqueNodeNames())
    model = model.transform(GiveReadableTensorNames())
    model = model.transform(InferDataTypes())
    return model.transform(RemoveStaticGraphInputs())


def check_supported(model):
    """Raise UnsupportedLayerError naming every node whose op type the flow cannot map."""
    bad = [n for n in model.graph.node if n.op_type not in SUPPORTED_QONNX_OPS]
    if bad:
        lines = [f"  node '{n.name or n.output[0]}' (op type {n.op_type})" for n in bad]
        raise UnsupportedLayerError(
            "the model has layers this flow cannot map to hardware:\n" + "\n".join(lines)
            + f"\nsupported op types: {', '.join(sorted(SUPPORTED_QONNX_OPS))}")
    return model


class FloatJoinError(UserError):
    """A join (Add, Concat) of differently scaled or unquantized tensors: its result is a float."""


# Ops through which a tensor keeps the scale of the quantizer that produced it
SCALE_PRESERVING_OPS = {"Reshape", "Flatten", "Transpose", "MaxPool", "Identity", "Pad", "Squeeze", "Unsqueeze"}


def _quantizer_of(model, tensor):
    """The Quant node whose output `tensor` is, through scale-preserving ops, or None."""
    node = model.find_producer(tensor)
    while node is not None and node.op_type in SCALE_PRESERVING_OPS:
        node = model.find_producer(node.input[0])
    return node if node is not None and node.op_type in ("Quant", "BipolarQuant") else None


def _operand(model, tensor):
    """(description, scale) of one input of a join; scale None for an unquantized tensor."""
    quant = _quantizer_of(model, tensor)
    if quant is None:
        producer = model.find_producer(tensor)
        return f"'{tensor}' (not quantized: from {producer.op_type if producer else 'the graph input'})", None
    scale = model.get_initializer(quant.input[1])
    shown = f"{float(scale.reshape(-1)[0]):.6g}" if scale is not None and scale.size == 1 else "per channel"
    return f"'{tensor}' (quantized by '{quant.name or quant.output[0]}', scale {shown})", scale


def check_integer_joins(model, advice):
    """Raise FloatJoinError naming the first Add or Concat whose dynamic inputs are not all quantized
    at one scale: integer hardware cannot compute it (FINN would fail later, at convert_to_hw, with
    nodes that 'could not be converted'). `advice` says what to do instead."""
    for node in model.graph.node:
        if node.op_type not in ("Add", "Concat"):
            continue
        dynamic = [t for t in node.input if model.get_initializer(t) is None]
        if len(dynamic) < 2:
            continue
        operands = [_operand(model, t) for t in dynamic]
        scales = [scale for _, scale in operands]
        if all(scale is not None for scale in scales) and all(
                scale.shape == scales[0].shape and np.array_equal(scale, scales[0]) for scale in scales[1:]):
            continue
        why = ("its inputs are quantized at different scales" if all(s is not None for s in scales)
               else "an input is not quantized")
        original = node.doc_string.partition(ORIGINAL_NAME)[2]
        raise FloatJoinError(
            f"node '{node.name or node.output[0]}' ({node.op_type}{f', {original!r} in the model file' if original else ''}) "
            f"of the exported graph computes a float: {why}: "
            + ", ".join(d for d, _ in operands) + f". Integer hardware needs both operands on one quantizer's "
            f"scale. {advice}")
    return model


def insert_topk(model, k):
    """Append a TopK(k) head: the accelerator then outputs class indices (FINN LabelSelect)."""
    return _tidy(model.transform(InsertTopK(k=k)))


FLOAT_JOIN_ADVICE = ("Re-quantize the joined tensors with one shared quantizer (as the zoo's hardware variants "
                     "do: MODEL=bacalhau, aaronnet32, aaronnet48 or imperial take a team's published weights with CKPT=).")


def to_finn(model, float_join_advice=FLOAT_JOIN_ADVICE):
    """QONNX -> FINN-ONNX: Quant activations become MultiThreshold, weights are folded to integers."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN

    model = check_integer_joins(check_supported(cleanup_model(model)), float_join_advice)
    model = model.transform(ConvBiasQuantParamsAsVectors())
    return _tidy(model.transform(ConvertQONNXtoFINN()))


def to_nhwc(model):
    """1D models: make every tensor 4D (N, C, L, 1), as FINN's conv lowering expects, with an NHWC
    graph input."""
    if len(model.get_tensor_shape(model.graph.input[0].name)) == 3:
        model = model.transform(Change3DTo4DTensorsAcrossConcat())
        model = model.transform(PadMaxPoolDilationsTo2D())
    model = model.transform(MakeGraphInputNHWC())
    return _tidy(model)


def streamline(model):
    """Move and collapse float scales/biases into thresholds; lower convs to Im2Col + MatMul."""
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.absorb import (
        AbsorbConsecutiveTransposes, AbsorbScalarBiasIntoMultiThreshold, AbsorbScalarMulAddIntoTopK,
        AbsorbTransposeIntoMultiThreshold,
    )
    from finn.transformation.streamline.reorder import (
        MakeMaxPoolNHWC, MoveMaxPoolPastMultiThreshold, MoveMulPastAdd,
    )
    from qonnx.transformation.bipolar_to_xnor import ConvertBipolarMatMulToXnorPopcount

    transforms = [
        # a reorg (MixQ's bypass) as one node, the scale at its fork copied into each branch and past it
        SpaceToDepthFromReshapeTranspose(),
        CopyLinearAtReorgFork(),
        scalar_linear_past_invariants(reorg_only=True),
        ConstantChannelsOfZeroGammaBatchNorm(),
        # conv -> BN -> MaxPool -> quantizer (MixQ's layer order): a quantizer is monotone, so it
        # commutes with max; moved before the pool, it absorbs the BN's per-channel float affine.
        MoveMaxPoolPastMultiThreshold(),
        AbsorbScalarBiasIntoMultiThreshold(),
        Streamline(),
        LowerConvsToMatMulOfKind(depthwise=False),
        MakeMaxPoolNHWC(),
        InferReorgLayer(),
        MergeIdenticalForkedTransposes(),
        AbsorbTransposeIntoMultiThreshold(),
        MakeMaxPoolNHWC(),
        AbsorbConsecutiveTransposes(),
        scalar_linear_past_invariants(),
        Streamline(),
        # BIPOLAR x BIPOLAR MatMuls become XNOR popcounts over BINARY (0/1) streams, as in FINN's own
        # streamlining: the correction (2 * popcount - MW) is streamlined into the next thresholds.
        ConvertBipolarMatMulToXnorPopcount(),
        Streamline(),
        # Residual adds and concats: scales moved past forks and joins, transposes cancelled, so the
        # branches meet as integers.
        streamline_plus(),
        # the depthwise convs lowered last (their dense MatMul weights are large), transposes cancelled
        LowerConvsToMatMulOfKind(depthwise=True),
        MakeMaxPoolNHWC(),
        AbsorbTransposeIntoMultiThreshold(),
        MakeMaxPoolNHWC(),
        AbsorbConsecutiveTransposes(),
        # Streamline leaves `MatMul -> Mul(scale) -> Add(bias)` at the output; swapping to
        # `Add(bias/scale) -> Mul(scale)` makes the bias an integer add that runs in hardware and
        # leaves a scalar Mul that the host applies or TopK absorbs.
        MoveMulPastAdd(),
        SnapIntegerBiases(),
        AbsorbScalarMulAddIntoTopK(),
        InferDataLayouts(),
        RemoveUnusedTensors(),
    ]
    with progress.bar(len(transforms), "transforms") as done:
        for transform in transforms:
            model = model.transform(transform)
            done.advance()
    return _tidy(model)


def _is_integer_op(model, node):
    """An elementwise op on integer streams (a residual add) or on an integer stream and an
    integer-valued constant (e.g. a bias with Int32Bias quantization) can run in hardware; float
    scales stay on the host."""
    dynamic = [t for t in node.input if model.get_initializer(t) is None]
    constant = [model.get_initializer(t) for t in node.input if model.get_initializer(t) is not None]
    return (all(model.get_tensor_datatype(t).is_integer() for t in dynamic)
            and all(np.array_equal(c, np.round(c)) for c in constant))


class KeepFloatInputQuantizerOnHost(Transformation):
    """A Thresholding layer fed by float data is the model's input quantizer. Turn it back into a
    MultiThreshold host op: the driver quantizes frames in software (as finn-examples' VGG10 does),
    so the accelerator streams narrow integers instead of 32-bit floats and compares no floats.
    The Thresholding layer's channels are its last axis, of an NHWC image or an (N, C) vector."""

    def apply(self, model):
        from qonnx.custom_op.registry import getCustomOp

        for index, node in enumerate(model.graph.node):
            if node.op_type.startswith("Thresholding") and not model.get_tensor_datatype(node.input[0]).is_integer():
                inst = getCustomOp(node)
                layout = CHANNELS_LAST[len(model.get_tensor_shape(node.input[0]))]
                bipolar = inst.get_nodeattr("outputDataType") == "BIPOLAR"
                # BIPOLAR: the count of thresholds passed (0 or 1) maps to -1 or +1
                scale, bias = (2.0, -1.0) if bipolar else (1.0, float(inst.get_nodeattr("ActVal")))
                host = helper.make_node(
                    "MultiThreshold", list(node.input[:2]), list(node.output), name=node.name,
                    domain="qonnx.custom_op.general", out_dtype=inst.get_nodeattr("outputDataType"),
                    out_scale=scale, out_bias=bias, data_layout=layout)
                model.graph.node.remove(node)
                model.graph.node.insert(index, host)
                return model, True
        return model, False


def convert_to_hw(model):
    """Replace streamlined nodes by FINN's generic HW layers (MVAU, Thresholding, SWG, ...)."""
    from finn.transformation.fpgadataflow.convert_to_hw.concat import InferConcatLayer
    from finn.transformation.fpgadataflow.convert_to_hw.conv_inp_gen import InferConvInpGen
    from finn.transformation.fpgadataflow.convert_to_hw.duplicate_streams import InferDuplicateStreamsLayer
    from finn.transformation.fpgadataflow.convert_to_hw.elementwise_binary_operation import (
        InferElementwiseBinaryOperation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.binary_matrix_vector_activation import (
        InferBinaryMatrixVectorActivation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.label_select import InferLabelSelectLayer
    from finn.transformation.fpgadataflow.convert_to_hw.pool import InferPool
    from finn.transformation.fpgadataflow.convert_to_hw.quantized_matrix_vector_activation import (
        InferQuantizedMatrixVectorActivation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.vector_vector_activation import InferVectorVectorActivation
    from finn.transformation.move_reshape import RemoveCNVtoFCFlatten
    from finn.transformation.streamline.absorb import AbsorbConsecutiveTransposes

    for transform in [
        InferBinaryMatrixVectorActivation(),
        InferQuantizedMatrixVectorActivation(),
        InferVectorVectorActivation(),
        InferElementwiseBinaryOperation(_is_integer_op),
        InferLabelSelectLayer(),
        InferThresholdingLayerWithBipolar(),
        InferPool(),
        InferConvInpGen(),
        InferConcatLayer(),
        KeepFloatInputQuantizerOnHost(),
        InferDuplicateStreamsLayer(),
        AbsorbConsecutiveTransposes(),
        BypassOrderPreservingTransposeBeforeFlatten(),
        RemoveCNVtoFCFlatten(),
    ]:
        model = model.transform(transform)
    model = _tidy(model.transform(InferDataLayouts()))
    _check_mapped(model)
    return model


def _check_mapped(model):
    """Every node left is either a HW layer or a host op at the graph's ends."""
    bad = [n for n in model.graph.node
           if not n.domain.startswith(FINN_HW_DOMAIN) and n.op_type not in HOST_OPS]
    if bad:
        lines = [f"  node '{n.name}' (op type {n.op_type})" for n in bad]
        raise UnsupportedLayerError(
            "these nodes could not be converted to hardware layers:\n" + "\n".join(lines)
            + f"\nonly {', '.join(sorted(HOST_OPS))} may stay on the host, at the start or end of the graph")


def create_dataflow_partition(model, work_dir):
    """Move all HW layers into one StreamingDataflowPartition; returns (parent, dataflow) models."""
    from finn.transformation.fpgadataflow.create_dataflow_partition import CreateDataflowPartition
    from qonnx.custom_op.registry import getCustomOp

    parent = model.transform(CreateDataflowPartition(partition_model_dir=work_dir))
    partitions = parent.get_nodes_by_op_type("StreamingDataflowPartition")
    if len(partitions) != 1:
        raise UnsupportedLayerError(
            f"expected one dataflow partition, got {len(partitions)}: host ops "
            f"({', '.join(sorted(HOST_OPS))}) may only sit at the start or end of the graph")
    dataflow = ModelWrapper(getCustomOp(partitions[0]).get_nodeattr("model"))
    return parent, dataflow


def split_parent(parent):
    """(head nodes, partition node, tail nodes) of the parent graph around the dataflow partition."""
    nodes = list(parent.graph.node)
    index = next(i for i, n in enumerate(nodes) if n.op_type == "StreamingDataflowPartition")
    return nodes[:index], nodes[index], nodes[index + 1:]


def specialize_layers(model, fpga_part):
    """Pick the HLS variant of every layer (our kernels are HLS), as FINN's SpecializeLayers does, and
    give it the narrowest types (see minimize_bit_widths): they do not depend on the folding, so the
    folding optimizer prices every layer as it is built."""
    return narrowest_types(_specialize(model, fpga_part))


def _specialize(model, fpga_part):
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
    from qonnx.custom_op.registry import getCustomOp

    for node in model.graph.node:
        getCustomOp(node).set_nodeattr("preferred_impl_style", "hls")
    return _tidy(model.transform(SpecializeLayers(fpga_part)))


def narrowest_types(model):
    """Integer thresholds and the narrowest weight and accumulator types (they set the kernels' ap_int
    widths). Idempotent."""
    from finn.transformation.fpgadataflow.minimize_accumulator_width import MinimizeAccumulatorWidth
    from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds

    model = model.transform(RoundAndClipThresholds())
    model = model.transform(MinimizeWeightBitWidthKeepingBipolar())
    model = model.transform(MinimizeAccumulatorWidth())
    return model.transform(XnorPopcountAccumulatorsUnsigned())


def minimize_bit_widths(model, fpga_part):
    """The narrowest types (for a folded graph from elsewhere, too), and a width converter wherever a
    producer's word width differs from its consumer's."""
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC

    return _specialize(narrowest_types(model).transform(InsertDWC()), fpga_part)
