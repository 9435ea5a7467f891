"""The accelerator as the host sees it: host-side ops, folding and AXI word packing, and the platform
that moves the words (a PYNQ board through the AXI DMA, or the build's cppsim binary).

Everything model-specific comes from accel_config.json and host_params.npz beside this file, which the
build writes from the graph. Needs only numpy (and pynq on a board).
"""
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


class DriverError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------- packing

class StreamFormat:
    """One AXI stream of the accelerator: FINN's normal and folded shapes of a frame (batch dim 1),
    the element datatype, and the DMA word that carries one folded row (lanes elements, lane i in
    bits [i*bits, (i+1)*bits), two's complement, zero-padded to word_bits, little-endian bytes). A
    BIPOLAR element (-1 or +1) is one bit: 0 or 1."""

    def __init__(self, spec):
        self.datatype = spec["datatype"]
        self.bits, self.signed, self.bipolar = spec["bits"], spec["signed"], self.datatype == "BIPOLAR"
        self.shape_normal, self.shape_folded = tuple(spec["shape_normal"]), tuple(spec["shape_folded"])
        self.word_bits = spec["word_bits"]
        self.lanes = self.shape_folded[-1]
        self.word_bytes = self.word_bits // 8
        self.words = int(np.prod(self.shape_folded[1:-1]))
        self.frame_bytes = self.words * self.word_bytes
        self.min = -(1 << (self.bits - 1)) if self.signed else -1 if self.bipolar else 0
        self.max = (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def fold(self, values):
        return np.asarray(values).reshape(len(values), *self.shape_folded[1:])

    def unfold(self, values):
        return np.asarray(values).reshape(len(values), *self.shape_normal[1:])

    def pack(self, folded):
        """Folded integer frames (N, ..., lanes) -> DMA bytes (N, ..., word_bytes)."""
        values = np.asarray(folded)
        if values.dtype.kind == "f":
            if not np.array_equal(values, np.round(values)):
                raise DriverError(f"values for a {self.datatype} stream are not integers")
            values = values.astype(np.int64)
        if values.size and (values.min() < self.min or values.max() > self.max):
            raise DriverError(f"values {values.min()}..{values.max()} do not fit the stream's {self.datatype}")
        if self.bipolar:
            if not np.isin(values, (-1, 1)).all():
                raise DriverError("values for a BIPOLAR stream must be -1 or +1")
            values = (values + 1) // 2
        lead = values.shape[:-1]
        if self.bits in (8, 16, 32, 64):        # whole-byte elements: a cast does it
            packed = values.astype(f"<i{self.bits // 8}").view(np.uint8).reshape(*lead, -1)
        elif self.word_bytes in (1, 2, 4, 8):   # a word fits a machine integer: shift the lanes into it
            lanes = (values.astype(np.int64) & ((1 << self.bits) - 1)).astype(np.uint64)
            words = (lanes << self._shifts()).sum(axis=-1, dtype=np.uint64)
            return words.astype(f"<u{self.word_bytes}").view(np.uint8).reshape(*lead, self.word_bytes)
        else:                                   # wider words: bit by bit
            bits = (values.astype(np.int64)[..., None] >> np.arange(self.bits)) & 1    # (.., lanes, bits), LSB first
            packed = np.packbits(bits.reshape(*lead, -1).astype(np.uint8), axis=-1, bitorder="little")
        padding = [(0, 0)] * len(lead) + [(0, self.word_bytes - packed.shape[-1])]
        return np.pad(packed, padding)

    def unpack(self, packed):
        """DMA bytes (N, ..., word_bytes) -> folded integer frames (N, ..., lanes)."""
        packed = np.ascontiguousarray(packed, dtype=np.uint8)
        lead = packed.shape[:-1]
        if self.bits in (8, 16, 32, 64):
            data = np.ascontiguousarray(packed[..., :self.lanes * self.bits // 8])
            kind = "i" if self.signed else "u"
            return data.view(f"<{kind}{self.bits // 8}").reshape(*lead, self.lanes).astype(np.int64)
        if self.word_bytes in (1, 2, 4, 8):
            words = packed.view(f"<u{self.word_bytes}").reshape(lead).astype(np.uint64)
            values = ((words[..., None] >> self._shifts()) & np.uint64((1 << self.bits) - 1)).astype(np.int64)
        else:
            bits = np.unpackbits(packed, axis=-1, bitorder="little")[..., :self.lanes * self.bits]
            bits = bits.reshape(*lead, self.lanes, self.bits).astype(np.int64)
            values = bits @ (np.int64(1) << np.arange(self.bits, dtype=np.int64))
        if self.signed:
            values -= (values >> (self.bits - 1)) << self.bits
        return 2 * values - 1 if self.bipolar else values

    def _shifts(self):
        return (np.arange(self.lanes) * self.bits).astype(np.uint64)

    def buffer_shape(self, frames):
        return (frames, *self.shape_folded[1:-1], self.word_bytes)


# ------------------------------------------------------------------------------------------ host ops

def multithreshold(x, thresholds, channel_axis, out_scale, out_bias):
    """qonnx MultiThreshold: per element, the number of thresholds (of its channel) it is >= to, in
    float32 as qonnx compares. Thresholds are sorted per channel (the build sorts them), so the count
    is a binary search rather than a (frames x elements x thresholds) comparison."""
    x = np.moveaxis(np.asarray(x, dtype=np.float32), channel_axis, -1)
    out = np.empty(x.shape, dtype=np.float32)
    for channel in range(x.shape[-1]):
        row = thresholds[0 if len(thresholds) == 1 else channel]
        out[..., channel] = np.searchsorted(row, x[..., channel], side="right")
    return np.moveaxis(out_scale * out + out_bias, -1, channel_axis).astype(np.float32)


def topk_indices(x, k):
    """ONNX TopK's indices along the last axis: largest first, the lower index first among equals."""
    return np.argsort(-x, axis=-1, kind="stable")[..., :k]


def run_host_ops(ops, x, params):
    """Apply the parent graph's host ops (exported by the build, see compiler/driver) to N frames."""
    for op in ops:
        kind = op["op"]
        if kind == "MultiThreshold":
            x = multithreshold(x, params[op["thresholds"]], op["channel_axis"], op["out_scale"], op["out_bias"])
        elif kind in ("Mul", "Add", "Sub", "Div"):
            ufunc = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.divide}[kind]
            x = ufunc(np.asarray(x, dtype=np.float32), params[op["constant"]]).astype(np.float32)
        elif kind == "Transpose":
            x = np.transpose(x, op["perm"])
        elif kind == "Reshape":
            x = np.reshape(x, (len(x), *op["shape"][1:]))
        elif kind == "Flatten":
            x = np.reshape(x, (len(x), -1))
        elif kind == "TopK":
            x = topk_indices(x, op["k"])
        elif kind != "Identity":
            raise DriverError(f"host op {kind} is not supported by this driver")
    return x


# ----------------------------------------------------------------------------------------- platforms

class ZynqPlatform:
    """A PYNQ board: the overlay's AXI DMA moves the packed frames between DDR and the accelerator."""
    name = "zynq"

    def __init__(self, config, bitfile):
        from pynq import Overlay, allocate      # only on the board

        self._allocate = allocate
        self.overlay = Overlay(str(bitfile))    # reads the .hwh beside the .bit
        self.dma = getattr(self.overlay, config["cells"]["dma"])
        self.accelerator = getattr(self.overlay, config["cells"]["accelerator"])
        self.frames_offset = config["frames_offset"]

    @property
    def fclk_mhz(self):
        from pynq.ps import Clocks

        return Clocks.fclk0_mhz

    def allocate(self, shape):
        return self._allocate(shape=shape, dtype=np.uint8)

    def copy_to_device(self, buffer, packed):
        buffer[:] = packed
        buffer.flush()

    def copy_from_device(self, buffer):
        buffer.invalidate()
        return np.array(buffer)

    def execute(self, in_buffer, out_buffer, frames):
        self.dma.recvchannel.transfer(out_buffer)           # ready for the results first
        self.accelerator.write(self.frames_offset, frames)
        self.accelerator.write(0x00, 1)                     # ap_start
        self.dma.sendchannel.transfer(in_buffer)
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()


class SimPlatform:
    """The build's cppsim binary in place of the board: takes the packed input words (what the DMA
    would read from DDR), unpacks them into cppsim's element stream, runs it and packs its output as
    the accelerator's output words. Exercises everything but the DMA and the hardware itself."""
    name = "sim"

    def __init__(self, config, input_format, output_format, cppsim):
        self.binary = Path(cppsim).resolve()
        if not self.binary.exists():
            raise DriverError(f"cppsim binary {self.binary} not found: run the build (make build) or pass --cppsim")
        self.fclk_mhz = config["clock_mhz"]      # the clock the design was built for; nothing runs at it here
        self.input, self.output = input_format, output_format

    def allocate(self, shape):
        return np.zeros(shape, dtype=np.uint8)

    def copy_to_device(self, buffer, packed):
        buffer[:] = packed

    def copy_from_device(self, buffer):
        return np.array(buffer)

    def execute(self, in_buffer, out_buffer, frames):
        elements = self.input.unpack(in_buffer).reshape(frames, -1)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            elements.astype("<i8").tofile(tmp / "in.bin")
            result = subprocess.run([str(self.binary), str(tmp / "in.bin"), str(tmp / "out.bin"), str(frames)],
                                    capture_output=True, text=True)
            if result.returncode:
                raise DriverError(f"cppsim failed (exit {result.returncode}): {result.stderr[-2000:]}")
            out = np.fromfile(tmp / "out.bin", dtype="<i8")
        out_buffer[:] = self.output.pack(self.output.fold(out.reshape(frames, -1)))


# ------------------------------------------------------------------------------------- accelerator

class Accelerator:
    """The accelerator and the host ops around it. `infer(frames)` takes model inputs (floats, in
    PyTorch's layout or the graph's NHWC one) and returns the model's outputs; `execute(ints)` runs
    only the accelerator, on its integer inputs, recording the time of each stage in `timings`."""

    def __init__(self, platform="zynq", bitfile=None, cppsim=None, batch_size=1, config_dir=HERE):
        config_dir = Path(config_dir)
        if not (config_dir / "accel_config.json").is_file():
            raise DriverError(f"{config_dir} holds no accel_config.json: run the driver in the build's driver/ "
                              "folder (or a copy of it)")
        self.config = json.loads((config_dir / "accel_config.json").read_text())
        with np.load(config_dir / "host_params.npz") as params:
            self.params = dict(params)
        self.input = StreamFormat(self.config["input"])
        self.output = StreamFormat(self.config["output"])
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise DriverError(f"--batchsize {batch_size}: give a whole number of frames per accelerator call, "
                              "1 or more")
        self.batch_size = batch_size
        for fmt, name in ((self.input, "input"), (self.output, "output")):
            if batch_size * fmt.frame_bytes > self.config["dma_max_bytes"]:
                raise DriverError(f"a batch of {batch_size} frames is {batch_size * fmt.frame_bytes} bytes of {name}, "
                                  f"more than one DMA transfer moves ({self.config['dma_max_bytes']}); lower --batchsize")
        if platform == "zynq":
            bitfile = Path(bitfile or config_dir / self.config["bitfile"])
            if not bitfile.exists():
                raise DriverError(f"bitstream {bitfile} not found: build it with vivado/build.sh (make bitstream), "
                                  "which puts it and its .hwh into driver/, then copy driver/ to the board")
            self.platform = ZynqPlatform(self.config, bitfile)
        elif platform == "sim":
            self.platform = SimPlatform(self.config, self.input, self.output, cppsim or config_dir / self.config["cppsim"])
        else:
            raise DriverError(f"unknown platform {platform!r}: zynq (a PYNQ board) or sim (the build's cppsim)")
        self._buffers = {}       # frames -> (input, output) DMA buffers: a transfer moves whole buffers
        self.timings = {}

    # host side
    def to_graph_layout(self, frames):
        """Model input frames as the graph takes them: PyTorch's NCL / NCHW become NHWC."""
        host = self.config["host"]
        frames = np.asarray(frames, dtype=np.float32)
        shape, graph_shape = frames.shape[1:], tuple(host["graph_input_shape"][1:])
        if shape == graph_shape:
            return frames
        if shape == tuple(host["model_input_shape"]):
            frames = frames.transpose(0, 2, 1)[:, :, None, :] if frames.ndim == 3 else frames.transpose(0, 2, 3, 1)
            if frames.shape[1:] == graph_shape:
                return frames
        raise DriverError(f"input frames of shape {shape}: expected {tuple(host['model_input_shape'])} "
                          f"(as the model takes them) or {graph_shape} (the graph's layout)")

    def preprocess(self, frames):
        """Model inputs -> the accelerator's integer inputs (the host ops before it, e.g. the input quantizer)."""
        x = run_host_ops(self.config["host"]["head"], self.to_graph_layout(frames), self.params)
        return np.asarray(x).reshape(len(x), *self.input.shape_normal[1:])

    def postprocess(self, outputs):
        """The accelerator's integer outputs -> the model's outputs (e.g. times the output scale)."""
        return run_host_ops(self.config["host"]["tail"], np.asarray(outputs, dtype=np.float32), self.params)

    def infer(self, frames):
        return self.postprocess(self.execute(self.preprocess(frames)))

    # accelerator
    def execute(self, inputs):
        """Integer inputs (N, *normal input shape) -> integer outputs (N, *normal output shape), in
        batches of batch_size; `timings` holds the seconds of each stage, summed over the batches."""
        inputs = np.asarray(inputs)
        stages = ("fold_input", "pack_input", "copy_input_data_to_device", "runtime",
                  "copy_output_data_from_device", "unpack_output", "unfold_output")
        self.timings = dict.fromkeys(stages, 0.0)
        results = []
        for start in range(0, len(inputs), self.batch_size):
            batch = inputs[start:start + self.batch_size]
            n = len(batch)
            clock = _Stopwatch(self.timings)
            folded = clock("fold_input", self.input.fold, batch)
            packed = clock("pack_input", self.input.pack, folded)
            in_buffer, out_buffer = self.buffers(n)
            clock("copy_input_data_to_device", self.platform.copy_to_device, in_buffer, packed)
            clock("runtime", self.platform.execute, in_buffer, out_buffer, n)
            out = clock("copy_output_data_from_device", self.platform.copy_from_device, out_buffer)
            values = clock("unpack_output", self.output.unpack, out)
            results.append(clock("unfold_output", self.output.unfold, values))
        return np.concatenate(results) if results else np.zeros((0, *self.output.shape_normal[1:]), np.int64)

    def buffers(self, frames):
        """The (input, output) DMA buffers for a batch of `frames` frames (allocated once)."""
        if frames not in self._buffers:
            self._buffers[frames] = (self.platform.allocate(self.input.buffer_shape(frames)),
                                     self.platform.allocate(self.output.buffer_shape(frames)))
        return self._buffers[frames]

    def dma_words(self, frames):
        """(input bytes, output bytes) of model input frames as the DMA moves them."""
        inputs = self.preprocess(frames)
        outputs = self.execute(inputs)
        return (self.input.pack(self.input.fold(inputs)).tobytes(),
                self.output.pack(self.output.fold(outputs)).tobytes())

    def random_inputs(self, frames, seed=0):
        """Integer inputs spanning the input datatype, for throughput tests."""
        shape = (frames, *self.input.shape_normal[1:])
        values = np.random.default_rng(seed).integers(self.input.min, self.input.max + 1, size=shape)
        return np.where(values > 0, 1, -1) if self.input.bipolar else values

    def predictions(self, outputs):
        """Class predictions from the model's outputs: the TopK index, or the top score."""
        outputs = np.asarray(outputs).reshape(len(outputs), -1)
        return outputs[:, 0].astype(np.int64) if self.config["host"]["outputs"] == "classes" else outputs.argmax(axis=1)


class _Stopwatch:
    def __init__(self, timings):
        self.timings = timings

    def __call__(self, stage, function, *args):
        start = time.perf_counter()
        result = function(*args)
        self.timings[stage] += time.perf_counter() - start
        return result
