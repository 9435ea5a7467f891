"""Build and run the cppsim binary of a generated hls/ folder."""
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from compiler.codegen import compile_defines, generate_cppsim_main, streams
from compiler.fileio import user_cache_dir

# The binary runs where it is built, so it may use every instruction this CPU has.
CXXFLAGS = ["-std=c++17", "-O3", "-march=native", "-Wno-unknown-pragmas", "-Wno-unused-label"]


class CppSimError(RuntimeError):
    pass


def ap_types_include_dir():
    """Xilinx's open ap_int/hls_stream headers, as shipped inside the installed hls4ml package."""
    import hls4ml

    path = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    if not (path / "ap_int.h").exists():
        raise CppSimError(f"ap_types headers not found at {path}; is hls4ml==1.3.0 installed?")
    return path


@functools.cache
def _compiler_version():
    """g++'s version and what -march=native means on this CPU (a cache folder may be shared)."""
    run = lambda *args: subprocess.run(["g++", *args], capture_output=True, text=True).stdout   # noqa: E731
    native = [line.split() for line in run("-march=native", "-Q", "--help=target").splitlines()]
    return run("--version").splitlines()[0] + " " + " ".join(next(w for w in native if w[:1] == ["-march="]))


def _copy_executable(source, target):
    """Copy through a temporary file and a rename: no reader sees half a binary."""
    fd, tmp = tempfile.mkstemp(dir=Path(target).parent, prefix=f".{Path(target).name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


class CppSim:
    """The cppsim of one dataflow model: `build()` once, then `run(frames)` as often as needed."""

    def __init__(self, model, hls_dir, work_dir, log=print, defines=()):
        self.model = model
        self.hls_dir = Path(hls_dir).resolve()
        self.work_dir = Path(work_dir).resolve()
        self.binary = self.work_dir / "cppsim"
        self.log = log
        # the generated code's own, then e.g. DFK_SYNTH_CSIM: simulate the synthesizable loops
        self.defines = [*compile_defines(model), *defines]
        self.streams = streams(model)

    def build(self):
        """Compile main.cpp with the hls/ folder, or copy the binary compiled before from the same
        sources and flags (a user cache, by content hash: the tests and sweeps build the same designs)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        main = self.work_dir / "main.cpp"
        generate_cppsim_main(self.model, main)
        cmd = ["g++", *CXXFLAGS, *(f"-D{d}" for d in self.defines), f"-I{self.hls_dir}",
               f"-I{ap_types_include_dir()}", str(main), "-o", str(self.binary)]
        (self.work_dir / "compile.sh").write_text("#!/bin/sh\n" + " ".join(cmd) + "\n")
        paths = " (the synthesizable loops)" if "DFK_SYNTH_CSIM" in self.defines else ""
        cached = user_cache_dir("cppsim") / self._digest(main)
        if cached.is_file():
            self.log(f"cppsim{paths}: the binary of these sources is cached ({cached})")
            _copy_executable(cached, self.binary)
            return self
        self.log(f"compiling cppsim{paths} ({len(self.model.graph.node)} layers) ...")
        self._compile(cmd, main)
        cached.parent.mkdir(parents=True, exist_ok=True)
        _copy_executable(self.binary, cached)
        return self

    def _digest(self, main):
        digest = hashlib.sha256(" ".join([*CXXFLAGS, *self.defines, _compiler_version()]).encode())
        for path in [main, *sorted(p for p in self.hls_dir.rglob("*") if p.is_file())]:
            digest.update(str(path.relative_to(self.work_dir if path == main else self.hls_dir)).encode()
                          + b"\0" + path.read_bytes())
        return digest.hexdigest()[:24]

    def _compile(self, cmd, main):
        # g++ writes a unique temporary file, renamed into place: never a half-written binary
        fd, tmp = tempfile.mkstemp(dir=self.work_dir, prefix=f".{self.binary.name}.", suffix=".tmp")
        os.close(fd)
        try:
            result = subprocess.run([*cmd[:-1], tmp], capture_output=True, text=True)
            if result.returncode:
                (self.work_dir / "compile.log").write_text(result.stdout + result.stderr)
                raise CppSimError(f"g++ failed compiling {main} (see {self.work_dir / 'compile.log'}):\n"
                                  + result.stderr[-3000:])
            os.chmod(tmp, 0o755)
            os.replace(tmp, self.binary)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def run(self, frames, dump=False):
        """Run integer frames (N, ...) in stream order of the input; returns (outputs (N, elems), stats,
        dumps) where dumps maps stream index (in `self.streams`) -> (N, elems) for the internal
        streams when dump=True."""
        frames = np.asarray(frames).reshape(len(frames), -1)
        n = len(frames)
        if frames.shape[1] != self.streams[0].elems:
            raise CppSimError(f"cppsim input needs {self.streams[0].elems} elements per frame, got {frames.shape[1]}")
        with tempfile.TemporaryDirectory(dir=self.work_dir) as tmp:
            tmp = Path(tmp)
            frames.astype("<i8").tofile(tmp / "in.bin")
            cmd = [str(self.binary), str(tmp / "in.bin"), str(tmp / "out.bin"), str(n)]
            if dump:
                cmd.append(str(tmp))
            result = subprocess.run(cmd, capture_output=True, text=True)
            warnings = [line for line in result.stdout.splitlines() if "WARNING: Hls::stream" in line]
            if result.returncode or warnings:
                raise CppSimError(f"cppsim failed (exit {result.returncode}):\n" + "\n".join(warnings[:10])
                                  + result.stderr[-2000:])
            stats = json.loads(result.stdout.strip().splitlines()[-1])
            outputs = np.fromfile(tmp / "out.bin", dtype="<i8").reshape(n, -1)
            dumps = {}
            if dump:
                for index in range(len(self.streams)):
                    path = tmp / f"{index}.bin"
                    if path.exists():
                        dumps[index] = np.fromfile(path, dtype="<i8").reshape(n, -1)
        return outputs, stats, dumps
