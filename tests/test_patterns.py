"""The graph patterns of the model zoo, each in a small net built through every step and verified
integer-exactly against PyTorch: residual add, multi-branch concat, 2D convs with pooled quantizers."""
import json
from pathlib import Path

import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.basic import get_by_name

from compiler.flow import BuildConfig, run_build

pytestmark = pytest.mark.slow
NETS = Path(__file__).parent / "nets"


def _build(tmp_path, net, board="ultra96", **options):
    out = run_build(BuildConfig(model=f"{NETS / net}.py:make_model", board=board, out_dir=tmp_path / net, frames=8,
                                **options))
    record = json.loads((out / "verification.json").read_text())
    assert record["ok"] and record["reference"] == "pytorch"
    assert {s["stage"] for s in record["stages"]} >= {"streamline", "hw_graph", "cppsim"}
    return out, ModelWrapper(str(out / "steps" / "09_minimize_bit_widths.onnx"))


def _ops(model):
    return [n.op_type for n in model.graph.node]


def test_residual_add_of_a_shared_quantizer_runs_as_a_stream_add(tmp_path):
    _, model = _build(tmp_path, "residual")
    ops = _ops(model)
    assert "DuplicateStreams_hls" in ops and "VVAU_hls" in ops and "Pool_hls" in ops
    two_stream_adds = [n for n in model.graph.node
                       if n.op_type == "ElementwiseAdd_hls" and all(model.get_initializer(t) is None for t in n.input)]
    assert len(two_stream_adds) == 1


def test_three_branch_concat_forks_three_ways_and_joins(tmp_path):
    _, model = _build(tmp_path, "multibranch")
    fork = model.get_nodes_by_op_type("DuplicateStreams_hls")
    assert len(fork) == 1 and len(fork[0].output) == 3
    assert len(model.get_nodes_by_op_type("StreamingConcat_hls")[0].input) == 3


def test_reorg_bypass_joins_the_pooled_branch(tmp_path):
    """MixQ's UltraNetBypass: conv 3's output forks into a reorg (space-to-depth) and a max pool; the
    reorganized branch, re-quantized, joins the pooled branch's conv 6 output in a concat."""
    out, model = _build(tmp_path, "bypass")
    (fork,) = model.get_nodes_by_op_type("DuplicateStreams_hls")
    (shuffle,) = model.get_nodes_by_op_type("Shuffle")
    assert shuffle.input[0] in fork.output
    assert model.get_tensor_shape(shuffle.output[0]) == [1, 2, 4, 256]
    requantized = model.find_consumer(shuffle.output[0])
    while requantized.op_type.startswith("StreamingDataWidthConverter"):
        requantized = model.find_consumer(requantized.output[0])
    assert requantized.op_type == "Thresholding_hls"
    assert model.find_consumer(requantized.output[0]).op_type.startswith(("StreamingConcat", "StreamingDataWidthConverter"))
    record = json.loads((out / "verification.json").read_text())
    assert "rtlsim" in {s["stage"] for s in record["stages"]}


def test_skynet_depthwise_5x5_blocks(tmp_path):
    """MixQ's SkyNetk5: 2D depthwise 5x5 convs as VVAUs over padded sliding windows, pointwise convs as
    MVAUs, pools between blocks, a head without bias. Its 42 layers simulate at some 20k cycles per
    second, so the FIFOs keep the folding's depths here (sizing them takes dozens of simulations)."""
    out, model = _build(tmp_path, "skynet", board="zcu104", fifo_sizing=False)
    ops = _ops(model)
    assert ops.count("VVAU_hls") == 6 and ops.count("MVAU_hls") == 7 and ops.count("Pool_hls") == 3
    kernels = [n for n in model.graph.node if n.op_type == "VVAU_hls"]
    assert all(list(get_by_name(n.attribute, "Kernel").ints) == [5, 5] for n in kernels)
    record = json.loads((out / "verification.json").read_text())
    assert "rtlsim" in {s["stage"] for s in record["stages"]}


def test_2d_convs_with_pool_before_the_quantizer(tmp_path):
    out, model = _build(tmp_path, "image", board="pynq-z1")
    assert "Pool_hls" in _ops(model) and "MVAU_hls" in _ops(model)
    # every MaxPool moved behind its quantizer: nothing but the input quantizer and the output scale on the host
    parent = ModelWrapper(str(out / "steps" / "06_dataflow_partition_parent.onnx"))
    host = {n.op_type for n in parent.graph.node if n.op_type != "StreamingDataflowPartition"}
    assert host <= {"MultiThreshold", "Mul", "Transpose"}
