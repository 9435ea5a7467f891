"""The RTL backend's figures (`python -m bench --parts rtl`): full builds of VGG10-w4a4 on ZCU104 at
its fastest folding and BacalhauNet on Ultra96 at its default, each with a fresh Verilator cache so
that compile times are real. Per build: rtlsim's measured cycles per frame against the estimated
bottleneck, exactness (verification's rtlsim stage), the FIFO depths sizing chose, the time of the
RTL steps, and rtlsim's speed in simulated cycles/s and frames/s, on one thread and on two.
Verilator's cycle counts of our RTL, not a board's.
"""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from compiler.buildfolder import load_graph
from compiler.flow import BuildConfig, run_build
from compiler.sim.rtlsim import RtlSim

BUILDS = [("vgg10-w4a4", "zcu104", "max"), ("bacalhau", "ultra96", None)]
SPEED_FRAMES = 20


def _speed(out, threads):
    """Simulated cycles/s and frames/s of the build's RTL on SPEED_FRAMES random frames, and the
    compile time of its model with `threads` Verilator threads."""
    model = load_graph(out, "fifo_sizing")
    sim = RtlSim(model, out / "rtl", out / "rtlsim" / f"bench_threads{threads}", log=lambda *_: None,
                 threads=threads)
    start = time.time()
    sim.build()
    compile_seconds = time.time() - start
    stream = sim.links[0]
    dtype = model.get_tensor_datatype(stream.tensor)
    frames = np.random.default_rng(0).integers(int(dtype.min()), int(dtype.max()) + 1,
                                               size=(SPEED_FRAMES, int(np.prod(model.get_tensor_shape(stream.tensor)))))
    _, stats = sim.run(frames)
    cycles_per_second = stats["cycles"] / stats["seconds"]
    return {"threads": threads, "compile_seconds": round(compile_seconds, 1), "frames": SPEED_FRAMES,
            "cycles": stats["cycles"], "cycles_per_second": round(cycles_per_second),
            "frames_per_second": round(SPEED_FRAMES / stats["seconds"], 2)}


def bench_build(work, name, board, target_fps):
    out = work / f"{name}-{board}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.time()
    run_build(BuildConfig(model=name, board=board, out_dir=out, target_fps=target_fps))
    seconds = time.time() - start
    measured = json.loads((out / "rtlsim" / "performance.json").read_text())
    estimated = json.loads((out / "report" / "estimates.json").read_text())
    verification = json.loads((out / "verification.json").read_text())
    sizing = json.loads((out / "steps" / "fifo_sizing.json").read_text())
    steps = json.loads((out / "time_per_step.json").read_text())
    rtlsim_stage = next(s for s in verification["stages"] if s["stage"] == "rtlsim")
    return {
        "model": name, "board": board, "target_fps": target_fps or "default (fastest within 80 %)",
        "build_seconds": round(seconds, 1),
        "step_seconds": {s: steps[s] for s in ("fifo_sizing", "rtl_codegen", "rtlsim", "verify") if s in steps},
        "estimated_cycles": estimated["max_cycles"], "measured_cycles": measured["interval_cycles"],
        "measured_vs_estimated": measured["interval_cycles"] / estimated["max_cycles"],
        "estimated_fps": estimated["estimated_fps"], "measured_fps": measured["fps"],
        "latency_cycles": measured["latency_cycles"], "estimated_latency_cycles": estimated["critical_path_cycles"],
        "LUT": estimated["totals"]["LUT"], "fits_board": estimated["fits_board"],
        "rtlsim_exact": rtlsim_stage["ok"] and verification["ok"], "verified_frames": verification["frames"],
        "fifo_sizing": {"simulations": sizing["simulations"], "deeper_than_2": {
            f["tensor"]: f["depth"] for f in sizing["fifos"] if f["depth"] > 2}},
        "rtlsim_speed": [_speed(out, threads) for threads in (1, 2)],
    }


def run(work):
    """Every build of BUILDS, with a fresh Verilator cache (compile times included)."""
    work = Path(work)
    previous = os.environ.get("DFA_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="bench_verilator_") as cache:
        os.environ["DFA_CACHE_DIR"] = cache
        try:
            return [bench_build(work, *build) for build in BUILDS]
        finally:
            if previous is None:
                os.environ.pop("DFA_CACHE_DIR")
            else:
                os.environ["DFA_CACHE_DIR"] = previous


def table(results):
    lines = ["model / board | measured cycles | estimated | ratio | exact | FIFOs > 2 | rtlsim cycles/s (1, 2 threads) "
             "| compile s (1, 2 threads)"]
    for r in results:
        speeds = r["rtlsim_speed"]
        lines.append(f"{r['model']} / {r['board']} | {r['measured_cycles']:g} | {r['estimated_cycles']} | "
                     f"{r['measured_vs_estimated']:.3f} | {r['rtlsim_exact']} | {len(r['fifo_sizing']['deeper_than_2'])} | "
                     f"{speeds[0]['cycles_per_second']:,} / {speeds[1]['cycles_per_second']:,} | "
                     f"{speeds[0]['compile_seconds']} / {speeds[1]['compile_seconds']}")
    return "\n".join(lines)
