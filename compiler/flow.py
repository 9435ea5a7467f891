"""The build: a flow of named steps from a Brevitas model to verified HLS dataflow code.

Every value of the build's configuration is checked before any work (BuildConfig). Every step saves
what it produces in the build folder (graph steps as steps/NN_<step>.onnx, other files and folders as
its Step declares them), and compiler/buildfolder.py records its key (a hash of its inputs, chained
with the previous step's key; input files count by their content) and the content hash of every file
it wrote. A rebuild skips every step whose key is unchanged and whose files are as it wrote them, so
editing folding.json re-runs only the steps from folding on, a damaged or deleted file is redone, and a
failed or interrupted build resumes where it stopped. A step that runs again first moves the files of
the later steps into stale/: the folder never holds artefacts of two designs.
"""
import contextlib
import hashlib
import json
import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from qonnx.custom_op.registry import getCustomOp

import boards
from compiler import codegen, folding, frontend, verify
from compiler.buildfolder import BuildFolder, Terminated, graph_path, sigterm_interrupts, timestamp
from compiler.console import Console
from compiler.estimate import COST_MODELS, DEFAULT_COST_MODEL, MODEL_NAMES, estimate, other_cost_model, write_report
from compiler.estimate.report import write_summary
from compiler.fileio import replace_dir, save_model, scratch_dir, write_json
from compiler.hwops import MIN_FIFO_DEPTH
from compiler.synth import AUTO_MAX_LUT, LAYER_TIMEOUT, SYNTH_MODES
from models import images
from models.errors import InternalError, MissingFileError, UserError, positive_number, whole_number, writable_dir
from models.sources import load_source, parse_shape

DEFAULT_FRAMES = 16
# rtlsim: frames of the performance run (the interval is measured over its last frames), and of FIFO sizing
DEFAULT_RTLSIM_FRAMES, MIN_RTLSIM_FRAMES, SIZING_FRAMES = 5, 3, 4
# cppsim_synth: the first verification frames through the HLS kernels' synthesizable loops (slow to simulate)
DEFAULT_SYNTH_FRAMES = 2
RTLSIM_VERIFY_RUN = {"seed": 1, "in_gap": 0.2, "out_stall": 0.3}   # random input gaps and output backpressure
IMAGE_DATASETS = ("cifar10", "image")   # ModelSpec.dataset values whose frames are pixels in [0, 1)
FOLDING_STRATEGIES = ("optimize", "setfolding")   # our optimizer, FINN's SetFolding


class BuildError(UserError):
    """A build failed for a reason the user can act on; the message says what and where."""




@dataclass
class BuildConfig:
    """What to build. Values may be given as the command line's text; each is checked here, before any
    work, and a wrong one raises a UserError naming it and its legal values."""
    model: str = "vgg10"
    board: str = "pynq-z2"
    out_dir: Path | None = None
    folding: Path | None = None          # a FINN folding JSON to apply
    target_fps: float | str | None = None  # or a frame rate for automatic folding ("max": the fastest that fits)
    data: Path | None = None             # RadioML HDF5 (default: synthetic)
    ckpt: Path | None = None             # trained weights (default: a short training run)
    bits: Path | None = None             # per-layer bit widths of a registry model (make search's file)
    input_shape: tuple | str | None = None   # one frame, for ONNX/Python models that do not say
    frames: int | str = DEFAULT_FRAMES   # verification frames
    clock_mhz: float | str | None = None   # default: the board's
    folding_strategy: str = "optimize"   # automatic folding: one of FOLDING_STRATEGIES
    max_resources: str | None = None     # automatic folding's budget, e.g. "LUT=50000,BRAM36=100" or "70%"
    cost_model: str = DEFAULT_COST_MODEL  # resources by FINN's model or ours of our kernels: COST_MODELS
    input_phases: int | str = 1          # samples per pixel of a 1D network's first conv and pool (frontend.polyphase)
    fifo_sizing: bool = True             # size the FIFOs by rtlsim (else keep the folding's depths)
    rtlsim_frames: int | str = DEFAULT_RTLSIM_FRAMES   # frames of the rtlsim performance run
    synth_frames: int | str = DEFAULT_SYNTH_FRAMES     # verification frames of cppsim_synth (at most FRAMES)
    synth: str = "auto"                  # Yosys synthesis of the RTL: auto (small designs), 1 or 0
    synth_timeout: int | str = LAYER_TIMEOUT   # seconds Yosys may take on one layer
    chatter: bool = False                # libraries' prints and warnings on the terminal too (-v), not only in build.log

    def __post_init__(self):
        try:
            self.board_info = board = boards.get(self.board)
        except KeyError as error:
            raise BuildError(error.args[0]) from None
        self.clock_mhz = float(board.clock_mhz) if self.clock_mhz in (None, "") else positive_number(
            self.clock_mhz, "CLOCK_MHZ", board.max_clock_mhz, f" MHz ({board.name}'s {board.ps} PL clock limit)")
        self.target_fps = _target_fps(self.target_fps)
        self.frames = DEFAULT_FRAMES if self.frames in (None, "") else whole_number(self.frames, "FRAMES")
        self.rtlsim_frames = DEFAULT_RTLSIM_FRAMES if self.rtlsim_frames in (None, "") else whole_number(
            self.rtlsim_frames, "RTLSIM_FRAMES")
        self.synth_frames = DEFAULT_SYNTH_FRAMES if self.synth_frames in (None, "") else whole_number(
            self.synth_frames, "SYNTH_FRAMES")
        self.synth = "auto" if self.synth in (None, "") else str(self.synth)
        self.synth_timeout = LAYER_TIMEOUT if self.synth_timeout in (None, "") else whole_number(
            self.synth_timeout, "SYNTH_TIMEOUT")
        if self.synth not in SYNTH_MODES:
            raise BuildError(f"SYNTH={self.synth}: expected auto (synthesize designs up to {AUTO_MAX_LUT:,} "
                             "estimated LUT), 1 (always) or 0 (never)")
        if self.rtlsim_frames < MIN_RTLSIM_FRAMES:
            raise BuildError(f"RTLSIM_FRAMES={self.rtlsim_frames}: the steady-state interval needs at least "
                             f"{MIN_RTLSIM_FRAMES} frames")
        self.input_shape = parse_shape(self.input_shape)
        self.input_phases = 1 if self.input_phases in (None, "") else whole_number(self.input_phases, "INPUT_PHASES")
        if self.folding and self.target_fps:
            raise BuildError("give either FOLDING (a folding file) or TARGET_FPS, not both")
        self.folding, self.data, self.ckpt, self.bits = (
            _existing_file(value, name) for value, name in
            ((self.folding, "FOLDING"), (self.data, "DATA"), (self.ckpt, "CKPT"), (self.bits, "BITS")))
        if self.folding_strategy not in FOLDING_STRATEGIES:
            raise BuildError(f"unknown folding strategy '{self.folding_strategy}'; the strategies are: "
                             f"{', '.join(FOLDING_STRATEGIES)}")
        _check_budget(board, self.max_resources)
        self.cost_model = DEFAULT_COST_MODEL if self.cost_model in (None, "") else str(self.cost_model)
        if self.cost_model not in COST_MODELS:
            raise BuildError(f"COST_MODEL={self.cost_model}: expected finn (FINN's model of FINN's kernels; the "
                             "default) or ours (our kernels' resources, fitted to Yosys)")
        if self.out_dir is None:
            widths = f"-{self.bits.stem}" if self.bits else ""
            self.out_dir = Path("build") / f"{Path(self.model.split(':')[0]).stem}{widths}-{boards.canonical(self.board)}"
        self.out_dir = Path(self.out_dir)


    def as_file(self):
        """The options as CONFIG= reads them (build_config.json): every field, paths as text."""
        return {f.name: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for f in fields(self) if f.name not in RUN_ONLY_FIELDS for v in [getattr(self, f.name)]}


# BuildConfig fields that say how to run, not what to build: not in build_config.json
RUN_ONLY_FIELDS = ("chatter",)


def read_config_file(path):
    """The options of a build config file (JSON or YAML, build_config.json's schema) as a dict."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"CONFIG={path}: file not found")
    try:
        values = yaml.safe_load(path.read_text())       # JSON is YAML
    except yaml.YAMLError as error:
        raise BuildError(f"CONFIG={path} is neither JSON nor YAML: {' '.join(str(error).split())[:200]}") from None
    legal = [f.name for f in fields(BuildConfig) if f.name not in RUN_ONLY_FIELDS]
    if not isinstance(values, dict):
        raise BuildError(f"CONFIG={path} holds a {type(values).__name__}, not a mapping of options ({', '.join(legal)})")
    unknown = sorted(set(values) - set(legal))
    if unknown:
        raise BuildError(f"CONFIG={path}: unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"the options are {', '.join(legal)}")
    return values


def _target_fps(value):
    """TARGET_FPS: None, "max", or a frame rate > 0."""
    if value in (None, "", "max"):
        return value or None
    try:
        return positive_number(value, "TARGET_FPS")
    except UserError as error:
        raise BuildError(f"{error}, or max (the fastest folding that fits)") from None


def _existing_file(path, name):
    if path in (None, ""):
        return None
    if not Path(path).is_file():
        raise MissingFileError(f"{name}={path}: file not found")
    return Path(path)


def _check_budget(board, limits):
    """MAX_RESOURCES: known resources, each at most the board's (100 %)."""
    legal = (f"expected RESOURCE=COUNT, RESOURCE=PERCENT% or PERCENT% (0-100 %), comma-separated, with RESOURCE "
             f"one of {', '.join(folding.resource_budget(board))}")
    try:
        budget = folding.resource_budget(board, limits)
    except (folding.FoldingError, ValueError, OverflowError):       # malformed, nan, inf
        raise BuildError(f"MAX_RESOURCES={limits}: {legal}") from None
    over = [f"{name}={count} is more than the {board.resources[name]} of {board.name}"
            for name, count in budget.items() if count > board.resources[name]]
    if over:
        raise BuildError(f"MAX_RESOURCES={limits}: {'; '.join(over)} ({legal})")


@dataclass
class Step:
    name: str
    run: callable
    inputs: callable = lambda build: ()        # config values and input file hashes besides the previous step's key
    outputs: tuple = ()                        # files and folders it writes (its saved graphs count without)
    editable: tuple = ()                       # outputs users edit and the step reads back: never moved aside


@dataclass
class Build:
    config: BuildConfig
    log: logging.Logger
    folder: BuildFolder | None = None            # default: the config's out_dir
    models: dict = field(default_factory=dict)   # in-memory graphs by step name
    source: object = None                        # models.sources.Source
    checkpoint: Path | None = None               # weights the export uses (trained by the build if none)
    saved: list = field(default_factory=list)    # graph files the running step saved
    console: Console | None = None               # the terminal's view (run_build's)

    def __post_init__(self):
        self.folder = self.folder or BuildFolder(self.config.out_dir)

    @property
    def dir(self):
        return self.config.out_dir

    @property
    def notes(self):
        """Facts a step records for later runs (folding provenance), kept in steps/state.json."""
        return self.folder.notes

    def file_hash(self, path):
        """The content hash of an input or output file (None if none given or it does not exist)."""
        return self.folder.hash(path) if path else None

    def graph(self, name, suffix=""):
        """The graph a step produced: from memory, or from its saved file when resuming."""
        key = name + suffix
        if key not in self.models:
            self.models[key] = self.folder.graph(name, suffix)
        return self.models[key]

    def save_graph(self, name, model, suffix=""):
        path = graph_path(self.dir, [s.name for s in STEPS].index(name), name, suffix)
        self.models[name + suffix] = model
        save_model(model, path)
        self.saved.append(str(path.relative_to(self.dir)))
        return model


# ---------------------------------------------------------------------------------------------- steps

def _step_train(build):
    """Registry models without CKPT: train briefly (or calibrate) so verification sees real activations."""
    if build.config.ckpt:
        build.log.info(f"using the weights of CKPT={build.config.ckpt}")
        build.source.module(build.config.ckpt, log=build.log.info)     # says how a team's file was imported
        return
    if not build.source.trainable:
        build.log.info("model has no trainable source; skipped")
        return
    from models.train import weights_for_build

    weights_for_build(build.source.spec, build.dir / "checkpoint.pt", build.config.data, log=build.log.info)


def _step_export(build):
    model = build.source.export(build.checkpoint)
    save_model(model, build.dir / "model.qonnx.onnx")
    build.save_graph("export", model)


def _step_to_finn(build):
    model = build.graph("export")
    if build.source.topk:
        model = frontend.insert_topk(model, build.source.topk)
    build.save_graph("to_finn", frontend.to_finn(model, _float_join_advice(build)))


def _float_join_advice(build):
    """What to do about a float Add/Concat: the hardware variant of a published registry model."""
    from models import registry

    spec, graph = build.source.spec, f"(the graph: {build.dir / 'model.qonnx.onnx'})"
    variants = [n for n in registry.names() if spec and registry.get(n).extra.get("published") == spec.name]
    if variants:
        return (f"{spec.name} is the model as its team published it, for its cost; its hardware variant re-quantizes "
                f"there: MODEL={' or '.join(variants)} (CKPT= takes the team's weights) {graph}")
    return f"{frontend.FLOAT_JOIN_ADVICE} {graph}"


def _graph_step(name, previous, transform):
    def run(build):
        build.save_graph(name, transform(build, build.graph(previous)))
    return run


def _step_partition(build):
    parent, dataflow = frontend.create_dataflow_partition(build.graph("convert_to_hw"), str(build.dir / "steps" / "partition"))
    build.save_graph("dataflow_partition", parent, suffix="_parent")
    build.save_graph("dataflow_partition", dataflow)


def _folding_source(build):
    """What decides the folding: FOLDING, TARGET_FPS, the build's own (maybe edited) folding.json,
    or by default the fastest folding that fits the board."""
    config, existing = build.config, build.dir / "folding.json"
    if config.folding:
        return ("file", str(config.folding), build.file_hash(config.folding))
    if config.target_fps or config.max_resources:
        # a budget alone asks for the fastest folding within it
        return ("target_fps", config.target_fps or "max", config.clock_mhz, config.folding_strategy,
                config.max_resources, config.cost_model)
    if existing.exists():
        previous = build.notes.get("folding", {})
        if previous.get("applied") == build.file_hash(existing):
            return previous["source"]     # the folding.json this build wrote itself: same folding
        return ("file", str(existing), build.file_hash(existing))
    return ("target_fps", "max", config.clock_mhz, config.folding_strategy, config.max_resources, config.cost_model)


def _step_folding(build):
    model = build.graph("specialize_layers")
    kind, *args = _folding_source(build)
    if kind == "file":
        build.log.info(f"applying folding from {args[0]}")
        model = folding.apply(model, folding.load(args[0]), source=args[0])
    else:
        # (sources recorded before folding strategies and cost models existed name neither)
        fps, clock_mhz, strategy, limits, cost_model = (*args, *("optimize", None, "finn")[len(args) - 2:])
        if fps == "max":
            build.log.info("folding for the fastest throughput within the resource budget"
                           + ("" if build.config.target_fps else " (no FOLDING or TARGET_FPS given)"))
        if strategy == "setfolding":
            if fps == "max":
                raise BuildError("FINN's SetFolding needs a numeric TARGET_FPS; without one (or with TARGET_FPS=max) "
                                 "use the optimizer (--folding-strategy optimize)")
            model = folding.auto_fold(model, fps, clock_mhz)
        else:
            budget = folding.resource_budget(build.config.board_info, limits)
            try:
                model, chosen = folding.optimize(model, build.config.board_info.part, clock_mhz, budget,
                                                 None if fps == "max" else fps, cost_model)
            except folding.FoldingError as error:
                if limits:
                    raise
                raise folding.FoldingError(f"{error} (the budget is {folding.DEFAULT_LIMITS} of "
                                           f"{build.config.board_info.name}; MAX_RESOURCES sets another)") from None
            if not chosen["met"]:
                build.log.info(f"target {fps:g} fps is beyond this graph: its fastest legal folding reaches "
                               f"{chosen['fastest_fps']:.0f} fps")
            build.log.info(f"folding optimizer: {chosen['fps']:.0f} fps ({chosen['cycles']} cycles per frame) with "
                           f"{chosen['LUT']} LUT, {chosen['BRAM36']} BRAM36, {chosen['DSP']} DSP, "
                           f"{chosen['URAM']} URAM (resources by {MODEL_NAMES[cost_model]})")
    config = folding.extract(model)
    folding.save(config, build.dir / "folding.json")
    build.notes["folding"] = {"source": [kind, *args], "applied": build.file_hash(build.dir / "folding.json")}
    build.save_graph("folding", model)


def _step_estimate(build):
    board, clock_mhz = build.config.board_info, build.config.clock_mhz
    cost_model = build.config.cost_model
    report = estimate(build.graph("fifo_sizing"), board, clock_mhz, cost_model)
    # the trade-off this graph offers, to see the applied folding against
    try:
        front = [plan.point(clock_mhz) for plan in
                 folding.FoldingSpace(build.graph("specialize_layers"), board.part, cost_model).front()]
    except folding.FoldingError as error:     # a folding given by hand needs no optimizer
        build.log.info(f"report without a throughput/LUT front: {error}")
        front = []
    write_report(report, build.dir / "report" / "estimates.json")
    write_json({"budget": folding.resource_budget(board, build.config.max_resources), "front": front},
               build.dir / "report" / "pareto.json")
    fit = "fits" if report["fits_board"] else "does NOT fit"
    other = other_cost_model(cost_model)
    other_luts = report["luts_by_model"][other]
    beside = (f"; by {MODEL_NAMES[other]} {other_luts} LUT"
              + (f", more than the board's {board.resources['LUT']}" if other_luts > board.resources["LUT"] else ""))
    build.log.info(f"estimated {report['estimated_fps']:.0f} fps at {report['clock_mhz']:g} MHz "
                   f"(bottleneck {report['bottleneck']}), {report['totals']['LUT']:.0f} LUT by "
                   f"{MODEL_NAMES[cost_model]}: {fit} on {build.config.board_info.name}{beside}")


def _step_report(build):
    """report/: summary.md and its plots, the estimate beside what rtlsim measured (report/rtlsim.json)."""
    report = build.dir / "report"
    est = json.loads((report / "estimates.json").read_text())
    pareto = json.loads((report / "pareto.json").read_text())
    measured = json.loads((build.dir / "rtlsim" / "performance.json").read_text())
    write_json(measured, report / "rtlsim.json")
    write_summary(f"{build.config.model} on {build.config.board_info.name}", est, pareto["front"], pareto["budget"],
                  report, measured, json.loads((report / "synth.json").read_text()))
    build.log.info(f"report: {report / 'summary.md'}")


def _random_stream_frames(model, count, seed=0):
    """`count` random frames of the accelerator's input, in stream order: the hardware's timing does
    not depend on the values."""
    stream = codegen.streams(model)[0]
    values = np.random.default_rng(seed).integers(int(stream.dtype.min()), int(stream.dtype.max()) + 1,
                                                  size=(count, stream.elems))
    return np.where(values > 0, 1, -1) if stream.bipolar else values


def _step_fifo_sizing(build):
    """The depth of every FIFO between two layers (by rtlsim, see compiler/sim/fifo_sizing.py), set
    on the graph as FINN's inFIFODepths and written into folding.json with the folding."""
    model = build.graph("minimize_bit_widths")
    record = build.dir / "steps" / "fifo_sizing.json"
    if build.config.fifo_sizing:
        from compiler.sim.fifo_sizing import size_fifos, with_depths

        with scratch_dir(build.dir, "fifo_sizing") as work:
            result = size_fifos(model, work, _random_stream_frames(model, SIZING_FRAMES), build.config.board_info,
                                log=build.log.info)
        model = with_depths(model, result.depths)
        write_json({"interval_cycles": result.interval, "sized_interval_cycles": result.sized_interval,
                    "simulations": result.runs, "confirmation": result.log,
                    "fifos": [{"tensor": t, "consumer": model.find_consumer(t).name, "depth": d,
                               "peak_at_graph_pace": result.peaks[t]} for t, d in result.depths.items()]}, record)
    else:
        kind, *args = _folding_source(build)
        if kind == "file":
            model = folding.apply_fifo_depths(model, folding.load(args[0]))
        build.log.info("FIFO sizing off (FIFO_SIZING=0): the FIFO depths are the folding's"
                       + ("" if kind == "file" else f", {MIN_FIFO_DEPTH} words each"))
    # folding.json: the folding step's folding, and the depth of the FIFO in front of every input of
    # every node (also of the width converters inserted after folding)
    config = folding.extract(build.graph("folding"))
    for node in model.graph.node:
        config.setdefault(node.name, {})["inFIFODepths"] = list(getCustomOp(node).get_nodeattr("inFIFODepths"))
    folding.save(config, build.dir / "folding.json")
    build.folder.adopt("folding", "folding.json")
    build.notes["folding"]["applied"] = build.file_hash(build.dir / "folding.json")
    build.save_graph("fifo_sizing", model)


def _step_hls_codegen(build):
    with replace_dir(build.dir / "hls") as tmp:
        layers = codegen.generate(build.graph("fifo_sizing"), tmp, build.config.board_info,
                                  build.config.clock_mhz)
    build.log.info(f"generated HLS C++ for {len(layers)} layers in {build.dir / 'hls'}")


def _cppsim(build, synth=False):
    """The cppsim of the build; synth=True: the one of the kernels' synthesizable loops (DFK_SYNTH_CSIM),
    the code Vitis HLS synthesizes."""
    from compiler.sim import CppSim

    return CppSim(build.graph("fifo_sizing"), build.dir / "hls", build.dir / ("cppsim_synth" if synth else "cppsim"),
                  log=build.log.info, defines=["DFK_SYNTH_CSIM"] if synth else [])


def _step_cppsim(build):
    _cppsim(build).build()
    _cppsim(build, synth=True).build()


def _step_rtl_codegen(build):
    from compiler.codegen import rtl

    with replace_dir(build.dir / "rtl") as tmp:
        layers, _ = rtl.generate(build.graph("fifo_sizing"), tmp, build.config.board_info)
    build.log.info(f"generated SystemVerilog for {len(layers)} layers in {build.dir / 'rtl'} (top: {rtl.AXI_TOP})")


def _step_synth(build):
    """report/synth.json: Yosys' counts of every layer and FIFO of rtl/ (compiler/synth), or why not."""
    from compiler import synth

    est = json.loads((build.dir / "report" / "estimates.json").read_text())
    path = build.dir / "report" / "synth.json"
    skipped = synth.auto_skip_reason(build.config.synth, est)
    if skipped:
        write_json({"skipped": skipped}, path)
        build.log.info(f"synthesis skipped: {skipped}")
        return
    record = synth.synthesize_build(build.dir / "rtl", build.graph("fifo_sizing"), build.config.board_info, est,
                                    log=build.log.info, timeout=build.config.synth_timeout)
    write_json(record, path)
    totals = record["totals"]
    build.log.info(f"synth ({record['tool']}; not Vivado): {totals['LUT']} LUT, {totals['FF']} FF, "
                   f"{synth.bram18(totals)} BRAM18, {totals['DSP']} DSP; {build.config.board_info.name}: "
                   f"{synth.fit_verdict(record)}")


def _rtlsim(build, dump=False):
    from compiler.sim.rtlsim import RtlSim

    work = build.dir / "rtlsim" / ("dump" if dump else "model")
    return RtlSim(build.graph("fifo_sizing"), build.dir / "rtl", work, log=build.log.info, dump=dump)


def _step_rtlsim(build):
    """The RTL cycle by cycle on RTLSIM_FRAMES frames, as fast as it takes them: the measured interval,
    latency and what every layer and FIFO did (rtlsim/performance.json), beside the estimate."""
    from compiler.sim import rtlsim

    model = build.graph("fifo_sizing")
    sim = _rtlsim(build).build()
    _, stats = sim.run(_random_stream_frames(model, build.config.rtlsim_frames))
    performance = rtlsim.performance(model, stats, estimate(model, build.config.board_info, build.config.clock_mhz))
    write_json(performance, build.dir / "rtlsim" / "performance.json")
    build.log.info(f"rtlsim: {performance['interval_cycles']:g} cycles per frame measured "
                   f"({performance['fps']:.0f} frames/s at {build.config.clock_mhz:g} MHz; estimated "
                   f"{performance['estimated_cycles']}), first frame after {performance['latency_cycles']} cycles; "
                   f"{performance['cycles_per_second'] / 1e3:.0f}k simulated cycles/s")


def _classifies_radioml(build):
    """A registry RadioML classifier, trained by the build or given: its outputs should vary."""
    from models.train import untrainable_reason

    return build.source.trainable and untrainable_reason(build.source.spec) is None


def _step_verify(build):
    record = run_verification(build)
    write_json(record, build.dir / "verification.json")
    failed = [s for s in record["stages"] if not s["ok"]]
    if record["too_many_boundary_frames"]:
        count, frames = len(record["boundary_frames"]), record["frames"]
        raise BuildError(f"{count} of {frames} frames ({count / frames:.0%}) sit on a rounding boundary (the float "
                         f"evaluations disagree there, or a float32 threshold flipped an activation): frames "
                         f"{record['boundary_frames'][:10]}; more than the {verify.MAX_BOUNDARY_SHARE:.0%} rounding "
                         f"explains, so something else differs. Details: {build.dir / 'verification.json'}")
    if failed:
        where = record.get("first_differing_layer")
        hint = (f"; {where['simulator']} first differs from the HW graph at layer '{where['layer']}' "
                f"({where['op_type']}), frame {where['frame']}: {where['detail']}") if where else ""
        raise BuildError(f"verification failed at stage '{failed[0]['stage']}' on frames "
                         f"{failed[0]['unexplained_frames'][:10]} (max difference {failed[0]['max_abs_diff']:g} "
                         f"output units){hint}. Details: {build.dir / 'verification.json'}")
    if record["distinct_predictions"] < 2 and record["frames"] > 1 and _classifies_radioml(build):
        raise BuildError(f"every verified frame is predicted as class {record['predictions'][0]}: the network "
                         "is degenerate, so the check proves little; train longer or give CKPT")
    frames, exact = record["frames"], record["exact_frames"]
    build.log.info(f"verified {frames} frames: cppsim, rtlsim and cppsim_synth (on {record['cppsim_synth_frames']}) "
                   f"exact against the FINN graphs; {exact} of {frames} frames exact against {record['reference']}, "
                   f"{frames - exact} on a rounding boundary; cppsim ran at {record['cppsim_fps']:.1f} frames/s")


def _step_driver(build):
    """driver/: the PYNQ driver, with the graph's stream formats and host ops (no tools needed)."""
    from compiler import driver

    with replace_dir(build.dir / "driver") as tmp:
        driver.generate(tmp, build.graph("dataflow_partition", "_parent"), build.graph("minimize_bit_widths"),
                        build.config.board_info, build.config.clock_mhz, build.source.input_shape,
                        _radioml_input(build), model=build.config.model)
    build.log.info(f"generated the PYNQ driver in {build.dir / 'driver'} (try: python3 driver.py --platform sim "
                   "--exec_mode throughput_test --batchsize 100)")


def _step_board_project(build):
    """The accelerator IP's AXI top and C simulation test (hls/), the Vivado project script and
    build.sh (vivado/): generated here, run where Vitis HLS and Vivado are installed."""
    from compiler import board
    from compiler.driver.runtime.accelerator import Accelerator

    frames = verification_frames(build)[:board.TEST_FRAMES]
    sim = Accelerator("sim", batch_size=len(frames), config_dir=build.dir / "driver")
    board.generate(build.dir, build.graph("minimize_bit_widths"), build.config.board_info, build.config.clock_mhz,
                   sim.dma_words(frames))
    build.log.info(f"generated the Vitis HLS and Vivado scripts (hls/synth.tcl, vivado/project.tcl, vivado/build.sh); "
                   f"{board.bitstream_hint(build.dir)}")


def _source_key(build):
    """The model's identity: its name and the content of the files it is read from."""
    return build.source.key, [build.file_hash(path) for path in build.source.files]


STEPS = [
    Step("train", _step_train, lambda b: (_source_key(b), b.file_hash(b.config.data), b.config.ckpt is not None,
                                          _sources_hash("models")), ("checkpoint.pt",)),
    Step("export", _step_export, lambda b: (_source_key(b), b.file_hash(b.checkpoint),
                                            _sources_hash("compiler", "kernels", "boards")), ("model.qonnx.onnx",)),
    Step("to_finn", _step_to_finn, lambda b: (b.source.topk,)),
    Step("to_nhwc", _graph_step("to_nhwc", "to_finn", lambda b, m: frontend.to_nhwc(m))),
    Step("streamline", _graph_step("streamline", "to_nhwc",
                                   lambda b, m: frontend.polyphase(frontend.streamline(m), b.config.input_phases)),
         lambda b: (b.config.input_phases,)),
    Step("convert_to_hw", _graph_step("convert_to_hw", "streamline", lambda b, m: frontend.convert_to_hw(m))),
    Step("dataflow_partition", _step_partition),
    Step("specialize_layers", _graph_step("specialize_layers", "dataflow_partition",
                                          lambda b, m: frontend.specialize_layers(m, b.config.board_info.part)),
         lambda b: (b.config.board_info.part,)),
    Step("folding", _step_folding, lambda b: _folding_source(b), ("folding.json",), editable=("folding.json",)),
    Step("minimize_bit_widths", _graph_step("minimize_bit_widths", "folding",
                                            lambda b, m: frontend.minimize_bit_widths(m, b.config.board_info.part))),
    Step("fifo_sizing", _step_fifo_sizing, lambda b: (b.config.fifo_sizing, _sources_hash("rtl")),
         ("steps/fifo_sizing.json",)),
    Step("estimate", _step_estimate, lambda b: (b.config.board, b.config.clock_mhz, b.config.max_resources,
                                                b.config.cost_model),
         ("report/estimates.json", "report/pareto.json")),
    Step("hls_codegen", _step_hls_codegen, lambda b: (b.config.board, b.config.clock_mhz), ("hls",)),
    Step("cppsim", _step_cppsim, outputs=("cppsim", "cppsim_synth")),
    Step("rtl_codegen", _step_rtl_codegen, outputs=("rtl",)),
    Step("rtlsim", _step_rtlsim, lambda b: (b.config.rtlsim_frames, b.config.clock_mhz), ("rtlsim/performance.json",)),
    Step("verify", _step_verify, lambda b: (b.config.frames, b.file_hash(b.config.data), b.config.synth_frames),
         ("verification.json",)),
    Step("synth", _step_synth, lambda b: (b.config.synth, b.config.board, b.config.synth_timeout), ("report/synth.json",)),
    Step("report", _step_report, lambda b: (b.config.max_resources,),
         ("report/summary.md", "report/cycles.png", "report/resources.png", "report/pareto.png",
          "report/rtlsim.json")),
    Step("driver", _step_driver, outputs=("driver",)),
    Step("board_project", _step_board_project,
         outputs=("hls/axi_top.hpp", "hls/axi_top.cpp", "hls/tb.cpp", "hls/tb", "vivado")),
]


# ---------------------------------------------------------------------------------------- verification

def _radioml_input(build):
    """(RadioML file, host average pool) for a model that takes RadioML frames (synthetic unless DATA),
    else None. The pool is the host's first step for models whose hardware part takes decimated frames."""
    shape, spec = build.source.input_shape, build.source.spec
    if not (len(shape) == 2 and shape[0] == 2):
        return None
    from models import radioml

    return build.config.data or radioml.ensure_synthetic(), spec.extra.get("host_pool", 1) if spec else 1


def verification_frames(build):
    """Frames to verify on: the RadioML test split for RadioML models, as the host hands them to the
    model; MNIST and CIFAR-10 models' DATA, else frames like them; uniform [0, 1) pixels for other
    image models; else seeded noise."""
    shape, spec = build.source.input_shape, build.source.spec
    rng = np.random.default_rng(0)
    radioml_input = _radioml_input(build)
    if radioml_input:
        from models import radioml

        path, pool = radioml_input
        x, _, _ = radioml.load(path, "test", limit=build.config.frames, length=shape[-1] * pool)
        return radioml.average_pool(x, pool)
    if spec and spec.dataset in images.SHAPES:
        # seed 1: not the frames the build calibrated on
        return images.frames_for(spec.dataset, build.config.data, build.config.frames, seed=1)[0]
    if spec and spec.dataset in IMAGE_DATASETS:
        return rng.random((build.config.frames, *shape), dtype=np.float32)
    return rng.standard_normal((build.config.frames, *shape)).astype(np.float32)


def _nhwc(frames, graph_shape):
    """Frames (N, C, L) or (N, C, H, W) in the layout of a graph input shaped like graph_shape."""
    if list(frames.shape[1:]) == list(graph_shape[1:]):
        return frames
    if frames.ndim == 3:        # NCL -> N, L, 1, C
        return frames.transpose(0, 2, 1)[:, :, None, :]
    return frames.transpose(0, 2, 3, 1)


def _explain_rounding_flips(build, record, x):
    """Integer stages that differ from PyTorch on a frame where every float evaluation agrees: accept
    the frame only if the first differing activation sat on a rounding boundary (float32 thresholds)."""
    streamlined = build.graph("streamline")
    frames = sorted({f for s in record["stages"] if s["stage"] in verify.INTEGER_CHAIN for f in s["unexplained_frames"]})
    explanations = {}
    for frame in frames:
        nhwc = _nhwc(x[frame:frame + 1], streamlined.get_tensor_shape(streamlined.graph.input[0].name))[0]
        explanations[frame] = verify.explain_by_activations(
            streamlined, nhwc, build.source.torch_activations(build.checkpoint, x[frame]))
    explained = {f for f, e in explanations.items() if e["explained"]}
    for stage in record["stages"]:
        if stage["stage"] in verify.INTEGER_CHAIN:
            stage["unexplained_frames"] = [f for f in stage["unexplained_frames"] if f not in explained]
            stage["ok"] = not stage["unexplained_frames"]
    record["boundary_frames"] = sorted(set(record["boundary_frames"]) | explained)
    record["rounding_flips"] = {str(f): e for f, e in explanations.items()}
    # the share of accepted frames counts these too
    record["too_many_boundary_frames"] = verify.too_many_boundary_frames(len(record["boundary_frames"]), record["frames"])
    record["ok"] = not record["too_many_boundary_frames"] and all(s["ok"] for s in record["stages"])


def run_verification(build):
    """Run the verification frames through every stage and judge them (see verify.judge)."""
    x = verification_frames(build)
    parent, dataflow = build.graph("dataflow_partition", "_parent"), build.graph("minimize_bit_widths")
    quantum = verify.output_quantum(parent)
    outputs = {}
    float_scores = False
    if build.source.torch_reference:
        # With a TopK head the accelerator outputs class indices, so the scores' quantum comes from
        # PyTorch's output scale, not from the host ops after the accelerator.
        outputs["pytorch"], scale = build.source.torch_reference(build.checkpoint, x, np.float64)
        outputs["pytorch_float32"], _ = build.source.torch_reference(build.checkpoint, x, np.float32)
        quantum = scale or quantum
        # scores without an output scale (BNN-PYNQ's TensorNorm): only the classes they pick compare
        float_scores = scale is None and build.source.topk
    for step, stage in (("export", "qonnx_export"), ("to_finn", "finn_onnx"), ("streamline", "streamline")):
        graph = build.graph(step)
        outputs[stage] = verify.run_graph(graph, _nhwc(x, graph.get_tensor_shape(graph.graph.input[0].name)))
    accel_in = verify.accelerator_inputs(parent, _nhwc(x, parent.get_tensor_shape(parent.graph.input[0].name)))
    hw_out = verify.run_graph(verify.generic_ops(dataflow), accel_in)
    outputs["hw_graph"] = verify.host_outputs(parent, hw_out)
    sim = _cppsim(build)
    stream_in = np.round([verify.to_stream_order(dataflow, dataflow.graph.input[0].name, f) for f in accel_in])
    stream_in = stream_in.astype(np.int64)
    cpp_out, stats, _ = sim.run(stream_in)
    outputs["cppsim"] = verify.host_outputs(parent, cpp_out.reshape(hw_out.shape))
    # The synthesizable loops on the first frames: the code Vitis HLS is given, verified too.
    synth_sim, synth_frames = _cppsim(build, synth=True), min(build.config.synth_frames, len(x))
    synth_out, _, _ = synth_sim.run(stream_in[:synth_frames])
    outputs["cppsim_synth"] = verify.host_outputs(parent, synth_out.reshape(synth_frames, *hw_out.shape[1:]))
    # The RTL with random gaps in its input and random backpressure on its output: its results must
    # not depend on when words come and go.
    rtl_sim = _rtlsim(build).build()
    rtl_out, rtl_stats = rtl_sim.run(stream_in, **RTLSIM_VERIFY_RUN)
    outputs["rtlsim"] = verify.host_outputs(parent, rtl_out.reshape(hw_out.shape))
    if float_scores:
        outputs = verify.as_class_indices(outputs, build.source.topk)

    record = verify.judge(outputs, quantum)
    if build.source.torch_reference:
        _explain_rounding_flips(build, record, x)
    record["cppsim_fps"] = stats["fps"]
    record["cppsim_synth_frames"] = synth_frames
    record["rtlsim_run"] = {**RTLSIM_VERIFY_RUN, "cycles": rtl_stats["cycles"]}
    for stage, simulator, localize in (("cppsim_vs_hw_graph", sim, verify.localize_cppsim_mismatch),
                                       ("cppsim_synth_vs_cppsim", synth_sim, verify.localize_cppsim_mismatch),
                                       ("rtlsim_vs_cppsim", None, verify.localize_rtlsim_mismatch)):
        judged = next(s for s in record["stages"] if s["stage"] == stage)
        if not judged["ok"] and "first_differing_layer" not in record:
            simulator = simulator or _rtlsim(build, dump=True)
            where = localize(dataflow, simulator, stream_in, judged["mismatched_frames"][0])
            record["first_differing_layer"] = where and {"simulator": stage.split("_vs_")[0], **where}
    return record


def rerun_rtlsim(config):
    """make rtlsim: the built RTL once more, on config.frames frames (of DATA, or the build's own
    verification frames): its outputs must equal cppsim's on the same frames, and what it measured
    is written to rtlsim/rerun.json. Needs a completed build in config.out_dir."""
    from compiler.sim import rtlsim

    folder = BuildFolder(config.out_dir)
    with folder.locked():
        build = _finished_build(config, folder)
        _check_inputs(build)
        parent, dataflow = build.graph("dataflow_partition", "_parent"), build.graph("fifo_sizing")
        x = verification_frames(build)
        accel_in = verify.accelerator_inputs(parent, _nhwc(x, parent.get_tensor_shape(parent.graph.input[0].name)))
        stream_in = np.round([verify.to_stream_order(dataflow, dataflow.graph.input[0].name, f) for f in accel_in])
        stream_in = stream_in.astype(np.int64)
        build.log.info(f"rtlsim of {config.out_dir} on {len(x)} frames"
                       + (f" of {config.data}" if config.data else " (the build's verification frames)"))
        cpp_out, _, _ = _cppsim(build).run(stream_in)
        rtl_out, stats = _rtlsim(build).run(stream_in)
        differing = np.nonzero((rtl_out != cpp_out).any(axis=1))[0]
        if differing.size:
            where = verify.localize_rtlsim_mismatch(dataflow, _rtlsim(build, dump=True), stream_in, int(differing[0]))
            raise BuildError(f"rtlsim differs from cppsim on {differing.size} of {len(x)} frames (first: "
                             f"{differing[:10].tolist()})" + (f"; first at layer '{where['layer']}': {where['detail']}"
                                                              if where else ""))
        measured = rtlsim.performance(dataflow, stats, estimate(dataflow, config.board_info, config.clock_mhz))
        write_json({"frames": len(x), "data": str(config.data) if config.data else None, "exact_vs_cppsim": True,
                    **measured}, config.out_dir / "rtlsim" / "rerun.json")
        build.log.info(f"rtlsim equals cppsim on all {len(x)} frames; {measured['interval_cycles']:g} cycles per "
                       f"frame ({measured['fps']:.0f} frames/s at {config.clock_mhz:g} MHz), "
                       f"{measured['cycles_per_second'] / 1e3:.0f}k simulated cycles/s: {config.out_dir / 'rtlsim' / 'rerun.json'}")


def test_split_size(config):
    """Frames in the test split of the build's RadioML data (config.data, else the synthetic file)."""
    from models import radioml

    build = _finished_build(config)
    path, pool = _radioml_classifier_input(build)
    return len(radioml.FrameStream(path, "test", length=build.source.input_shape[-1] * pool))


def simulate_test_frames(config, start, stop, sim="cppsim"):
    """Frames [start, stop) of the test split of the build's RadioML data through the finished
    build's simulator (`sim`: cppsim or rtlsim) and through PyTorch: {"hardware", "pytorch": class
    predictions, "tied": whether PyTorch's two best scores are equal (either class is its answer, and
    the hardware's TopK may break the tie otherwise), "labels", "snr", "index"}. Reads the build
    folder, writes only sim's own work files."""
    import h5py

    from models import radioml

    if sim not in ("cppsim", "rtlsim"):
        raise BuildError(f"SIM={sim}: expected cppsim or rtlsim")
    build = _finished_build(config)
    path, pool = _radioml_classifier_input(build)
    stream = radioml.FrameStream(path, "test", length=build.source.input_shape[-1] * pool)
    with h5py.File(stream.path, "r") as f:
        x, labels, snr = stream.read(f, np.arange(start, stop))
    x = radioml.average_pool(x, pool)
    parent, dataflow = build.graph("dataflow_partition", "_parent"), build.graph("fifo_sizing")
    accel_in = verify.accelerator_inputs(parent, _nhwc(x, parent.get_tensor_shape(parent.graph.input[0].name)))
    stream_in = np.round([verify.to_stream_order(dataflow, dataflow.graph.input[0].name, f) for f in accel_in])
    simulator = _cppsim(build) if sim == "cppsim" else _rtlsim(build)
    accel_out = simulator.run(stream_in.astype(np.int64))[0]
    hardware = verify.host_outputs(parent, accel_out.reshape(len(x), *parent.get_tensor_shape(
        verify.split_parent(parent)[1].output[0])[1:]))
    pytorch, _ = build.source.torch_reference(build.checkpoint, x, np.float32)
    top = verify.as_class_indices({"hardware": hardware, "pytorch": pytorch}, 1)
    exact, quantum = build.source.torch_reference(build.checkpoint, x, np.float64)   # float32 sums blur ties
    best_two = np.sort((np.round(exact / quantum) if quantum else exact).reshape(len(x), -1), axis=1)[:, -2:]
    return {"hardware": top["hardware"][:, 0], "pytorch": top["pytorch"][:, 0], "tied": best_two[:, 0] == best_two[:, 1],
            "labels": labels, "snr": snr, "index": np.arange(start, stop)}


def _finished_build(config, folder=None):
    """The Build of a build folder whose simulators are built; reads it only."""
    folder = folder or BuildFolder(config.out_dir)
    build = Build(config, _logger(config.out_dir / "build.log")[0], folder)
    build.source = load_source(config)
    build.checkpoint = _checkpoint(build)
    for step in ("cppsim", "rtl_codegen"):
        if folder.why_run(step, folder.steps.get(step, {}).get("key")) is not None:
            raise BuildError(f"{config.out_dir} holds no completed build to simulate (its step '{step}' is not "
                             "done): run make build first")
    return build


def _radioml_classifier_input(build):
    if not _radioml_input(build) or not build.source.torch_reference:
        raise BuildError(f"MODEL={build.config.model} is not a PyTorch RadioML classifier: only those verify on a "
                         "test split here")
    return _radioml_input(build)


# ------------------------------------------------------------------------------------------- running

def _sources_hash(*folders):
    """Hash of this tool's own sources in `folders`: steps built by other code are re-run."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".hpp", ".sv", ".j2", ".json"):
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _key(previous, step, inputs):
    return hashlib.sha256(json.dumps([previous, step, inputs], default=str).encode()).hexdigest()[:16]


def _quiet_libraries(build):
    return contextlib.nullcontext() if build.config.chatter else _library_output_to(build.dir / "build.log")


def _stream_handlers():
    """Every console handler of the libraries' loggers (not the build's own)."""
    loggers = [logger for name, logger in logging.root.manager.loggerDict.items()
               if not name.startswith("build.") and isinstance(logger, logging.Logger)] + [logging.root]
    return [h for logger in loggers for h in logger.handlers if type(h) is logging.StreamHandler]   # no file-like subclass


@contextlib.contextmanager
def _library_output_to(path):
    """The libraries' prints, warnings and log records (brevitas, torch.onnx's export banners, qonnx,
    FINN) go to `path` instead of the terminal; the build's own log keeps its terminal handler."""
    terminal = sys.stderr
    with open(path, "a") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        handlers = _stream_handlers()
        previous = [h.setStream(sink) for h in handlers]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, previous):
                handler.setStream(stream)
            for handler in _stream_handlers():      # created meanwhile (a library imported in the step)
                if handler.stream is sink:
                    handler.setStream(terminal)


def _logger(path):
    """INFO goes to the terminal (compiler/console.py: one line per step) and build.log, DEBUG (a step's
    start and end, an internal error's traceback) to build.log only."""
    log = logging.getLogger(f"build.{path}")
    log.handlers.clear()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    console, file = Console(), logging.FileHandler(path)
    file.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    for handler, level in ((console, logging.INFO), (file, logging.DEBUG)):
        handler.setLevel(level)
        log.addHandler(handler)
    return log, console


def run_build(config, stop_after=None):
    """Run (or resume) every step; returns the build folder. The folder is locked meanwhile, and
    status.json says what happened. A user error raises BuildError (naming the step), any other
    exception InternalError (its traceback in build.log); Ctrl-C and SIGTERM raise KeyboardInterrupt."""
    if stop_after and stop_after not in [s.name for s in STEPS]:
        raise BuildError(f"unknown step '{stop_after}'; the steps are: {', '.join(s.name for s in STEPS)}")
    out = writable_dir(config.out_dir, "OUT")
    folder = BuildFolder(out, editable={name for step in STEPS for name in step.editable})
    with folder.locked() as killed, sigterm_interrupts():
        started = timestamp()
        folder.set_status("running", step=None, pid=os.getpid(), started=started)
        log, console = _logger(out / "build.log")
        build = Build(config, log, folder, console=console)
        if killed:
            build.log.info(f"build PID {killed.get('pid')} (started {killed.get('started')}) ended without "
                           "releasing this folder (killed?); resuming after its last completed step")
        try:
            _run_steps(build, stop_after, started)
        except KeyboardInterrupt as interrupt:
            _record_interrupt(build, interrupt)
            raise
        except Exception as error:
            raise _record_failure(build, error) from error
    return out


def _run_steps(build, stop_after, started):
    config, folder, log = build.config, build.folder, build.log
    log.info(f"building {config.model} for {config.board_info.name} ({config.board_info.part}, "
             f"{config.clock_mhz:g} MHz) in {build.dir}")
    build.source = load_source(config)
    for note in build.source.notes:
        log.info(note)
    build.checkpoint = _checkpoint(build)
    with _quiet_libraries(build):
        _check_inputs(build)
    write_json(config.as_file(), build.dir / "build_config.json")
    previous = None
    for index, step in enumerate(STEPS):
        key = _key(previous, step.name, step.inputs(build))
        reason = folder.why_run(step.name, key)
        if reason is None:
            log.debug(f"[{step.name}] up to date, skipped")
            build.console.skipped(step.name)
        else:
            log.debug(f"[{step.name}] running" + (f" ({reason})" if reason else ""))
            folder.set_status("running", step=step.name, pid=os.getpid(), started=started)
            with build.console.running(step.name, reason):
                _run_step(build, index, key)
        previous = key
        if step.name == stop_after:
            break
    write_json({name: record["seconds"] for name, record in folder.steps.items() if "seconds" in record},
               build.dir / "time_per_step.json")
    if stop_after in (None, STEPS[-1].name):
        folder.set_status("complete")
    else:
        folder.set_status(f"stopped after {stop_after}")
    log.info(f"build complete: {build.dir}")


def _run_step(build, index, key):
    """Run STEPS[index] and record the files it wrote, the later steps' files set aside first."""
    step, folder = STEPS[index], build.folder
    later = [output for i, s in enumerate(STEPS[index + 1:], index + 1) for output in _outputs(i, s)]
    _log_moved(build.log, step, folder.begin(step.name, [s.name for s in STEPS[:index]], later))
    before = folder.snapshot(step.outputs)
    build.saved = []
    start = time.time()
    with _quiet_libraries(build):
        step.run(build)
    seconds = round(time.time() - start, 2)
    written = folder.written_since(before, step.outputs) | set(build.saved)
    _log_moved(build.log, step, folder.finish(step.name, key, seconds, written))
    build.log.debug(f"[{step.name}] done in {seconds:.1f} s")


def _outputs(index, step):
    """What step number `index` writes: its declared outputs and its graphs (glob patterns)."""
    return [*step.outputs, str(graph_path("", index, step.name, "*"))]


def _log_moved(log, step, moved):
    if moved:
        shown = sorted({name.split("/")[0] + ("/" if "/" in name else "") for name in moved})
        log.info(f"[{step.name}] moved {len(moved)} files of the previous design into stale/: {', '.join(shown)}")


def _checkpoint(build):
    """The weights the export uses: CKPT, or for a registry model the build's own training run's."""
    return build.config.ckpt or (build.dir / "checkpoint.pt" if build.source.trainable else None)


def _check_inputs(build):
    """What can only be checked against the model, before the first step: FRAMES against the data
    the frames come from, and CKPT against the model."""
    radioml_input = _radioml_input(build)
    if radioml_input:
        from models import radioml

        path, pool = radioml_input
        available = len(radioml.FrameStream(path, "test", length=build.source.input_shape[-1] * pool))
        if build.config.frames > available:
            raise BuildError(f"FRAMES={build.config.frames} is more than the {available} frames of the test split of "
                             f"{path}: give FRAMES=1..{available}")
    spec = build.source.spec
    if build.config.data and spec and spec.dataset in images.SHAPES:
        available = images.count(spec.dataset, build.config.data)     # a UserError if DATA is no such file
        if build.config.frames > available:
            raise BuildError(f"FRAMES={build.config.frames} is more than the {available} frames of "
                             f"{build.config.data}: give FRAMES=1..{available}")
    if build.config.ckpt:
        if build.source.onnx_path:
            raise BuildError(f"CKPT={build.config.ckpt} does not apply to MODEL={build.config.model}: an ONNX "
                             "model holds its own weights")
        build.source.module(build.config.ckpt)      # a UserError if the weights are unreadable or do not fit


def _record_interrupt(build, interrupt):
    step = build.folder.abandon()
    how = "SIGTERM" if isinstance(interrupt, Terminated) else "SIGINT (Ctrl-C)"
    build.folder.set_status("interrupted", step=step, signal=how)
    build.log.info(f"[{step}] interrupted by {how}" if step else f"interrupted by {how} before the first step")


def _record_failure(build, error):
    """Record a failed build (status.json, build.log; the failed step's earlier files set aside) and
    return what run_build raises: a BuildError for a user error, else an InternalError."""
    step = build.folder.abandon()
    user = isinstance(error, UserError)
    reason = str(error) if user else f"internal error (a bug): {type(error).__name__}: {error}"
    build.folder.set_status("failed", step=step, error=reason)
    if not user:
        build.log.debug(traceback.format_exc())
    build.log.info(f"[{step}] FAILED: {reason}" if step else f"FAILED before the first step: {reason}")
    if user:
        return BuildError(f"step '{step}' failed: {error}" if step else str(error))
    return InternalError(f"{type(error).__name__}: {error}" + (f", in step '{step}'" if step else ""),
                         build.dir / "build.log")
