"""make bench, search: the mixed-precision search on VGG10 for Pynq-Z2 (`python -m bench --parts search`).

The full schedule (one epoch of 300 batches of 32 on the synthetic data, widths 2,4,6,8) at
TARGET_FPS = 10,000 for two complexity decays, each chosen network and the uniform w8a8 and w4a4
networks built to their HW graphs and folded by the optimizer for the same target: estimated fps and
LUT/DSP/BRAM (FINN's cost model, not a synthesis), and the accuracy of the supernet at the chosen widths
(synthetic data, before retraining).
"""
import json
import time

import boards
import models
from compiler import search

MODEL, BOARD, TARGET_FPS = "vgg10", "pynq-z2", 10000
DECAYS = (3e-5, 3e-4)
UNIFORM = (8, 4)


def run(build_root, log=print):
    spec, board = models.get(MODEL), boards.get(BOARD)
    root = build_root / "search"
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for cd in DECAYS:
        started = time.time()
        result = search.search(spec, board, TARGET_FPS, cd, log=log)
        seconds = time.time() - started
        bits = root / f"cd{cd:g}.json"
        bits.write_text(json.dumps(result))
        rows.append({"network": f"searched, CD {cd:g}", "bitw": result["bitw"], "bita": result["bita"],
                     "search_seconds": round(seconds, 1), "accuracy": result["accuracy"]["value"],
                     "surrogate_cost": result["surrogate_cost"],
                     **_estimate(spec, bits, board, root / f"cd{cd:g}", log)})
    for width in UNIFORM:
        layers = json.loads(bits.read_text())
        bits = root / f"w{width}a{width}.json"
        bits.write_text(json.dumps({"model": MODEL, "bitw": [width] * len(layers["bitw"]),
                                    "bita": [width] * len(layers["bita"])}))
        rows.append({"network": f"uniform w{width}a{width}", **_estimate(spec, bits, board, root / bits.stem, log)})
    return {"model": MODEL, "board": BOARD, "target_fps": TARGET_FPS, "synthetic_data": True, "networks": rows}


def _estimate(spec, bits, board, work_dir, log):
    chosen = search.network_estimate(spec, bits, board, TARGET_FPS, float(board.clock_mhz), "finn", work_dir, log)
    return {"error": chosen["error"]} if "error" in chosen else {
        k: round(chosen[k], 1) if k == "fps" else chosen[k] for k in ("fps", "LUT", "DSP", "BRAM36")}


def table(result):
    lines = [f"mixed-precision search, {result['model']} on {result['board']} at {result['target_fps']} fps "
             "(FINN's cost model; synthetic data)"]
    for row in result["networks"]:
        figures = row.get("error") or f"{row['fps']:.0f} fps, {row['LUT']} LUT, {row['DSP']} DSP, {row['BRAM36']} BRAM36"
        widths = f" bitw {row['bitw']} bita {row['bita']}, accuracy {row['accuracy']:.3f}," if "bitw" in row else ""
        lines.append(f"  {row['network']}:{widths} {figures}")
    return "\n".join(lines)
