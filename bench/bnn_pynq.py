"""FINN's BNN-PYNQ networks (models/bnn_pynq.py), each built for Pynq-Z1 at the default folding and
verified (`python -m bench --parts bnn_pynq`): estimated frames/s and resources, the cycles per frame
rtlsim measured, beside finn-examples' published frame rates. The test suite builds two of them
(tests/test_bnn_pynq.py); this builds them all."""
import json
import shutil
import time

from compiler.flow import BuildConfig, run_build
from models import bnn_pynq

BOARD = "pynq-z1"
# finn-examples' frame rates measured on Pynq-Z1 at 100 MHz
PUBLISHED_FPS = {"cnv-w1a1": 3020, "tfc-w1a1": 837019}


def _read(out, name):
    return json.loads((out / name).read_text())


def build(name, build_root, frames):
    out = build_root / f"{name}-{BOARD}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.time()
    run_build(BuildConfig(model=name, board=BOARD, out_dir=out, frames=frames))
    report, measured = _read(out, "report/estimates.json"), _read(out, "rtlsim/performance.json")
    return {"model": name, "board": BOARD, "build_seconds": round(time.time() - start, 1),
            "verified_frames": _read(out, "verification.json")["frames"],
            "estimate": {"fps": report["estimated_fps"], "cycles": report["max_cycles"],
                         **{r: report["totals"][r] for r in ("LUT", "BRAM36", "DSP")},
                         "fits_board": report["fits_board"], "clock_mhz": report["clock_mhz"]},
            "rtlsim_cycles_per_frame": measured["interval_cycles"],
            "finn_examples_fps": PUBLISHED_FPS.get(name)}


def run(build_root, names=None, frames=8):
    """Build and verify every network (a BuildError stops the run); their figures."""
    return [build(name, build_root, frames) for name in names or bnn_pynq.CONFIGS]


def table(results):
    lines = [f"BNN-PYNQ on {BOARD}, default folding", "",
             "| network | estimated fps | LUT | BRAM36 | rtlsim cycles/frame | finn-examples fps |",
             "|---|---|---|---|---|---|"]
    for r in results:
        published = f"{r['finn_examples_fps']:,}" if r["finn_examples_fps"] else "-"
        lines.append(f"| {r['model']} | {r['estimate']['fps']:,.0f} | {r['estimate']['LUT']:,} | "
                     f"{r['estimate']['BRAM36']} | {r['rtlsim_cycles_per_frame']:g} | {published} |")
    return "\n".join(lines)
