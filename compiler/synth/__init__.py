"""Synthesis of the generated RTL with Yosys (PyPI pyosys, its SystemVerilog frontend read_slang),
layer by layer, out of context: what each layer costs in LUTs (logic, LUTRAM, SRL), FFs, carry
chains, block RAMs, UltraRAMs and DSPs of the board's FPGA family.

These are Yosys' counts (`synth_xilinx`), not Vivado's: the same RTL, but another tool's mapping
(Yosys counts carry chains as CARRY4 even on UltraScale+, and chooses LUTRAM and BRAM on its own
rules). Every result is cached by the hash of what it was synthesized from (the layer's wrapper, the
library, its memory files, the family and Yosys' version) in a user cache folder, so a rebuild, or
another build with the same layer, costs nothing.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from compiler.fileio import user_cache_dir
from compiler.hwops import multiplies_on_dsp
from models import progress

LAYER_TIMEOUT = 900           # default seconds a layer may take before it is reported as not synthesized
# Xilinx primitives -> (resource, units): LUTRAMs count the LUTs they occupy.
CELLS = {
    **{f"LUT{n}": ("LUT_logic", 1) for n in range(1, 7)}, "LUT6_2": ("LUT_logic", 1), "INV": ("LUT_logic", 1),
    "RAM32X1S": ("LUTRAM", 1), "RAM64X1S": ("LUTRAM", 1), "RAM128X1S": ("LUTRAM", 2), "RAM256X1S": ("LUTRAM", 4),
    "RAM32X1D": ("LUTRAM", 2), "RAM64X1D": ("LUTRAM", 2), "RAM128X1D": ("LUTRAM", 4), "RAM256X1D": ("LUTRAM", 8),
    "RAM32M": ("LUTRAM", 4), "RAM64M": ("LUTRAM", 4), "RAM32M16": ("LUTRAM", 8), "RAM64M8": ("LUTRAM", 8),
    "SRL16E": ("SRL", 1), "SRLC16E": ("SRL", 1), "SRLC32E": ("SRL", 1),
    **{name: ("FF", 1) for name in ("FDRE", "FDSE", "FDCE", "FDPE")},
    "CARRY4": ("CARRY", 1), "CARRY8": ("CARRY", 1), "MUXF7": ("MUXF", 1), "MUXF8": ("MUXF", 1),
    "RAMB18E1": ("BRAM18", 1), "RAMB18E2": ("BRAM18", 1), "RAMB36E1": ("BRAM36", 1), "RAMB36E2": ("BRAM36", 1),
    "URAM288": ("URAM", 1), "URAM288_BASE": ("URAM", 1), "DSP48E1": ("DSP", 1), "DSP48E2": ("DSP", 1),
}
RESOURCES = ("LUT", "LUT_logic", "LUTRAM", "SRL", "FF", "CARRY", "MUXF", "BRAM18", "BRAM36", "URAM", "DSP")
_INIT_FILE = re.compile(r'INIT_FILE\("([^"]+)"\)')
YOSYS_SCRIPT = Path(__file__).parent / "yosys.py"      # run as a file: it needs only pyosys


class SynthError(RuntimeError):
    pass


def cache_dir():
    """Where Yosys' results are kept (compiler.fileio.user_cache_dir)."""
    return user_cache_dir("yosys")


def yosys_version():
    from importlib.metadata import version

    return version("pyosys")


def counts_of(cells):
    """Resource counts from Yosys' cells by type; cells of no known resource under "other"."""
    counts = dict.fromkeys(RESOURCES, 0)
    other = {}
    for cell, number in cells.items():
        if cell in CELLS:
            resource, units = CELLS[cell]
            counts[resource] += units * number
        else:
            other[cell] = number
    counts["LUT"] = counts["LUT_logic"] + counts["LUTRAM"] + counts["SRL"]
    if other:
        counts["other"] = other
    return counts


def _sources(rtl_dir, module):
    """The files a unit (a layer's wrapper, or a FIFO unit in synth/) is synthesized from: the
    library, the wrapper, its memory files."""
    wrapper = rtl_dir / f"{module}.sv"
    if not wrapper.exists():
        wrapper = rtl_dir / "synth" / f"{module}.sv"
    memories = [rtl_dir / name for name in _INIT_FILE.findall(wrapper.read_text())]
    return sorted((rtl_dir / "lib").glob("*.sv")) + [wrapper], memories


def _key(files, family, options):
    digest = hashlib.sha256(f"{family} {' '.join(options)} {yosys_version()}".encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def synthesize_layer(rtl_dir, module, family, options=(), timeout=None):
    """Yosys' counts of one layer wrapper `module` of rtl_dir (compiler.codegen.rtl.generate), from the
    cache or by running Yosys in a subprocess. Returns {"counts", "seconds", "cached"}; a layer that
    fails or takes longer than `timeout` seconds (default LAYER_TIMEOUT) gives {"error": ...} instead."""
    timeout = timeout or LAYER_TIMEOUT
    rtl_dir = Path(rtl_dir)
    sources, memories = _sources(rtl_dir, module)
    key = _key(sources + memories, family, options)
    cached = cache_dir() / f"{key}.json"
    if cached.exists():
        return {**json.loads(cached.read_text()), "cached": True}
    with tempfile.TemporaryDirectory(prefix="yosys_") as tmp:
        stat = Path(tmp) / "stat.json"
        cmd = [sys.executable, str(YOSYS_SCRIPT), str(stat), module, family, *options,
               "--", *(str(s.relative_to(rtl_dir)) for s in sources)]
        start = time.time()
        # its own process group: Yosys runs ABC as a child process, which a timeout must stop as well
        with subprocess.Popen(cmd, cwd=rtl_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                return {"error": f"not synthesized: Yosys took longer than {timeout} s (SYNTH_TIMEOUT)", "cached": False}
        seconds = round(time.time() - start, 1)
        if process.returncode or not stat.exists():
            errors = [line for line in (stdout + stderr).splitlines() if "ERROR" in line or "error" in line]
            return {"error": "Yosys failed: " + " | ".join(errors[-5:] or [stderr[-500:]]), "cached": False}
        cells = json.loads(stat.read_text())["design"]["num_cells_by_type"]
    record = {"counts": counts_of(cells), "cells": cells, "seconds": seconds}
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp_record = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    tmp_record.write_text(json.dumps(record, indent=1))
    os.replace(tmp_record, cached)
    return {**record, "cached": False}


def synthesize(rtl_dir, units, family, log=print, workers=2, timeout=None):
    """Synthesize the units [(name, module, synth_xilinx options)] of rtl_dir, `workers` at a time, each
    within `timeout` seconds; returns {name: synthesize_layer's result}, logging one line per unit."""
    def one(unit):
        name, module, options = unit
        result = synthesize_layer(rtl_dir, module, family, options, timeout)
        status = "cached" if result.get("cached") else result.get("error") or f"{result['seconds']} s"
        counts = result.get("counts")
        log(f"synth: {name}: " + (f"{counts['LUT']} LUT, {counts['FF']} FF, {bram18(counts)} BRAM18, "
                                  f"{counts['DSP']} DSP ({status})" if counts else status))
        done.advance()
        return name, result

    with progress.bar(len(units), "units") as done, ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, units))


def bram18(counts):
    """Block RAM in BRAM18 units (a BRAM36 is two)."""
    return counts["BRAM18"] + 2 * counts["BRAM36"]


# SYNTH=auto synthesizes a design up to this many estimated LUTs; SYNTH=1 any design. Measured on the
# tiny model (about 12k LUT by the estimate, 9.3k by Yosys): 7 minutes on 2 busy cores, at least 5 s
# per unit (synth_xilinx's own start-up) and 6 minutes for one MVAU of 96 4-bit products in LUTs.
AUTO_MAX_LUT = 10_000
SYNTH_MODES = ("auto", "1", "0")
NOT_VIVADO = ("Yosys' synth_xilinx counts of the generated RTL, layer by layer out of context: another tool's "
              "mapping than Vivado's, not a Vivado utilization report")


def auto_skip_reason(mode, est):
    """Why SYNTH=`mode` skips synthesis of a design with estimate `est`, or None to synthesize."""
    if mode == "0":
        return "SYNTH=0"
    if mode == "auto" and est["totals"]["LUT"] > AUTO_MAX_LUT:
        return (f"SYNTH=auto synthesizes designs up to {AUTO_MAX_LUT:,} estimated LUT; this one is "
                f"{est['totals']['LUT']:,.0f} (SYNTH=1 synthesizes it anyway)")
    return None


def layer_options(inst, board):
    """synth_xilinx options of a layer: DSPs only where its products go to DSP slices (hwops.multiplies_on_dsp)."""
    return () if multiplies_on_dsp(inst, board.part) else ("-nodsp",)


def synthesize_build(rtl_dir, model, board, est, log=print, workers=2, timeout=None):
    """Yosys' counts of every layer and every distinct FIFO of the RTL generated from `model`
    (compiler.codegen.rtl.generate into rtl_dir), beside the estimate `est` (compiler.estimate), with
    totals against `board`: the record of report/synth.json. A layer past `timeout` seconds is left out
    of the totals and named; the fit is then unknown (fits_board None) unless the rest is already over."""
    from qonnx.custom_op.registry import getCustomOp

    from compiler.codegen import rtl

    family = board.family
    rtl_dir = Path(rtl_dir)
    units = [(node.name, rtl.module_name(node.name), layer_options(getCustomOp(node), board))
             for node in model.graph.node]
    fifo_links = [link for link in rtl.links(model) if link.depth]
    fifo_units = sorted({rtl.fifo_unit_name(link) for link in fifo_links})
    log(f"synth: {len(units)} layers and {len(fifo_units)} FIFO configurations with Yosys (synth_xilinx "
        f"-family {family}), {workers} at a time; cached in {cache_dir()}")
    results = synthesize(rtl_dir, units + [(name, name, ()) for name in fifo_units], family, log, workers, timeout)
    estimated = {layer["name"]: layer for layer in est["layers"]}
    layers = [{"name": node.name, "op_type": node.op_type, **results[node.name],
               "estimate": {key: estimated[node.name][key] for key in
                            ("LUT", "BRAM_18K", "URAM", "DSP", "finn_LUT", "ours_LUT") if key in estimated[node.name]}}
              for node in model.graph.node]
    fifos = [{"tensor": link.tensor, "width": link.width, "depth": link.depth, "style": link.style,
              "unit": rtl.fifo_unit_name(link), **results[rtl.fifo_unit_name(link)]} for link in fifo_links]
    failed = [entry["name"] for entry in layers if "error" in entry] + [f["unit"] for f in fifos if "error" in f]
    totals = dict.fromkeys(RESOURCES, 0)
    for entry in layers + fifos:
        for resource in RESOURCES:
            totals[resource] += entry.get("counts", {}).get(resource, 0)
    used = {"LUT": totals["LUT"], "FF": totals["FF"], "BRAM36": bram18(totals) / 2, "DSP": totals["DSP"],
            "URAM": totals["URAM"]}
    utilization = {name: used[name] / count for name, count in board.resources.items() if count and name in used}
    over = [name for name, count in board.resources.items() if name in used and used[name] > count]
    return {"tool": f"Yosys (pyosys {yosys_version()}) synth_xilinx -family {family}", "note": NOT_VIVADO,
            "cost_model": est["cost_model"],
            "complete": not failed, "not_synthesized": failed, "layers": layers, "fifos": fifos,
            "totals": totals, "board": board.resources, "utilization": utilization,
            "fits_board": False if over else None if failed else True, "over": over}


def fit_verdict(record):
    """A phrase for synthesize_build's record against its board: fits, does NOT fit, or unknown."""
    if record["fits_board"]:
        return "fits"
    if record["over"]:
        return f"does NOT fit ({', '.join(record['over'])} over)"
    return f"fit unknown: {', '.join(record['not_synthesized'])} not synthesized"
