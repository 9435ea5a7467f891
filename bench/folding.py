"""make bench, folding: our optimizer against FINN's SetFolding and finn-examples' hand-written folding.

Every folding is applied to the same graph (the build's specialize_layers step), taken through
minimize_bit_widths as the build does (width converters, narrowed accumulators) and scored with FINN's
per-node estimators: frames/s, LUT, BRAM36, DSP, and the pipeline balance (total MACs / MAC units /
bottleneck cycles). SetFolding runs with FINN's default 36-bit weight-stream cap and with the cap
lifted to the widest ap_uint, as our auto_fold does.
"""
import logging
import time

from qonnx.custom_op.registry import getCustomOp

import boards
from compiler import folding, frontend
from compiler.buildfolder import load_graph
from compiler.estimate import estimate, macs
from compiler.flow import BuildConfig, run_build
from compiler.folding.auto import NO_WEIGHT_STREAM_CAP
from compiler.folding.optimize import kernel_supports

# (model, board, clock MHz): finn-examples' VGG10 setting, and BacalhauNet on the board it was made for
CASES = [("vgg10-w4a4", "zcu104", 250), ("bacalhau", "ultra96", None)]
TARGETS = [1e3, 3e3, 1e4, 3e4, 1e5, 2e5]          # plus the fastest each graph reaches
FINN_DEFAULT_CAP = 36
# finn-examples' VGG10 (w4a4) folding: MVAU (PE, SIMD) in graph order, sliding windows SIMD 32.
FINN_EXAMPLES_MVAU = [(32, 6), (16, 96), (8, 96), (4, 96), (2, 96), (1, 96), (1, 96), (2, 32), (1, 32), (1, 8)]
FINN_EXAMPLES_WINDOW_SIMD = 32


def specialized_graph(name, board, build_root):
    """The model's graph after specialize_layers (built, or reused if up to date, in build_root)."""
    out = build_root / f"{name}-{board}-folding"
    run_build(BuildConfig(model=name, board=board, out_dir=out), stop_after="specialize_layers")
    return load_graph(out, "specialize_layers")


def finn_examples_config(model, parallel_window):
    """finn-examples' hand folding on our node names; everything it does not name keeps the graph's values.
    parallel_window=1 lets the (full-SIMD) windows emit a whole window per cycle, which FINN's RTL
    generator needs to reach the ~1024 cycles per frame the hand folding was made for."""
    mvaus = [n for n in model.graph.node if n.op_type.startswith("MVAU")]
    if len(mvaus) != len(FINN_EXAMPLES_MVAU):
        raise ValueError(f"finn-examples' folding has {len(FINN_EXAMPLES_MVAU)} MVAUs, the graph {len(mvaus)}")
    config = {"Defaults": {}}
    config.update({n.name: {"PE": pe, "SIMD": simd} for n, (pe, simd) in zip(mvaus, FINN_EXAMPLES_MVAU)})
    for node in model.graph.node:
        inst = getCustomOp(node)
        if node.op_type.startswith("ConvolutionInputGenerator") and not inst.get_nodeattr("depthwise"):
            config[node.name] = {"SIMD": min(FINN_EXAMPLES_WINDOW_SIMD, inst.get_nodeattr("IFMChannels")),
                                 "parallel_window": parallel_window}
    return config


def balance_bound(model, space, cycles):
    """The best balance the layer shapes allow at this bottleneck: every MAC layer with the fewest legal
    MAC units (PE * SIMD) that keep it within `cycles`."""
    work = units = 0
    for stage in space.stages:
        fitting = [o for o in stage.options if o.cycles <= cycles]
        for name in stage.names:
            frame_macs = macs(getCustomOp(model.get_node_from_name(name)))[0]
            if frame_macs:
                work += frame_macs
                units += min(o.attrs[name]["PE"] * o.attrs[name]["SIMD"] for o in fitting)
    return work / units / cycles if units else None


def score(model, board, clock_mhz, target_fps=None):
    """FINN's estimates of a folded graph as the build generates it, and whether our kernels implement it."""
    est = estimate(frontend.minimize_bit_widths(model, board.part), board, clock_mhz, cost_model="finn")
    return {"fps": round(est["estimated_fps"], 1), "met": target_fps is None or est["estimated_fps"] >= target_fps,
            "LUT": est["totals"]["LUT"], "BRAM36": est["totals"]["BRAM36"], "DSP": est["totals"]["DSP"],
            "balance": round(est["balance"], 3), "fits_board": est["fits_board"], "cycles": est["max_cycles"],
            "our_kernels": all(kernel_supports(getCustomOp(n)) for n in model.graph.node)}


def bench_case(name, board_name, clock_mhz, build_root, log=print):
    board = boards.get(board_name)
    clock_mhz = clock_mhz or board.clock_mhz
    model = specialized_graph(name, board_name, build_root)
    start = time.time()
    space = folding.FoldingSpace(model, board.part, cost_model="finn")
    space_seconds = time.time() - start
    fastest = clock_mhz * 1e6 / space.fastest_cycles
    rows = []
    for target in [t for t in TARGETS if t < fastest] + [fastest]:
        cycles = max(int(clock_mhz * 1e6 / target), space.fastest_cycles)
        start = time.time()
        plan = space.cheapest(cycles)
        seconds = time.time() - start
        ours = folding.apply(model, plan.config)
        row = {"target_fps": round(target, 1), "optimizer_seconds": round(space_seconds + seconds, 2),
               "ours": score(ours, board, clock_mhz, target),
               "balance_bound": round(balance_bound(model, space, plan.cycles), 3)}
        for key, cap in (("setfolding", FINN_DEFAULT_CAP), ("setfolding_uncapped", NO_WEIGHT_STREAM_CAP)):
            try:
                row[key] = score(folding.auto_fold(model, target, clock_mhz, mvau_wwidth_max=cap), board, clock_mhz,
                                 target)
            except folding.FoldingError as error:    # SetFolding's result is illegal: say so, do not score it
                row[key] = {"illegal": str(error).splitlines()[1].strip()}
        rows.append(row)
        log(f"  {name} at {target:,.0f} fps: ours {row['ours']['fps']:,.0f} fps {row['ours']['LUT']} LUT; "
            f"SetFolding {row['setfolding'].get('fps', 0):,.0f} fps {row['setfolding'].get('LUT')} LUT")
    result = {"model": name, "board": board.name, "clock_mhz": clock_mhz, "fastest_fps": round(fastest, 1),
              "space_options": sum(len(s.options) for s in space.stages), "space_seconds": round(space_seconds, 2),
              "targets": rows}
    if name == "vgg10-w4a4":
        result["finn_examples"] = {
            f"parallel_window={pw}": score(folding.apply(model, finn_examples_config(model, pw)), board, clock_mhz)
            for pw in (0, 1)}
    return result


def _row(target, label, entry, bound=None):
    if "illegal" in entry:
        return f"| {target} | {label} | illegal: {entry['illegal']} | | | | |"
    missed = ("" if entry["met"] else " (missed)") + ("" if entry["our_kernels"] else " (beyond our kernels)")
    balance = f"{entry['balance']:.2f}" + (f" (shapes allow {bound:.2f})" if bound is not None else "")
    return (f"| {target} | {label} | {entry['fps']:,.0f}{missed} | {entry['LUT']:,} | {entry['BRAM36']} | "
            f"{entry['DSP']} | {balance} |")


def table(result):
    """A Markdown table of one case: every target x folding."""
    lines = [f"{result['model']} on {result['board']} at {result['clock_mhz']:g} MHz "
             f"(fastest legal folding: {result['fastest_fps']:,.0f} fps)", "",
             "| target fps | folding | fps | LUT | BRAM36 | DSP | balance |", "|---|---|---|---|---|---|---|"]
    for row in result["targets"]:
        target = f"{row['target_fps']:,.0f}"
        lines.append(_row(target, "ours", row["ours"], row["balance_bound"]))
        lines.append(_row(target, "SetFolding", row["setfolding"]))
        lines.append(_row(target, "SetFolding, uncapped", row["setfolding_uncapped"]))
    for variant, entry in result.get("finn_examples", {}).items():
        lines.append(_row("-", f"finn-examples ({variant})", entry))
    return "\n".join(lines)


def run(build_root, log=print):
    logging.getLogger("finn_logger").setLevel(logging.ERROR)   # SetFolding warns per missed node
    return [bench_case(name, board, clock, build_root, log) for name, board, clock in CASES]
