"""Sweeps and whole-test-split verification on a local Ray with 2 CPUs (compiler/sweep.py,
compiler/dataset.py): the same results as running the builds or the simulation in one process."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from compiler import dataset, sweep
from compiler.flow import BuildConfig, run_build, simulate_test_frames
from models.errors import UserError
from models.train import save_checkpoint
from models.registry import get
from tests.nets.common import untrained_tiny
from test_board_project import tiny_build_dir

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """Weights for every build of the sweeps here, so that none trains."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, get("tiny"), untrained_tiny(), {})
    return path


def _sweep_file(path, checkpoint, boards):
    path.write_text(f"name: grid\nmodel: tiny\nckpt: {checkpoint}\nboard: [{', '.join(boards)}]\n"
                    "fifo_sizing: false\nstop_after: estimate\n")
    return path


def _without_run_facts(row):
    return {k: v for k, v in row.items() if k not in ("seconds", "build", "status", "error")}


def test_sweep_equals_the_builds_one_by_one_and_reports_a_failure(tmp_path, tiny_checkpoint):
    boards = ["pynq-z2", "ultra96", "kv260", "no-such-board"]
    rows = sweep.run_sweep(_sweep_file(tmp_path / "grid.yaml", tiny_checkpoint, boards), workers=2,
                           root=tmp_path / "sweeps")
    by_board = {r["board"]: r for r in rows}
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "failed"]
    assert "unknown board 'no-such-board'" in by_board["no-such-board"]["error"]
    for board in boards[:3]:
        out = tmp_path / "alone" / board
        run_build(BuildConfig(model="tiny", ckpt=tiny_checkpoint, board=board, out_dir=out, fifo_sizing=False),
                  stop_after="estimate")
        alone = {"model": "tiny", "ckpt": str(tiny_checkpoint), "board": board, "fifo_sizing": False,
                 "stop_after": "estimate", **sweep.figures(out)}
        assert _without_run_facts(by_board[board]) == alone
    assert by_board["ultra96"]["estimated_fps"] > by_board["pynq-z2"]["estimated_fps"]    # a faster clock
    table = (tmp_path / "sweeps" / "grid" / "results.csv").read_text().splitlines()
    assert len(table) == 5 and table[0].startswith("model,ckpt,board,fifo_sizing,stop_after,build,status,error")
    assert (tmp_path / "sweeps" / "grid" / "pareto.png").stat().st_size > 0


def test_a_killed_sweep_resumes(tmp_path, tiny_checkpoint):
    grid = _sweep_file(tmp_path / "grid.yaml", tiny_checkpoint, ["pynq-z2", "ultra96", "kv260"])
    results = tmp_path / "sweeps" / "grid" / "results.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "compiler.sweep", str(grid), "--workers", "1",
                                "--root", str(tmp_path / "sweeps")], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and not (results.is_file() and any(
            r["status"] == "ok" for r in json.loads(results.read_text()))):
        time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)          # the sweep, its Ray and the running build at once
    process.wait()
    first = [r for r in json.loads(results.read_text()) if r["status"] == "ok"]
    assert first and len(first) < 3
    rows = sweep.run_sweep(grid, workers=2, root=tmp_path / "sweeps")
    assert [r["status"] for r in rows] == ["ok", "ok", "ok"]
    runs = (Path(first[0]["build"]) / "build.log").read_text().split("build complete")
    assert "[estimate] up to date, skipped" in runs[-2]          # the finished build was not redone
    assert Path(first[0]["build"]).name in ("pynq-z2", "ultra96", "kv260")


def test_sweep_file_errors_name_the_option(tmp_path):
    (tmp_path / "bad.yaml").write_text("model: tiny\nbords: [pynq-z2]\n")
    with pytest.raises(UserError, match="unknown option bords; the options are model, board"):
        sweep.read_sweep(tmp_path / "bad.yaml")
    (tmp_path / "step.yaml").write_text("model: tiny\nstop_after: synthesis\n")
    with pytest.raises(UserError, match="stop_after=synthesis is not a step"):
        sweep.read_sweep(tmp_path / "step.yaml")


def test_pareto_front():
    points = [(100, 10), (200, 20), (150, 30), (50, 5), (200, 25)]
    assert sweep.pareto_front(points) == [0, 1, 3]


def test_sharded_verification_equals_one_process_frame_for_frame(tmp_path_factory):
    out = tiny_build_dir(tmp_path_factory)
    frames = 60
    result = dataset.verify_dataset(out, shards=3, workers=2, frames=frames)
    config = BuildConfig(**{**json.loads((out / "build_config.json").read_text()), "out_dir": out})
    alone = simulate_test_frames(config, 0, frames)
    assert result["frames"] == frames and result["shards"] == 3
    hardware_hits = float(np.mean(alone["hardware"] == alone["labels"]))
    assert result["hardware"]["overall"] == pytest.approx(hardware_hits)
    differ = alone["hardware"] != alone["pytorch"]
    assert result["disagreeing_indices"] == np.flatnonzero(differ & ~alone["tied"]).tolist()
    assert result["tie_broken_indices"] == np.flatnonzero(differ & alone["tied"]).tolist()
    shards = sorted((out / "dataset").glob("cppsim-*/shard_*.npz"))
    assert len(shards) == 3
    merged = np.concatenate([np.load(s)["hardware"] for s in sorted(shards, key=lambda p: int(p.stem.split("_")[1]))])
    np.testing.assert_array_equal(merged, alone["hardware"])
    before = {s: s.stat().st_mtime_ns for s in shards}
    shards[0].unlink()
    dataset.verify_dataset(out, shards=3, workers=2, frames=frames)          # redoes only the missing shard
    assert all(s.stat().st_mtime_ns == before[s] for s in shards[1:]) and shards[0].is_file()


def test_shards_cover_every_frame_once():
    for frames, shards in ((10, 3), (7, 7), (5, 9), (1000, 4)):
        bounds = dataset.shard_bounds(frames, shards)
        covered = [i for a, b in bounds for i in range(a, b)]
        assert covered == list(range(frames)) and len(bounds) == min(shards, frames)
