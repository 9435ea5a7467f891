"""make bench, dsp: what spending the DSP slices buys, and whether the optimizer's "fits" holds by Yosys
(`python -m bench --parts dsp`).

VGG10 (w8a8) on Pynq-Z2 at the default budget (80 % of every resource), folded for its fastest
frame rate with each cost model (ours, fitted to Yosys; FINN's), twice each: with the products in
LUTs only (a DSP budget of 0, as before the optimizer chose resType) and with DSPs to spend (products
packed two per DSP48E1). Those are estimates (our cycle model; the cost model's LUT/BRAM; our DSP
count); with ours no folding may fit. Then the default build (FINN's cost model, with DSPs) is built in
full with SYNTH=1: verified (cppsim, the synthesizable loops, rtlsim), rtlsim's measured cycles per
frame (Verilator), and Yosys' counts of every layer against the board and against both models'
estimates: Yosys' synth_xilinx, not Vivado.
"""
import json
import time

import boards
from compiler import frontend
from compiler.estimate import COST_MODELS, estimate
from compiler.flow import BuildConfig, run_build
from compiler.folding import FoldingError, optimize, resource_budget

from bench.folding import specialized_graph

MODEL, BOARD = "vgg10", "pynq-z2"


def _estimated(model, board, budget, cost_model):
    try:
        folded, summary = optimize(model, board.part, board.clock_mhz, budget, cost_model=cost_model)
    except FoldingError as error:
        return {"error": str(error)}
    est = estimate(frontend.minimize_bit_widths(folded, board.part), board, cost_model=cost_model)
    return {"fps": round(est["estimated_fps"], 1), "cycles": est["max_cycles"],
            **{r: est["totals"][r] for r in ("LUT", "BRAM36", "DSP")}, "fits_board": est["fits_board"],
            "dsp_layers": [layer["name"] for layer in est["layers"] if layer["DSP"]]}


def run(build_root, log=print):
    board = boards.get(BOARD)
    model = specialized_graph(MODEL, BOARD, build_root)
    budget = resource_budget(board)
    result = {"model": MODEL, "board": board.name, "budget": budget,
              **{f"{products}_{cost_model}": _estimated(model, board, {**budget, "DSP": 0} if products == "luts_only"
                                                        else budget, cost_model)
                 for cost_model in COST_MODELS for products in ("luts_only", "with_dsps")}}
    out = build_root / f"{MODEL}-{BOARD}-dsp"
    start = time.time()
    run_build(BuildConfig(model=MODEL, board=BOARD, out_dir=out, target_fps="max", synth="1"))
    result["build_seconds"] = round(time.time() - start, 1)
    result["built"] = built(out)
    return result


def built(out):
    """A finished build's estimate, verification, rtlsim measurement and Yosys counts (layer by layer)."""
    report = out / "report"
    est = json.loads((report / "estimates.json").read_text())
    synth = json.loads((report / "synth.json").read_text())
    verification = json.loads((out / "verification.json").read_text())
    rtlsim = json.loads((report / "rtlsim.json").read_text()) if (report / "rtlsim.json").exists() else {}
    return {
        "estimated_fps": round(est["estimated_fps"], 1), "estimated_LUT": est["totals"]["LUT"],
        "cost_model": est["cost_model"], "verified": verification["ok"],
        "rtlsim": rtlsim, "yosys": {"tool": synth["tool"], "totals": synth["totals"], "fits_board": synth["fits_board"],
                                    "utilization": synth["utilization"], "not_synthesized": synth["not_synthesized"]},
        "layers": [{"name": layer["name"], "estimate": layer["estimate"],
                    "yosys": {r: layer.get("counts", {}).get(r) for r in ("LUT", "FF", "DSP", "BRAM18", "BRAM36")}}
                   for layer in synth["layers"]]}


def table(result):
    lines = [f"{result['model']} on {result['board']}, fastest folding within {result['budget']} (estimates)", "",
             "| cost model | products | fps | cycles | LUT | BRAM36 | DSP |", "|---|---|---|---|---|---|---|"]
    for cost_model in COST_MODELS:
        for products, label in (("luts_only", "in LUTs"), ("with_dsps", "LUTs and DSPs")):
            row = result[f"{products}_{cost_model}"]
            if "error" in row:
                lines.append(f"| {cost_model} | {label} | {row['error']} | | | | |")
                continue
            lines.append(f"| {cost_model} | {label} | {row['fps']:,.0f} | {row['cycles']} | {row['LUT']:,} | "
                         f"{row['BRAM36']} | {row['DSP']} |")
    if result.get("built"):
        lines += ["", f"built (FINN's cost model, with DSPs) in {result['build_seconds']} s: {built_line(result['built'])}"]
    return "\n".join(lines)


def built_line(built):
    yosys = built["yosys"]["totals"]
    missing = built["yosys"]["not_synthesized"]
    return (f"verified {built['verified']}; rtlsim {built['rtlsim'].get('interval_cycles', '?')} cycles per frame "
            f"(Verilator); {built['yosys']['tool']}: {yosys['LUT']:,} LUT, {yosys['FF']:,} FF, {yosys['DSP']} DSP, "
            f"{yosys['BRAM18'] + 2 * yosys['BRAM36']} BRAM18; fits the board by Yosys: {built['yosys']['fits_board']}"
            + (f"; not synthesized: {', '.join(map(str, missing))}" if missing else ""))
