"""A build folder never lies: steps are trusted only while the files they wrote are intact, a rerun
sets the old design's artefacts aside, status.json says what happened (failure, Ctrl-C, SIGTERM,
SIGKILL), and one build at a time holds the folder.

The slow tests share the tiny build of test_board_project (built once per session) and work on
copies of it; the builds they start use the same configuration, so only what a test damages reruns."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler.buildfolder import BuildFolder, BuildFolderError, FileHashes, load_graph
from compiler.fileio import replace_dir
from compiler.flow import STEPS, BuildConfig, BuildError, run_build
from models import radioml
from test_board_project import tiny_build_dir

ROOT = Path(__file__).resolve().parents[1]
TARGET_FPS = 1000               # the shared tiny build's
STEP_NAMES = [s.name for s in STEPS]
DESIGN = ["report", "hls", "cppsim", "verification.json", "driver", "vivado"]     # artefacts after folding


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    return tiny_build_dir(tmp_path_factory)


def copy_of(tiny_build, tmp_path):
    out = tmp_path / "build"
    shutil.copytree(tiny_build, out)
    return out


def build(out, stop_after=None, **overrides):
    config = {"model": "tiny", "board": "pynq-z2", "out_dir": out, "target_fps": TARGET_FPS, **overrides}
    return run_build(BuildConfig(**config), stop_after)


def last_run(out):
    """build.log of the last run."""
    return (out / "build.log").read_text().split("building tiny")[-1]


def status(out):
    return json.loads((out / "status.json").read_text())


def verified(out):
    return json.loads((out / "verification.json").read_text())["ok"]


def start_build(out, compile_cppsim=False):
    """`python -m compiler build` of the tiny build into `out`, in its own process group; with
    compile_cppsim, empty caches, so that g++ runs and can be killed (the build is killed before
    anything else would use them)."""
    env = {**os.environ, **({"DFA_CACHE_DIR": str(out.parent / "cache")} if compile_cppsim else {})}
    # Ctrl-C as at a terminal even when the tests run in the background, where SIGINT is inherited ignored
    return subprocess.Popen([sys.executable, "-m", "compiler", "build", "--model", "tiny", "--target-fps",
                             str(TARGET_FPS), "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(out, text, after, timeout=300):
    """Wait until build.log, past offset `after`, says `text`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in (out / "build.log").read_text()[after:]:
            return
        time.sleep(0.1)
    raise AssertionError(f"build.log never said {text!r}")


def truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def add_error(path):
    path.write_text(path.read_text() + "\n#error damaged\n")


# ----------------------------------------------------------------------------------------- unit

def test_content_hashes_see_a_replaced_file_with_the_same_size_and_mtime(tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"a" * 1000)
    hashes = FileHashes(tmp_path, {})
    first = hashes(data)
    hashes.cache["data.bin"][3] = "cached"          # an unchanged file is not read again
    assert hashes(data) == "cached"
    stat = data.stat()
    data.write_bytes(b"b" * 1000)
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert hashes(data) not in (first, "cached")
    assert hashes(tmp_path / "missing") is None


def test_the_lock_names_its_holder_and_a_dead_holders_lock_is_taken_over(tmp_path):
    with BuildFolder(tmp_path).locked() as previous:
        assert previous is None
        with pytest.raises(BuildFolderError, match=rf"in use by another build \(PID {os.getpid()}, started 20"):
            with BuildFolder(tmp_path).locked():
                pass
    assert (tmp_path / "build.lock").read_text() == ""          # released on purpose
    # A killed build's record stays in the file, but the kernel has released its flock.
    (tmp_path / "build.lock").write_text(json.dumps({"pid": 999999, "started": "2026-01-01 00:00:00"}))
    (tmp_path / ".cppsim.x1y2.tmp").write_text("half a binary")
    with BuildFolder(tmp_path).locked() as previous:
        assert previous == {"pid": 999999, "started": "2026-01-01 00:00:00"}
    assert not (tmp_path / ".cppsim.x1y2.tmp").exists()


def test_two_writers_of_one_folder_never_share_a_temporary(tmp_path):
    with replace_dir(tmp_path / "hls") as first, replace_dir(tmp_path / "hls") as second:
        assert first != second and first.parent == second.parent == tmp_path
        (first / "first").write_text("1")
        (second / "second").write_text("2")
    assert [p.name for p in (tmp_path / "hls").iterdir()] == ["first"]      # the last to complete wins
    assert [p.name for p in tmp_path.iterdir()] == ["hls"]


# --------------------------------------------------------------------------------- damaged files

@pytest.mark.slow
@pytest.mark.parametrize("step, name, damage", [
    ("streamline", "steps/04_streamline.onnx", truncate),
    ("hls_codegen", "hls/layers/MVAU_hls_0.cpp", add_error),
    ("cppsim", "cppsim/cppsim", truncate),
    ("verify", "verification.json", truncate),
    ("train", "checkpoint.pt", Path.unlink),
])
def test_a_damaged_artefact_is_named_and_redone(tiny_build, tmp_path, step, name, damage):
    out = copy_of(tiny_build, tmp_path)
    damage(out / name)
    build(out)
    log = last_run(out)
    what = "is missing" if damage is Path.unlink else "changed since it was written"
    assert f"[{step}] running ({name} {what})" in log
    index = STEP_NAMES.index(step)
    assert all(f"[{s}] up to date" in log for s in STEP_NAMES[:index])
    assert all(f"[{s}] running" in log for s in STEP_NAMES[index:])      # what depends on it is redone too
    assert status(out) == {"status": "complete"} and verified(out)
    assert b"#error" not in (out / name).read_bytes() and (out / name).stat().st_size > 100
    build(out)
    assert last_run(out).count("up to date, skipped") == len(STEPS)


@pytest.mark.slow
def test_data_replaced_at_the_same_path_is_noticed(tiny_build, tmp_path):
    out = copy_of(tiny_build, tmp_path)
    data = radioml.synthesize(tmp_path / "data.hdf5", frames_per_pair=4, length=64, seed=1)
    build(out, data=data, stop_after="train")
    assert "[train] running (its inputs changed)" in last_run(out)
    stat = data.stat()
    radioml.synthesize(data, frames_per_pair=4, length=64, seed=2)      # other frames, same size and mtime
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data.stat().st_size == stat.st_size
    build(out, data=data, stop_after="train")
    assert "[train] running (its inputs changed)" in last_run(out)
    build(out, data=data, stop_after="train")
    assert "[train] up to date" in last_run(out)
    assert status(out) == {"status": "stopped after train"}


@pytest.mark.slow
def test_a_failed_rerun_leaves_no_artefact_of_the_old_design(tiny_build, tmp_path):
    out = copy_of(tiny_build, tmp_path)
    edited = json.loads((out / "folding.json").read_text())
    edited["MVAU_hls_0"]["PE"] = True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(edited))
    with pytest.raises(BuildError, match=r"(?s)step 'folding' failed: .*MVAU_hls_0 \(MVAU_hls\): PE=true has the wrong "
                                         r"type: expected an integer"):
        build(out, folding=bad, target_fps=None)
    assert status(out)["status"] == "failed" and status(out)["step"] == "folding"
    for name in DESIGN + ["steps/08_folding.onnx", "steps/09_minimize_bit_widths.onnx"]:
        assert not (out / name).exists() and (out / "stale" / name).exists(), name
    assert (out / "folding.json").exists()              # the users' file: never moved
    with pytest.raises(BuildFolderError, match="holds no graph of a completed 'folding' step"):
        load_graph(out, "folding")
    build(out)
    log = last_run(out)
    assert "[specialize_layers] up to date" in log and "[folding] running (its last run did not finish)" in log
    assert status(out) == {"status": "complete"} and verified(out)


# ------------------------------------------------------------------------------ signals and locks

@pytest.mark.slow
def test_ctrl_c_in_training_is_recorded_and_the_rerun_resumes(tiny_build, tmp_path):
    out = copy_of(tiny_build, tmp_path)
    (out / "checkpoint.pt").unlink()
    after = (out / "build.log").stat().st_size
    process = start_build(out)
    wait_for(out, "recipe 'quick'", after)          # inside the training loop
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and err.rstrip().endswith("interrupted") and "Traceback" not in err
    assert status(out) == {"status": "interrupted", "step": "train", "signal": "SIGINT (Ctrl-C)"}
    assert (out / "build.lock").read_text() == ""
    for name in DESIGN + ["model.qonnx.onnx", "folding.json"]:       # all built on the old weights
        assert (out / name).exists() == (name == "folding.json"), name

    build(out)
    assert "[train] running (its last run did not finish)" in last_run(out)
    assert status(out) == {"status": "complete"} and verified(out)


@pytest.mark.slow
def test_sigkill_in_cppsim_then_the_rerun_takes_over_and_resumes(tiny_build, tmp_path):
    out = copy_of(tiny_build, tmp_path)
    truncate(out / "cppsim" / "cppsim")
    after = (out / "build.log").stat().st_size
    process = start_build(out, compile_cppsim=True)
    wait_for(out, "compiling cppsim", after)
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)          # the build and its g++
    process.communicate(timeout=60)
    # Nothing could record the kill: the status and the lock still name the dead build.
    assert status(out)["status"] == "running" and status(out)["step"] == "cppsim"
    assert json.loads((out / "build.lock").read_text())["pid"] == process.pid == status(out)["pid"]
    assert not (out / "verification.json").exists()             # set aside when cppsim started

    build(out)
    log = last_run(out)
    assert f"build PID {process.pid} (started " in (out / "build.log").read_text()[after:]
    assert "[hls_codegen] up to date" in log and "[cppsim] running (its last run did not finish)" in log
    assert status(out) == {"status": "complete"} and verified(out)
    assert not list(out.rglob(".*.tmp"))


@pytest.mark.slow
def test_sigterm_is_recorded_like_ctrl_c(tiny_build, tmp_path):
    out = copy_of(tiny_build, tmp_path)
    truncate(out / "cppsim" / "cppsim")
    after = (out / "build.log").stat().st_size
    process = start_build(out, compile_cppsim=True)
    wait_for(out, "compiling cppsim", after)
    process.terminate()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert status(out) == {"status": "interrupted", "step": "cppsim", "signal": "SIGTERM"}
    assert "[cppsim] interrupted by SIGTERM" in last_run(out)
    assert (out / "build.lock").read_text() == "" and not list(out.rglob(".*.tmp"))
    assert not (out / "verification.json").exists() and (out / "stale" / "verification.json").exists()


@pytest.mark.slow
def test_a_second_build_into_a_busy_folder_fails_at_once_naming_the_first(tiny_build, tmp_path):
    out = copy_of(tiny_build, tmp_path)
    (out / "checkpoint.pt").unlink()                # the first build trains: it runs long enough
    after = (out / "build.log").stat().st_size
    first = start_build(out)
    wait_for(out, "[train] running", after)
    second = subprocess.run([sys.executable, "-m", "compiler", "build", "--model", "tiny", "--target-fps",
                             str(TARGET_FPS), "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert first.poll() is None, "the first build is still running"
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert f"{out} is in use by another build (PID {first.pid}, started 20" in second.stderr
    assert status(out)["status"] == "running" and status(out)["pid"] == first.pid      # untouched by the second
    first.communicate(timeout=600)
    assert first.returncode == 0 and status(out) == {"status": "complete"} and verified(out)
