"""The challenge teams' published files (../shared/published/, read there, never copied) through
CKPT= as delivered: their published costs to the last digit, the import into the zoo's modules
(models/importer.py), and the hardware variants' agreement with the published models; and the
zero-gamma BatchNorm channels that Imperial's pruning left, exact through streamlining."""
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import pytest
import torch
from torch import nn

from compiler import frontend, verify
from models import importer, radioml, registry, train
from models.cost import model_cost
from models.errors import UserError
from models.export import export_brevitas

PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "published"
BACALHAU, AARONNET, IMPERIAL = (PUBLISHED / f for f in (
    "bacalhaunet_gold_weights.pth", "aaronnet32.pth", "imperial_final_model.pth"))
needs_published = pytest.mark.skipif(not PUBLISHED.is_dir(), reason=f"the teams' files are not at {PUBLISHED}")


# ------------------------------------------------------------------ published costs, through CKPT=

@needs_published
@pytest.mark.slow
@pytest.mark.parametrize("model, path, bops, weight_bits, score", [
    ("bacalhau-faithful", BACALHAU, 19_242_864, 10_704, 0.016211),      # the published README's figures
    ("aaronnet32-faithful", AARONNET, 43_816_008, 74_946, 0.057224),
    ("imperial-faithful", IMPERIAL, 21_084_790, 242_983, 0.110641),
])
def test_published_checkpoint_reproduces_its_published_cost(model, path, bops, weight_bits, score):
    discounted = model_cost(model, path)["discounted"]
    assert (discounted["bops"], discounted["weight_bits"]) == (bops, weight_bits)
    assert round(discounted["score"], 6) == score


@needs_published
def test_bacalhaunet_published_macs_by_type():
    macs = model_cost("bacalhau-faithful", BACALHAU)["discounted"]["macs_by_type"]
    assert macs == {"SCALEDUINT6 x SCALEDINT6": 258_688, "SCALEDINT8 x SCALEDINT6": 18_973,    # as published
                    "FLOAT32 x SCALEDINT6": 46_976}


# ------------------------------------------------------------------ the import

@needs_published
def test_team_layouts_are_recognised_and_gpu_checkpoints_load_on_cpu():
    layouts = {path.name: importer.recognise(train.read_checkpoint(path)["state_dict"]).name
               for path in (BACALHAU, AARONNET, IMPERIAL)}
    assert layouts == {BACALHAU.name: "bacalhaunet", AARONNET.name: "aaronnet", IMPERIAL.name: "imperial"}


@needs_published
def test_imperial_pruning_is_made_permanent_and_auxiliary_heads_dropped():
    state = train.read_checkpoint(IMPERIAL)["state_dict"]
    faithful = importer.to_faithful(state, importer.LAYOUTS["imperial"])
    assert not any(k.endswith(("_orig", "_mask")) or k.startswith("classifier_") for k in faithful)
    mask = state["features.5.weight_mask"]
    assert torch.equal(faithful["conv_branch.4.weight"], state["features.5.weight_orig"] * mask)
    assert (faithful["conv_branch.4.weight"] == 0).sum() == (mask == 0).sum() > 0
    gammas = faithful["conv_branch.24.weight"]
    assert (gammas == 0).any() and torch.signbit(gammas[gammas == 0]).any()      # a -0.0, as the issue found


@needs_published
def test_published_bacalhaunet_matches_the_teams_own_export():
    """The imported model and the team's exported ONNX (opset 9, Quant nodes in the empty domain)
    give the same class scores."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    onnx_model = ModelWrapper(str(PUBLISHED / "bacalhaunet_gold_export.onnx"))
    for node in onnx_model.graph.node:
        if node.op_type == "Quant" and not node.domain:
            node.domain = "qonnx.custom_op.general"
    onnx_model = cleanup_model(onnx_model)
    module = train.load_checkpoint(BACALHAU, "bacalhau-faithful")
    frames = np.random.default_rng(0).normal(0, 0.5, size=(4, 2, 1024)).astype(np.float32)
    with torch.no_grad():
        ours = module(torch.from_numpy(frames))
    theirs = verify.run_graph(onnx_model, frames)
    np.testing.assert_allclose(getattr(ours, "value", ours).numpy(), theirs.reshape(4, -1), rtol=0, atol=1e-4)


def _agreement(published, variant, frames):
    with torch.no_grad():
        a, b = (getattr(m(frames), "value", m(frames)).argmax(1) for m in (published, variant))
    return float((a == b).float().mean())


@needs_published
@pytest.mark.parametrize("variant, path", [("bacalhau", BACALHAU), ("aaronnet32", AARONNET),
                                           ("imperial-full", IMPERIAL)])
def test_hardware_variant_takes_the_published_weights(variant, path):
    """Every published tensor lands in the hardware variant (a dropped bias folded into its
    BatchNorm); the added quantizers get scales of their own, none a small-integer ratio of
    another's; and the variant predicts like the published model on most frames."""
    spec = registry.get(variant)
    hardware = train.load_checkpoint(path, spec)
    published = train.load_checkpoint(path, importer.faithful_name(spec))
    scales = importer._scales(hardware)
    for name, (scale, _) in scales.items():
        for other, (reference, _) in scales.items():
            ratio = scale / reference
            if name != other and name not in importer._scales(published):
                assert all(abs(ratio * q - round(ratio * q)) > 1e-6 * q for q in range(1, 9)), (name, other)
    frames = radioml.load(radioml.ensure_synthetic(), "test", limit=512)[0]      # not the calibration frames
    assert _agreement(published, hardware, torch.from_numpy(frames)) > 0.6


def test_bias_before_batchnorm_is_folded_exactly():
    class Net(nn.Module):
        def __init__(self, bias):
            super().__init__()
            self.fc, self.bn = nn.Linear(4, 3, bias=bias), nn.BatchNorm1d(3)

        def forward(self, x):
            return self.bn(self.fc(x))

    torch.manual_seed(0)
    with_bias, without = Net(True), Net(False)
    with torch.no_grad():
        with_bias.bn.running_mean.uniform_(-1, 1)
        with_bias.bn.running_var.uniform_(0.5, 2)
    state, added = importer.to_variant(with_bias.state_dict(), with_bias, without)
    without.load_state_dict(state)
    x = torch.randn(5, 4)
    assert added == []
    torch.testing.assert_close(without.eval()(x), with_bias.eval()(x))


def test_the_vgg10_baselines_plain_state_dict_loads_as_saved(tmp_path):
    """The sandbox notebook saves `torch.save(model.state_dict(), ...)` of the same nn.Sequential as the
    zoo's VGG10 (models.md §1): its keys need no renaming, the plain state_dict loads strictly."""
    torch.manual_seed(3)
    x = torch.from_numpy(radioml.load(radioml.ensure_synthetic(), limit=4)[0])
    notebook_model = registry.get("vgg10").build()
    notebook_model(x)                           # a training step's forward: the activation scales exist
    notebook_model.eval()
    path = tmp_path / "pretrained_VGG10_w8a8_20.pth"
    torch.save(notebook_model.state_dict(), path)
    assert importer.recognise(torch.load(path)) is None        # not a team layout: the zoo's own
    loaded = train.load_checkpoint(path, "vgg10")
    with torch.no_grad():
        assert torch.equal(train.unwrap(loaded(x)), train.unwrap(notebook_model(x)))


def test_a_checkpoint_that_is_neither_format_is_named(tmp_path):
    path = tmp_path / "optimizer.pt"
    torch.save({"epoch": 3, "optimizer": {"lr": 0.1}}, path)
    with pytest.raises(UserError, match=r"holds a dict of epoch, optimizer: expected a state_dict"):
        train.read_checkpoint(path)


@needs_published
def test_team_weights_for_another_model_say_which_models_take_them():
    with pytest.raises(UserError, match=r"BacalhauNet .* load into bacalhau or bacalhau-faithful, not MODEL=vgg10"):
        train.load_checkpoint(BACALHAU, "vgg10")


# ------------------------------------------------------------------ zero-gamma BatchNorm channels

class ZeroGammaNet(nn.Module):
    """Linear -> BatchNorm -> 4-bit QuantReLU, with channels whose gamma is +0.0 or -0.0 and whose
    beta is positive, negative, or exactly on a level of the quantizer."""

    def __init__(self):
        super().__init__()
        self.input_quant = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(8, 8, bias=False, weight_bit_width=4)
        self.bn = nn.BatchNorm1d(8)
        self.act = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)

    def forward(self, x):
        return self.act(self.bn(self.fc(self.input_quant(x))))


def test_zero_gamma_channels_are_exact_for_either_sign(tmp_path):
    torch.manual_seed(0)
    net = ZeroGammaNet()
    net.train()
    with torch.no_grad():
        for _ in range(4):
            net(torch.rand(16, 8) * 2 - 1)
    net.eval()
    scale = float(net.act.act_quant.scale())
    with torch.no_grad():
        net.bn.weight.copy_(torch.tensor([0.0, -0.0, 0.0, -0.0, -0.0, 0.0, 1.0, 0.7]))
        net.bn.bias.copy_(torch.tensor([0.9, 0.9, -0.4, -0.4, 2.0 * scale, 7.2 * scale, 0.1, -0.1]))
    frames = np.random.default_rng(1).uniform(-1, 1, size=(16, 8)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(frames))
    expected = np.round(expected.value.numpy() / scale)
    graph = frontend.streamline(frontend.to_nhwc(frontend.to_finn(export_brevitas(net, (8,)))))
    assert not graph.get_nodes_by_op_type("BatchNormalization")
    got = np.round(verify.run_graph(graph, frames) / scale)
    np.testing.assert_array_equal(got, expected)
    assert set(np.unique(expected[:, :6])) > {0.0}          # the constant channels are not all zero


@needs_published
@pytest.mark.slow
def test_imperial_published_weights_streamline_exactly():
    """The published Imperial FPGA part, zero gammas included, through streamlining: its channels
    with gamma 0 give their quantized beta in every frame, and the others agree with PyTorch."""
    module = train.load_checkpoint(IMPERIAL, "imperial")
    gammas = module[24].weight.detach()
    constant = np.flatnonzero(gammas.numpy() == 0)
    frames = radioml.average_pool(radioml.load(radioml.ensure_synthetic(), "test", limit=16)[0], 2)
    with torch.no_grad():
        expected = module(torch.from_numpy(frames))
    scale = float(expected.scale)
    expected = np.round(expected.value.numpy() / scale)
    graph = frontend.streamline(frontend.to_nhwc(frontend.to_finn(export_brevitas(module, (2, 512)))))
    assert graph.get_tensor_shape(graph.graph.input[0].name) == [1, 512, 1, 2]      # NHWC of (2, 512)
    got = np.round(verify.run_graph(graph, frames[..., None].transpose(0, 2, 3, 1)).reshape(expected.shape) / scale)
    assert len(constant) > 0
    np.testing.assert_array_equal(got[:, constant], expected[:, constant])
    assert np.mean(np.all(got == expected, axis=1)) >= 0.9


@needs_published
@pytest.mark.slow
def test_finetune_from_a_published_file_reports_agreement(tmp_path):
    out = tmp_path / "bacalhau-finetuned.pt"
    recipe = train.Recipe("test", epochs=1, batch_size=16, max_batches=2, lr=0.001)
    metrics = train.train("bacalhau", recipe=recipe, out=out, start=BACALHAU, log=lambda *_: None)
    assert 0.5 < metrics["agreement_before"] <= 1 and 0 <= metrics["agreement_after"] <= 1
    assert train.read_checkpoint(out)["model"] == "bacalhau" and metrics["start"] == str(BACALHAU)
    train.load_checkpoint(out, "bacalhau")
