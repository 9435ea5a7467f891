"""The PYNQ driver of a build: bit-exact packing, the host ops in numpy, and execute / throughput_test /
validate on the sim platform (the build's cppsim) against PyTorch and the build's verification; the
board platform against a stand-in for pynq."""
import json
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from qonnx.custom_op.general.multithreshold import multithreshold as qonnx_multithreshold

from compiler import verify
from compiler.driver.runtime.accelerator import (Accelerator, DriverError, StreamFormat, multithreshold,
                                                 topk_indices)
from compiler.buildfolder import load_graph
from compiler.flow import BuildConfig
from models.sources import load_source
from models import radioml
from test_board_project import tiny_build_dir

pytestmark = pytest.mark.slow

FINN_METRICS = ["runtime[ms]", "throughput[images/s]", "DRAM_in_bandwidth[MB/s]", "DRAM_out_bandwidth[MB/s]",
                "fclk[mhz]", "batch_size", "fold_input[ms]", "pack_input[ms]", "copy_input_data_to_device[ms]",
                "copy_output_data_from_device[ms]", "unpack_output[ms]", "unfold_output[ms]"]


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    return tiny_build_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def frames(tiny_build):
    """The build's verification frames (RadioML test split, seeded subset) with labels and SNRs."""
    return radioml.load(radioml.ensure_synthetic(), "test", limit=16, length=64)


def driver(tiny_build, *args):
    result = subprocess.run([sys.executable, "driver.py", "--platform", "sim", *args], cwd=tiny_build / "driver",
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


# ---------------------------------------------------------------------------------------------- packing

def fmt(bits, lanes, signed, word_bits, words=3):
    return StreamFormat({"datatype": f"{'INT' if signed else 'UINT'}{bits}", "bits": bits, "signed": signed,
                         "shape_normal": [1, words * lanes], "shape_folded": [1, words, lanes], "word_bits": word_bits})


def test_packing_puts_lane_i_at_bits_i_times_b_little_endian():
    f = fmt(4, 3, True, 16, words=1)
    # -1 -> 0xF at bits 0..3, 2 -> bits 4..7, -8 -> 0x8 at bits 8..11: word 0x082F
    assert f.pack(np.array([[[-1, 2, -8]]])).tolist() == [[[0x2F, 0x08]]]
    f = fmt(8, 2, False, 16, words=1)
    assert f.pack(np.array([[[0x12, 0xAB]]])).tolist() == [[[0x12, 0xAB]]]
    f = fmt(11, 1, True, 16, words=2)
    assert f.pack(np.array([[[-29], [5]]])).tolist() == [[[0xE3, 0x07], [0x05, 0x00]]]


@pytest.mark.parametrize("bits, lanes, signed, word_bits", [
    (1, 5, False, 8), (4, 3, True, 16), (8, 2, True, 16), (8, 4, False, 32), (11, 1, True, 16), (16, 3, True, 64),
    (22, 1, True, 32), (32, 2, False, 64), (12, 7, True, 128), (3, 30, False, 128)])
def test_packing_round_trips_and_matches_python_integers(bits, lanes, signed, word_bits):
    f = fmt(bits, lanes, signed, word_bits)
    values = np.random.default_rng(bits).integers(f.min, f.max + 1, size=(4, 3, lanes))
    packed = f.pack(values)
    assert packed.shape == (4, 3, word_bits // 8) and packed.dtype == np.uint8
    for frame, word in [(0, 0), (3, 2)]:
        expected = sum((int(v) & ((1 << bits) - 1)) << (i * bits) for i, v in enumerate(values[frame, word]))
        assert int.from_bytes(packed[frame, word].tobytes(), "little") == expected
    assert np.array_equal(f.unpack(packed), values)


def test_packing_refuses_values_outside_the_datatype():
    with pytest.raises(DriverError, match="do not fit"):
        fmt(4, 1, True, 8).pack(np.array([[[8]], [[0]], [[0]]]))


def test_multithreshold_equals_qonnx():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 6, 1, 3)).astype(np.float32)
    for thresholds in (np.sort(rng.normal(size=(1, 15)), axis=1), np.sort(rng.normal(size=(3, 7)), axis=1)):
        thresholds = thresholds.astype(np.float32)
        x[0, 0, 0, 0] = thresholds[0, 3]        # on a threshold: counts as reached
        expected = qonnx_multithreshold(x.transpose(0, 3, 1, 2), thresholds, out_bias=-4).transpose(0, 2, 3, 1)
        assert np.array_equal(multithreshold(x, thresholds, 3, 1.0, -4.0), expected)


def test_topk_is_onnx_order():
    assert topk_indices(np.array([[1.0, 3.0, 3.0, 0.0]]), 3).tolist() == [[1, 2, 0]]


# ---------------------------------------------------------------------------------------- the build's

def test_config_is_read_from_the_graph(tiny_build):
    config = json.loads((tiny_build / "driver" / "accel_config.json").read_text())
    assert config["input"] == {"datatype": "INT8", "bits": 8, "signed": True, "shape_normal": [1, 64, 1, 2],
                               "shape_folded": [1, 64, 1, 2, 1], "stream_width": 8, "word_bits": 8}
    assert config["output"]["datatype"] == "INT11" and config["output"]["word_bits"] == 16
    assert [op["op"] for op in config["host"]["head"]] == ["MultiThreshold"]
    assert [op["op"] for op in config["host"]["tail"]] == ["Mul"]
    assert config["host"]["outputs"] == "scores" and config["clock_mhz"] == 100
    assert config["cells"] == {"accelerator": "accel", "dma": "dma"}


def test_host_ops_and_accelerator_are_bit_exact_with_the_graphs(tiny_build, frames):
    x = frames[0]
    parent = load_graph(tiny_build, "dataflow_partition", "_parent")
    dataflow = load_graph(tiny_build, "minimize_bit_widths")
    accelerator = Accelerator("sim", batch_size=5, config_dir=tiny_build / "driver")
    ints = accelerator.preprocess(x)
    nhwc = x.transpose(0, 2, 1)[:, :, None, :]
    assert np.array_equal(ints, verify.accelerator_inputs(parent, nhwc))
    outputs = accelerator.execute(ints)           # batches of 5: 5, 5, 5, 1
    hw_graph = verify.run_graph(verify.generic_ops(dataflow), ints)
    assert np.array_equal(outputs, hw_graph)
    assert np.array_equal(accelerator.postprocess(outputs), verify.host_outputs(parent, hw_graph))


def test_execute_gives_pytorchs_outputs(tiny_build, frames, tmp_path):
    x = frames[0]
    np.save(tmp_path / "input.npy", x)
    driver(tiny_build, "--exec_mode", "execute", "--batchsize", "4", "--inputfile", str(tmp_path / "input.npy"),
           "--outputfile", str(tmp_path / "output.npy"))
    outputs = np.load(tmp_path / "output.npy")
    config = BuildConfig(model="tiny", board="pynq-z2", out_dir=tiny_build)
    reference, scale = load_source(config).torch_reference(tiny_build / "checkpoint.pt", x, np.float64)
    assert np.array_equal(np.round(outputs / scale), np.round(reference / scale))
    record = json.loads((tiny_build / "verification.json").read_text())
    assert outputs.argmax(axis=1).tolist() == record["predictions"]


def test_throughput_test_writes_finns_metrics(tiny_build, tmp_path):
    metrics_file = tmp_path / "nw_metrics.json"
    driver(tiny_build, "--exec_mode", "throughput_test", "--batchsize", "200", "--metricsfile", str(metrics_file))
    metrics = json.loads(metrics_file.read_text())
    assert list(metrics) == ["platform", *FINN_METRICS]
    assert metrics["platform"] == "sim" and metrics["batch_size"] == 200 and metrics["fclk[mhz]"] == 100
    assert all(metrics[k] >= 0 for k in FINN_METRICS)
    runtime = metrics["runtime[ms]"] / 1e3
    assert metrics["throughput[images/s]"] == pytest.approx(200 / runtime)
    assert metrics["DRAM_in_bandwidth[MB/s]"] == pytest.approx(200 * 128 / runtime / 1e6)    # 128 bytes in
    assert metrics["DRAM_out_bandwidth[MB/s]"] == pytest.approx(200 * 48 / runtime / 1e6)    # 24 x 2 bytes out


def test_validate_reports_accuracy_per_snr(tiny_build, frames, tmp_path):
    report_file = tmp_path / "validation.json"
    driver(tiny_build, "--exec_mode", "validate", "--batchsize", "8", "--limit", "16", "--metricsfile", str(report_file))
    report = json.loads(report_file.read_text())
    record = json.loads((tiny_build / "verification.json").read_text())
    assert report["predictions"] == record["predictions"]       # the same frames, as verified
    x, y, snr = frames
    correct = np.array(report["predictions"]) == y
    assert report["frames"] == 16 and report["accuracy"] == pytest.approx(correct.mean())
    assert set(report["per_snr"]) == {str(s) for s in np.unique(snr)}
    assert sum(r["frames"] for r in report["per_snr"].values()) == 16

    for name, values in (("x", x), ("y", y), ("snr", snr)):
        np.save(tmp_path / f"{name}.npy", values)
    driver(tiny_build, "--exec_mode", "validate", "--inputfile", str(tmp_path / "x.npy"), "--labelfile",
           str(tmp_path / "y.npy"), "--snrfile", str(tmp_path / "snr.npy"), "--metricsfile", str(report_file))
    assert json.loads(report_file.read_text())["predictions"] == record["predictions"]


def test_validate_applies_the_hosts_average_pool(tiny_build, tmp_path):
    """A model whose hardware part takes decimated frames (Imperial's): validate averages sample pairs of
    twice-as-long frames before the accelerator, as the build's verification does."""
    pooled = tiny_build / "driver_pooled"       # beside driver/: the same relative path to the cppsim binary
    shutil.copytree(tiny_build / "driver", pooled, dirs_exist_ok=True)
    config = json.loads((pooled / "accel_config.json").read_text())
    config["dataset"].update(average_pool=2, frame_length=2 * config["dataset"]["frame_length"])
    (pooled / "accel_config.json").write_text(json.dumps(config))
    report_file = tmp_path / "validation.json"
    subprocess.run([sys.executable, "driver.py", "--platform", "sim", "--exec_mode", "validate", "--limit", "16",
                    "--metricsfile", str(report_file)], cwd=pooled, check=True, capture_output=True)
    x, _, _ = radioml.load(radioml.ensure_synthetic(), "test", limit=16, length=128)
    halves = (x[..., 0::2] + x[..., 1::2]) / 2
    accelerator = Accelerator("sim", batch_size=16, config_dir=pooled)
    expected = accelerator.predictions(accelerator.infer(halves.astype(np.float32)))
    assert json.loads(report_file.read_text())["predictions"] == expected.tolist()


def test_clear_errors(tiny_build, tmp_path):
    with pytest.raises(DriverError, match="lower --batchsize"):
        Accelerator("sim", batch_size=10 ** 6, config_dir=tiny_build / "driver")
    with pytest.raises(DriverError, match="cppsim binary .* not found"):
        Accelerator("sim", cppsim=tmp_path / "nothing", config_dir=tiny_build / "driver")
    accelerator = Accelerator("sim", config_dir=tiny_build / "driver")
    with pytest.raises(DriverError, match=r"expected \(2, 64\)"):
        accelerator.infer(np.zeros((1, 2, 32), np.float32))
    result = subprocess.run([sys.executable, "driver.py", "--platform", "sim", "--exec_mode", "execute"],
                            cwd=tiny_build / "driver", capture_output=True, text=True)
    assert result.returncode == 1 and "needs --inputfile" in result.stderr


# ------------------------------------------------------------------------------------ board platform

class FakeBuffer(np.ndarray):
    def flush(self):
        self.log.append("flush")

    def invalidate(self):
        self.log.append("invalidate")


def fake_pynq(log, sim):
    """A stand-in for pynq: the overlay's DMA hands the input buffer to `sim` (a SimPlatform) when the
    send channel is waited on, after checking the driver programmed the accelerator first."""
    registers = {}

    class Channel:
        def __init__(self, name):
            self.name = name

        def transfer(self, buffer):
            log.append(f"{self.name}.transfer")
            self.buffer = buffer

        def wait(self):
            log.append(f"{self.name}.wait")
            if self.name == "send":
                assert registers.get(0x00) == 1 and log.index("recv.transfer") < log.index("send.transfer")
                frames = registers[0x10]
                sim.execute(self.buffer, dma.recvchannel.buffer, frames)

    class Accel:
        def write(self, offset, value):
            log.append(f"write {offset:#x}={value}")
            registers[offset] = value

    dma = types.SimpleNamespace(sendchannel=Channel("send"), recvchannel=Channel("recv"))

    class Overlay:
        def __init__(self, bitfile):
            log.append(f"overlay {bitfile}")
            self.dma, self.accel = dma, Accel()

    def allocate(shape, dtype):
        buffer = np.zeros(shape, dtype).view(FakeBuffer)
        buffer.log = log
        return buffer

    pynq = types.ModuleType("pynq")
    pynq.Overlay, pynq.allocate = Overlay, allocate
    pynq.ps = types.ModuleType("pynq.ps")
    pynq.ps.Clocks = types.SimpleNamespace(fclk0_mhz=99.999)
    return pynq


def test_board_platform_programs_the_accelerator_and_dma(tiny_build, frames, monkeypatch, tmp_path):
    log = []
    sim = Accelerator("sim", batch_size=4, config_dir=tiny_build / "driver")
    monkeypatch.setitem(sys.modules, "pynq", fake_pynq(log, sim.platform))
    monkeypatch.setitem(sys.modules, "pynq.ps", sys.modules["pynq"].ps)
    with pytest.raises(DriverError, match="accel.bit not found: build it with vivado/build.sh"):
        Accelerator("zynq", config_dir=tiny_build / "driver")
    bitfile = tmp_path / "accel.bit"
    bitfile.write_text("stand-in")
    board = Accelerator("zynq", bitfile=bitfile, batch_size=4, config_dir=tiny_build / "driver")
    x = frames[0][:6]
    assert np.array_equal(board.infer(x), sim.infer(x))
    assert log[0] == f"overlay {bitfile}"
    assert log[1:9] == ["flush", "recv.transfer", "write 0x10=4", "write 0x0=1", "send.transfer", "send.wait",
                        "recv.wait", "invalidate"]
    assert "write 0x10=2" in log          # the last, partial batch
    assert board.platform.fclk_mhz == 99.999
