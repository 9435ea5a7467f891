"""The model zoo: every registry model builds, runs and exports to QONNX; the challenge cost of the
architectures matches models.md; hardware variants re-quantize where the published models do not;
Imperial's host statistics features."""
import json
from functools import lru_cache

import numpy as np
import pytest
import torch
import brevitas.nn as qnn
from brevitas.quant_tensor import QuantTensor

import models
from compiler.frontend.steps import SUPPORTED_QONNX_OPS
from models import cost
from models.bacalhau import BacalhauNet, SeparableBlock
from models.calibration import calibrate
from models.errors import UserError
from models.export import export_brevitas
from models.imperial import ImperialConvBranch, host_features
from models.mixq import SkyNet, VGGTiny, UltraNet, UltraNetBypass, reorg

OUTPUT_SHAPES = {
    "vgg10": (24,), "vgg10-w4a4": (24,), "tiny": (24,),
    "bacalhau": (24,), "bacalhau-faithful": (24,),
    "aaronnet32": (24,), "aaronnet32-faithful": (24,), "aaronnet48": (24,), "aaronnet48-faithful": (24,),
    "imperial": (128,), "imperial-full": (24,), "imperial-faithful": (24,),
    "vggtiny": (10,), "ultranet": (36, 10, 20), "ultranet-bypass": (36, 10, 20),
    "skynet": (36, 20, 40), "skynetk5": (36, 20, 40),
}
# What `make build` builds: these must export to ops the flow maps to hardware.
HARDWARE_MODELS = ["vgg10", "vgg10-w4a4", "tiny", "bacalhau", "aaronnet32", "aaronnet48", "imperial",
                   "vggtiny", "ultranet", "ultranet-bypass", "skynet", "skynetk5"]


def _calibrated(name):
    """A fresh registry module whose activation quantizers hold distinct scales, as if trained."""
    spec = models.get(name)
    return calibrate(spec.build(), spec.input_shape, batch_size=2, signed=True)


@lru_cache(maxsize=None)
def exported(name):
    """The QONNX export of a registry model; each model is exported once per test run."""
    return export_brevitas(_calibrated(name), models.get(name).input_shape)


@lru_cache(maxsize=None)
def challenge_cost(name):
    return cost.challenge_cost(exported(name))


def wide_input_macs(figures):
    """MACs whose input is 32 bit: float, or an unquantized sum."""
    return sum(v for k, v in figures["macs_by_type"].items() if k.startswith("FLOAT32"))


# ---------------------------------------------------------------------------------------------
# Registry, forward
# ---------------------------------------------------------------------------------------------

def test_registry_has_the_zoo():
    assert set(OUTPUT_SHAPES) <= set(models.names())
    assert models.get("bacalhau").train_snr_min == -6
    assert models.get("vggtiny").dataset == "cifar10" and models.get("ultranet").dataset == "image"
    assert models.get("imperial").input_shape == (2, 512)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(UserError) as error:
        models.get("resnet")
    assert all(name in str(error.value) for name in models.names())


@pytest.mark.parametrize("name", [n for n in OUTPUT_SHAPES if n != "ultranet"])
def test_forward_returns_quantized_scores_of_the_right_shape(name):
    spec = models.get(name)
    module = spec.build().eval()
    with torch.no_grad():
        out = module(torch.rand(3, *spec.input_shape) * 2 - 1)
    assert isinstance(out, QuantTensor) and out.value.shape == (3, *OUTPUT_SHAPES[name])
    assert torch.allclose(out.value / out.scale, torch.round(out.value / out.scale), atol=1e-3)


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", list(OUTPUT_SHAPES))
def test_every_model_exports_to_qonnx(name):
    graph = exported(name)
    spec = models.get(name)
    assert graph.get_tensor_shape(graph.graph.input[0].name) == [1, *spec.input_shape]
    assert graph.get_tensor_shape(graph.graph.output[0].name) == [1, *OUTPUT_SHAPES[name]]
    if name in HARDWARE_MODELS:
        assert {n.op_type for n in graph.graph.node} <= SUPPORTED_QONNX_OPS


@pytest.mark.slow
def test_ultranet_layer_shapes():
    graph = exported("ultranet")
    convs = [(graph.get_tensor_shape(n.input[1]), graph.get_tensor_shape(n.output[0]))
             for n in graph.graph.node if n.op_type == "Conv"]
    channels = (3, 16, 32, 64, 64, 64, 64, 64, 64, 36)
    kernels = [3] * 8 + [1]
    sizes = [(160, 320), (80, 160), (40, 80), (20, 40)] + [(10, 20)] * 5
    assert [w for w, _ in convs] == [[co, ci, k, k] for ci, co, k in zip(channels, channels[1:], kernels)]
    assert [o for _, o in convs] == [[1, co, *hw] for co, hw in zip(channels[1:], sizes)]


@pytest.mark.slow
def test_ultranet_bypass_layers_macs_and_weights():
    """models.md: conv 3's 64x20x40 output, reorganized to 256x10x20, joins the pooled branch (64x10x20)
    in a 320-channel concat before conv 7 (3x3, 320->64) and the 1x1 conv 64->36."""
    graph = exported("ultranet-bypass")
    convs = [(graph.get_tensor_shape(n.input[1]), graph.get_tensor_shape(n.output[0]))
             for n in graph.graph.node if n.op_type == "Conv"]
    channels_in = (3, 16, 32, 64, 64, 64, 64, 320, 64)
    channels_out = (16, 32, 64, 64, 64, 64, 64, 64, 36)
    sizes = [(160, 320), (80, 160), (40, 80), (20, 40)] + [(10, 20)] * 5
    kernels = [3] * 8 + [1]
    assert [w for w, _ in convs] == [[co, ci, k, k] for ci, co, k in zip(channels_in, channels_out, kernels)]
    assert [o for _, o in convs] == [[1, co, *hw] for co, hw in zip(channels_out, sizes)]
    (concat,) = [n for n in graph.graph.node if n.op_type == "Concat"]
    assert [graph.get_tensor_shape(t) for t in concat.input] == [[1, 256, 10, 20], [1, 64, 10, 20]]
    # by hand: weights k*k*ci*co per conv; MACs weights * output pixels
    weights = 432 + 4_608 + 18_432 + 36_864 + 3 * 36_864 + 184_320 + 2_304
    macs = (432 * 51_200 + 4_608 * 12_800 + 18_432 * 3_200 + 36_864 * 800 + 3 * 36_864 * 200 + 184_320 * 200
            + 2_304 * 200)
    assert (weights, macs) == (357_552, 229_017_600)
    dense = challenge_cost("ultranet-bypass")["dense"]
    assert dense["macs"] == macs and dense["weights"] == weights


@pytest.mark.slow
@pytest.mark.parametrize("name, k", [("skynet", 3), ("skynetk5", 5)])
def test_skynet_layers_macs_and_weights(name, k):
    """models.md: six blocks of a depthwise kxk conv and a pointwise conv, channels 3, 48, 96, 192, 384,
    512, 96, max pools after blocks 0-2, then a 1x1 conv 96->36 without bias."""
    graph = exported(name)
    convs = [n for n in graph.graph.node if n.op_type == "Conv"]
    assert [graph.get_tensor_shape(n.input[1]) for n in convs] == [
        [3, 1, k, k], [48, 3, 1, 1], [48, 1, k, k], [96, 48, 1, 1], [96, 1, k, k], [192, 96, 1, 1],
        [192, 1, k, k], [384, 192, 1, 1], [384, 1, k, k], [512, 384, 1, 1], [512, 1, k, k], [96, 512, 1, 1],
        [36, 96, 1, 1]]
    assert len(convs[-1].input) == 2                    # the head has no bias
    # by hand, per layer: weights (k*k*C depthwise, C*C' pointwise) and their MACs at 160x320 (51,200
    # pixels), 80x160 (12,800), 40x80 (3,200) and 20x40 (800)
    weights = [k * k * 3, 3 * 48, k * k * 48, 48 * 96, k * k * 96, 96 * 192, k * k * 192, 192 * 384,
               k * k * 384, 384 * 512, k * k * 512, 512 * 96, 96 * 36]
    pixels = [51_200] * 2 + [12_800] * 2 + [3_200] * 2 + [800] * 7
    macs = sum(w * p for w, p in zip(weights, pixels))
    assert (sum(weights), macs) == {3: (357_243, 401_203_200), 5: (377_003, 432_332_800)}[k]
    dense = challenge_cost(name)["dense"]
    assert dense["macs"] == macs and dense["weights"] == sum(weights)


def test_skynet_bit_widths_are_per_layer():
    bits = tuple(range(2, 8)) * 2 + (8,)
    net = SkyNet(weight_bits=bits, act_bits=(8,) + bits[:-1])
    assert _bit_widths(net, "weight") == list(bits)
    assert _bit_widths(net, "act") == [8, *bits[:-1]]
    with pytest.raises(ValueError, match="13 convs"):
        SkyNet(weight_bits=(4,) * 12)
    with pytest.raises(ValueError, match="3 .skynet. or 5"):
        SkyNet(kernel=7)


def test_reorg_is_onnx_space_to_depth_and_mixqs_reorg():
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
    from qonnx.util.basic import qonnx_make_model

    x = torch.randn(2, 5, 4, 6)
    onnx_graph = helper.make_graph([helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2)], "s2d",
                                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    (want,) = ReferenceEvaluator(qonnx_make_model(onnx_graph)).run(None, {"x": x.numpy()})
    np.testing.assert_array_equal(reorg(x).numpy(), want)
    # MixQ's ReorgLayer (dacsdc/mymodel.py), step by step: the same channel order
    b, c, h, w = x.shape
    mixq = x.view(b, c, h // 2, 2, w // 2, 2).transpose(3, 4).contiguous()
    mixq = mixq.view(b, c, h // 2 * w // 2, 4).transpose(2, 3).contiguous()
    mixq = mixq.view(b, c, 4, h // 2, w // 2).transpose(1, 2).contiguous().view(b, 4 * c, h // 2, w // 2)
    assert torch.equal(reorg(x), mixq)


def test_ultranet_bypass_bit_widths_are_per_layer():
    net = UltraNetBypass(weight_bits=(8, 4, 4, 4, 4, 4, 4, 4, 8), act_bits=(8, 4, 4, 4, 3, 4, 4, 5, 4))
    assert _bit_widths(net, "weight") == [8, 4, 4, 4, 4, 4, 4, 4, 8]
    # the image input, convs 0-5's outputs (conv 3's at bita[4]), the concat's (bita[7]), conv 7's
    assert _bit_widths(net, "act") == [8, 4, 4, 4, 3, 4, 4, 5, 4]
    with pytest.raises(ValueError, match="9 convs"):
        UltraNetBypass(weight_bits=(4,) * 8)


# ---------------------------------------------------------------------------------------------
# Challenge cost (dense architecture numbers from models.md)
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_vgg10_baseline_cost():
    dense = challenge_cost("vgg10")["dense"]
    assert dense["macs"] == 12_864_512 and dense["weights"] == 159_104
    assert dense["bops"] == 12_864_512 * 8 * 8 and dense["weight_bits"] == 159_104 * 8


@pytest.mark.slow
def test_bacalhau_published_dense_cost():
    dense = challenge_cost("bacalhau-faithful")["dense"]
    assert dense["weights"] == 9_318
    assert dense["bops"] == 96_933_888 and dense["weight_bits"] == 55_908
    assert dense["score"] == pytest.approx(0.082460, abs=5e-7)
    assert wide_input_macs(dense) == 92_160 + 55_296             # depthwise convs of blocks 2 and 4


@pytest.mark.slow
@pytest.mark.parametrize("name, weights, macs, float_macs", [
    ("aaronnet32", 13_302, 1_098_102, 50_403),                       # every depthwise conv and Linear 1
    ("aaronnet48", 21_200, 2_044_816, 73_872),
])
def test_aaronnet_dense_cost(name, weights, macs, float_macs):
    for variant in (name, f"{name}-faithful"):
        dense = challenge_cost(variant)["dense"]
        assert dense["weights"] == weights and dense["macs"] == macs
        assert dense["weight_bits"] == 6 * weights
    assert wide_input_macs(challenge_cost(f"{name}-faithful")["dense"]) == float_macs
    assert wide_input_macs(challenge_cost(name)["dense"]) == 0


def quantized_weights(graph):
    """The integer weights of every conv and linear layer of a QONNX graph, counted here and not by
    models.cost: each weight Quant's round(x / scale + zero point), half to even as QONNX rounds."""
    for node in graph.graph.node:
        consumer = graph.find_consumer(node.output[0])
        if node.op_type == "Quant" and consumer is not None and consumer.op_type in ("Conv", "MatMul", "Gemm") \
                and list(consumer.input).index(node.output[0]) == 1:
            x, scale, zero_point = (graph.get_initializer(t) for t in node.input[:3])
            yield np.round(x / scale + zero_point)


@pytest.mark.slow
def test_discounted_cost_counts_only_nonzero_quantized_weights():
    cost_of = challenge_cost("bacalhau-faithful")
    discounted, dense = cost_of["discounted"], cost_of["dense"]
    weights = np.concatenate([w.reshape(-1) for w in quantized_weights(exported("bacalhau-faithful"))])
    assert dense["weights"] == weights.size == 9_318
    assert discounted["weights"] == np.count_nonzero(weights) < dense["weights"]
    assert discounted["bops"] < dense["bops"]
    assert cost_of["weight_sparsity"] == pytest.approx(np.mean(weights == 0))


# ---------------------------------------------------------------------------------------------
# Hardware variants vs the published models
# ---------------------------------------------------------------------------------------------

def _producers(graph, node):
    return [graph.find_producer(t) for t in node.input]


@pytest.mark.slow
def test_bacalhau_hardware_requantizes_the_residual_sums():
    def requantized_sums(net):
        return [block.sum_act is not None for block in net if isinstance(block, SeparableBlock)]

    assert requantized_sums(BacalhauNet()) == [False, True, False, True, False]
    assert requantized_sums(BacalhauNet(hardware=False)) == [False] * 5
    graph = exported("bacalhau")
    adds = [n for n in graph.graph.node if n.op_type == "Add"]
    assert len(adds) == 2
    for add in adds:
        operands = _producers(graph, add)
        assert all(p.op_type == "Quant" for p in operands)
        assert cost._quantizer(graph, add.input[0]) == cost._quantizer(graph, add.input[1])
        relu = graph.find_consumer(add.output[0])                   # QuantReLU: Relu -> Quant
        assert relu.op_type == "Relu" and graph.find_consumer(relu.output[0]).op_type == "Quant"
    assert wide_input_macs(challenge_cost("bacalhau")["dense"]) == 0


@pytest.mark.slow
def test_aaronnet_hardware_concatenates_one_quantizer():
    graph = exported("aaronnet32")
    (concat,) = [n for n in graph.graph.node if n.op_type == "Concat"]
    assert all(p.op_type == "Quant" for p in _producers(graph, concat))
    assert len({cost._quantizer(graph, t) for t in concat.input}) == 1
    faithful = exported("aaronnet32-faithful")
    (concat,) = [n for n in faithful.graph.node if n.op_type == "Concat"]
    assert all(p.op_type == "BatchNormalization" for p in _producers(faithful, concat))


@pytest.mark.slow
def test_imperial_concat_is_float_only_in_the_published_model():
    faithful, hardware = challenge_cost("imperial-faithful"), challenge_cost("imperial-full")
    assert faithful["dense"]["weights"] == hardware["dense"]["weights"] == 131_456
    assert wide_input_macs(faithful["dense"]) == 160 * 128       # Linear 160->128 after the Concat
    assert wide_input_macs(hardware["dense"]) == 0
    # 5-bit weights except the last conv's (4 bit)
    assert faithful["dense"]["weight_bits"] == 12_288 * 4 + (131_456 - 12_288) * 5
    assert faithful["unsupported"] == ["HostFeatures"]


# ---------------------------------------------------------------------------------------------
# Imperial: partition and host features
# ---------------------------------------------------------------------------------------------

def test_imperial_fpga_part_is_the_full_models_conv_branch():
    full = _calibrated("imperial-full")                             # as if trained
    fpga = models.get("imperial").build()
    assert isinstance(fpga, ImperialConvBranch)
    fpga.load_state_dict(full.conv_branch.state_dict())
    frames = full.pool(torch.randn(2, 2, 1024))                     # the host's part before the FPGA
    with torch.no_grad():
        assert torch.equal(fpga.eval()(frames).value, full.conv_branch(frames).value)
    assert models.get("imperial").extra["full_model"] == "imperial-full"


def test_host_features_shape_and_finite():
    frames = np.random.default_rng(0).normal(size=(5, 2, 1024)).astype(np.float32)
    features = host_features(frames)
    assert features.shape == (5, 32) and features.dtype == np.float32 and np.isfinite(features).all()
    assert np.isfinite(host_features(np.zeros((1, 2, 1024)))).all()
    with pytest.raises(ValueError, match=r"\(N, 2, L\)"):
        host_features(np.zeros((2, 1024)))


def test_host_features_of_a_pure_tone():
    n, amplitude = np.arange(1024), 0.7
    tone = amplitude * np.exp(2j * np.pi * 8 * n / 1024)           # an exact DFT bin: no leakage
    f = host_features(np.stack([tone.real, tone.imag])[None])[0].astype(np.float64)
    a2 = amplitude ** 2
    expected_moments = [0, 0, a2 / 2, a2 / 2, 0, 0, 3 * a2 ** 2 / 8, 3 * a2 ** 2 / 8]
    np.testing.assert_allclose(f[:8], expected_moments, atol=1e-6)
    cumulants = f[8:26].reshape(9, 2)                               # C20 C21 C40 C41 C42 C60 C61 C62 C63
    expected = np.zeros((9, 2))
    expected[1, 0], expected[4, 0], expected[8, 0] = a2, -a2 ** 2, 4 * a2 ** 3
    np.testing.assert_allclose(cumulants, expected, atol=1e-6)
    amplitude_std, phase_std, frequency_std = f[26:28], f[28:30], f[30:32]
    np.testing.assert_allclose(amplitude_std, 0, atol=1e-5)        # constant envelope
    np.testing.assert_allclose(frequency_std, 1 / 32, rtol=1e-4)   # [0, 1, 1, ...]: std = 1/sqrt(1024)
    # the phase of I = cos is the ramp w*n: normalized n / 1023
    np.testing.assert_allclose(phase_std[0], np.sqrt(1024 * 1025 / 12) / 1023, rtol=1e-4)


def test_host_features_moments_of_a_constant():
    frames = np.stack([np.full(1024, 0.5), np.full(1024, -0.25)])[None]
    f = host_features(frames)[0]
    np.testing.assert_allclose(f[:8], [0.5, -0.25, 0, 0, 0, 0, 0, 0], atol=1e-7)


# ---------------------------------------------------------------------------------------------
# MixQ models
# ---------------------------------------------------------------------------------------------

def _bit_widths(module, kind):
    if kind == "weight":
        return [int(m.quant_weight().bit_width) for m in module.modules()
                if isinstance(m, (qnn.QuantConv2d, qnn.QuantLinear))]
    return [int(m.act_quant.bit_width()) for m in module.modules()
            if isinstance(m, (qnn.QuantReLU, qnn.QuantIdentity))]


def test_vggtiny_bit_widths_are_per_layer():
    default = VGGTiny()
    assert _bit_widths(default, "weight") == [4] * 6 + [8]
    assert _bit_widths(default, "act") == [8, 4, 4, 4, 4, 4, 8]
    searched = VGGTiny(weight_bits=(8, 2, 2, 2, 2, 2), act_bits=(8, 3, 3, 3, 6, 3))
    assert _bit_widths(searched, "weight") == [8, 2, 2, 2, 2, 2, 8]
    assert _bit_widths(searched, "act") == [8, 3, 3, 3, 6, 3, 8]
    with pytest.raises(ValueError, match="6 weight bit widths"):
        VGGTiny(weight_bits=(4,) * 5)


def test_image_input_is_8_bit_unsigned_with_scale_1_256():
    image_quant = UltraNet()[0]
    out = image_quant(torch.tensor([0.0, 0.5, 1.0]))
    assert float(image_quant.act_quant.scale()) == 1 / 256 and not image_quant.act_quant.is_signed
    assert out.tolist() == [0.0, 0.5, 255 / 256]


# ---------------------------------------------------------------------------------------------
# make cost
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_cost_command_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "tiny.json"
    cost.main(["--model", "tiny", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["model"] == "tiny" and result["input_shape"] == [2, 64]
    dense = result["dense"]
    assert set(dense) >= {"bops", "weight_bits", "macs", "weights", "score"}
    # the challenge's score: half bops, half weight bits, each against the baseline's (models.md)
    assert dense["score"] == pytest.approx(0.5 * dense["bops"] / 807_699_904 + 0.5 * dense["weight_bits"] / 1_244_936)
    table = capsys.readouterr().out
    assert "sparsity-discounted" in table and "weight bits" in table and str(out) in table
