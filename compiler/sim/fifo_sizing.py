"""FIFO sizing by simulation: the shallowest FIFO between each two layers that costs no throughput.

All runs but the last use one compiled model whose FIFOs have room for a few whole frames and hold
at most a limit given per run (rtl/sim/fifo_limit.sv), so trying depths compiles nothing:
1. no limits: the interval (cycles per frame, frames streamed as fast as taken) the graph reaches;
2. with frame f offered no earlier than cycle f * interval (the graph's own pace), each FIFO's peak
   occupancy: depths that surely suffice;
3. every FIFO at 2 words; if that misses the interval or deadlocks (a fork's short branch must hold
   what the long branch takes in before its first output), then from the peaks down, FIFO by FIFO
   (largest first), the smallest power of two that still reaches the interval.
Then the real RTL with those depths (fifo.sv, SRL/LUTRAM up to 64 words, BRAM above) runs once more:
it must reach the same interval without deadlock; FIFOs found full where it falls short are doubled
until it does.
"""
import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from compiler.codegen import rtl
from compiler.hwops import MIN_FIFO_DEPTH
from compiler.sim.rtlsim import Deadlock, RtlSim, interval_of
from models import progress

MAX_ROUNDS = 6                # confirmation runs of the real RTL (each recompiles) before giving up


class FifoSizingError(RuntimeError):
    pass


@dataclass
class SizingResult:
    depths: dict                         # tensor -> FIFO depth
    interval: float                      # cycles per frame with deep FIFOs
    sized_interval: float                # and with the chosen depths, in the real RTL
    peaks: dict                          # tensor -> peak occupancy at the graph's pace, deep FIFOs
    runs: int = 0                        # simulations of the sizing model
    log: list = field(default_factory=list)


def round_depth(words):
    """A FIFO depth that maps well: at least MIN_FIFO_DEPTH, a power of two."""
    return max(MIN_FIFO_DEPTH, 1 << max(0, int(words - 1).bit_length()))


def with_depths(model, depths):
    """A copy of `model` whose consumers' inFIFODepths hold `depths` (tensor -> words)."""
    model = ModelWrapper(copy.deepcopy(model.model))
    for node in model.graph.node:
        inputs = rtl.stream_inputs(model, node)
        getCustomOp(node).set_nodeattr("inFIFODepths", [int(depths.get(t, MIN_FIFO_DEPTH)) for t in inputs])
    return model


class _LimitModel:
    """The sizing model: FIFOs of room `deep` (tensor -> words) with per-run limits."""

    def __init__(self, model, work_dir, frames, board, log, counter):
        fifos = [link for link in rtl.links(model) if link.depth]
        self.var = {link.tensor: link.var for link in fifos}
        deep = with_depths(model, {link.tensor: len(frames) * link.words + MIN_FIFO_DEPTH for link in fifos})
        shutil.rmtree(work_dir / "rtl", ignore_errors=True)
        rtl.generate(deep, work_dir / "rtl", board, fifo_limits=True)
        self.sim = RtlSim(deep, work_dir / "rtl", work_dir / "rtlsim", log=log).build()
        self.frames, self.counter = frames, counter
        self.runs = 0

    def run(self, limits=None, pace=0):
        """Stats of a run with FIFO limits (tensor -> words; None: the full room), or the Deadlock."""
        self.runs += 1
        self.counter.advance()
        plusargs = {f"fifo_{self.var[t]}": words for t, words in (limits or {}).items()}
        try:
            return self.sim.run(self.frames, pace=pace, plusargs=plusargs)[1]
        except Deadlock as deadlock:
            return deadlock

    def reaches(self, limits, interval):
        stats = self.run(limits)
        return not isinstance(stats, Deadlock) and interval_of(stats) <= interval


def size_fifos(model, work_dir, frames, board, log=print):
    """Depths for every FIFO of `model` (a dataflow graph, its RTL generated for `board`) from
    simulations of `frames` (integer input frames in stream order, at least three); returns a SizingResult."""
    work_dir = Path(work_dir)
    with progress.bar(None, "simulations") as counter:
        sizing = _LimitModel(model, work_dir / "limits", frames, board, log, counter)
        stats = sizing.run()
        if isinstance(stats, Deadlock):
            raise FifoSizingError(f"the graph deadlocks even with FIFOs of whole frames: {stats}")
        interval = interval_of(stats)
        paced = sizing.run(pace=int(np.ceil(interval)))
        peaks = {tensor: next(f["peak"] for f in paced["fifos"] if f["name"] == tensor) for tensor in sizing.var}
        depths = dict.fromkeys(sizing.var, MIN_FIFO_DEPTH)
        if not sizing.reaches(depths, interval):
            depths = {tensor: round_depth(peak + 1) for tensor, peak in peaks.items()}
            if not sizing.reaches(depths, interval):
                raise FifoSizingError(f"the graph misses its interval of {interval:g} cycles per frame even with "
                                      "FIFOs at their peak occupancy")
            for tensor in sorted(depths, key=depths.get, reverse=True):
                candidate = MIN_FIFO_DEPTH
                while candidate < depths[tensor] and not sizing.reaches({**depths, tensor: candidate}, interval):
                    candidate *= 2
                depths[tensor] = min(candidate, depths[tensor])
    result = SizingResult(depths, interval, interval, peaks, sizing.runs)
    deeper = ", ".join(f"{tensor} {depth}" for tensor, depth in depths.items() if depth > MIN_FIFO_DEPTH)
    log(f"fifo sizing: {interval:g} cycles per frame; from {sizing.runs} simulations, FIFOs of {MIN_FIFO_DEPTH} words"
        + (f" except {deeper}" if deeper else ""))
    return _confirm(model, work_dir / "sized", frames, board, result, log)


def _confirm(model, work_dir, frames, board, result, log):
    """Run the real RTL with the chosen depths; double the FIFOs found full until it reaches the interval."""
    fifos = {link.tensor for link in rtl.links(model) if link.depth}
    for round_ in range(1, MAX_ROUNDS + 1):
        shutil.rmtree(work_dir / "rtl", ignore_errors=True)
        sized = with_depths(model, result.depths)
        rtl.generate(sized, work_dir / "rtl", board)
        sim = RtlSim(sized, work_dir / "rtl", work_dir / "rtlsim", log=log).build()
        try:
            stats = sim.run(frames)[1]
            result.sized_interval = interval_of(stats)
            if result.sized_interval <= result.interval:
                return result
            full = [f["name"] for f in stats["fifos"] if f["name"] in fifos and
                    next(p for p in stats["probes"] if p["name"] == f["name"])["stalled"] > 0]
            reason = f"{result.sized_interval:g} cycles per frame instead of {result.interval:g}"
        except Deadlock as deadlock:
            full = [f["name"] for f in deadlock.stats["fifos"] if f["occupancy"] >= f["depth"]]
            reason = "a deadlock"
        if not full:
            raise FifoSizingError(f"with the sized FIFOs the RTL reaches {reason}, and no FIFO was full: the "
                                  "depths are not the cause")
        for tensor in full:
            result.depths[tensor] *= 2
        result.log.append(f"round {round_}: {reason}; doubled the FIFOs of {', '.join(full)}")
        log(f"fifo sizing: {result.log[-1]}")
    raise FifoSizingError(f"no FIFO depths reached the interval of {result.interval:g} cycles per frame in "
                          f"{MAX_ROUNDS} rounds: {'; '.join(result.log)}")
