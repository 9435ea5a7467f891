"""End to end: the tiny model through every step of the build, resume, errors, other model sources."""
import json
import re
import shutil

import pytest

from compiler.__main__ import main as cli
from compiler.buildfolder import load_graph
from compiler.flow import STEPS, Build, BuildConfig, BuildError, run_build, run_verification
from models.sources import load_source
from compiler.sim import CppSim

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "tiny"
    run_build(BuildConfig(model="tiny", board="pynq-z2", out_dir=out, frames=8, target_fps=20000))
    return out


def test_build_folder_has_every_artefact(tiny_build):
    for name in ["model.qonnx.onnx", "folding.json", "report/estimates.json", "report/summary.md",
                 "report/rtlsim.json", "hls/top.cpp", "hls/top.hpp", "hls/synth.tcl", "hls/kernels/mvau.hpp",
                 "cppsim/cppsim", "cppsim_synth/cppsim", "rtl/accel_axi.sv", "rtl/accel_top.sv", "rtl/lib/mvau.sv", "rtl/sources.f",
                 "rtlsim/performance.json", "steps/fifo_sizing.json", "verification.json", "time_per_step.json", "report/synth.json",
                 "build.log", "status.json"]:
        assert (tiny_build / name).exists(), name
    steps = sorted(p.name for p in (tiny_build / "steps").glob("*.onnx"))
    assert steps[0] == "01_export.onnx" and steps[-1] == "10_fifo_sizing.onnx"
    assert any(p.name.startswith("MVAU_hls") for p in (tiny_build / "rtl").glob("*.sv"))
    layers = sorted(p.stem for p in (tiny_build / "hls" / "layers").glob("*.cpp"))
    assert any(name.startswith("MVAU_hls") for name in layers)
    assert any(p.name.startswith("MVAU_hls") for p in (tiny_build / "hls" / "params").glob("*.h"))
    assert json.loads((tiny_build / "status.json").read_text()) == {"status": "complete"}
    assert set(json.loads((tiny_build / "time_per_step.json").read_text())) == {s.name for s in STEPS}


def test_verification_is_integer_exact_on_every_stage(tiny_build):
    record = json.loads((tiny_build / "verification.json").read_text())
    assert record["reference"] == "pytorch" and record["ok"]
    stages = {s["stage"]: s for s in record["stages"]}
    assert list(stages) == ["pytorch_float32", "qonnx_export", "finn_onnx", "streamline", "hw_graph", "cppsim",
                            "cppsim_synth", "rtlsim", "hw_graph_vs_streamline", "cppsim_vs_hw_graph",
                            "cppsim_synth_vs_cppsim", "rtlsim_vs_cppsim"]
    assert record["rtlsim_run"]["in_gap"] > 0 and record["rtlsim_run"]["out_stall"] > 0
    # 4-bit activations over short sums: no float evaluation lands on a rounding boundary here.
    assert record["boundary_frames"] == [] and record["exact_frames"] == 8
    # the synthesizable loops (cppsim_synth) on the default 2 frames, the others on all 8
    assert all(s["ok"] and s["max_abs_diff"] < 0.5 and s["frames"] == (2 if "synth" in name else 8)
               for name, s in stages.items())
    assert "8 of 8 frames exact against pytorch, 0 on a rounding boundary" in (tiny_build / "build.log").read_text()
    assert record["distinct_predictions"] > 1


def test_estimates_report_meets_the_target(tiny_build):
    report = json.loads((tiny_build / "report" / "estimates.json").read_text())
    assert report["estimated_fps"] >= 20000
    assert report["fits_board"] is True
    assert {layer["name"] for layer in report["layers"]} >= {"MVAU_hls_0", "MVAU_hls_1"}
    assert len(report["fifos"]) == len(report["layers"]) - 1 and all(f["LUT"] > 0 for f in report["fifos"])


def test_rtlsim_measures_the_estimated_interval_with_sized_fifos(tiny_build):
    """The build's rtlsim reaches the estimated bottleneck's cycles per frame, with the FIFO depths of
    FIFO sizing, which folding.json and the HLS STREAM pragmas hold too."""
    measured = json.loads((tiny_build / "rtlsim" / "performance.json").read_text())
    estimated = json.loads((tiny_build / "report" / "estimates.json").read_text())
    assert measured["interval_cycles"] == estimated["max_cycles"]
    assert 0 < measured["latency_cycles"] <= estimated["critical_path_cycles"]
    bottleneck = next(layer for layer in measured["layers"] if layer["name"] == estimated["bottleneck"])
    assert bottleneck["busy"] > 0.5
    sizing = json.loads((tiny_build / "steps" / "fifo_sizing.json").read_text())
    assert sizing["sized_interval_cycles"] == sizing["interval_cycles"] == measured["interval_cycles"]
    applied = json.loads((tiny_build / "folding.json").read_text())
    top = (tiny_build / "hls" / "top.cpp").read_text()
    for fifo in sizing["fifos"]:
        assert applied[fifo["consumer"]]["inFIFODepths"][0] == fifo["depth"]
        assert f"depth = {fifo['depth']}" in top
    assert "Measured in rtlsim" in (tiny_build / "report" / "summary.md").read_text()


def test_rebuild_skips_done_steps_and_honours_an_edited_folding(tiny_build):
    log = tiny_build / "build.log"
    run_build(BuildConfig(model="tiny", board="pynq-z2", out_dir=tiny_build, frames=8, target_fps=20000))
    tail = log.read_text().split("building tiny")[-1]
    assert tail.count("up to date, skipped") == len(STEPS)

    folding = json.loads((tiny_build / "folding.json").read_text())
    folding["MVAU_hls_0"]["PE"] = 1
    folding["MVAU_hls_0"]["SIMD"] = 1
    (tiny_build / "folding.json").write_text(json.dumps(folding))
    run_build(BuildConfig(model="tiny", board="pynq-z2", out_dir=tiny_build, frames=8))
    tail = log.read_text().split("building tiny")[-1]
    assert "[specialize_layers] up to date" in tail and "[folding] running" in tail and "[verify] running" in tail
    applied = json.loads((tiny_build / "folding.json").read_text())
    assert applied["MVAU_hls_0"]["PE"] == 1 and applied["MVAU_hls_0"]["SIMD"] == 1
    params = (tiny_build / "hls" / "params" / "MVAU_hls_0.h").read_text()
    assert "static const unsigned SIMD = 1;" in params and "static const unsigned PE = 1;" in params


def test_without_folding_or_target_the_fastest_folding_within_the_default_budget(tiny_build, tmp_path):
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
    from qonnx.custom_op.registry import getCustomOp

    from compiler.estimate import estimate
    from compiler.estimate.cycles import layer_cycles

    out = tmp_path / "default"
    shutil.copytree(tiny_build, out)
    (out / "folding.json").unlink()
    config = BuildConfig(model="tiny", board="pynq-z2", out_dir=out, frames=8)
    run_build(config, stop_after="folding")
    folded = load_graph(out, "folding")
    # The first layer pads 64 two-channel samples to 66; no folding emits more than one (whole) sample
    # per cycle, so 66 cycles per frame is the fastest there is, and it fits 80 % of the Pynq-Z2.
    assert max(layer_cycles(getCustomOp(node)) for node in folded.graph.node) == 66
    board = config.board_info
    with_converters = folded.transform(InsertDWC()).transform(SpecializeLayers(board.part))
    layers = estimate(with_converters, board)["layers"]
    assert sum(layer["LUT"] for layer in layers) <= 0.8 * board.resources["LUT"]
    assert "fastest throughput within the resource budget (no FOLDING or TARGET_FPS given)" in \
        (out / "build.log").read_text()


def test_illegal_folding_names_node_and_legal_values(tiny_build, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Defaults": {}, "MVAU_hls_0": {"PE": 3}}))
    out = tmp_path / "b"
    shutil.copytree(tiny_build, out)
    assert cli(["build", "--model", "tiny", "--out", str(out), "--folding", str(bad), "--frames", "8"]) == 1
    err = capsys.readouterr().err
    assert "MVAU_hls_0" in err and "PE" in err and "3" in err and "1, 2, 4, 8" in err
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and status["step"] == "folding"


def test_cppsim_mismatch_names_the_first_differing_layer(tiny_build, tmp_path):
    out = tmp_path / "corrupt"
    shutil.copytree(tiny_build, out)
    params = out / "hls" / "params" / "MVAU_hls_1.h"
    text = params.read_text()
    first = re.search(r"= \{\{\{(-?\d+)", text)
    params.write_text(text[:first.start(1)] + str(-int(first.group(1)) or 1) + text[first.end(1):])
    config = BuildConfig(model="tiny", board="pynq-z2", out_dir=out, frames=8)
    build = Build(config, log=_QuietLog())
    build.source = load_source(config)
    build.checkpoint = out / "checkpoint.pt"
    CppSim(build.graph("minimize_bit_widths"), out / "hls", out / "cppsim", log=lambda *_: None).build()
    record = run_verification(build)
    assert not record["ok"]
    assert record["first_differing_layer"]["layer"] == "MVAU_hls_1"
    assert "expected" in record["first_differing_layer"]["detail"]


class _QuietLog:
    def info(self, *args):
        pass


def test_onnx_file_model_builds_against_its_own_graph(tiny_build, tmp_path):
    out = run_build(BuildConfig(model=str(tiny_build / "model.qonnx.onnx"), board="ultra96", out_dir=tmp_path / "o",
                                frames=4, target_fps=20000, synth="0"))
    record = json.loads((out / "verification.json").read_text())
    assert record["reference"] == "qonnx_export" and record["ok"]
    assert json.loads((out / "report" / "synth.json").read_text()) == {"skipped": "SYNTH=0"}
    assert "Not synthesized: SYNTH=0." in (out / "report" / "summary.md").read_text()


def test_python_file_model_with_an_unsupported_layer_is_named(tmp_path):
    source = tmp_path / "net.py"
    source.write_text(
        "import torch\n"
        "import brevitas.nn as qnn\n"
        "def make():\n"
        "    net = torch.nn.Sequential(qnn.QuantIdentity(bit_width=4), qnn.QuantConv1d(2, 4, 3, weight_bit_width=4),\n"
        "                              torch.nn.Sigmoid())\n"
        "    return net, (2, 16)\n")
    with pytest.raises(BuildError) as error:
        run_build(BuildConfig(model=f"{source}:make", board="pynq-z2", out_dir=tmp_path / "o", frames=2))
    message = str(error.value)
    assert "Sigmoid" in message and "supported op types" in message


def test_unknown_board_and_model_list_the_known_ones(capsys):
    assert cli(["build", "--model", "tiny", "--board", "pynq-z9"]) == 1
    assert "pynq-z2" in capsys.readouterr().err
    assert cli(["build", "--model", "vgg11"]) == 1
    assert "vgg10" in capsys.readouterr().err


def test_folding_show_and_set(tiny_build, tmp_path, capsys):
    out = tmp_path / "edit"
    shutil.copytree(tiny_build, out)
    assert cli(["folding", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "MVAU_hls_0" in shown and "legal PE / SIMD" in shown and "bottleneck" in shown

    assert cli(["folding", "set", str(out), "MVAU_hls_0", "PE=3"]) == 1
    err = capsys.readouterr().err
    assert "MVAU_hls_0" in err and "PE" in err and "1, 2, 4, 8" in err
    assert json.loads((out / "folding.json").read_text()) == json.loads((tiny_build / "folding.json").read_text())

    assert cli(["folding", "set", str(out), "MVAU_hls_0", "PE=1", "SIMD=1"]) == 0
    assert "updated" in capsys.readouterr().out
    assert json.loads((out / "folding.json").read_text())["MVAU_hls_0"]["PE"] == 1
