"""Yosys synthesis of the generated RTL (compiler/synth): the cell-to-resource mapping, real runs of
small layers and their FIFO (cached by content), DSPs only where the layer's products go to DSPs,
and the report's section. These are Yosys' counts, not Vivado's."""
import json
import time
from pathlib import Path

import numpy as np
import pytest
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

import boards
from compiler import synth
from compiler.codegen import rtl
from compiler.estimate import estimate
from compiler.estimate.report import write_summary
from compiler.hwgraphs import chain, mvau

pytestmark = pytest.mark.rtl
PYNQ_Z2 = boards.get("pynq-z2")


def test_cells_map_to_board_resources():
    cells = {"LUT2": 3, "LUT6": 4, "RAM64X1D": 2, "RAM32M": 1, "SRLC32E": 5, "FDRE": 7, "FDSE": 1, "CARRY4": 2,
             "RAMB36E1": 1, "RAMB18E1": 3, "DSP48E1": 2, "MUXF7": 1, "BUFG": 1}
    counts = synth.counts_of(cells)
    # LUTs: 7 logic, 2 x 2 + 4 in LUTRAM, 5 SRLs
    assert (counts["LUT_logic"], counts["LUTRAM"], counts["SRL"], counts["LUT"]) == (7, 8, 5, 20)
    assert (counts["FF"], counts["CARRY"], counts["BRAM36"], counts["BRAM18"], counts["DSP"]) == (8, 2, 1, 3, 2)
    assert synth.bram18(counts) == 5 and counts["other"] == {"BUFG": 1}


def test_auto_synthesizes_small_designs_only():
    small, large = ({"totals": {"LUT": lut}} for lut in (synth.AUTO_MAX_LUT, synth.AUTO_MAX_LUT + 1))
    assert synth.auto_skip_reason("auto", small) is None and synth.auto_skip_reason("1", large) is None
    assert "SYNTH=1" in synth.auto_skip_reason("auto", large) and synth.auto_skip_reason("0", small) == "SYNTH=0"


def two_layers(res_type, bits):
    """Two small MVAUs (accumulators out) with the FIFO between them; `bits`-bit signed products."""
    dt = f"INT{bits}"
    rng = np.random.default_rng(0)
    first = mvau("fc0", 4, 2, idt=dt, wdt=dt, outputDataType=f"INT{2 * bits + 2}", resType=res_type)
    second = mvau("fc1", 2, 2, idt=f"INT{2 * bits + 2}", wdt="INT2", outputDataType=f"INT{2 * bits + 6}",
                  resType="lut")
    model = chain(first, second)
    model.set_tensor_datatype("t0", DataType[dt])
    model.set_initializer("fc0_w", rng.integers(-2 ** (bits - 1), 2 ** (bits - 1), size=(4, 2)).astype(np.float32))
    model.set_initializer("fc1_w", rng.integers(-2, 2, size=(2, 2)).astype(np.float32))
    return model.transform(InferShapes()).transform(InferDataTypes())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    import os

    folder = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("DFA_CACHE_DIR")
    os.environ["DFA_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["DFA_CACHE_DIR"]
    else:
        os.environ["DFA_CACHE_DIR"] = previous


def synthesized(model, folder):
    rtl.generate(model, folder, PYNQ_Z2)
    est = estimate(model, PYNQ_Z2)
    return est, synth.synthesize_build(folder, model, PYNQ_Z2, est, log=lambda *_: None)


def test_a_layer_past_the_time_limit_stops_with_every_process_yosys_started(tmp_path, cache, monkeypatch):
    """Yosys runs ABC in a child process: a stand-in for Yosys that starts one and hangs is stopped,
    child and all, and the layer reported as not synthesized."""
    child_pid = tmp_path / "child.pid"
    stand_in = tmp_path / "yosys_stand_in.py"
    stand_in.write_text("import pathlib, subprocess, sys, time\n"
                        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                        f"pathlib.Path({str(child_pid)!r}).write_text(str(child.pid))\n"
                        "time.sleep(120)\n")
    monkeypatch.setattr(synth, "YOSYS_SCRIPT", stand_in)
    model = two_layers("lut", 4)
    rtl.generate(model, tmp_path / "rtl", PYNQ_Z2)
    result = synth.synthesize_layer(tmp_path / "rtl", rtl.module_name("fc0"), "xc7", timeout=3)
    assert result == {"error": "not synthesized: Yosys took longer than 3 s (SYNTH_TIMEOUT)", "cached": False}
    pid = int(child_pid.read_text())
    status = Path(f"/proc/{pid}/status")
    deadline = time.time() + 10
    while status.exists() and "zombie" not in status.read_text() and time.time() < deadline:
        time.sleep(0.1)
    assert not status.exists() or "zombie" in status.read_text(), "Yosys' child process outlived the time limit"


def test_a_design_with_a_layer_not_synthesized_has_an_unknown_fit(tmp_path, cache, monkeypatch):
    """What was not counted could be over the board: neither "fits" nor "does NOT fit", unless the
    counted layers are over already."""
    stand_in = tmp_path / "yosys_stand_in.py"
    stand_in.write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setattr(synth, "YOSYS_SCRIPT", stand_in)
    model = two_layers("lut", 4)
    rtl.generate(model, tmp_path / "rtl", PYNQ_Z2)
    est = estimate(model, PYNQ_Z2)
    record = synth.synthesize_build(tmp_path / "rtl", model, PYNQ_Z2, est, log=lambda *_: None, timeout=1)
    assert record["not_synthesized"] == ["fc0", "fc1", "fifo_w10_d2_distributed"]
    assert record["fits_board"] is None and not record["over"] and record["totals"]["LUT"] == 0
    assert synth.fit_verdict(record).startswith("fit unknown: fc0, fc1")
    write_summary("two layers", est, [], {}, tmp_path / "report", synth=record)
    assert "fit unknown: fc0, fc1" in (tmp_path / "report" / "summary.md").read_text()
    over = {**record, "over": ["LUT"], "fits_board": False}
    assert synth.fit_verdict(over) == "does NOT fit (LUT over)"


def test_layers_and_fifos_synthesize_and_a_second_run_is_cached(tmp_path, cache):
    model = two_layers("lut", 4)
    est, record = synthesized(model, tmp_path / "rtl")
    assert record["complete"] and record["fits_board"] and "not a Vivado" in record["note"]
    assert [layer["name"] for layer in record["layers"]] == ["fc0", "fc1"]
    assert [fifo["tensor"] for fifo in record["fifos"]] == ["t1"]
    for entry in record["layers"] + record["fifos"]:
        assert not entry["cached"] and entry["counts"]["LUT"] > 0 and entry["counts"]["FF"] > 0
    # resType lut: no DSP anywhere
    assert record["totals"]["DSP"] == 0
    assert record["totals"]["LUT"] == sum(e["counts"]["LUT"] for e in record["layers"] + record["fifos"])
    again = synth.synthesize_build(tmp_path / "rtl", model, PYNQ_Z2, est, log=lambda *_: None)
    assert all(entry["cached"] for entry in again["layers"] + again["fifos"])
    assert again["totals"] == record["totals"]
    write_summary("two layers", est, [], {}, tmp_path / "report", synth=json.loads(json.dumps(record)))
    text = (tmp_path / "report" / "summary.md").read_text()
    assert "## Synthesized with Yosys" in text and "| fc0 |" in text and "fits." in text


def test_products_go_to_dsps_only_where_the_layer_says_so(tmp_path, cache):
    _, on_dsp = synthesized(two_layers("dsp", 8), tmp_path / "dsp")
    first = on_dsp["layers"][0]
    assert first["counts"]["DSP"] > 0, first["cells"]
    assert on_dsp["layers"][1]["counts"]["DSP"] == 0      # resType lut


@pytest.mark.parametrize("ram_style, in_bram", [("distributed", False), ("block", True)])
def test_weights_go_to_the_memory_the_layer_says(tmp_path, cache, ram_style, in_bram):
    """ram_style distributed is a ROM in LUTs (Yosys maps a ROM to LUTRAM only with a write port),
    block a block RAM."""
    model = two_layers("lut", 4)
    getCustomOp(model.graph.node[0]).set_nodeattr("ram_style", ram_style)
    _, record = synthesized(model, tmp_path / ram_style)
    first = record["layers"][0]
    assert record["complete"], first
    assert (first["counts"]["BRAM18"] + first["counts"]["BRAM36"] > 0) == in_bram, first["cells"]


@pytest.mark.parametrize("style", ["distributed", "block"])
def test_thresholds_go_to_the_memory_the_layer_says_as_our_model_counts(tmp_path, cache, style):
    """An MVAU's 255 thresholds a channel (8-bit activations) as LUT ROMs or, ram_style_thresholds
    block (the optimizer's trade with our cost model), in block RAM: Yosys' BRAM18s are our model's."""
    rng = np.random.default_rng(1)
    thresholds = np.sort(rng.integers(-500, 500, size=(4, 255)), axis=1).astype(np.float32)
    model = chain(mvau("fc", 4, 4, vecs=(1, 2, 1), idt="UINT8", thresholds=thresholds, outputDataType="UINT8",
                       ram_style="distributed", ram_style_thresholds=style))
    model.set_initializer("fc_w", rng.integers(-8, 8, size=(4, 4)).astype(np.float32))
    model.set_tensor_datatype("t0", DataType["UINT8"])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    est, record = synthesized(model, tmp_path / style)
    layer, = record["layers"]
    assert record["complete"], layer
    ours = est["layers"][0]
    assert synth.bram18(layer["counts"]) == ours["ours_BRAM_18K"] == (8 if style == "block" else 0), layer["cells"]
