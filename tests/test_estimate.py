import dataclasses
import json
import math
import os

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

import boards
from compiler.estimate import estimate, macs, write_report
from compiler.estimate.report import write_summary

HLS = "finn.custom_op.fpgadataflow.hls"


def mvau_node(name, inp, out, mw, mh, pe, simd, vecs, domain=HLS, op_type="MVAU_hls", **attrs):
    return helper.make_node(op_type, [inp, f"{name}_w"], [out], domain=domain, backend="fpgadataflow", name=name,
                            MW=mw, MH=mh, PE=pe, SIMD=simd, numInputVectors=list(vecs), inputDataType="UINT4",
                            weightDataType="INT4", outputDataType="INT16", noActivation=1, **attrs)


def model_of(nodes, ishape, oshape):
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info(nodes[0].input[0], TensorProto.FLOAT, ishape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, oshape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    for node in nodes:
        attrs = {a.name: a for a in node.attribute}
        if "MW" in attrs:
            model.set_initializer(node.input[1], np.ones((attrs["MW"].i, attrs["MH"].i), dtype=np.float32))
            model.set_tensor_datatype(node.input[1], DataType["INT4"])
    return model


def three_layers(**first):
    """conv-like (64x36 over 16 pixels), then two dense layers; fc1 is the bottleneck."""
    return model_of([
        mvau_node("conv", "x", "a", mw=36, mh=64, pe=8, simd=6, vecs=(1, 4, 4), **first),   # 8*6*16 = 768
        mvau_node("fc1", "a", "b", mw=64, mh=32, pe=2, simd=1, vecs=(1, 4, 4)),               # 16*64*16 = 16384
        mvau_node("fc2", "b", "c", mw=32, mh=10, pe=5, simd=8, vecs=(1,)),                    # 2*4 = 8
    ], [1, 4, 4, 36], [1, 10])


def tiny_board(**resources):
    limits = {"LUT": 10**6, "FF": 10**6, "BRAM36": 1000, "DSP": 1000, "URAM": 0, **resources}
    return dataclasses.replace(boards.get("pynq-z2"), name="tiny", resources=limits)


def test_mvau_cycles_are_mh_over_pe_times_mw_over_simd_times_vectors():
    est = estimate(three_layers(), boards.get("pynq-z2"))
    assert [(layer["name"], layer["cycles"]) for layer in est["layers"]] == [
        ("conv", 64 // 8 * 36 // 6 * 16), ("fc1", 32 // 2 * 64 // 1 * 16), ("fc2", 10 // 5 * 32 // 8)]
    first = est["layers"][0]
    assert first["op_type"] == "MVAU_hls" and first["PE"] == 8 and first["SIMD"] == 6
    assert set(first) == {"name", "op_type", "cycles", "finn_cycles", "LUT", "BRAM_18K", "URAM", "DSP", "PE", "SIMD",
                          "finn_LUT", "finn_BRAM_18K", "ours_LUT", "ours_FF", "ours_BRAM_18K"}


def test_throughput_and_latency_arithmetic():
    est = estimate(three_layers(), boards.get("pynq-z2"), clock_mhz=250)
    assert est["clock_mhz"] == 250
    assert est["max_cycles"] == 16384 and est["bottleneck"] == "fc1"
    assert est["estimated_fps"] == pytest.approx(250e6 / 16384)
    # a chain: the critical path is every layer once
    assert est["critical_path_cycles"] == 768 + 16384 + 8
    assert est["estimated_latency_ns"] == pytest.approx((768 + 16384 + 8) * 4.0)


def test_clock_defaults_to_the_board():
    est = estimate(three_layers(), boards.get("zcu104"))
    assert est["clock_mhz"] == 200 and est["estimated_fps"] == pytest.approx(200e6 / 16384)
    assert est["part"] == "xczu7ev-ffvc1156-2-e"


def test_totals_sum_the_layers_and_bram36_rounds_up():
    est = estimate(three_layers(ram_style="block"), boards.get("pynq-z2"))
    for resource in ("LUT", "BRAM_18K", "URAM", "DSP"):
        assert est["totals"][resource] == sum(item[resource] for item in est["layers"] + est["fifos"])
    assert est["totals"]["BRAM_18K"] > 0 and est["totals"]["LUT"] > 0
    assert est["totals"]["BRAM36"] == math.ceil(est["totals"]["BRAM_18K"] / 2)
    assert est["fits"]["BRAM36"]["used"] == est["totals"]["BRAM36"]


def test_resources_follow_the_node_attributes():
    # resType=dsp moves the multipliers from LUTs to DSPs
    lut = estimate(three_layers(resType="lut"), tiny_board())["layers"][0]
    dsp = estimate(three_layers(resType="dsp"), tiny_board())["layers"][0]
    assert lut["DSP"] == 0 and dsp["DSP"] > 0 and dsp["LUT"] < lut["LUT"]


def test_fit_verdict_flips_when_the_board_is_too_small():
    big = estimate(three_layers(), tiny_board())
    assert big["fits_board"] is True
    assert all(f["used"] <= f["available"] for f in big["fits"].values())
    assert big["fits"]["LUT"]["utilization"] == pytest.approx(big["totals"]["LUT"] / 10**6)
    assert big["fits"]["URAM"] == {"used": 0, "available": 0, "utilization": None}

    small = estimate(three_layers(), tiny_board(LUT=big["totals"]["LUT"] - 1))
    assert small["fits_board"] is False
    assert small["fits"]["LUT"]["utilization"] > 1
    exact = estimate(three_layers(), tiny_board(LUT=big["totals"]["LUT"]))
    assert exact["fits_board"] is True


def test_too_few_brams_do_not_fit():
    est = estimate(three_layers(ram_style="block"), tiny_board(BRAM36=0))
    assert est["fits"]["BRAM36"]["used"] > 0 and est["fits_board"] is False


def test_generic_nodes_are_refused():
    model = three_layers(domain="finn.custom_op.fpgadataflow", op_type="MVAU")
    with pytest.raises(ValueError, match=r"specialized HW nodes .*these are not: conv \(MVAU\)$"):
        estimate(model, boards.get("pynq-z2"))


def test_write_report_round_trips(tmp_path):
    est = estimate(three_layers(), boards.get("ultra96"))
    path = tmp_path / "report" / "estimate.json"
    write_report(est, path)
    assert json.loads(path.read_text()) == est
    assert os.listdir(path.parent) == ["estimate.json"]


def test_balance_is_total_macs_over_mac_units_over_the_bottleneck():
    est = estimate(three_layers(), boards.get("pynq-z2"))
    work = 36 * 64 * 16 + 64 * 32 * 16 + 32 * 10          # MW * MH * input vectors
    units = 8 * 6 + 2 * 1 + 5 * 8                          # PE * SIMD
    assert est["balance"] == pytest.approx(work / units / 16384)
    assert macs(getCustomOp(three_layers().graph.node[0])) == (36 * 64 * 16, 48)


def test_report_folder_has_a_summary_and_plots(tmp_path):
    from compiler.folding import FoldingSpace

    model, board = three_layers(), tiny_board()
    est = estimate(model, board)
    front = [plan.point(100) for plan in FoldingSpace(model, board.part).front()]
    budget = {"LUT": 10**6, "BRAM36": 1000, "URAM": 0, "DSP": 1000}
    write_summary("three layers on tiny", est, front, budget, tmp_path / "report")
    assert sorted(os.listdir(tmp_path / "report")) == ["cycles.png", "pareto.png", "resources.png", "summary.md"]
    for png in ("cycles.png", "resources.png", "pareto.png"):
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert summary.startswith("# three layers on tiny\n")
    assert f"**{est['estimated_fps']:,.0f} frames/s** (16384 cycles per frame, bottleneck `fc1`)" in summary
    assert "| **fc1** | MVAU_hls | 2 | 1 | 16384 | 100% |" in summary
    assert f"Pareto front: {len(front)} foldings" in summary
    assert front[0]["cycles"] < front[-1]["cycles"]
    assert "Measured in rtlsim" not in summary       # no rtlsim record given


def test_fifos_between_layers_are_counted_by_their_depth():
    """A FIFO in front of every layer but the first: one of two words is LUTs; one of 1024 words takes
    BRAM18s of 512 x 36, as many as its width needs side by side, twice."""
    model = three_layers()
    fc2 = next(n for n in model.graph.node if n.name == "fc2")
    getCustomOp(fc2).set_nodeattr("inFIFODepths", [1024])
    est = estimate(model, tiny_board())
    fifos = {f["consumer"]: f for f in est["fifos"]}
    assert set(fifos) == {"fc1", "fc2"}
    assert fifos["fc1"]["depth"] == 2 and fifos["fc1"]["style"] == "distributed" and fifos["fc1"]["BRAM_18K"] == 0
    width = fifos["fc2"]["width"]
    assert fifos["fc2"]["style"] == "block"
    assert fifos["fc2"]["BRAM_18K"] == -(-width // 36) * 2
