"""Mixed-precision search (compiler/search.py, models/supernet.py) and per-layer bit widths (models/bits.py):
the supernet's layers, the bits file through train and build, and short searches on VGG10."""
import json

import pytest
import torch

import boards
import models
from compiler import search
from compiler.flow import BuildConfig, run_build
from models import radioml
from models.bits import with_bits
from models.errors import UserError
from models.supernet import Supernet, WeightLayer

BOARD = boards.get("pynq-z2")
CANDIDATES = (2, 4, 8)


def write_bits(path, bitw, bita, model="vgg10"):
    path.write_text(json.dumps({"model": model, "bitw": bitw, "bita": bita}))
    return path


def test_vgg10_supernet_layers_are_its_mvaus():
    """Weight layer i of VGG10 as an MVAU: MW = 2*3 then 64*3 (conv), 64*8 = 512 then 128 (dense);
    vectors = the conv's output length (1024 halved per pool), 1 for dense layers; each reads the
    activation before it (-1: the input's 8-bit quantizer) and the last one none after it."""
    net = Supernet(models.get("vgg10").build(), CANDIDATES, CANDIDATES, (2, 1024))
    convs = [WeightLayer(6 if i == 0 else 192, 64, 1024 >> i, i - 1, i) for i in range(7)]
    dense = [WeightLayer(512, 128, 1, 6, 7), WeightLayer(128, 128, 1, 7, 8), WeightLayer(128, 24, 1, 8, None)]
    assert net.layers == convs + dense
    assert (net.input_bits, net.input_signed) == (8, True)
    assert net(torch.zeros(3, 2, 1024)).shape == (3, 24)


def test_bits_build_the_registry_model_at_those_widths(tmp_path):
    bitw, bita = [8, 2, 3, 4, 5, 6, 7, 8, 2, 4], [2, 3, 4, 5, 6, 7, 8, 2, 4]
    spec = with_bits(models.get("vgg10"), write_bits(tmp_path / "bits.json", bitw, bita))
    module = spec.build()
    weights = [m.weight_quant.bit_width() for m in module.modules() if type(m).__name__ in ("QuantConv1d", "QuantLinear")]
    acts = [m.act_quant.bit_width() for m in module.modules() if type(m).__name__ == "QuantReLU"]
    assert [int(b) for b in weights] == bitw and [int(b) for b in acts] == bita
    assert spec.extra["bits"] == {"bitw": bitw, "bita": bita}


@pytest.mark.parametrize("content, message", [
    ({"bitw": [4] * 10}, '"bita" is None'),
    ({"bitw": [4] * 10, "bita": [9] * 9}, "integer widths 2..8"),
    ({"bitw": [4] * 9, "bita": [4] * 9}, "10 bit widths expected"),
    ({"model": "tiny", "bitw": [4] * 10, "bita": [4] * 9}, "widths of model 'tiny', not of 'vgg10'"),
])
def test_a_wrong_bits_file_is_named_with_what_is_expected(tmp_path, content, message):
    path = tmp_path / "bits.json"
    path.write_text(json.dumps(content))
    with pytest.raises(UserError, match=message):
        with_bits(models.get("vgg10"), path)


def test_bits_of_a_model_without_per_layer_widths_are_refused(tmp_path):
    with pytest.raises(UserError, match="takes no per-layer bit widths; the models that do: vgg10"):
        with_bits(models.get("bacalhau"), write_bits(tmp_path / "b.json", [4], [4], model="bacalhau"))


def test_a_checkpoint_of_other_widths_is_refused(tmp_path):
    from models.calibration import calibrate
    from models.train import load_checkpoint, save_checkpoint

    spec = models.get("tiny")
    four = with_bits(spec, write_bits(tmp_path / "four.json", [4] * 5, [4] * 4, "tiny"))
    two = with_bits(spec, write_bits(tmp_path / "two.json", [2] * 5, [2] * 4, "tiny"))
    save_checkpoint(tmp_path / "four.pt", four, calibrate(four.build(), spec.input_shape, 1), {})
    assert load_checkpoint(tmp_path / "four.pt", four) is not None
    for other in (two, spec):
        with pytest.raises(UserError, match=r"trained at bitw \[4, 4, 4, 4, 4\] bita \[4, 4, 4, 4\]"):
            load_checkpoint(tmp_path / "four.pt", other)


def test_vgg10_search_cost_falls_with_complexity_decay_and_is_each_layers_optimized_cost():
    """Two short searches on VGG10 for Pynq-Z2 at 10,000 fps on synthetic data (one test: the layer
    costs are computed once): without a hardware term and with a heavy one. The heavy one chooses other,
    cheaper widths, and the cost it reports for them is the sum over layers of the folding optimizer's
    cheapest plan for that layer alone as an MVAU at the frame budget (computed again here, uncached)."""
    def run(cd):
        return search.search(models.get("vgg10"), BOARD, 10000, cd, weight_bits=CANDIDATES, act_bits=CANDIDATES,
                             batch_size=32, max_batches=12, log=lambda *_: None)
    free, heavy = run(0.0), run(1e-3)
    assert (free["bitw"], free["bita"]) != (heavy["bitw"], heavy["bita"])
    assert heavy["surrogate_cost"] < free["surrogate_cost"]
    assert heavy["history"][-1]["expected_cost"] < heavy["history"][0]["expected_cost"]
    uniform = heavy["uniform_surrogate_costs"]
    assert uniform["w2a2"] <= heavy["surrogate_cost"] < uniform["w8a8"]
    assert 0.0 <= heavy["accuracy"]["value"] <= 1.0 and heavy["synthetic_data"]

    net = Supernet(models.get("vgg10").build(), CANDIDATES, CANDIDATES, (2, 1024))
    total = 0
    for layer, w in zip(net.layers, heavy["bitw"]):
        a_in = 8 if layer.input_act < 0 else heavy["bita"][layer.input_act]
        a_out = None if layer.output_act is None else heavy["bita"][layer.output_act]
        total += search.layer_cost.__wrapped__(layer, w, a_in, layer.input_act < 0, a_out, BOARD.part,
                                               search.frame_cycles(10000, float(BOARD.clock_mhz)),
                                               BOARD.resources["LUT"] / BOARD.resources["DSP"], "finn")[0]
    assert heavy["surrogate_cost"] == pytest.approx(total)


def test_reported_estimate_is_what_make_build_folds(tmp_path):
    """network_estimate's figures are the folding optimizer's for the built graph: make build with the
    same BITS, weights and target writes the folding it reports."""
    spec = models.get("tiny")
    bits = write_bits(tmp_path / "bits.json", [8, 2, 4, 2, 8], [2, 4, 8, 2], "tiny")
    estimate = search.network_estimate(spec, bits, BOARD, 100000, 100.0, "finn", tmp_path / "search",
                                       log=lambda *_: None)
    config = BuildConfig(model="tiny", board="pynq-z2", bits=bits, ckpt=tmp_path / "search" / "calibrated.pt",
                         target_fps=100000, out_dir=tmp_path / "build")
    run_build(config, stop_after="folding")
    assert json.loads((tmp_path / "build" / "folding.json").read_text()) == json.loads(json.dumps(estimate["folding"]))
    assert estimate["fps"] >= 100000 and estimate["LUT"] > 0
    with pytest.raises(UserError, match="trained at bitw"):      # other widths, same weights: refused
        run_build(BuildConfig(model="tiny", board="pynq-z2", ckpt=config.ckpt, out_dir=tmp_path / "plain"),
                  stop_after="export")


def test_search_command_writes_bits_plot_and_estimate(tmp_path):
    """dfa search on the tiny network: bits.json that make build reads, the plot, the estimate."""
    from compiler.cli import main

    out = tmp_path / "out"
    assert main(["search", "--model", "tiny", "--target-fps", "100000", "--weight-bits", "2,4", "--act-bits", "2,4",
                 "--max-batches", "4", "--out", str(out)]) == 0
    result = json.loads((out / "bits.json").read_text())
    assert len(result["bitw"]) == 5 and len(result["bita"]) == 4
    assert set(result["bitw"]) | set(result["bita"]) <= {2, 4}
    assert result["estimate"]["fps"] > 0 and (out / "search.png").stat().st_size > 0
    assert with_bits(models.get("tiny"), out / "bits.json").extra["bits"] == {k: result[k] for k in ("bitw", "bita")}


def test_search_refuses_a_model_it_cannot_mix(tmp_path):
    with pytest.raises(UserError, match="image|RadioML|trainable|train"):
        search.search(models.get("vggtiny"), BOARD, log=lambda *_: None)
