"""`python -m compiler folding show|set BUILD_DIR ...`: see and edit a build's folding.json.

Both work on the build's folded graph (steps/NN_folding.onnx) and FINN's per-node estimators, so a
change is checked and re-estimated in seconds; the next `make build` regenerates code from the
edited folding.json.
"""
import json
from pathlib import Path

from qonnx.custom_op.registry import getCustomOp

import boards
from compiler.buildfolder import BuildFolder, load_graph
from compiler.estimate import estimate
from compiler.folding.config import apply, load, save
from compiler.folding.rules import FoldingError, hw_nodes, legal_values

SHAPE_ATTRS = {"MVAU": ("MH", "MW"), "VVAU": ("Channels", "Kernel"), "Thresholding": ("NumChannels",),
               "ConvolutionInputGenerator": ("IFMChannels", "ConvKernelDim"), "Pool": ("Channels", "KernelSize"),
               "LabelSelect": ("Labels",), "FMPadding": ("NumChannels",)}


def _build(build_dir):
    """(folded graph, board, clock) of a build folder."""
    build_dir = Path(build_dir)
    config_path = build_dir / "build_config.json"
    if not (build_dir / "folding.json").exists() or not config_path.exists():
        raise FoldingError(f"{build_dir} is not a build folder that reached the folding step "
                           "(no folding.json / build_config.json); run make build first")
    config = json.loads(config_path.read_text())
    return load_graph(build_dir, "folding"), boards.get(config["board"]), config["clock_mhz"]


def _shape(inst, op):
    base = op.rsplit("_", 1)[0] if op.endswith(("_hls", "_rtl")) else op
    return " ".join(f"{a}={inst.get_nodeattr(a)}" for a in SHAPE_ATTRS.get(base, ()))


def table(model, board, clock_mhz):
    """A text table of every HW layer: shape, folding, legal values, cycles, resources, bottleneck share."""
    report = estimate(model, board, clock_mhz)
    by_name = {layer["name"]: layer for layer in report["layers"]}
    rows = [("layer", "shape", "PE", "SIMD", "legal PE / SIMD", "cycles", "of bottleneck", "LUT", "BRAM18", "DSP")]
    for node in hw_nodes(model).values():
        inst, layer = getCustomOp(node), by_name[node.name]
        legal = legal_values(inst)
        rows.append((node.name, _shape(inst, node.op_type), str(layer.get("PE", "")), str(layer.get("SIMD", "")),
                     " / ".join(",".join(map(str, legal[a])) for a in ("PE", "SIMD") if a in legal),
                     str(layer["cycles"]), f"{layer['cycles'] / report['max_cycles']:.0%}",
                     str(layer["LUT"]), str(layer["BRAM_18K"]), str(layer["DSP"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    fit = "fits" if report["fits_board"] else "does NOT fit"
    lines.append(f"\nbottleneck {report['bottleneck']}: {report['max_cycles']} cycles -> "
                 f"{report['estimated_fps']:.0f} fps at {clock_mhz:g} MHz; {report['totals']['LUT']} LUT, "
                 f"{report['totals']['BRAM36']} BRAM36, {report['totals']['DSP']} DSP: {fit} on {board.name}")
    if report["balance"] is not None:
        lines.append(f"pipeline balance {report['balance']:.2f}: total MACs / MAC units / bottleneck cycles "
                     "(1 = every MAC unit busy every cycle)")
    return "\n".join(lines)


def show(build_dir):
    return table(*_build(build_dir))


def _value(text):
    try:
        return int(text)
    except ValueError:
        return text


def set_values(build_dir, node_name, assignments):
    """Set attributes (["PE=8", "SIMD=16"]) of one node in the build's folding.json, after checking
    them against the legal values; returns the re-estimated table."""
    model, board, clock_mhz = _build(build_dir)
    with BuildFolder(build_dir).locked():       # not while a build uses the folder
        path = Path(build_dir) / "folding.json"
        config = load(path)
        entry = config.setdefault(node_name, {})
        for assignment in assignments:
            attr, sep, value = assignment.partition("=")
            if not sep:
                raise FoldingError(f"'{assignment}' is not ATTR=VALUE (e.g. PE=8)")
            entry[attr.strip()] = _value(value.strip())
        folded = apply(model, config, source=str(path))
        save(config, path)
    return table(folded, board, clock_mhz)
