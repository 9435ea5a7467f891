"""The build's readable report: report/summary.md and PNG plots of an estimate() result, beside what
the rtlsim of the generated RTL measured.

cycles.png: cycles per frame of every layer, the bottleneck marked; resources.png: every layer's LUT,
BRAM, DSP (and URAM) as a share of the board; pareto.png: the folding optimizer's throughput-vs-LUT
front with this build's design on it. Plots use matplotlib's object API (no pyplot state, no display).
"""
from matplotlib.figure import Figure

from compiler.estimate import MODEL_NAMES, other_cost_model
from compiler.fileio import write_file
from compiler.synth import fit_verdict

# FINN's per-layer unit -> (board unit, layer units per board unit)
_BOARD_UNITS = {"LUT": ("LUT", 1), "BRAM_18K": ("BRAM36", 2), "DSP": ("DSP", 1), "URAM": ("URAM", 1)}
_MAX_FRONT_ROWS = 25
_OUR_MODEL = ("our cost model of our kernels for MVAU, VVAU and Thresholding (fitted to Yosys' counts, not "
              "Vivado's; compiler/estimate/calibration_<family>.json) and FINN's analytical models for the "
              "other layers")


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _fits(point, budget):
    return all(point[r] <= budget[r] for r in budget)


def _other_model(est):
    """The design's LUTs by the cost model the estimate did not use, against the board."""
    other = other_cost_model(est["cost_model"])
    luts, available = est["luts_by_model"][other], est["fits"]["LUT"]["available"]
    return (f"By {MODEL_NAMES[other]} it takes {luts:,} LUT ({luts / available:.0%} of the board's)"
            + (": more than the board has." if luts > available else "."))


def _summary(title, est, front, budget):
    clock, bottleneck = est["clock_mhz"], est["bottleneck"]
    balance = f"{est['balance']:.2f}" if est["balance"] is not None else "n/a (no MAC layers)"
    fit = "fits" if est["fits_board"] else "does **not** fit"
    lines = [f"# {title}", "",
             f"{est['board']} ({est['part']}) at {clock:g} MHz: **{est['estimated_fps']:,.0f} frames/s** "
             f"({est['max_cycles']} cycles per frame, bottleneck `{bottleneck}`), latency "
             f"{est['estimated_latency_ns'] / 1e3:,.1f} µs, pipeline balance {balance} "
             "(total MACs / MAC units / bottleneck cycles; 1 = every MAC unit busy every cycle). "
             f"The design {fit} on the board. Estimates: cycles from our kernels' cycle model, resources from "
             + (_OUR_MODEL if est["cost_model"] == "ours" else "FINN's analytical models")
             + "; width converters and FIFOs included. " + _other_model(est), "",
             _table(("resource", "used", "available", "utilization"),
                    [(r, f["used"], f["available"], f"{f['utilization']:.1%}" if f["utilization"] is not None else "-")
                     for r, f in est["fits"].items()]), "",
             "## Layers", "",
             _table(("layer", "op", "PE", "SIMD", "cycles", "of bottleneck", "LUT (FINN's model)", "LUT (ours)",
                     "BRAM18", "URAM", "DSP"),
                    [(f"**{layer['name']}**" if layer["name"] == bottleneck else layer["name"], layer["op_type"],
                      layer.get("PE", ""), layer.get("SIMD", ""), layer["cycles"],
                      f"{layer['cycles'] / est['max_cycles']:.0%}", layer["finn_LUT"], layer.get("ours_LUT", ""),
                      layer["BRAM_18K"], layer["URAM"], layer["DSP"]) for layer in est["layers"]]), "",
             "![cycles per layer](cycles.png)", "", "![resources per layer](resources.png)", ""]
    if front:
        step = max(1, -(-len(front) // _MAX_FRONT_ROWS))
        shown = front[::step] + ([front[-1]] if (len(front) - 1) % step else [])
        subset = f"; {len(shown)} shown, all in pareto.json" if step > 1 else ""
        lines += ["## Throughput versus resources", "",
                  f"The folding optimizer's Pareto front: {len(front)} foldings, each the cheapest for its "
                  f"throughput (width converters included, but not at forks and joins){subset}.", "",
                  _table(("frames/s", "cycles", "LUT", "BRAM36", "DSP", "URAM", "fits the budget"),
                         [(f"{p['fps']:,.0f}", p["cycles"], p["LUT"], p["BRAM36"], p["DSP"], p["URAM"],
                           "yes" if _fits(p, budget) else "no") for p in shown]), "",
                  "![throughput versus LUT](pareto.png)", ""]
    return "\n".join(lines)


def _layer_figure(layers, panels, panel_width=3.2):
    """A figure of `panels` side-by-side bar charts with one row per layer."""
    fig = Figure(figsize=(3 + panel_width * panels, 1.2 + 0.22 * len(layers)), layout="constrained")
    return fig, fig.subplots(1, panels, sharey=True, squeeze=False)[0]


def _plot_cycles(est, path):
    layers = [layer for layer in est["layers"] if layer["cycles"]]    # width converters have no cycle model
    fig, (ax,) = _layer_figure(layers, 1, panel_width=6)
    names = [layer["name"] for layer in layers]
    colors = ["tab:red" if name == est["bottleneck"] else "tab:blue" for name in names]
    ax.barh(names, [layer["cycles"] for layer in layers], color=colors)
    ax.axvline(est["max_cycles"], color="tab:red", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("cycles per frame (log)")
    ax.set_title(f"bottleneck {est['bottleneck']}: {est['max_cycles']} cycles -> {est['estimated_fps']:,.0f} frames/s",
                 fontsize=9)
    fig.savefig(path, dpi=100)


def _plot_resources(est, path):
    # LUT and BRAM always (if the part has them), DSP and URAM where used
    shown = [r for r, (unit, _) in _BOARD_UNITS.items()
             if est["fits"][unit]["available"] and (r in ("LUT", "BRAM_18K") or est["fits"][unit]["used"])]
    layers = est["layers"]
    fig, axes = _layer_figure(layers, len(shown))
    names = [layer["name"] for layer in layers]
    for ax, resource in zip(axes, shown):
        unit, per_unit = _BOARD_UNITS[resource]
        available = est["fits"][unit]["available"] * per_unit
        ax.barh(names, [100 * layer[resource] / available for layer in layers], color="tab:green")
        total = est["fits"][unit]
        ax.set_title(f"{unit}: {total['used']:,} of {total['available']:,} ({total['utilization']:.0%})",
                     fontsize=9, color="tab:red" if total["used"] > total["available"] else "black")
        ax.set_xlabel("% of the board")
    axes[0].invert_yaxis()
    fig.savefig(path, dpi=100)


def _plot_front(est, front, budget, path):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    fitting = [p for p in front if _fits(p, budget)]
    others = [p for p in front if not _fits(p, budget)]
    cheapest_first = front[::-1]    # the frame rate a LUT budget buys: a step up at every point
    ax.plot([p["LUT"] for p in cheapest_first], [p["fps"] for p in cheapest_first], color="tab:blue", linewidth=1,
            drawstyle="steps-post")
    ax.scatter([p["LUT"] for p in fitting], [p["fps"] for p in fitting], s=12, color="tab:blue",
               label="optimizer's front (fits the budget)")
    if others:
        ax.scatter([p["LUT"] for p in others], [p["fps"] for p in others], s=12, facecolors="none",
                   edgecolors="tab:blue", label="front, over the budget")
    ax.scatter([est["totals"]["LUT"]], [est["estimated_fps"]], marker="*", s=150, color="tab:red", zorder=3,
               label="this build")
    ax.axvline(budget["LUT"], color="gray", linestyle="--", linewidth=1, label=f"LUT budget ({budget['LUT']:,})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"LUT ({'our' if est['cost_model'] == 'ours' else 'FINN'} estimate)")
    ax.set_ylabel(f"frames/s at {est['clock_mhz']:g} MHz")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)


def _measured(rtlsim):
    """The summary's section on what rtlsim measured (compiler.sim.rtlsim.performance)."""
    def share(value):
        return f"{value:.0%}"

    lines = ["## Measured in rtlsim", "",
             "Verilator's cycle-accurate simulation of the generated RTL (rtl/), frames streamed as fast as it "
             "takes them: a simulation, not a board measurement.", "",
             _table(("", "measured", "estimated"), [
                 ("cycles per frame", f"{rtlsim['interval_cycles']:,.1f}", f"{rtlsim['estimated_cycles']:,}"),
                 ("frames/s", f"{rtlsim['fps']:,.0f}", f"{rtlsim['estimated_fps']:,.0f}"),
                 ("first frame's latency (cycles)", f"{rtlsim['latency_cycles']:,}",
                  f"{rtlsim['estimated_latency_cycles']:,} (no overlap)")]), "",
             f"{rtlsim['frames']} frames, {rtlsim['cycles']:,} cycles in {rtlsim['seconds']:.2f} s "
             f"({rtlsim['cycles_per_second'] / 1e3:,.0f}k cycles/s). Per layer, the share of those cycles it "
             "was busy, held up by its consumer (output full) or waiting for input:", "",
             _table(("layer", "cycles (our model)", "cycles (FINN)", "busy", "output full", "waiting for input"),
                    [(layer["name"], layer["cycles_model"], layer["cycles_finn"], share(layer["busy"]),
                      share(layer["stalled_by_output"]), share(layer["waiting_for_input"]))
                     for layer in rtlsim["layers"]]), ""]
    if rtlsim["fifos"]:
        lines += ["FIFOs between the layers (depths from FIFO sizing, steps/fifo_sizing.json):", "",
                  _table(("stream", "depth (words)", "peak occupancy"),
                         [(f["tensor"], f["depth"], f["peak"]) for f in rtlsim["fifos"]]), ""]
    return "\n".join(lines)


def _synthesized(synth):
    """The summary's section on Yosys' counts (compiler.synth.synthesize_build), or why there are none."""
    if "skipped" in synth:
        return f"## Synthesized with Yosys\n\nNot synthesized: {synth['skipped']}.\n"

    def lut(counts):
        return f"{counts['LUT']} ({counts['LUT_logic']} / {counts['LUTRAM']} / {counts['SRL']})"

    def row(name, entry, estimate="", finn=""):
        counts = entry.get("counts")
        if not counts:
            return (name, entry["error"], "", "", "", "", "", estimate, finn)
        return (name, lut(counts), counts["FF"], counts["CARRY"], counts["BRAM18"] + 2 * counts["BRAM36"],
                counts["URAM"], counts["DSP"], estimate, finn)

    rows = [row(layer["name"], layer, f"{layer['estimate']['LUT']:,.0f} LUT, {layer['estimate']['BRAM_18K']} BRAM18, "
                                      f"{layer['estimate']['DSP']} DSP",
                f"{layer['estimate']['finn_LUT']:,.0f} / {layer['estimate'].get('ours_LUT', '-')}")
            for layer in synth["layers"]]
    rows += [row(f"FIFO {fifo['tensor']} ({fifo['width']} b x {fifo['depth']}, {fifo['style']})", fifo)
             for fifo in synth["fifos"]]
    rows.append(row("total", {"counts": synth["totals"]}))
    share = ", ".join(f"{name} {value:.0%}" for name, value in synth["utilization"].items())
    return "\n".join(["## Synthesized with Yosys", "",
                      f"{synth['tool']}. {synth['note']}.", "",
                      _table(("layer", "LUT (logic / LUTRAM / SRL)", "FF", "CARRY", "BRAM18", "URAM", "DSP",
                              f"estimate ({synth['cost_model']} cost model)", "LUT by FINN's model / ours"), rows), "",
                      f"Of the board: {share}: {fit_verdict(synth)}.",
                      ""])


def write_summary(title, est, front, budget, folder, rtlsim=None, synth=None):
    """Write summary.md, cycles.png, resources.png and (with a front) pareto.png into `folder`. `front`:
    the optimizer's Pareto points (Plan.point), fastest first; `budget`: board units; `rtlsim`: what the
    rtlsim measured (compiler.sim.rtlsim.performance), or None; `synth`: report/synth.json, or None."""
    folder.mkdir(parents=True, exist_ok=True)
    _plot_cycles(est, folder / "cycles.png")
    _plot_resources(est, folder / "resources.png")
    if front:
        _plot_front(est, front, budget, folder / "pareto.png")
    text = (_summary(title, est, front, budget) + ("\n" + _measured(rtlsim) if rtlsim else "")
            + ("\n" + _synthesized(synth) if synth else ""))
    write_file(folder / "summary.md", text)
