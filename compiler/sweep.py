"""make sweep: a grid of builds, each a Ray task (compiler/cluster.py) running the normal build into
its own folder.

    python -m compiler.sweep sweep.yaml [--workers N]

The file maps build options (the keys of a build's build_config.json) to a value or a list of values;
the grid is every combination of the lists. `name` names the sweep (default: the file's stem) and
`stop_after` (a value or a list) the step each build stops after. For example

    model: [tiny]
    board: [pynq-z2, ultra96]
    target_fps: [500, 1000]
    stop_after: estimate

is 4 builds, into sweeps/<name>/builds/<board>-<target_fps>/ (the values that vary). A build folder
resumes, so a rerun (after Ctrl-C, a kill, or a changed file) redoes only what changed. Results in
sweeps/<name>/: results.json and results.csv, one row per configuration with its figures or its
error (a failed build does not stop the others), and pareto.png (estimated fps against LUT)."""
import argparse
import csv
import itertools
import json
import sys
from pathlib import Path

from compiler.cluster import ray_session, run_tasks
from compiler.fileio import write_json
from models.errors import UserError, add_verbose_flag, run_cli

SWEEPS_DIR = Path("sweeps")
# result columns besides the options, in this order (see figures())
COLUMNS = ("status", "error", "seconds", "estimated_fps", "measured_fps", "measured_latency_cycles",
           "estimated_LUT", "estimated_BRAM36", "estimated_DSP", "fits_board", "synth_LUT", "synth_FF",
           "synth_BRAM36", "synth_DSP", "verified", "accuracy", "cost_score")


def read_sweep(path):
    """(name, [(options dict, stop_after, folder name)]) of a sweep file; a UserError names a wrong key
    or value."""
    import yaml

    from compiler.flow import STEPS, BuildConfig, RUN_ONLY_FIELDS

    path = Path(path)
    if not path.is_file():
        raise UserError(f"SWEEP={path}: file not found")
    grid = yaml.safe_load(path.read_text())
    if not isinstance(grid, dict) or not grid:
        raise UserError(f"SWEEP={path}: expected a mapping of build options to values or lists of values")
    name = str(grid.pop("name", path.stem))
    legal = [f for f in BuildConfig.__dataclass_fields__ if f not in RUN_ONLY_FIELDS + ("out_dir",)] + ["stop_after"]
    unknown = sorted(set(grid) - set(legal))
    if unknown:
        raise UserError(f"SWEEP={path}: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                        f"the options are {', '.join(legal)}")
    steps = [s.name for s in STEPS]
    keys = list(grid)
    values = [v if isinstance(v, list) else [v] for v in grid.values()]
    varying = [k for k, v in grid.items() if isinstance(v, list) and len(v) > 1]
    configurations = []
    for combination in itertools.product(*values):
        options = dict(zip(keys, combination))
        folder = folder_name(options, varying)
        stop_after = options.pop("stop_after", None)
        if stop_after is not None and stop_after not in steps:
            raise UserError(f"SWEEP={path}: stop_after={stop_after} is not a step; the steps are {', '.join(steps)}")
        configurations.append((options, stop_after, folder))
    return name, configurations


def folder_name(options, varying):
    """A readable folder name of one configuration: the values of the `varying` options (those the
    file gives lists of), in the file's order; files by their stem."""
    parts = [Path(str(options[k]).split(":")[0]).stem if k in ("model", "ckpt", "bits", "data", "folding") else str(options[k])
             for k in varying]
    return "-".join(parts).replace("/", "_") or "build"


def build_one(options, stop_after, out_dir):
    """One configuration, in a Ray worker: the normal build, then its figures."""
    import time

    from compiler.flow import BuildConfig, run_build

    start = time.time()
    run_build(BuildConfig(**options, out_dir=out_dir), stop_after=stop_after)
    return {**figures(Path(out_dir)), "seconds": round(time.time() - start, 1)}


def figures(out):
    """What a (maybe partial) build folder says of its design; None where a step did not run."""
    def read(name):
        path = out / name
        return json.loads(path.read_text()) if path.is_file() else {}

    estimates, measured = read("report/estimates.json"), read("rtlsim/performance.json")
    synth, verification = read("report/synth.json").get("totals", {}), read("verification.json")
    totals = estimates.get("totals", {})
    return {"estimated_fps": estimates.get("estimated_fps"), "measured_fps": measured.get("fps"),
            "measured_latency_cycles": measured.get("latency_cycles"),
            **{f"estimated_{r}": totals.get(r) for r in ("LUT", "BRAM36", "DSP")},
            "fits_board": estimates.get("fits_board"),
            **{f"synth_{r}": synth.get(r) for r in ("LUT", "FF", "BRAM36", "DSP")},
            "verified": verification.get("ok"), "accuracy": _test_accuracy(out), "cost_score": _cost_score(out)}


def _test_accuracy(out):
    """PyTorch's accuracy on the test split, from the checkpoint the build trained (None without)."""
    if not (out / "checkpoint.pt").is_file():
        return None
    from models.train import read_checkpoint

    return read_checkpoint(out / "checkpoint.pt").get("metrics", {}).get("overall")


def _cost_score(out):
    """The challenge score of the build's exported model (sparsity-discounted), if it has one."""
    if not (out / "model.qonnx.onnx").is_file():
        return None
    from qonnx.core.modelwrapper import ModelWrapper

    from models.cost import challenge_cost

    return challenge_cost(ModelWrapper(str(out / "model.qonnx.onnx")))["discounted"]["score"]


def run_sweep(path, workers=None, root=SWEEPS_DIR):
    """Every configuration of the sweep file at `path`; the rows of results.json."""
    name, configurations = read_sweep(path)
    where = Path(root) / name
    (where / "builds").mkdir(parents=True, exist_ok=True)
    folders = [f for _, _, f in configurations]
    if len(set(folders)) < len(folders):
        raise UserError(f"SWEEP={path}: two configurations would share a build folder ({folders})")
    rows = {f: {**options, "stop_after": stop_after, "build": str(where / "builds" / f), "status": "not run"}
            for options, stop_after, f in configurations}
    print(f"sweep '{name}': {len(rows)} builds into {where / 'builds'}", flush=True)

    def record(job, result, error):
        row = rows[Path(job[2]).name]
        row.update(result or {**figures(Path(job[2])), "error": " ".join(str(error).split())})
        row["status"] = "failed" if error else "ok"
        _write_results(where, list(rows.values()))

    jobs = [(options, stop_after, str(where / "builds" / f)) for options, stop_after, f in configurations]
    try:
        with ray_session(workers) as ray:
            run_tasks(ray, build_one, jobs, record, lambda job: Path(job[2]).name)
    finally:
        _write_results(where, list(rows.values()))
    failed = [r for r in rows.values() if r["status"] == "failed"]
    print(f"sweep '{name}': {len(rows) - len(failed)} of {len(rows)} builds done"
          + (f", {len(failed)} failed" if failed else "") + f"; {where / 'results.csv'}")
    return list(rows.values())


def _write_results(where, rows):
    write_json(rows, where / "results.json")
    options = [k for k in rows[0] if k not in COLUMNS]
    with open(where / "results.csv.tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, [*options, *COLUMNS], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (where / "results.csv.tmp").replace(where / "results.csv")
    _pareto_plot(where, rows)


def pareto_front(points):
    """Indices of the (fps, LUT) points no other point beats on both (higher fps, fewer LUT)."""
    return [i for i, (fps, lut) in enumerate(points)
            if not any(f >= fps and l <= lut and (f, l) != (fps, lut) for f, l in points)]


def _pareto_plot(where, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r.get("estimated_fps") and r.get("estimated_LUT")]
    if not done:
        return
    points = [(r["estimated_fps"], r["estimated_LUT"]) for r in done]
    front = sorted((points[i] for i in pareto_front(points)), key=lambda p: p[1])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([p[1] for p in points], [p[0] for p in points], label="builds")
    ax.plot([p[1] for p in front], [p[0] for p in front], "r--", label="Pareto front")
    ax.set_xlabel("LUT (estimated)")
    ax.set_ylabel("frames/s (estimated)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(where / "pareto.png")
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m compiler.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", help="the sweep file (YAML or JSON)")
    parser.add_argument("--workers", default=None, help="local Ray workers (default: one per core)")
    parser.add_argument("--root", default=str(SWEEPS_DIR), help="where sweeps go (default sweeps/)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    return run_cli(lambda: run_sweep(args.sweep, args.workers or None, args.root) and 0, args.verbose, "compiler.sweep")


if __name__ == "__main__":
    sys.exit(main())
