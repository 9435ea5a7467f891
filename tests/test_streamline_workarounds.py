"""The streamlining workarounds of compiler/frontend/workarounds.py on small hand-made graphs: each
rewrite keeps the graph's function, and does what its docstring says."""
import numpy as np
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

from compiler.frontend.workarounds import (
    LowerConvsToMatMulOfKind, MoveTransposePastEltwiseKeepingTheOutputScale, streamline_plus,
)

RNG = np.random.default_rng(0)


def _model(nodes, in_shape, out_shape, initializers):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    model = ModelWrapper(qonnx_make_model(graph))
    for name, value in initializers.items():
        model.set_initializer(name, value.astype(np.float32))
    return model.transform(InferShapes())


def _run(model, x):
    graph = model.graph                  # streamlining renames the graph's tensors
    return execute_onnx(model, {graph.input[0].name: x})[graph.output[0].name]


def _transpose_then(op, constant):
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]), helper.make_node(op, ["t", "c"], ["y"])]
    return _model(nodes, [1, 4, 5, 3], [1, 3, 4, 5], {"c": constant})


def test_a_transpose_moves_past_a_channelwise_add_keeping_the_function():
    model = _transpose_then("Add", RNG.normal(size=(1, 3, 1, 1)))
    x = RNG.normal(size=(1, 4, 5, 3)).astype(np.float32)
    moved = model.transform(MoveTransposePastEltwiseKeepingTheOutputScale())
    assert [n.op_type for n in moved.graph.node] == ["Add", "Transpose"]
    np.testing.assert_allclose(_run(moved, x), _run(model, x), rtol=1e-6)


def test_streamline_plus_ends_on_a_transpose_before_a_scalar_mul():
    """finn-plus' own StreamlinePlus moves this Transpose and the Mul past each other forever."""
    model = _transpose_then("Mul", np.array(0.25))
    x = RNG.normal(size=(1, 4, 5, 3)).astype(np.float32)
    streamlined = model.transform(streamline_plus())
    assert [n.op_type for n in streamlined.graph.node] == ["Transpose", "Mul"]
    np.testing.assert_allclose(_run(streamlined, x), _run(model, x), rtol=1e-6)


def test_depthwise_convs_are_lowered_apart_from_the_others():
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1])
    model = _model([helper.make_node("Conv", ["x", "wd"], ["d"], group=4, **conv),
                    helper.make_node("Conv", ["d", "w"], ["y"], group=1, **conv)],
                   [1, 4, 6, 6], [1, 2, 6, 6],
                   {"wd": RNG.normal(size=(4, 1, 3, 3)), "w": RNG.normal(size=(2, 4, 3, 3))})
    x = RNG.normal(size=(1, 4, 6, 6)).astype(np.float32)
    dense_lowered = model.transform(LowerConvsToMatMulOfKind(depthwise=False))
    ops = [n.op_type for n in dense_lowered.graph.node]
    assert ops.count("Conv") == 1 and "MatMul" in ops
    (kept,) = [n for n in dense_lowered.graph.node if n.op_type == "Conv"]
    assert dense_lowered.get_tensor_shape(kept.input[1]) == [4, 1, 3, 3]
    both_lowered = dense_lowered.transform(LowerConvsToMatMulOfKind(depthwise=True))
    assert "Conv" not in [n.op_type for n in both_lowered.graph.node]
    np.testing.assert_allclose(_run(both_lowered, x), _run(model, x), rtol=1e-4, atol=1e-4)
