"""Our cost model (compiler/estimate/costmodel.py): its features counted by hand, the ROM geometry, the
calibration it was fitted by, and its LUTs against a fresh Yosys synthesis of a layer the sweep never
saw. Yosys' counts, not Vivado's."""
import json

import pytest
from qonnx.custom_op.registry import getCustomOp

import boards
from compiler import synth
from compiler.codegen import rtl
from compiler.estimate import calibrate, costmodel, estimate

PYNQ_Z2, ZCU104 = boards.get("pynq-z2"), boards.get("zcu104")
MVAU = dict(op="MVAU", PE=2, SIMD=4, SF=2, NF=3, idt="UINT4", wdt="INT4", act="UINT2", resType="lut",
            ram_style="distributed", ram_style_thresholds="distributed", vectors=4)


def test_features_of_an_mvau_by_hand():
    inst = getCustomOp(calibrate.build(MVAU, 0).graph.node[0])
    kernel, features, blocks = costmodel.describe(inst, PYNQ_Z2.part)
    acc = inst.get_accumulator_datatype()
    assert kernel == "MVAU" and blocks == []              # every ROM in LUTs
    # the accumulator's signed width; adders of at least a product's 4 + 4 + 2 bits
    signed = acc.bitwidth() + (0 if acc.signed() else 1)
    acc_bits, compare_bits = max(signed + 1, 10), signed + 1
    assert features["products_lut"] == 8 * 16 and features["products_dsp"] == features["products_const"] == 0
    assert features["adders"] == 8 * acc_bits and features["accumulators"] == 2 * acc_bits
    # UINT2: 3 thresholds, 2 search stages per lane, ROMs of 3 and 6 words (3 folds)
    assert features["compares"] == 2 * 2 * compare_bits
    assert features["threshold_rom"] == 2 * (3 + 6) * compare_bits
    # 6 words of 8 x 4 weight bits; the input buffer of SF = 2 words of 4 x 4 bits: a LUT per bit
    assert features["weight_rom"] == 6 * 32 and features["input_buffer"] == 16 and features["outputs"] == 4


def test_one_weight_word_makes_products_by_constants():
    inst = getCustomOp(calibrate.build({**MVAU, "SF": 1, "NF": 1}, 0).graph.node[0])
    _, features, _ = costmodel.describe(inst, PYNQ_Z2.part)
    assert features["products_const"] == 8 * 16 and features["products_lut"] == features["weight_rom"] == 0


def test_block_roms_leave_the_luts_for_block_ram():
    inst = getCustomOp(calibrate.build({**MVAU, "ram_style": "block", "resType": "dsp"}, 0).graph.node[0])
    _, features, blocks = costmodel.describe(inst, PYNQ_Z2.part)
    assert features["weight_rom"] == 0 and blocks == [(6, 32)]
    assert features["products_lut"] == 0 and features["products_dsp"] == 8 * 10


@pytest.mark.parametrize("words,bits,bram18", [(512, 36, 1), (1024, 36, 2), (4096, 4, 1), (100, 72, 2),
                                               (16384, 3, 3), (600, 36, 2)])
def test_rom_geometry(words, bits, bram18):
    assert costmodel.bram18_of_rom(words, bits) == bram18


@pytest.mark.parametrize("family", sorted(costmodel.CALIBRATION_BOARDS))
def test_calibration_covers_every_kernel_with_held_out_errors(family):
    data = json.loads(costmodel.calibration_file(family).read_text())
    assert "not a Vivado" in data["note"] and f"-family {family}" in data["tool"]
    assert boards.get(data["board"]).family == family
    for kernel in costmodel.KERNELS:
        entry = data["kernels"][kernel]
        assert entry["samples_held_out"] >= 5
        assert set(entry["fits"]) == set(costmodel.FITTED)
        assert set(entry["fits"]["LUT"]["coefficients"]) <= set(costmodel.FEATURES[kernel])
        # what the model is for: closer to Yosys than FINN's model of FINN's kernels
        assert entry["fits"]["LUT"]["held_out"]["mean_abs_error"] < entry["finn_held_out"]["mean_abs_error"]


def test_each_family_is_priced_by_its_own_fit():
    """The same layer on a Zynq-7000 and a Zynq UltraScale+ board: each family's coefficients."""
    inst = getCustomOp(calibrate.build(MVAU, 0).graph.node[0])
    _, features, _ = costmodel.describe(inst, PYNQ_Z2.part)
    for board in (PYNQ_Z2, ZCU104, boards.get("ultra96")):
        fitted = costmodel.coefficients(board.family)["MVAU"]["LUT"]
        assert costmodel.layer_cost(inst, board.part)["LUT"] == costmodel.predict(fitted, features)
    assert costmodel.coefficients("xc7") != costmodel.coefficients("xcup")
    with pytest.raises(KeyError, match="no board has FPGA part xc7a35t"):
        boards.family_of_part("xc7a35t")


def test_estimate_takes_the_cost_model_asked_for_and_keeps_the_other_beside():
    model = calibrate.build(MVAU, 0)
    inst = getCustomOp(model.graph.node[0])
    ours, finn = (estimate(model, PYNQ_Z2, cost_model=m)["layers"][0] for m in ("ours", "finn"))
    assert ours["LUT"] == costmodel.layer_cost(inst, PYNQ_Z2.part)["LUT"] == finn["ours_LUT"] == ours["ours_LUT"]
    assert finn["LUT"] == ours["finn_LUT"] == finn["finn_LUT"] != ours["LUT"]


def test_the_design_total_by_either_model_is_reported_whichever_folds(tmp_path):
    """The design's LUTs by each model, whichever the estimate takes, and the summary says the other's."""
    from compiler.estimate.report import write_summary

    model = calibrate.build(MVAU, 0)
    finn, ours = (estimate(model, PYNQ_Z2, cost_model=m) for m in ("finn", "ours"))
    assert finn["luts_by_model"] == ours["luts_by_model"]
    assert ours["luts_by_model"]["ours"] == ours["totals"]["LUT"] != finn["totals"]["LUT"]
    assert finn["luts_by_model"]["finn"] == finn["totals"]["LUT"]
    write_summary("one layer", finn, [], {}, tmp_path / "report")
    luts, share = ours["totals"]["LUT"], ours["totals"]["LUT"] / PYNQ_Z2.resources["LUT"]
    assert (f"By our cost model (fitted to Yosys) it takes {luts:,} LUT ({share:.0%} of the board's)."
            in (tmp_path / "report" / "summary.md").read_text())


@pytest.mark.rtl
@pytest.mark.parametrize("config,board", [
    (MVAU, PYNQ_Z2),
    (dict(op="VVAU", PE=4, SIMD=3, SF=1, NF=2, idt="UINT4", wdt="INT4", act="UINT4", resType="lut",
          ram_style="distributed", vectors=4), PYNQ_Z2),
    (dict(op="Thresholding", PE=4, NF=4, idt="INT16", act="UINT4", ram_style="distributed", vectors=4), PYNQ_Z2),
    (MVAU, ZCU104),
], ids=["mvau-xc7", "vvau-xc7", "thresholding-xc7", "mvau-xcup"])
def test_lut_model_against_a_fresh_synthesis(tmp_path, config, board):
    """A layer of a seed the sweep does not use: ours within half of Yosys' LUTs (the held-out errors
    average 10-30 %, calibration_<family>.json) and nearer to them than FINN's model."""
    model = calibrate.build(config, 99)
    rtl.generate(model, tmp_path, board)
    inst = getCustomOp(model.graph.node[0])
    result = synth.synthesize_layer(tmp_path, rtl.module_name("layer"), board.family,
                                    synth.layer_options(inst, board))
    measured, ours = result["counts"]["LUT"], costmodel.layer_cost(inst, board.part)["LUT"]
    finn = inst.node_res_estimation(board.part)["LUT"]
    assert abs(ours - measured) <= 0.5 * measured and abs(ours - measured) < abs(finn - measured), (ours, finn, measured)


@pytest.mark.parametrize("family", sorted(costmodel.CALIBRATION_BOARDS))
def test_committed_fit_is_the_fit_of_its_samples_as_described_today(family):
    """calibration_<family>.json holds what `calibrate --refit` makes of its own samples: describe() has
    not drifted from the features the coefficients were fitted to, nor the fit from the file."""
    data = json.loads(costmodel.calibration_file(family).read_text())
    samples = calibrate.refeatured(data["samples"], family, log=lambda _: None)
    assert [s["features"] for s in samples] == [s["features"] for s in data["samples"]]
    assert calibrate.fit(samples) == data["kernels"]
