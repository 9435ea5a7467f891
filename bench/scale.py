"""make bench (scale part): wall times on this machine's local Ray, with 1 and with 2 workers, of
- a sweep of 8 tiny configurations (4 boards x 2 target fps, stopping after the estimate), and
- verify-dataset (cppsim) on 10,000 test frames of a synthetic RadioML file written for it
  (models/radioml.synthesize: 161 frames per class and SNR, 10 % of them the test split).
Each run starts from nothing: the sweep's build folders and the dataset's shard results are removed."""
import shutil
import time

import yaml

from compiler import dataset, sweep
from compiler.flow import BuildConfig, run_build
from models import radioml

WORKERS = (1, 2)
BOARDS = ["pynq-z2", "ultra96", "zcu104", "kv260"]
TARGETS = [1000, 100000]
DATASET_FRAMES = 10_000
FRAMES_PER_PAIR = 161                       # ceil(161 / 10) = 17 test frames x 624 pairs = 10,608
TINY_LENGTH = 64                            # the tiny model's input; the file needs no more


def _timed(run):
    start = time.time()
    result = run()
    return round(time.time() - start, 1), result


def run(work, log=print):
    work.mkdir(parents=True, exist_ok=True)
    tiny = work / "scale-tiny"
    run_build(BuildConfig(model="tiny", board="pynq-z2", out_dir=tiny, fifo_sizing=False, synth="0"),
              stop_after="verify")
    grid = work / "scale-sweep.yaml"
    grid.write_text(yaml.safe_dump({"model": "tiny", "board": BOARDS, "target_fps": TARGETS,
                                    "ckpt": str(tiny / "checkpoint.pt"), "stop_after": "estimate"}))
    data = work / "scale-radioml-10k.hdf5"
    if not data.is_file():
        radioml.synthesize(data, FRAMES_PER_PAIR, TINY_LENGTH)
    results = {"sweep_configurations": len(BOARDS) * len(TARGETS), "dataset_frames": DATASET_FRAMES}
    for workers in WORKERS:
        shutil.rmtree(work / "sweeps", ignore_errors=True)
        seconds, rows = _timed(lambda: sweep.run_sweep(grid, workers=workers, root=work / "sweeps"))
        results[f"sweep_seconds_{workers}_workers"] = seconds
        results["sweep_not_done"] = sum(1 for row in rows if row["status"] != "ok")
        shutil.rmtree(tiny / "dataset", ignore_errors=True)
        seconds, merged = _timed(lambda: dataset.verify_dataset(tiny, data, "cppsim", workers=workers,
                                                                frames=DATASET_FRAMES))
        results[f"dataset_seconds_{workers}_workers"] = seconds
        results["dataset_disagreeing_frames"] = merged["disagreeing_frames"]
        log(f"scale: {workers} worker(s): sweep of 8 in {results[f'sweep_seconds_{workers}_workers']} s, "
            f"verify-dataset of {DATASET_FRAMES} frames in {seconds} s")
    return results


def table(results):
    return "\n".join([
        "| Ray workers | sweep of 8 tiny builds (s) | verify-dataset, 10,000 frames, cppsim (s) |",
        "|---|---|---|",
        *(f"| {w} | {results[f'sweep_seconds_{w}_workers']} | {results[f'dataset_seconds_{w}_workers']} |"
          for w in WORKERS)])
