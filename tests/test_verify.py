"""The verification policy on hand-made outputs: exact agreement, rounding-boundary frames, labels."""
import numpy as np
import pytest
from qonnx.custom_op.registry import getCustomOp

from compiler import verify
from compiler.hwgraphs import chain, layer, mvau, swg

Q = 0.5   # output quantum


def outputs(**stages):
    """Stage outputs in output units from integer arrays (frames x classes)."""
    return {name: np.asarray(v, dtype=np.float64) * Q for name, v in stages.items()}


REF = [[3, 1, 2], [0, 5, 1], [2, 2, 7]]


def stage(record, name):
    return next(s for s in record["stages"] if s["stage"] == name)


def test_all_stages_equal_is_ok():
    record = verify.judge(outputs(pytorch=REF, pytorch_float32=REF, streamline=REF, hw_graph=REF, cppsim=REF), Q)
    assert record["ok"] and record["boundary_frames"] == []
    assert [s["stage"] for s in record["stages"]][-2:] == ["hw_graph_vs_streamline", "cppsim_vs_hw_graph"]


def test_integer_stage_differing_off_boundary_fails_and_names_the_frame():
    bad = [[3, 1, 2], [0, 6, 1], [2, 2, 7]]
    record = verify.judge(outputs(pytorch=REF, pytorch_float32=REF, streamline=REF, hw_graph=bad, cppsim=bad), Q)
    assert not record["ok"]
    assert stage(record, "hw_graph")["unexplained_frames"] == [1]
    assert stage(record, "hw_graph_vs_streamline")["mismatched_frames"] == [1]
    assert stage(record, "cppsim_vs_hw_graph")["ok"]


def test_boundary_frame_accepts_either_float_evaluation_but_nothing_else():
    f32 = [[3, 1, 2], [0, 4, 1], [2, 2, 7]]          # PyTorch float32 differs from float64 on frame 1
    ok = verify.judge(outputs(pytorch=REF, pytorch_float32=f32, streamline=f32, hw_graph=f32, cppsim=f32), Q)
    assert ok["ok"] and ok["boundary_frames"] == [1]
    third = [[3, 1, 2], [0, 9, 1], [2, 2, 7]]
    bad = verify.judge(outputs(pytorch=REF, pytorch_float32=f32, streamline=third, hw_graph=third, cppsim=third), Q)
    assert not bad["ok"] and stage(bad, "streamline")["unexplained_frames"] == [1]


def test_float_graph_stages_are_reported_not_judged():
    other = [[3, 1, 2], [0, 4, 1], [2, 2, 8]]
    record = verify.judge(outputs(pytorch=REF, pytorch_float32=REF, finn_onnx=other, hw_graph=REF, cppsim=REF), Q)
    assert record["ok"]
    assert stage(record, "finn_onnx")["mismatched_frames"] == [1, 2] and not stage(record, "finn_onnx")["judged"]


def test_label_outputs_compare_with_top_k_of_the_scores_lower_index_first_on_ties():
    labels = np.array([[0], [1], [2]])
    record = verify.judge({"pytorch": np.asarray(REF) * Q, "hw_graph": labels, "cppsim": labels}, Q)
    assert record["ok"]
    tie = {"pytorch": np.array([[4, 4, 1]]) * Q, "hw_graph": np.array([[1]]), "cppsim": np.array([[1]])}
    assert not verify.judge(tie, Q)["ok"]


def test_non_integer_outputs_are_an_error():
    with pytest.raises(verify.VerificationError, match="not integers"):
        verify.judge({"pytorch": np.array([[0.3, 1.0]]), "cppsim": np.array([[0.3, 1.0]])}, 1.0)


def test_depthwise_window_stream_order():
    model = chain(swg("w", 4, 2, 4, stride=2, depthwise=1))
    getCustomOp(model.graph.node[0]).set_nodeattr("SIMD", 2)
    # one output pixel: kernel positions k0, k1 of channels c0..c3 -> [cf0: k0(c0 c1), k1(c0 c1)], [cf1: ...]
    tensor = np.array([[[[0, 1, 2, 3, 10, 11, 12, 13]]]])
    assert list(verify.to_stream_order(model, "t1", tensor)) == [0, 1, 10, 11, 2, 3, 12, 13]


def test_hw_graph_runs_across_a_dropped_flatten():
    """After FINN's RemoveCNVtoFCFlatten a global pool's 1x1 output stays 4D while the layers after it are
    2D (bacalhau at full folding: pool -> thresholds -> width converter -> dense); the HW graph still runs."""
    rng = np.random.default_rng(0)
    thresholds = np.sort(rng.integers(0, 60, size=(6, 3)), axis=1).astype(np.float32)
    model = chain(
        layer("GlobalAccPool_hls", "gap", NumChannels=6, PE=6, inputDataType="UINT4", numInputVectors=[1, 5, 1]),
        layer("Thresholding_hls", "act", [("t", thresholds, "UINT8")], NumChannels=6, PE=6, numSteps=3,
              inputDataType="UINT8", weightDataType="UINT8", outputDataType="UINT2", numInputVectors=[1]),
        layer("StreamingDataWidthConverter_hls", "dwc", inShape=[1, 6], outShape=[1, 6], inWidth=12, outWidth=4,
              dataType="UINT2"),
        mvau("fc", 6, 4, idt="UINT2", SIMD=2))
    model.set_tensor_shape("t1", [1, 1, 1, 6])
    model.set_tensor_shape("t2", [1, 6])
    model.set_tensor_shape("t3", [1, 6])
    frames = rng.integers(0, 16, size=(2, 1, 5, 1, 6)).astype(np.float32)
    got = verify.run_graph(verify.generic_ops(model), frames)
    sums = frames.sum(axis=(1, 2, 3))
    levels = (sums[:, :, None] >= thresholds[None]).sum(axis=2)
    np.testing.assert_array_equal(got, levels @ np.ones((6, 4)))
