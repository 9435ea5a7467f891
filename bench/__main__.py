"""make bench: build time per step, cppsim frames/s and the folding's estimates, into bench/results.json.

Builds each benchmark model from scratch in bench/build/ (the default settings of `make build`), then
times its cppsim binary over more frames than verification uses. The folding part (bench/folding.py)
compares the folding optimizer with FINN's SetFolding and finn-examples' hand folding ("folding" key).
The bnn_pynq part (bench/bnn_pynq.py) builds and verifies FINN's BNN-PYNQ networks on Pynq-Z1.
The rtl part (bench/rtl.py) builds VGG10-w4a4 on ZCU104 at its fastest and BacalhauNet on Ultra96 and
reports rtlsim's measured cycles against the estimate, FIFO sizing, and rtlsim's speed and compile time.
The scale part (bench/scale.py) times a sweep of 8 builds and verify-dataset on 10,000 frames on Ray,
with 1 and with 2 workers. The dsp part (bench/dsp.py) folds VGG10 on Pynq-Z2 with and without DSPs
to spend and builds the DSP folding with Yosys synthesis. The phases part (bench/phases.py) builds
VGG10-w4a4 on ZCU104 with two input samples a pixel, measured in rtlsim and counted by Yosys. The search part (bench/search.py) runs the
mixed-precision search on VGG10 for Pynq-Z2 and folds the chosen networks against uniform w8a8 and w4a4.
"""
import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from qonnx.custom_op.registry import getCustomOp

from compiler.buildfolder import load_graph
from compiler.estimate import macs
from compiler.fileio import write_json
from compiler.flow import BuildConfig, BuildError, run_build
from compiler.sim import CppSim

from bench import bnn_pynq as bnn_pynq_bench
from bench import dsp as dsp_bench
from bench import folding as folding_bench
from bench import phases as phases_bench
from bench import rtl as rtl_bench
from bench import scale as scale_bench
from bench import search as search_bench

HERE = Path(__file__).parent
MODELS = ["vgg10-w4a4", "vgg10"]
PARTS = ["builds", "folding", "bnn_pynq", "rtl", "scale", "dsp", "phases", "search"]


def macs_per_frame(model):
    """Multiply-accumulates per frame of every MAC layer (MVAU, VVAU)."""
    return sum(macs(getCustomOp(n))[0] for n in model.graph.node)


def cppsim_fps(out, frames, synth=False):
    """Frames/s of the build's cppsim on `frames` random in-range input frames; synth=True: of the one
    the build compiled from the synthesizable ap_int loops (DFK_SYNTH_CSIM) instead of the fast paths."""
    sim = CppSim(load_graph(out, "minimize_bit_widths"), out / "hls", out / ("cppsim_synth" if synth else "cppsim"),
                 log=lambda *_: None, defines=["DFK_SYNTH_CSIM"] if synth else [])
    dtype = sim.streams[0].dtype
    rng = np.random.default_rng(0)
    x = rng.integers(dtype.min(), dtype.max() + 1, size=(frames, sim.streams[0].elems))
    _, stats, _ = sim.run(x)
    return stats


def bench_model(name, board, frames):
    out = HERE / "build" / f"{name}-{board}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.time()
    run_build(BuildConfig(model=name, board=board, out_dir=out))
    total = time.time() - start
    estimates = json.loads((out / "report" / "estimates.json").read_text())
    stats = cppsim_fps(out, frames)
    synth = cppsim_fps(out, max(2, frames // 16), synth=True)
    macs = macs_per_frame(load_graph(out, "minimize_bit_widths"))
    return {
        "model": name, "board": board, "build_seconds": round(total, 1),
        "seconds_per_step": json.loads((out / "time_per_step.json").read_text()),
        "macs_per_frame": macs,
        "cppsim": {"frames": stats["frames"], "seconds": stats["seconds"], "frames_per_second": stats["fps"],
                   "mac_per_second": macs * stats["fps"]},
        "cppsim_synth": {"frames": synth["frames"], "frames_per_second": synth["fps"],
                         "mac_per_second": macs * synth["fps"]},
        "estimate": {"fps": estimates["estimated_fps"], "LUT": estimates["totals"]["LUT"],
                     "BRAM36": estimates["totals"]["BRAM36"], "DSP": estimates["totals"]["DSP"],
                     "clock_mhz": estimates["clock_mhz"], "fits_board": estimates["fits_board"]},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--board", default="pynq-z2")
    parser.add_argument("--frames", type=int, default=64, help="cppsim frames to time")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS,
                        help="what to run; results of the other parts are kept")
    args = parser.parse_args(argv)
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["machine"] = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        if "builds" in args.parts:
            results["models"] = [bench_model(m, args.board, args.frames) for m in args.models]
        if "folding" in args.parts:
            results["folding"] = folding_bench.run(HERE / "build")
        if "bnn_pynq" in args.parts:
            results["bnn_pynq"] = bnn_pynq_bench.run(HERE / "build")
        if "rtl" in args.parts:
            results["rtl"] = rtl_bench.run(HERE / "build")
        if "scale" in args.parts:
            results["scale"] = scale_bench.run(HERE / "build")
        if "dsp" in args.parts:
            results["dsp"] = dsp_bench.run(HERE / "build")
        if "phases" in args.parts:
            results["phases"] = phases_bench.run(HERE / "build")
        if "search" in args.parts:
            results["search"] = search_bench.run(HERE / "build")
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_json(results, path)
    if "builds" in args.parts:
        for r in results["models"]:
            print(f"{r['model']}: build {r['build_seconds']} s, cppsim {r['cppsim']['frames_per_second']:.1f} "
                  f"frames/s ({r['cppsim']['mac_per_second'] / 1e6:.0f} M MAC/s; synthesizable "
                  f"loops {r['cppsim_synth']['mac_per_second'] / 1e6:.0f} M MAC/s), "
                  f"estimated {r['estimate']['fps']:.0f} fps with {r['estimate']['LUT']:.0f} LUT")
    if "folding" in args.parts:
        for case in results["folding"]:
            print(f"\n{folding_bench.table(case)}")
    if "bnn_pynq" in args.parts:
        print(f"\n{bnn_pynq_bench.table(results['bnn_pynq'])}")
    if "rtl" in args.parts:
        print(f"\n{rtl_bench.table(results['rtl'])}")
    if "scale" in args.parts:
        print(f"\n{scale_bench.table(results['scale'])}")
    if "dsp" in args.parts:
        print(f"\n{dsp_bench.table(results['dsp'])}")
    if "phases" in args.parts:
        print(f"\n{phases_bench.table(results['phases'])}")
    if "search" in args.parts:
        print(f"\n{search_bench.table(results['search'])}")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
