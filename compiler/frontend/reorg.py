"""The reorg (space-to-depth) layer of MixQ's UltraNetBypass: from the Reshape-Transpose-Reshape
that Brevitas exports, through streamlining as an ONNX SpaceToDepth, to FINN's Shuffle HW node over
channels-last tensors, which our kernels implement (kernels/reorg.hpp, rtl/reorg.sv).

SpaceToDepth(blocksize b) of an NCHW tensor: output channel (i * b + j) * C + c at (y, x) holds input
channel c at (b * y + i, b * x + j). Over NHWC tensors it is the Shuffle with
  transpose_in_shape (N, H/b, b, W/b, b, C), perm (0, 1, 3, 2, 4, 5), out_shape (N, H/b, W/b, b*b*C):
every output pixel takes the b x b input pixels of its patch, row by row, each pixel's C channels in order.
"""
from onnx import helper
from qonnx.transformation.base import Transformation
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import get_by_name

from compiler.hwops import reorg_attrs

# Transpose of the NCHW definition, applied to (N, C, H/b, b, W/b, b)
SPACE_TO_DEPTH_NCHW_PERM = [0, 3, 5, 1, 2, 4]


class SpaceToDepthFromReshapeTranspose(Transformation):
    """Reshape (N, C, H/b, b, W/b, b) -> Transpose (0, 3, 5, 1, 2, 4) -> Reshape (N, b*b*C, H/b, W/b), the
    export of a reorg written as its definition, becomes one SpaceToDepth node: FINN's streamlining then
    sees one shape-preserving-per-element op instead of a 6D transpose it cannot move or absorb."""

    def apply(self, model):
        for transpose in model.get_nodes_by_op_type("Transpose"):
            before, after = model.find_producer(transpose.input[0]), model.find_consumer(transpose.output[0])
            if before is None or after is None or before.op_type != "Reshape" or after.op_type != "Reshape":
                continue
            if list(get_by_name(transpose.attribute, "perm").ints) != SPACE_TO_DEPTH_NCHW_PERM:
                continue
            in_shape = model.get_tensor_shape(before.input[0])
            split = model.get_tensor_shape(before.output[0])
            out_shape = model.get_tensor_shape(after.output[0])
            if in_shape is None or len(in_shape) != 4 or len(split) != 6:
                continue
            n, c, h, w = in_shape
            block = split[3]
            if split != [n, c, h // block, block, w // block, block] or split[5] != block or \
                    out_shape != [n, c * block * block, h // block, w // block]:
                continue
            if len(model.find_consumers(before.output[0])) != 1 or len(model.find_consumers(transpose.output[0])) != 1:
                continue
            node = helper.make_node("SpaceToDepth", [before.input[0]], [after.output[0]], blocksize=block,
                                    name=f"SpaceToDepth_{transpose.name}")
            model.graph.node.insert(list(model.graph.node).index(before), node)
            for old in (before, transpose, after):
                model.graph.node.remove(old)
            return model.transform(InferShapes()).transform(InferDataTypes()), True
        return model, False


class MergeIdenticalForkedTransposes(Transformation):
    """A tensor whose consumers are all Transposes of one perm (a fork into a reorg and a max pool, both
    made channels-last) gets one Transpose ahead of the fork: it then cancels against the producer's
    and the scales move on, which FINN's MoveTransposePastFork (it moves the other way) cannot do."""

    def apply(self, model):
        for tensor in {t for node in model.graph.node for t in node.input}:
            consumers = model.find_consumers(tensor)
            if len(consumers) < 2 or any(c.op_type != "Transpose" for c in consumers):
                continue
            perms = {tuple(get_by_name(c.attribute, "perm").ints) for c in consumers}
            if len(perms) != 1:
                continue
            keep, *merged = consumers
            for transpose in merged:
                for consumer in model.find_consumers(transpose.output[0]):
                    consumer.input[:] = [keep.output[0] if t == transpose.output[0] else t for t in consumer.input]
                model.graph.node.remove(transpose)
            return model, True
        return model, False


class CopyLinearAtReorgFork(Transformation):
    """A Mul or Add by a constant whose output feeds a SpaceToDepth and other consumers becomes one copy
    per consumer, so that the reorg's copy can move past it. (finn-plus' MoveMulPastFork does this for
    every fork but leaves the copies unshaped, and InferShapes then fails in a MaxPoolNHWC beside the
    reorg: "cannot unpack non-iterable NoneType object".) Other forks are left to StreamlinePlus."""

    def apply(self, model):
        for node in model.graph.node:
            consumers = model.find_consumers(node.output[0])
            if node.op_type not in ("Mul", "Add") or len(consumers) < 2 \
                    or not any(c.op_type == "SpaceToDepth" for c in consumers) \
                    or model.get_initializer(node.input[1]) is None:
                continue
            shape, dtype = model.get_tensor_shape(node.output[0]), model.get_tensor_datatype(node.output[0])
            index = list(model.graph.node).index(node)
            for consumer in consumers[1:]:
                copy_out = model.make_new_valueinfo_name()
                param = model.make_new_valueinfo_name()
                model.set_initializer(param, model.get_initializer(node.input[1]))
                model.graph.node.insert(index + 1, helper.make_node(node.op_type, [node.input[0], param], [copy_out]))
                model.set_tensor_shape(copy_out, shape)
                model.set_tensor_datatype(copy_out, dtype)
                consumer.input[:] = [copy_out if t == node.output[0] else t for t in consumer.input]
            return model, True
        return model, False


def scalar_linear_past_invariants(reorg_only=False):
    """FINN's MoveScalarLinearPastInvariants, with the reorg (SpaceToDepth, then Shuffle) among the
    invariants: it moves elements, so a scalar Mul or Add commutes with it. `reorg_only` moves scalars
    past reorgs alone, for use before the rest of streamlining (whose order other models rely on)."""
    from finn.transformation.streamline.reorder import MoveScalarLinearPastInvariants

    reorgs = {"SpaceToDepth", "Shuffle"}

    class MoveScalarLinearPastInvariantsAndReorg(MoveScalarLinearPastInvariants):
        SUPPORTED_INVARIANTS = reorgs if reorg_only else MoveScalarLinearPastInvariants.SUPPORTED_INVARIANTS | reorgs

    return MoveScalarLinearPastInvariantsAndReorg()


class InferReorgLayer(Transformation):
    """SpaceToDepth over an NCHW tensor becomes Transpose to NHWC -> Shuffle (the reorg over NHWC) ->
    Transpose back; the transposes then cancel against their neighbours' (AbsorbConsecutiveTransposes)."""

    def apply(self, model):
        for node in model.get_nodes_by_op_type("SpaceToDepth"):
            n, c, h, w = model.get_tensor_shape(node.input[0])
            block = get_by_name(node.attribute, "blocksize").i
            dtype = model.get_tensor_datatype(node.input[0])
            nhwc_in, nhwc_out = model.make_new_valueinfo_name(), model.make_new_valueinfo_name()
            nodes = [
                helper.make_node("Transpose", [node.input[0]], [nhwc_in], perm=[0, 2, 3, 1]),
                helper.make_node("Shuffle", [nhwc_in], [nhwc_out], domain="finn.custom_op.fpgadataflow",
                                 backend="fpgadataflow", name=f"Reorg_{node.name}", data_type=dtype.name, SIMD=1,
                                 **reorg_attrs(h, w, c, block)),
                helper.make_node("Transpose", [nhwc_out], [node.output[0]], perm=[0, 3, 1, 2]),
            ]
            index = list(model.graph.node).index(node)
            model.graph.node.remove(node)
            for offset, new in enumerate(nodes):
                model.graph.node.insert(index + offset, new)
            model.set_tensor_shape(nhwc_in, [n, h, w, c])
            model.set_tensor_shape(nhwc_out, [n, h // block, w // block, block * block * c])
            for name in (nhwc_in, nhwc_out):
                model.set_tensor_datatype(name, dtype)
            return model.transform(InferShapes()), True
        return model, False

