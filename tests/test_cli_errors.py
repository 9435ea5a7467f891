"""Every input that is the user's fault ends the command with a message that names the input and what
was expected, without a traceback; every command-line value is checked before any work. A bug says it
is one, in one line, with its traceback in the build log.

The command lines: python -m compiler build / folding, models.train / evaluate / prune / cost, and the
build's PYNQ driver. The slow tests share the tiny build of test_board_project."""
import json
import os
import random
import shutil
import subprocess
import sys

import pytest
import torch

import compiler.flow
from compiler.__main__ import main as cli
from compiler.buildfolder import BuildFolder
from models import cost, evaluate, prune, train
from models.registry import get
from tests.nets.common import untrained_tiny
from test_board_project import tiny_build_dir

BUILD = ["build", "--model", "tiny"]


def errors(capsys):
    """stderr of the command, after checking that it holds no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def status(out):
    return json.loads((out / "status.json").read_text())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Broken and odd input files."""
    tmp = tmp_path_factory.mktemp("inputs")
    (tmp / "random.bin").write_bytes(random.Random(0).randbytes(4096))   # the same bytes every run
    (tmp / "empty.onnx").write_bytes(b"")
    shutil.copy(tmp / "random.bin", tmp / "random.onnx")
    (tmp / "int.py").write_text("def make():\n    return 3\n")
    (tmp / "raises.py").write_text("import no_such_module\n")
    (tmp / "shape.py").write_text("import torch\n\nclass Net(torch.nn.Module):\n    def forward(self, x):\n"
                                  "        return x.reshape(3, -1)\n\ndef make():\n    return Net(), (2, 64)\n")
    (tmp / "folding.json").write_text("{}")
    train.save_checkpoint(tmp / "tiny.pt", get("tiny"), untrained_tiny(), {})
    (tmp / "truncated.pt").write_bytes((tmp / "tiny.pt").read_bytes()[:1000])
    torch.save({"model": "vgg10", "state_dict": {}}, tmp / "vgg10.pt")
    torch.save({"model": "tiny", "state_dict": {"conv.weight": torch.zeros(1)}}, tmp / "misfit.pt")
    return tmp


# ----------------------------------------------------------------------------- build: values

@pytest.mark.parametrize("args, expected", [
    (["--clock-mhz", "-100"], "CLOCK_MHZ=-100 is out of range: give a number > 0 and at most 250 MHz (Pynq-Z2's"),
    (["--clock-mhz", "0"], "CLOCK_MHZ=0 is out of range"),
    (["--clock-mhz", "300"], "at most 250 MHz"),
    (["--board", "zcu104", "--clock-mhz", "600"], "CLOCK_MHZ=600 is out of range: give a number > 0 and at most 500"),
    (["--clock-mhz", "fast"], "CLOCK_MHZ='fast' is not a number"),
    (["--target-fps", "0"], "TARGET_FPS=0 is out of range: give a number > 0, or max"),
    (["--target-fps=-5"], "TARGET_FPS=-5 is out of range"),
    (["--target-fps", "nan"], "TARGET_FPS=nan is out of range"),
    (["--target-fps", "inf"], "TARGET_FPS=inf is out of range"),
    (["--max-resources", "LUT=200%"], "MAX_RESOURCES=LUT=200%: LUT=106400 is more than the 53200 of Pynq-Z2"),
    (["--max-resources", "DSP=1000"], "DSP=1000 is more than the 220 of Pynq-Z2"),
    (["--max-resources", "FOO=3"], "RESOURCE one of LUT, BRAM36, URAM, DSP"),
    (["--max-resources", "LUT=nan"], "PERCENT% (0-100 %)"),
    (["--max-resources", "LUT=-5%"], "MAX_RESOURCES=LUT=-5%: expected RESOURCE=COUNT"),
    (["--frames", "0"], "FRAMES=0 is out of range: give 1 or more"),
    (["--frames=-1"], "FRAMES=-1 is out of range"),
    (["--frames", "1.5"], "FRAMES='1.5' is not a whole number"),
    (["--synth-timeout", "0"], "SYNTH_TIMEOUT=0 is out of range: give 1 or more"),
    (["--input-phases", "two"], "INPUT_PHASES='two' is not a whole number"),
    (["--input-shape=-2,64"], "INPUT_SHAPE '-2,64': expected the shape of one frame as positive integers"),
    (["--input-shape", "2,a"], "INPUT_SHAPE '2,a'"),
    (["--board", "pynq-z9"], "unknown board 'pynq-z9'; known boards: kv260, pynq-z1, pynq-z2"),
    (["--stop-after", "synthesis"], "unknown step 'synthesis'; the steps are: train, export"),
    (["--folding-strategy", "greedy"], "unknown folding strategy 'greedy'; the strategies are: optimize, setfolding"),
    (["--folding", "{files}/folding.json", "--target-fps", "100"], "give either FOLDING"),
    (["--folding", "{files}/missing.json"], "FOLDING={files}/missing.json: file not found"),
    (["--data", "{files}/missing.hdf5"], "DATA={files}/missing.hdf5: file not found"),
    (["--ckpt", "{files}/missing.pt"], "CKPT={files}/missing.pt: file not found"),
    (["--out", "/dev/null/build"], "OUT=/dev/null/build: cannot write into /dev/null/build (Not a directory)"),
])
def test_a_bad_value_fails_before_any_work(args, expected, files, tmp_path, capsys):
    out = tmp_path / "build"
    args = [arg.format(files=files) for arg in args]
    assert cli([*BUILD, "--out", str(out), *args]) == 1
    err = errors(capsys)
    assert expected.format(files=files) in err and len(err.splitlines()) == 1
    assert not out.exists()                   # nothing done, nothing written


def test_a_bad_value_leaves_a_build_folder_as_it_was(tmp_path, capsys):
    out = tmp_path / "build"
    out.mkdir()
    (out / "status.json").write_text('{"status": "complete"}\n')
    assert cli([*BUILD, "--out", str(out), "--clock-mhz", "-100"]) == 1
    assert "CLOCK_MHZ" in errors(capsys)
    assert os.listdir(out) == ["status.json"] and status(out) == {"status": "complete"}


# ----------------------------------------------------------------------------- build: inputs

@pytest.mark.parametrize("args, expected", [
    (["--model", "{files}/random.onnx"], "MODEL={files}/random.onnx is not an ONNX model: it cannot be parsed"),
    (["--model", "{files}/empty.onnx"], "MODEL={files}/empty.onnx is not an ONNX model: it has no graph"),
    (["--model", "{files}/missing.onnx"], "MODEL={files}/missing.onnx: model file not found"),
    (["--model", "{files}/int.py:make"], "make() returned int; expected a Brevitas module (torch.nn.Module)"),
    (["--model", "{files}/raises.py:make"],
     "running {files}/raises.py raised ModuleNotFoundError: No module named 'no_such_module' (line 1)"),
    (["--model", "{files}/int.py:build"], "{files}/int.py has no function 'build'"),
    (["--model", "{files}/missing.py:make"], "model file {files}/missing.py not found"),
    (["--model", "{files}/shape.py:make"], "the module does not take a frame of shape 2,64 (its declared input shape)"),
    (["--model", "{files}/shape.py:make", "--input-shape", "2,32"], "INPUT_SHAPE=2,32 contradicts"),
    (["--model", "vgg11"], "unknown model 'vgg11'; known models: aaronnet32"),
    (["--input-shape", "2,128"], "INPUT_SHAPE=2,128 contradicts model 'tiny', which takes frames of shape 2,64"),
    (["--frames", "100000"], "FRAMES=100000 is more than the 1248 frames of the test split of"),
    (["--data", "{files}/random.bin"], "{files}/random.bin is not a readable HDF5 file"),
    (["--ckpt", "{files}/random.bin"], "checkpoint {files}/random.bin cannot be read: it is not a file "
                                       "torch.save wrote of tensors and plain values"),
    (["--ckpt", "{files}/truncated.pt"], "checkpoint {files}/truncated.pt cannot be read"),
    (["--ckpt", "{files}/vgg10.pt"], "checkpoint {files}/vgg10.pt holds model 'vgg10', not 'tiny'"),
    (["--ckpt", "{files}/misfit.pt"], "checkpoint {files}/misfit.pt does not fit model 'tiny': Error(s) in loading"),
])
def test_a_bad_input_fails_before_the_first_step_and_says_so(args, expected, files, tmp_path, capsys):
    out = tmp_path / "build"
    args = [arg.format(files=files) for arg in args]
    assert cli([*BUILD, "--out", str(out), *args]) == 1
    expected = expected.format(files=files)
    err = errors(capsys)
    assert expected in err and "weights_only" not in err
    assert status(out)["status"] == "failed" and status(out)["step"] is None and expected in status(out)["error"]
    failed = [line for line in (out / "build.log").read_text().splitlines() if "FAILED before the first step" in line]
    assert len(failed) == 1 and expected in failed[0]
    assert (out / "build.lock").read_text() == ""


def test_an_internal_error_is_one_line_naming_the_log(tmp_path, capsys, monkeypatch):
    def broken(config):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(compiler.flow, "load_source", broken)
    out = tmp_path / "build"
    assert cli([*BUILD, "--out", str(out)]) == 2
    err = errors(capsys)
    assert err.splitlines()[-1] == (f"internal error (a bug, not a problem with the input): ZeroDivisionError: "
                                    f"division by zero; the traceback is in {out}/build.log (-v, or make V=1, "
                                    "prints it)")
    assert "Traceback" in (out / "build.log").read_text() and "in broken" in (out / "build.log").read_text()
    assert status(out) == {"status": "failed", "step": None,
                           "error": "internal error (a bug): ZeroDivisionError: division by zero"}
    assert cli([*BUILD, "--out", str(out), "-v"]) == 2
    assert "Traceback" in capsys.readouterr().err


# ------------------------------------------------------------------------ training, evaluation, cost

@pytest.mark.parametrize("args, expected", [
    (["--out", "/dev/null/x.pt"], "OUT=/dev/null/x.pt: /dev/null is not a folder"),
    (["--epochs", "0"], "--epochs=0 is out of range: give 1 or more"),
    (["--batch-size", "1"], "--batch-size=1 is out of range: give 2 or more"),
    (["--max-batches", "-1"], "--max-batches=-1 is out of range: give 0 or more"),
    (["--lr", "nan"], "--lr=nan is out of range: give a number > 0"),
    (["--seed", "x"], "--seed='x' is not a whole number"),
    (["--data", "{files}/missing.hdf5"], "RadioML file {files}/missing.hdf5 not found"),
    (["--data", "{files}/random.bin"], "{files}/random.bin is not a readable HDF5 file"),
    (["--model", "vggtiny"], "read only RadioML 2018.01A files"),
])
def test_train_checks_its_inputs_before_training(args, expected, files, tmp_path, capsys):
    args = [arg.format(files=files) for arg in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "x.pt")]
    model = [] if "--model" in args else ["--model", "tiny"]
    assert train.main([*model, *out, *args]) == 1
    captured = capsys.readouterr()
    assert expected.format(files=files) in captured.err and "Traceback" not in captured.err
    assert "epoch" not in captured.out and not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("args, expected", [
    (["--ckpt", "{files}/missing.pt"], "checkpoint {files}/missing.pt not found: train it first (make train"),
    (["--ckpt", "{files}/random.bin"], "checkpoint {files}/random.bin cannot be read"),
    (["--ckpt", "{files}/tiny.pt", "--out", "/dev/null/eval"], "OUT=/dev/null/eval: cannot write into /dev/null/eval"),
    (["--ckpt", "{files}/tiny.pt", "--data", "{files}/random.bin"], "{files}/random.bin is not a readable HDF5 file"),
])
def test_evaluate_names_the_bad_input(args, expected, files, tmp_path, capsys):
    args = [arg.format(files=files) for arg in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "eval")]
    assert evaluate.main(["--model", "tiny", *args, *out]) == 1
    assert expected.format(files=files) in errors(capsys)


@pytest.mark.parametrize("args, expected", [
    (["--schedule", "bacalhau", "--steps", "0"], "STEPS=0 is out of range: give 1 or more"),
    (["--schedule", "bacalhau", "--steps", "4"], "schedule 'bacalhau' takes 1..3 steps, not 4"),
    (["--schedule", "aaronnet", "--ckpt", "{files}/missing.pt"], "checkpoint {files}/missing.pt not found"),
    (["--schedule", "aaronnet", "--ckpt", "{files}/tiny.pt", "--out", "/dev/null/x.pt"],
     "OUT=/dev/null/x.pt: /dev/null is not a folder"),
])
def test_prune_checks_its_inputs_before_fine_tuning(args, expected, files, capsys):
    assert prune.main(["--model", "tiny", *[arg.format(files=files) for arg in args]]) == 1
    captured = capsys.readouterr()
    assert expected.format(files=files) in captured.err and "Traceback" not in captured.err
    assert "epoch" not in captured.out


@pytest.mark.parametrize("args, expected", [
    (["--model", "tiny", "--out", "/dev/null/x.json"], "OUT=/dev/null/x.json: /dev/null is not a folder"),
    (["--model", "{files}/random.onnx"], "MODEL={files}/random.onnx is not an ONNX model"),
    (["--model", "{files}/int.py:make"], "make() returned int"),
    (["--model", "tiny", "--ckpt", "{files}/random.bin"], "checkpoint {files}/random.bin cannot be read"),
    (["--model", "{files}/shape.py:make", "--input-shape=-1"], "INPUT_SHAPE '-1': expected"),
])
def test_cost_names_the_bad_input(args, expected, files, tmp_path, capsys):
    args = [arg.format(files=files) for arg in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "cost.json")]
    assert cost.main([*args, *out]) == 1
    assert expected.format(files=files) in errors(capsys)


# ----------------------------------------------------------------------------------- folding

def test_folding_commands_name_a_folder_that_is_no_build(tmp_path, capsys):
    assert cli(["folding", "show", str(tmp_path)]) == 1
    assert f"{tmp_path} is not a build folder that reached the folding step" in errors(capsys)
    assert cli(["folding", "set", str(tmp_path), "MVAU_hls_0"]) == 1
    assert "usage: python -m compiler folding set BUILD_DIR NODE ATTR=VALUE" in errors(capsys)


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    return tiny_build_dir(tmp_path_factory)


@pytest.mark.slow
def test_folding_set_rejects_a_boolean_and_waits_for_no_build(tiny_build, tmp_path, capsys):
    out = tmp_path / "build"
    shutil.copytree(tiny_build, out)
    before = (out / "folding.json").read_text()
    assert cli(["folding", "set", str(out), "MVAU_hls_0", "PE=true"]) == 1
    assert 'MVAU_hls_0 (MVAU_hls): PE="true" has the wrong type: expected an integer' in errors(capsys)
    with BuildFolder(out).locked():                  # as a running build holds it
        assert cli(["folding", "set", str(out), "MVAU_hls_0", "PE=1"]) == 1
        assert f"{out} is in use by another build (PID {os.getpid()}" in errors(capsys)
    assert (out / "folding.json").read_text() == before

    (out / "steps" / "08_folding.onnx").write_bytes(b"")
    assert cli(["folding", "show", str(out)]) == 1
    assert f"{out}/steps/08_folding.onnx changed since the build wrote it" in errors(capsys)


# ------------------------------------------------------------------------------------ driver

@pytest.mark.slow
@pytest.mark.parametrize("args, expected", [
    (["--exec_mode", "throughput_test", "--batchsize", "0"], "--batchsize 0: give a whole number of frames"),
    (["--exec_mode", "throughput_test", "--batchsize", "-1"], "--batchsize -1: give a whole number of frames"),
    (["--exec_mode", "validate", "--limit", "0"], "--limit 0: give 1 or more frames"),
    (["--exec_mode", "execute", "--inputfile", "{tmp}/missing.npy"], "--inputfile {tmp}/missing.npy: not a readable"),
    (["--exec_mode", "execute", "--inputfile", "{tmp}/x.npy", "--outputfile", "{tmp}/no/such/dir/y.npy"],
     "--outputfile {tmp}/no/such/dir/y.npy: cannot write there"),
    (["--exec_mode", "throughput_test", "--metricsfile", "/dev/null/m.json"], "--metricsfile /dev/null/m.json: cannot"),
])
def test_the_driver_names_the_bad_argument(tiny_build, tmp_path, args, expected):
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((1, 2, 64), np.float32))
    result = subprocess.run([sys.executable, "driver.py", "--platform", "sim",
                             *[arg.format(tmp=tmp_path) for arg in args]],
                            cwd=tiny_build / "driver", capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert expected.format(tmp=tmp_path) in result.stderr


@pytest.mark.slow
def test_the_driver_outside_a_driver_folder_says_where_to_run_it(tiny_build, tmp_path):
    shutil.copy(tiny_build / "driver" / "driver.py", tmp_path)
    shutil.copy(tiny_build / "driver" / "accelerator.py", tmp_path)
    result = subprocess.run([sys.executable, "driver.py", "--platform", "sim", "--exec_mode", "throughput_test"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "holds no accel_config.json: run the driver in the build's driver/ folder" in result.stderr


# ------------------------------------------------------------------ dfa and CONFIG=

def test_dfa_names_its_commands(capsys):
    from compiler import cli as dfa

    assert dfa.main(["synthesize"]) == 2
    assert "unknown command 'synthesize'; the commands are: build, rtlsim" in errors(capsys)
    assert dfa.main(["boards"]) == 0 and "pynq-z2" in capsys.readouterr().out


def test_build_config_file_round_trips_and_names_unknown_options(tmp_path, capsys):
    config = compiler.flow.BuildConfig(model="tiny", board="ultra96", target_fps="max", frames=4,
                                       out_dir=tmp_path / "b", fifo_sizing=False, synth="0")
    path = tmp_path / "build_config.json"
    path.write_text(json.dumps(config.as_file()))
    again = compiler.flow.BuildConfig(**compiler.flow.read_config_file(path))
    assert again.as_file() == config.as_file()
    (tmp_path / "bad.yaml").write_text("model: tiny\nbord: ultra96\n")
    assert cli([*BUILD, "--config", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "x")]) == 1
    err = errors(capsys)
    assert "unknown option bord; the options are model, board," in err
    assert not (tmp_path / "x").exists()


def test_command_line_options_win_over_the_config_file(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(compiler.flow, "run_build", lambda config, stop_after: seen.update(config.as_file()))
    (tmp_path / "c.yaml").write_text("model: tiny\nboard: ultra96\nframes: 4\n")
    assert cli(["build", "--config", str(tmp_path / "c.yaml"), "--board", "pynq-z1"]) == 0
    assert (seen["model"], seen["board"], seen["frames"]) == ("tiny", "pynq-z1", 4)
