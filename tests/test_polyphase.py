"""Input phases (compiler/frontend/polyphase.py): a 1D network's first convolution and max pool on
several samples per pixel compute what they computed before, and a build of them streams a frame in
fewer cycles than it has samples, exact in cppsim and rtlsim."""
import json
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.basic import qonnx_make_model

from compiler.flow import BuildConfig, run_build
from compiler.frontend import PolyphaseError, convert_to_hw, polyphase
from models import radioml

GENERAL = "qonnx.custom_op.general"


def conv_pool_graph(length, channels, outputs, kernel, pads, pool, axis=1, conv_stride=1, seed=0):
    """x (INT4) -> Im2Col -> MatMul (INT3 weights) -> MultiThreshold (UINT2) -> MaxPoolNHWC -> y, a 1D
    image along `axis` (1: H, 2: W)."""
    rng = np.random.default_rng(seed)
    image = [1, 1, 1, channels]
    image[axis] = length
    out_length = (length + sum(pads) - kernel) // conv_stride + 1
    conv_out, pooled = list(image), list(image)
    conv_out[axis], conv_out[3] = out_length, outputs
    pooled[axis], pooled[3] = out_length // pool, outputs
    window = list(conv_out)
    window[3] = kernel * channels
    along = lambda value, other: [value, other] if axis == 1 else [other, value]   # noqa: E731
    pad_amount = [pads[0], 0, pads[1], 0] if axis == 1 else [0, pads[0], 0, pads[1]]
    nodes = [
        helper.make_node("Im2Col", ["x"], ["w"], domain=GENERAL, stride=along(conv_stride, 1),
                         kernel_size=along(kernel, 1), pad_amount=pad_amount, input_shape=str(tuple(image)).replace(" ", ""),
                         dilations=[1, 1], depthwise=0),
        helper.make_node("MatMul", ["w", "weights"], ["acc"]),
        helper.make_node("MultiThreshold", ["acc", "thresholds"], ["act"], domain=GENERAL, out_dtype="UINT2",
                         data_layout="NHWC"),
        helper.make_node("MaxPoolNHWC", ["act"], ["y"], domain=GENERAL, kernel_shape=along(pool, 1),
                         strides=along(pool, 1), pads=[0, 0, 0, 0]),
    ]
    info = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)   # noqa: E731
    graph = helper.make_graph(nodes, "conv_pool", [info("x", image)], [info("y", pooled)],
                              value_info=[info("w", window), info("acc", conv_out), info("act", conv_out)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    model.set_tensor_datatype("x", DataType["INT4"])
    model.set_tensor_layout("x", ["N", "H", "W", "C"])
    model.set_initializer("weights", rng.integers(-4, 4, (kernel * channels, outputs)).astype(np.float32))
    model.set_tensor_datatype("weights", DataType["INT3"])
    model.set_initializer("thresholds", np.sort(rng.integers(-40, 40, (outputs, 3)), axis=1).astype(np.float32))
    for tensor, dtype in (("w", "INT4"), ("acc", "INT32"), ("act", "UINT2"), ("y", "UINT2")):
        model.set_tensor_datatype(tensor, DataType[dtype])
    return model


@pytest.mark.parametrize("length,channels,kernel,pads,phases,axis", [
    (16, 2, 3, (1, 1), 2, 1),         # VGG10's first layer
    (16, 3, 5, (2, 2), 2, 1),         # a window reaching two pixels either side
    (24, 2, 4, (1, 2), 4, 1),         # an even kernel, four phases
    (12, 2, 3, (2, 0), 3, 2),         # a causal padding, three phases, along W
])
def test_phases_compute_the_same_pooled_values(length, channels, kernel, pads, phases, axis):
    model = conv_pool_graph(length, channels, 5, kernel, pads, phases, axis)
    phased = polyphase(model, phases)
    ops = [n.op_type for n in phased.graph.node]
    assert ops.count("MatMul") == phases and "MaxPoolNHWC" not in ops and ops[0] == "Reshape"
    assert ops.count("Max") == phases - 1        # two inputs each, as FINN's ElementwiseMax takes them
    window = phased.get_tensor_shape(phased.graph.node[1].output[0])
    assert window[axis] == length // phases
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.integers(-8, 8, model.get_tensor_shape("x")).astype(np.float32)
        expected = execute_onnx(model, {"x": x})["y"]
        assert np.array_equal(execute_onnx(phased, {"x": x})["y"], expected)


def test_four_phases_become_dataflow_layers():
    """One window generator, its stream copied to the four phase MVAUs, three ElementwiseMax of two."""
    hw = convert_to_hw(polyphase(conv_pool_graph(24, 2, 5, 4, (1, 2), 4, 1), 4))
    ops = [n.op_type for n in hw.graph.node]
    assert ops.count("ConvolutionInputGenerator") == 1 and ops.count("MVAU") == 4
    assert ops.count("ElementwiseMax") == 3
    duplicate = hw.get_nodes_by_op_type("DuplicateStreams")
    assert len(duplicate) == 1 and len(duplicate[0].output) == 4


@pytest.mark.parametrize("change,message", [
    (dict(pool=4), "need a max pool of 2 samples with stride 2"),
    (dict(conv_stride=2, pads=(0, 1)), "need a stride-1, undilated convolution that keeps the length"),
    (dict(length=15), "need a length divisible by 2"),
])
def test_what_cannot_be_phased_is_named(change, message):
    args = dict(length=16, channels=2, outputs=4, kernel=3, pads=(1, 1), pool=2)
    args.update(change)
    with pytest.raises(PolyphaseError, match=message):
        polyphase(conv_pool_graph(**args), 2)


def test_a_conv_without_pool_is_named():
    model = conv_pool_graph(16, 2, 4, 3, (1, 1), 2)
    pool = model.get_nodes_by_op_type("MaxPoolNHWC")[0]
    model.graph.node.remove(pool)
    model.graph.output[0].name = "act"
    with pytest.raises(PolyphaseError, match="MultiThreshold feeds nothing where a MaxPoolNHWC should be"):
        polyphase(model, 2)


@pytest.fixture(scope="module")
def phased_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "tiny-phases"
    run_build(BuildConfig(model="tiny", board="pynq-z2", out_dir=out, frames=4, target_fps="max", input_phases=2))
    return out


def test_two_phases_build_verified_at_half_the_samples_cycles(phased_build):
    verification = json.loads((phased_build / "verification.json").read_text())
    assert verification["ok"]
    assert "4 of 4 frames exact against pytorch" in (phased_build / "build.log").read_text()
    measured = json.loads((phased_build / "rtlsim" / "performance.json").read_text())
    samples = 64                                    # the tiny model's frame: 2 x 64
    assert measured["interval_cycles"] < samples     # one sample per cycle would take 64
    ops = [n.op_type for n in ModelWrapper(str(phased_build / "steps" / "09_minimize_bit_widths.onnx")).graph.node]
    assert "ElementwiseMax_hls" in ops and ops.count("MVAU_hls") >= 2


def test_the_driver_streams_the_frames_as_pairs(phased_build, tmp_path):
    x = radioml.load(radioml.ensure_synthetic(), "test", limit=4, length=64)[0]
    np.save(tmp_path / "input.npy", x)
    result = subprocess.run([sys.executable, "driver.py", "--platform", "sim", "--exec_mode", "execute",
                             "--inputfile", str(tmp_path / "input.npy"), "--outputfile", str(tmp_path / "out.npy")],
                            cwd=phased_build / "driver", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    config = json.loads((phased_build / "driver" / "accel_config.json").read_text())
    assert config["input"]["shape_normal"] == [1, 32, 1, 4]             # two samples of two channels a word
    predictions = json.loads((phased_build / "verification.json").read_text())["predictions"]
    assert np.load(tmp_path / "out.npy").argmax(axis=1).tolist() == predictions
