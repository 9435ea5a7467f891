"""make verify-dataset: a finished build's simulator over a whole RadioML test split, in shards that
run as Ray tasks (compiler/cluster.py).

    python -m compiler.dataset --out build/vgg10-pynq-z2 [--data x.hdf5] [--sim cppsim|rtlsim]
                               [--shards N] [--workers N] [--frames N]

Each shard's result is saved as it finishes (`<build>/dataset/<sim>-<data>/shard_<start>_<stop>.npz`),
so a rerun simulates only the shards that are missing. The merged result, `result.json` beside them:
the hardware's accuracy overall, per SNR and per class, PyTorch's beside it, and the frames where the
simulation and PyTorch disagree (their test-split indices), ties of PyTorch's two best scores apart."""
import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from compiler.cluster import ray_session, run_tasks
from compiler.fileio import write_json
from models.errors import UserError, add_verbose_flag, run_cli, whole_number

SIMULATORS = ("cppsim", "rtlsim")


def shard_bounds(frames, shards):
    """`shards` contiguous [start, stop) ranges covering range(frames), as even as can be."""
    edges = np.linspace(0, frames, min(shards, frames) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges, edges[1:])]


def _config(out_dir, data):
    from compiler.flow import BuildConfig, read_config_file

    path = Path(out_dir) / "build_config.json"
    if not path.is_file():
        raise UserError(f"OUT={out_dir} is not a build folder (no build_config.json): run make build first")
    return BuildConfig(**{**read_config_file(path), "out_dir": out_dir, **({"data": data} if data else {})})


def _results_dir(config, sim):
    from models import radioml

    data = Path(config.data or radioml.ensure_synthetic())
    digest = hashlib.sha256(f"{data.resolve()}:{data.stat().st_size}:{data.stat().st_mtime_ns}".encode()).hexdigest()[:8]
    return config.out_dir / "dataset" / f"{sim}-{data.stem}-{digest}"


def run_shard(out_dir, data, sim, start, stop, path):
    """One shard, in a Ray worker: simulated, then saved atomically to `path`."""
    from compiler.flow import simulate_test_frames

    result = simulate_test_frames(_config(out_dir, data), start, stop, sim)
    tmp = Path(path).with_suffix(".tmp.npz")
    np.savez(tmp, **result)
    tmp.replace(path)
    return str(path)


def verify_dataset(out_dir, data=None, sim="cppsim", shards=None, workers=None, frames=None):
    """Simulate the test split of `data` shard by shard (missing shards only) and merge: the dict
    written to result.json."""
    from compiler.flow import test_split_size
    from models.train import accuracy_report

    if sim not in SIMULATORS:
        raise UserError(f"SIM={sim}: expected one of {', '.join(SIMULATORS)}")
    config = _config(Path(out_dir), data)
    total = test_split_size(config)
    frames = total if frames in (None, "") else min(whole_number(frames, "FRAMES"), total)
    shards = whole_number(shards, "SHARDS") if shards not in (None, "") else max(1, -(-frames // 1000))
    where = _results_dir(config, sim)
    where.mkdir(parents=True, exist_ok=True)
    bounds = shard_bounds(frames, shards)
    paths = {b: where / f"shard_{b[0]}_{b[1]}.npz" for b in bounds}
    missing = [b for b in bounds if not paths[b].is_file()]
    print(f"{sim} on {frames} test frames of {config.data or 'the synthetic RadioML file'} in {len(bounds)} shards "
          f"({len(bounds) - len(missing)} done before): {where}", flush=True)
    failures = []
    if missing:
        with ray_session(workers) as ray:
            run_tasks(ray, run_shard, [(str(config.out_dir), config.data and str(config.data), sim, a, b, str(paths[(a, b)]))
                                       for a, b in missing],
                      lambda job, result, error: error and failures.append((job[3], job[4], error)),
                      lambda job: f"frames {job[3]}-{job[4] - 1}")
    if failures:
        a, b, error = failures[0]
        raise UserError(f"{len(failures)} of {len(bounds)} shards failed (the others are saved; a rerun does only "
                        f"the failed ones); frames {a}-{b - 1}: {error}")
    parts = [np.load(paths[b]) for b in bounds]
    merged = {k: np.concatenate([p[k] for p in parts]) for k in ("hardware", "pytorch", "tied", "labels", "snr", "index")}
    differ = merged["hardware"] != merged["pytorch"]
    disagree, tied = merged["index"][differ & ~merged["tied"]], merged["index"][differ & merged["tied"]]
    result = {"build": str(config.out_dir), "simulator": sim, "data": str(config.data) if config.data else None,
              "frames": int(frames), "shards": len(bounds),
              "hardware": accuracy_report(merged["labels"], merged["hardware"], merged["snr"]),
              "pytorch": accuracy_report(merged["labels"], merged["pytorch"], merged["snr"]),
              "disagreeing_frames": int(disagree.size), "disagreeing_indices": disagree.tolist(),
              "tie_broken_frames": int(tied.size), "tie_broken_indices": tied.tolist()}
    write_json(result, where / "result.json")
    print(f"{sim}: accuracy {result['hardware']['overall']:.4f} (PyTorch {result['pytorch']['overall']:.4f}) on "
          f"{frames} frames; {disagree.size} frames where the simulation and PyTorch disagree"
          + (f" ({tied.size} more where PyTorch's two best scores tie and the hardware took the other)" if tied.size else "")
          + f": {where / 'result.json'}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m compiler.dataset", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the finished build folder")
    parser.add_argument("--data", default=None, help="RadioML HDF5 (default: the build's DATA, else synthetic)")
    parser.add_argument("--sim", default="cppsim", help="cppsim (default) or rtlsim")
    parser.add_argument("--shards", default=None, help="shards (default: one per 1000 frames)")
    parser.add_argument("--workers", default=None, help="local Ray workers (default: one per core)")
    parser.add_argument("--frames", default=None, help="the first N frames of the test split (default: all)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    return run_cli(lambda: verify_dataset(args.out, args.data or None, args.sim, args.shards or None,
                                          args.workers or None, args.frames or None) and 0,
                   args.verbose, "compiler.dataset")


if __name__ == "__main__":
    sys.exit(main())
