"""FINN's BNN-PYNQ networks (models/bnn_pynq.py): the MAC and weight counts of their architectures,
their image data (MNIST idx files, CIFAR-10 batches, synthetic look-alikes), the two conventions of
an input shape, and TFC-w1a1 and CNV-w1a1 built for Pynq-Z1 at the default folding and verified (the
other nine build in make bench: bench/bnn_pynq.py). A net with bipolar activations and 2-bit weights
takes and returns BIPOLAR streams: through cppsim, rtlsim and the driver."""
import gzip
import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d, QuantLinear
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp

import boards
import models
from compiler import folding
from compiler.buildfolder import load_graph
from compiler.driver.runtime.accelerator import Accelerator
from compiler.estimate import estimate
from compiler.flow import BuildConfig, run_build
from compiler.folding import FoldingSpace, resource_budget
from compiler.frontend import minimize_bit_widths
from models.sources import load_source
from models import bnn_pynq, images
from models.errors import UserError

NETS = Path(__file__).parent / "nets"
PYNQ_Z1 = boards.get("pynq-z1")

# MACs and weights per frame, by hand from the architectures (brevitas_examples/bnn_pynq/models):
#   TFC, SFC, LFC: dense 784 -> n -> n -> n -> 10, n = 64, 256, 1024; every weight is used once:
#     784 n + 2 n^2 + 10 n  =  59 008 (n = 64), 334 336 (256), 2 910 208 (1024)
#   CNV on 3 x 32 x 32, 3 x 3 convs without padding, 2 x 2 max pools after the 2nd and the 4th:
#     conv   channels   output  weights (9 in out)  MACs (weights x output pixels)
#     1      3 -> 64    30x30        1 728            1 555 200
#     2     64 -> 64    28x28       36 864           28 901 376
#     3     64 -> 128   12x12       73 728           10 616 832
#     4    128 -> 128   10x10      147 456           14 745 600
#     5    128 -> 256    3x3       294 912            2 654 208
#     6    256 -> 256    1x1       589 824              589 824
#     then dense 256 -> 512 -> 512 -> 10:  131 072 + 262 144 + 5 120 = 398 336 weights and MACs
#     total: 1 542 848 weights, 59 461 376 MACs
COUNTS = {"tfc": (59_008, 59_008), "sfc": (334_336, 334_336), "lfc": (2_910_208, 2_910_208),
          "cnv": (59_461_376, 1_542_848)}


def counts(name):
    return COUNTS[name.split("-")[0]]


# ---------------------------------------------------------------------------------------------
# Registry and architectures
# ---------------------------------------------------------------------------------------------

def test_registry_has_every_bnn_pynq_network_of_brevitas_examples():
    assert {"tfc-w1a1", "tfc-w1a2", "tfc-w2a2", "sfc-w1a1", "sfc-w1a2", "sfc-w2a2", "lfc-w1a1", "lfc-w1a2",
            "cnv-w1a1", "cnv-w1a2", "cnv-w2a2"} == set(bnn_pynq.CONFIGS) <= set(models.names())
    tfc, cnv = models.get("tfc-w1a1"), models.get("cnv-w2a2")
    assert (tfc.input_shape, tfc.dataset, tfc.topk) == ((1, 28, 28), "mnist", 1)
    assert (cnv.input_shape, cnv.dataset, cnv.topk) == ((3, 32, 32), "cifar10", 1)


@pytest.mark.parametrize("name", sorted(bnn_pynq.CONFIGS))
def test_mac_and_weight_counts_are_the_architectures(name):
    spec = models.get(name)
    module = spec.build().eval()
    macs, weights = [], []

    def count(layer, inputs, output):
        pixels = output.shape[2] * output.shape[3] if isinstance(layer, QuantConv2d) else 1
        weights.append(layer.weight.numel())
        macs.append(layer.weight.numel() * pixels)

    for layer in module.modules():
        if isinstance(layer, (QuantConv2d, QuantLinear)):
            layer.register_forward_hook(count)
    with torch.no_grad():
        module(torch.zeros(1, *spec.input_shape))
    assert (sum(macs), sum(weights)) == counts(name)
    bits = int(name[-3]), int(name[-1])
    assert {layer.quant_weight().bit_width.item() for layer in module.modules()
            if isinstance(layer, (QuantConv2d, QuantLinear))} == {bits[0]}


# ---------------------------------------------------------------------------------------------
# Image data
# ---------------------------------------------------------------------------------------------

def idx_bytes(magic, array):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_mnist_idx_files_load_with_the_labels_beside_them(tmp_path):
    rng = np.random.default_rng(0)
    pixels, labels = rng.integers(0, 256, size=(5, 28, 28)), rng.integers(0, 10, size=5)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images.IDX_IMAGES, pixels)))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images.IDX_LABELS, labels)))
    frames, got = images.load("mnist", tmp_path / "t10k-images-idx3-ubyte.gz", limit=3)
    assert frames.shape == (3, 1, 28, 28) and frames.dtype == np.float32
    np.testing.assert_array_equal(frames[:, 0] * 255, pixels[:3])
    np.testing.assert_array_equal(got, labels[:3])
    (tmp_path / "images").write_bytes(idx_bytes(images.IDX_IMAGES, pixels))
    assert images.load("mnist", tmp_path / "images")[1] is None and images.count("mnist", tmp_path / "images") == 5


def test_cifar10_batches_load_as_rgb_planes(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(4, 3072)).astype(np.uint8)
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": [3, 1, 4, 1], b"data": data}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    frames, labels = images.load("cifar10", tmp_path / "test_batch")
    assert frames.shape == (4, 3, 32, 32) and labels.tolist() == [3, 1, 4, 1]
    np.testing.assert_array_equal(frames[2, 1] * 255, data[2, 1024:2048].reshape(32, 32))    # green plane


def test_data_that_is_not_the_models_names_the_file_and_the_format(tmp_path):
    mnist = tmp_path / "t10k-images-idx3-ubyte"
    mnist.write_bytes(idx_bytes(images.IDX_IMAGES, np.zeros((2, 28, 28))))
    with pytest.raises(UserError, match=r"DATA=.*t10k-images-idx3-ubyte is not a CIFAR-10 python batch"):
        images.load("cifar10", mnist)
    mnist.write_bytes(mnist.read_bytes()[:-10])
    with pytest.raises(UserError, match="truncated or malformed idx file"):
        images.load("mnist", mnist)
    # a pickle naming anything but a batch's parts is refused, not run
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(pickle.dumps({b"data": Path("x")}, protocol=2))
    with pytest.raises(UserError, match="is not part of a CIFAR-10 batch"):
        images.load("cifar10", evil)


def test_synthetic_frames_look_like_their_dataset():
    digits, photos = images.synthetic("mnist", 16), images.synthetic("cifar10", 16)
    assert digits.shape == (16, 1, 28, 28) and photos.shape == (16, 3, 32, 32)
    for frames in (digits, photos):
        np.testing.assert_array_equal(np.round(frames * 255), frames * 255)      # 8-bit pixels
        assert 0 <= frames.min() and frames.max() <= 1
    # MNIST: mostly black, about a tenth of the pixels bright
    assert (digits == 0).mean() > 0.7 and 0.03 < (digits > 0.5).mean() < 0.25
    np.testing.assert_array_equal(images.synthetic("mnist", 4, seed=3), images.synthetic("mnist", 4, seed=3))


# ---------------------------------------------------------------------------------------------
# Input shapes: one frame, or with Brevitas' leading batch dimension
# ---------------------------------------------------------------------------------------------

MLP = '''
import brevitas.nn as qnn
from torch import nn


def make_model():
    net = nn.Sequential(qnn.QuantLinear(64, 32, bias=False), nn.BatchNorm1d(32))
    return net, {shape}
'''


def source(model, input_shape=None):
    return load_source(SimpleNamespace(model=model, input_shape=input_shape, bits=None))


def test_a_leading_batch_dimension_the_model_rejects_is_dropped_and_said(tmp_path):
    (tmp_path / "mlp.py").write_text(MLP.format(shape="(1, 64)"))
    mlp = source(f"{tmp_path / 'mlp.py'}:make_model")
    assert mlp.input_shape == (64,)
    assert mlp.notes == ("the shape make_model() returns 1,64 leads with the batch dimension (as Brevitas' "
                         "export_qonnx takes it): frames of shape 64",)
    (tmp_path / "plain.py").write_text(MLP.format(shape="(64,)"))
    assert source(f"{tmp_path / 'plain.py'}:make_model", "1,64").input_shape == (64,)
    tfc = source("tfc-w1a1", "1,1,28,28")
    assert tfc.input_shape == (1, 28, 28) and "leads with the batch dimension" in tfc.notes[0]
    assert source("tfc-w1a1", "1,28,28").notes == ()


def test_a_shape_the_model_takes_both_ways_is_one_frame_and_said(tmp_path):
    # TFC flattens whatever it gets: (1, 28, 28) is a frame, or a batch of one 28 x 28 frame
    (tmp_path / "tfc.py").write_text("import models\n\n\ndef make_model():\n"
                                     "    return models.get('tfc-w1a1').build(), (1, 28, 28)\n")
    tfc = source(f"{tmp_path / 'tfc.py'}:make_model")
    assert tfc.input_shape == (1, 28, 28)
    assert tfc.notes == ("the shape make_model() returns 1,28,28 is read as one frame (the model also takes "
                         "frames of shape 28,28; if 1,28,28 includes the batch dimension, give 28,28)",)


# ---------------------------------------------------------------------------------------------
# Builds: TFC-w1a1 and CNV-w1a1 on Pynq-Z1 at the default folding
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tfc_build(tmp_path_factory):
    return run_build(BuildConfig(model="tfc-w1a1", board="pynq-z1", out_dir=tmp_path_factory.mktemp("tfc") / "b",
                                 frames=8))


@pytest.fixture(scope="module")
def cnv_build(tmp_path_factory):
    return run_build(BuildConfig(model="cnv-w1a1", board="pynq-z1", out_dir=tmp_path_factory.mktemp("cnv") / "b",
                                 frames=3))


@pytest.fixture(params=["tfc", "cnv"])
def build(request):
    return request.param, request.getfixturevalue(f"{request.param}_build")


def read(out, name):
    return json.loads((out / name).read_text())


@pytest.mark.slow
def test_builds_verify_integer_exactly(build):
    family, out = build
    record = read(out, "verification.json")
    assert record["ok"] and record["reference"] == "pytorch"
    stages = {s["stage"]: s for s in record["stages"]}
    assert all(stages[name]["ok"] for name in ("streamline", "hw_graph", "cppsim", "rtlsim", "rtlsim_vs_cppsim"))
    assert "calibrating BatchNorm and quantizer statistics on 512 synthetic" in (out / "build.log").read_text()


@pytest.mark.slow
def test_builds_fit_and_the_estimate_is_the_plan_plus_the_fifos(build):
    """The folding optimizer's plan is what the estimate step says of the built layers (width converters
    included); the FIFOs, sized by rtlsim after folding, come on top."""
    family, out = build
    report = read(out, "report/estimates.json")
    assert report["fits_board"]
    budget = resource_budget(PYNQ_Z1)
    space = FoldingSpace(load_graph(out, "specialize_layers"), PYNQ_Z1.part)
    plan = space.cheapest_within(report["max_cycles"], budget)
    assert not plan.over(budget)
    for resource in ("LUT", "BRAM_18K", "DSP", "URAM"):
        assert sum(layer[resource] for layer in report["layers"]) == plan.totals[resource], resource
    measured = read(out, "rtlsim/performance.json")
    assert measured["interval_cycles"] == report["max_cycles"]


@pytest.mark.slow
def test_built_layers_have_the_architectures_counts_and_xnor_popcounts(build):
    family, out = build
    model = load_graph(out, "fifo_sizing")
    mvaus = [getCustomOp(n) for n in model.graph.node if n.op_type == "MVAU_hls"]
    macs = sum(m.get_nodeattr("MW") * m.get_nodeattr("MH") * int(np.prod(m.get_nodeattr("numInputVectors")))
               for m in mvaus)
    assert (macs, sum(m.get_nodeattr("MW") * m.get_nodeattr("MH") for m in mvaus)) == COUNTS[family]
    # w1a1: every layer is an XNOR popcount over 0/1 streams but CNV's first, whose input is 8-bit pixels
    xnor = [bool(m.get_nodeattr("binaryXnorMode")) for m in mvaus]
    assert xnor == [family == "tfc"] + [True] * (len(mvaus) - 1)
    assert all(model.get_tensor_datatype(t) != DataType["BIPOLAR"] for n in model.graph.node for t in n.output)


@pytest.mark.slow
def test_driver_classifies_as_verified(build):
    family, out = build
    record = read(out, "verification.json")
    dataset = "cifar10" if family == "cnv" else "mnist"
    frames = images.synthetic(dataset, record["frames"], seed=1)     # the build's verification frames
    accelerator = Accelerator("sim", batch_size=len(frames), config_dir=out / "driver")
    predictions = accelerator.predictions(accelerator.infer(frames))
    agree = [f for f in range(len(frames)) if f not in record["boundary_frames"]]
    np.testing.assert_array_equal(predictions[agree], np.array(record["predictions"])[agree])


@pytest.mark.slow
def test_cnv_w1a1_at_finn_examples_frame_rate_fits_pynq_z1(cnv_build):
    """finn-examples measured 3 020 frames/s on Pynq-Z1 at 100 MHz."""
    model = load_graph(cnv_build, "specialize_layers")
    plan = FoldingSpace(model, PYNQ_Z1.part).cheapest(int(PYNQ_Z1.clock_mhz * 1e6 / 3020))
    assert plan is not None and not plan.over(resource_budget(PYNQ_Z1))
    report = estimate(minimize_bit_widths(folding.apply(model, plan.config), PYNQ_Z1.part), PYNQ_Z1)
    assert report["estimated_fps"] >= 3020 and report["fits_board"]


# ---------------------------------------------------------------------------------------------
# BIPOLAR at the accelerator's boundary and between layers
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_bipolar_streams_in_out_and_through_a_max_pool(tmp_path):
    out = run_build(BuildConfig(model=f"{NETS / 'bipolar'}.py:make_model", board="pynq-z1", out_dir=tmp_path / "b",
                                frames=8, fifo_sizing=False))
    assert read(out, "verification.json")["ok"]
    model = load_graph(out, "fifo_sizing")
    bipolar = DataType["BIPOLAR"]
    assert model.get_tensor_datatype(model.graph.input[0].name) == bipolar
    assert model.get_tensor_datatype(model.graph.output[0].name) == bipolar
    pool = model.get_nodes_by_op_type("Pool_hls")[0]
    assert model.get_tensor_datatype(pool.input[0]) == bipolar
    # the driver packs -1/+1 as 0/1 bits and unpacks them back, on the board as against cppsim
    frames = np.random.default_rng(0).standard_normal((5, 1, 10, 10)).astype(np.float32)
    accelerator = Accelerator("sim", batch_size=5, config_dir=out / "driver")
    inputs = accelerator.preprocess(frames)
    assert set(np.unique(inputs)) <= {-1, 1}
    module = source(f"{NETS / 'bipolar'}.py:make_model").module(None)
    with torch.no_grad():
        expected = module(torch.from_numpy(frames)).value.numpy()
    np.testing.assert_array_equal(accelerator.infer(frames), expected)
