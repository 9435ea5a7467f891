"""The build: a flow of named steps from a Brevitas model to verified HLS dataflow code.

Every step saves what it produces in the build folder (graph steps as steps/NN_<step>.onnx) and
records a key in steps/state.json: a hash of its inputs chained with the previous step's key. A
rebuild skips every step whose key is unchanged, so editing folding.json re-runs only the steps
from folding on, and a failed build resumes where it stopped.
"""
import hashlib
import json
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import boards
from compiler import codegen, folding, frontend, verify
from compiler.estimate import estimate, write_report
from compiler.estimate.report import write_summary
from compiler.fileio import replace_dir, save_model, write_json
from compiler.sources import load_source

DEFAULT_FRAMES = 16
IMAGE_DATASETS = ("cifar10", "image")   # ModelSpec.dataset values whose frames are pixels in [0, 1)
FOLDING_STRATEGIES = ("optimize", "setfolding")   # our optimizer, FINN's SetFolding


class BuildError(RuntimeError):
    """A build step failed for a reason the user can act on; the message says what and where."""


@dataclass
class BuildConfig:
    model: str = "vgg10"
    board: str = "pynq-z2"
    out_dir: Path | None = None
    folding: Path | None = None          # a FINN folding JSON to apply
    target_fps: float | str | None = None  # or a frame rate for automatic folding ("max": the fastest that fits)
    data: Path | None = None             # RadioML HDF5 (default: synthetic)
    ckpt: Path | None = None             # trained weights (default: a short training run)
    input_shape: tuple | None = None     # one frame, for ONNX/Python models that do not say
    frames: int = DEFAULT_FRAMES         # verification frames
    clock_mhz: float | None = None       # default: the board's
    folding_strategy: str = "optimize"   # automatic folding: one of FOLDING_STRATEGIES
    max_resources: str | None = None     # automatic folding's budget, e.g. "LUT=50000,BRAM36=100" or "70%"

    def __post_init__(self):
        self.board_info = boards.get(self.board)
        self.clock_mhz = self.clock_mhz or self.board_info.clock_mhz
        if self.folding and self.target_fps:
            raise BuildError("give either FOLDING (a folding file) or TARGET_FPS, not both")
        if self.folding_strategy not in FOLDING_STRATEGIES:
            raise BuildError(f"unknown folding strategy '{self.folding_strategy}'; the strategies are: "
                             f"{', '.join(FOLDING_STRATEGIES)}")
        folding.resource_budget(self.board_info, self.max_resources)   # a malformed budget fails here, not later
        if self.out_dir is None:
            self.out_dir = Path("build") / f"{Path(self.model.split(':')[0]).stem}-{boards.canonical(self.board)}"
        self.out_dir = Path(self.out_dir)


@dataclass
class Step:
    name: str
    run: callable
    inputs: callable = lambda build: ()        # config values besides the previous step's output
    outputs: tuple = ()                        # files that must exist for the step to count as done


@dataclass
class Build:
    config: BuildConfig
    log: logging.Logger
    notes: dict = field(default_factory=dict)    # facts a step records for later runs (folding provenance)
    models: dict = field(default_factory=dict)   # in-memory graphs by step name
    source: object = None                        # compiler.sources.Source
    checkpoint: Path | None = None               # weights the export uses (trained by the build if none)

    @property
    def dir(self):
        return self.config.out_dir

    def step_path(self, name, suffix=""):
        return step_path(self.dir, name, suffix)

    def graph(self, name, suffix=""):
        """The graph a step produced: from memory, or from its saved file when resuming."""
        key = name + suffix
        if key not in self.models:
            self.models[key] = load_graph(self.dir, name, suffix)
        return self.models[key]

    def save_graph(self, name, model, suffix=""):
        self.models[name + suffix] = model
        save_model(model, self.step_path(name, suffix))
        return model


def step_path(out_dir, name, suffix=""):
    index = [s.name for s in STEPS].index(name)
    return Path(out_dir) / "steps" / f"{index:02d}_{name}{suffix}.onnx"


def load_graph(out_dir, name, suffix=""):
    """The graph step `name` saved in build folder `out_dir`."""
    from qonnx.core.modelwrapper import ModelWrapper

    return ModelWrapper(str(step_path(out_dir, name, suffix)))


# ---------------------------------------------------------------------------------------------- steps

def _step_train(build):
    """Registry models without CKPT: train briefly (or calibrate) so verification sees real activations."""
    if not build.source.trainable or build.config.ckpt:
        build.log.info("using given weights" if build.config.ckpt else "model has no trainable source; skipped")
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
    build.save_graph("to_finn", frontend.to_finn(model))


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
        return ("file", str(config.folding), _file_hash(config.folding))
    if config.target_fps or config.max_resources:
        # a budget alone asks for the fastest folding within it
        return ("target_fps", config.target_fps or "max", config.clock_mhz, config.folding_strategy,
                config.max_resources)
    if existing.exists():
        previous = build.notes.get("folding", {})
        if previous.get("applied") == _file_hash(existing):
            return previous["source"]     # the folding.json this build wrote itself: same folding
        return ("file", str(existing), _file_hash(existing))
    return ("target_fps", "max", config.clock_mhz, config.folding_strategy, config.max_resources)


def _step_folding(build):
    model = build.graph("specialize_layers")
    kind, *args = _folding_source(build)
    if kind == "file":
        build.log.info(f"applying folding from {args[0]}")
        model = folding.apply(model, folding.load(args[0]), source=args[0])
    else:
        # (sources recorded before folding strategies existed name neither strategy nor budget)
        fps, clock_mhz, strategy, limits = (*args, "optimize", None)[:4]
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
                                                 None if fps == "max" else fps)
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
                           f"{chosen['URAM']} URAM")
    config = folding.extract(model)
    folding.save(config, build.dir / "folding.json")
    build.notes["folding"] = {"source": [kind, *args], "applied": _file_hash(build.dir / "folding.json")}
    build.save_graph("folding", model)


def _step_estimate(build):
    board, clock_mhz = build.config.board_info, build.config.clock_mhz
    report = estimate(build.graph("minimize_bit_widths"), board, clock_mhz)
    # the trade-off this graph offers, to see the applied folding against
    try:
        front = [plan.point(clock_mhz) for plan in
                 folding.FoldingSpace(build.graph("specialize_layers"), board.part).front()]
    except folding.FoldingError as error:     # a folding given by hand needs no optimizer
        build.log.info(f"report without a throughput/LUT front: {error}")
        front = []
    with replace_dir(build.dir / "report") as tmp:
        write_report(report, tmp / "estimates.json")
        write_summary(f"{build.config.model} on {board.name}", report, front,
                      folding.resource_budget(board, build.config.max_resources), tmp)
    fit = "fits" if report["fits_board"] else "does NOT fit"
    build.log.info(f"estimated {report['estimated_fps']:.0f} fps at {report['clock_mhz']:g} MHz "
                   f"(bottleneck {report['bottleneck']}), {report['totals']['LUT']:.0f} LUT: {fit} on "
                   f"{build.config.board_info.name}")


def _step_hls_codegen(build):
    with replace_dir(build.dir / "hls") as tmp:
        layers = codegen.generate(build.graph("minimize_bit_widths"), tmp, build.config.board_info,
                                  build.config.clock_mhz)
    build.log.info(f"generated HLS C++ for {len(layers)} layers in {build.dir / 'hls'}")


def _cppsim(build):
    from compiler.sim import CppSim

    return CppSim(build.graph("minimize_bit_widths"), build.dir / "hls", build.dir / "cppsim", log=build.log.info)


def _step_cppsim(build):
    _cppsim(build).build()


def _classifies_radioml(build):
    """A registry RadioML classifier, trained by the build or given: its outputs should vary."""
    from models.train import untrainable_reason

    return build.source.trainable and untrainable_reason(build.source.spec) is None


def _step_verify(build):
    record = run_verification(build)
    write_json(record, build.dir / "verification.json")
    failed = [s for s in record["stages"] if not s["ok"]]
    if record["too_many_boundary_frames"]:
        raise BuildError(f"the float evaluations of the model disagree on frames {record['boundary_frames']}: "
                         f"more than rounding at quantization boundaries. Details: {build.dir / 'verification.json'}")
    if failed:
        where = record.get("first_differing_layer")
        hint = (f"; cppsim first differs from the HW graph at layer '{where['layer']}' ({where['op_type']}), "
                f"frame {where['frame']}: {where['detail']}") if where else ""
        raise BuildError(f"verification failed at stage '{failed[0]['stage']}' on frames "
                         f"{failed[0]['unexplained_frames'][:10]} (max difference {failed[0]['max_abs_diff']:g} "
                         f"output units){hint}. Details: {build.dir / 'verification.json'}")
    if record["distinct_predictions"] < 2 and record["frames"] > 1 and _classifies_radioml(build):
        raise BuildError(f"every verified frame is predicted as class {record['predictions'][0]}: the network "
                         "is degenerate, so the check proves little; train longer or give CKPT")
    boundary = (f" ({len(record['boundary_frames'])} frames sit on a rounding boundary where the float "
                f"evaluations disagree; the hardware matches one of them)") if record["boundary_frames"] else ""
    build.log.info(f"verified {record['frames']} frames: streamlined graph, HW graph and cppsim agree with "
                   f"{record['reference']} integer-exactly{boundary}; cppsim ran at {record['cppsim_fps']:.1f} frames/s")


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


STEPS = [
    Step("train", _step_train, lambda b: (b.source.key, str(b.config.data), str(b.config.ckpt), _sources_hash("models"))),
    Step("export", _step_export, lambda b: (b.source.key, _file_hash(b.checkpoint) if b.checkpoint else None,
                                            _sources_hash("compiler", "kernels", "boards"))),
    Step("to_finn", _step_to_finn, lambda b: (b.source.topk,)),
    Step("to_nhwc", _graph_step("to_nhwc", "to_finn", lambda b, m: frontend.to_nhwc(m))),
    Step("streamline", _graph_step("streamline", "to_nhwc", lambda b, m: frontend.streamline(m))),
    Step("convert_to_hw", _graph_step("convert_to_hw", "streamline", lambda b, m: frontend.convert_to_hw(m))),
    Step("dataflow_partition", _step_partition),
    Step("specialize_layers", _graph_step("specialize_layers", "dataflow_partition",
                                          lambda b, m: frontend.specialize_layers(m, b.config.board_info.part)),
         lambda b: (b.config.board_info.part,)),
    Step("folding", _step_folding, lambda b: _folding_source(b), ("folding.json",)),
    Step("minimize_bit_widths", _graph_step("minimize_bit_widths", "folding",
                                            lambda b, m: frontend.minimize_bit_widths(m, b.config.board_info.part))),
    Step("estimate", _step_estimate, lambda b: (b.config.board, b.config.clock_mhz), ("report/estimates.json",)),
    Step("hls_codegen", _step_hls_codegen, lambda b: (b.config.board, b.config.clock_mhz), ("hls/top.cpp",)),
    Step("cppsim", _step_cppsim, outputs=("cppsim/cppsim",)),
    Step("verify", _step_verify, lambda b: (b.config.frames, str(b.config.data)), ("verification.json",)),
    Step("driver", _step_driver, outputs=("driver/accel_config.json",)),
    Step("board_project", _step_board_project, outputs=("vivado/project.tcl", "vivado/build.sh", "hls/axi_top.cpp")),
]
GRAPH_STEPS = {"export", "to_finn", "to_nhwc", "streamline", "convert_to_hw", "dataflow_partition",
               "specialize_layers", "folding", "minimize_bit_widths"}


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
    model; uniform [0, 1) pixels for image models; else seeded noise."""
    shape, spec = build.source.input_shape, build.source.spec
    rng = np.random.default_rng(0)
    radioml_input = _radioml_input(build)
    if radioml_input:
        from models import radioml

        path, pool = radioml_input
        x, _, _ = radioml.load(path, "test", limit=build.config.frames, length=shape[-1] * pool)
        return radioml.average_pool(x, pool)
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
    record["ok"] = not record["too_many_boundary_frames"] and all(s["ok"] for s in record["stages"])


def run_verification(build):
    """Run the verification frames through every stage and judge them (see verify.judge)."""
    x = verification_frames(build)
    parent, dataflow = build.graph("dataflow_partition", "_parent"), build.graph("minimize_bit_widths")
    quantum = verify.output_quantum(parent)
    outputs = {}
    if build.source.torch_reference:
        # With a TopK head the accelerator outputs class indices, so the scores' quantum comes from
        # PyTorch's output scale, not from the host ops after the accelerator.
        outputs["pytorch"], scale = build.source.torch_reference(build.checkpoint, x, np.float64)
        outputs["pytorch_float32"], _ = build.source.torch_reference(build.checkpoint, x, np.float32)
        quantum = scale or quantum
    for step, stage in (("export", "qonnx_export"), ("to_finn", "finn_onnx"), ("streamline", "streamline")):
        graph = build.graph(step)
        outputs[stage] = verify.run_graph(graph, _nhwc(x, graph.get_tensor_shape(graph.graph.input[0].name)))
    accel_in = verify.accelerator_inputs(parent, _nhwc(x, parent.get_tensor_shape(parent.graph.input[0].name)))
    hw_out = verify.run_graph(verify.generic_ops(dataflow), accel_in)
    outputs["hw_graph"] = verify.host_outputs(parent, hw_out)
    sim = _cppsim(build)
    stream_in = np.round([verify.to_stream_order(dataflow, dataflow.graph.input[0].name, f) for f in accel_in])
    cpp_out, stats, _ = sim.run(stream_in.astype(np.int64))
    outputs["cppsim"] = verify.host_outputs(parent, cpp_out.reshape(hw_out.shape))

    record = verify.judge(outputs, quantum)
    if build.source.torch_reference:
        _explain_rounding_flips(build, record, x)
    record["cppsim_fps"] = stats["fps"]
    accel = next(s for s in record["stages"] if s["stage"] == "cppsim_vs_hw_graph")
    if not accel["ok"]:
        record["first_differing_layer"] = verify.localize_cppsim_mismatch(
            dataflow, sim, stream_in.astype(np.int64), accel["mismatched_frames"][0])
    return record


# ------------------------------------------------------------------------------------------- running

def _sources_hash(*folders):
    """Hash of this tool's own sources in `folders`: steps built by other code are re-run."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".hpp", ".j2", ".json"):
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path and Path(path).exists() else None


def _key(previous, step, inputs):
    return hashlib.sha256(json.dumps([previous, step, inputs], default=str).encode()).hexdigest()[:16]


def _logger(path):
    log = logging.getLogger(f"build.{path}")
    log.handlers.clear()
    log.setLevel(logging.INFO)
    log.propagate = False
    path.parent.mkdir(parents=True, exist_ok=True)
    for handler in (logging.StreamHandler(), logging.FileHandler(path)):
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
    return log


def run_build(config, stop_after=None):
    """Run (or resume) every step; returns the build folder. Raises BuildError naming the failed step."""
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    log = _logger(out / "build.log")
    state_path = out / "steps" / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    build = Build(config, log, notes=state.get("notes", {}))
    build.source = load_source(config)
    build.checkpoint = config.ckpt or (out / "checkpoint.pt" if build.source.trainable else None)
    if stop_after and stop_after not in [s.name for s in STEPS]:
        raise BuildError(f"unknown step '{stop_after}'; the steps are: {', '.join(s.name for s in STEPS)}")
    write_json({"status": "running"}, out / "status.json")
    write_json({"model": config.model, "board": config.board, "clock_mhz": config.clock_mhz,
                "folding": str(config.folding) if config.folding else None, "target_fps": config.target_fps,
                "data": str(config.data) if config.data else None, "ckpt": str(config.ckpt) if config.ckpt else None,
                "frames": config.frames}, out / "build_config.json")
    log.info(f"building {config.model} for {config.board_info.name} ({config.board_info.part}, "
             f"{config.clock_mhz:g} MHz) in {out}")
    previous = None
    for step in STEPS:
        key = _key(previous, step.name, step.inputs(build))
        done = state.get("steps", {}).get(step.name, {})
        outputs = list(step.outputs) + ([build.step_path(step.name).relative_to(out)] if step.name in GRAPH_STEPS else [])
        if done.get("key") == key and all((out / o).exists() for o in outputs):
            log.info(f"[{step.name}] up to date, skipped")
        else:
            log.info(f"[{step.name}] running")
            start = time.time()
            try:
                step.run(build)
            except Exception as error:
                write_json({"status": "failed", "step": step.name, "error": str(error)}, out / "status.json")
                if not _user_error(error):
                    log.info(traceback.format_exc())
                log.info(f"[{step.name}] FAILED: {error}")
                raise BuildError(f"step '{step.name}' failed: {error}") from error
            seconds = round(time.time() - start, 2)
            state.setdefault("steps", {})[step.name] = {"key": key, "seconds": seconds}
            state["notes"] = build.notes
            write_json(state, state_path)
            log.info(f"[{step.name}] done in {seconds:.1f} s")
        previous = key
        if step.name == stop_after:
            break
    write_json({name: s["seconds"] for name, s in state.get("steps", {}).items()}, out / "time_per_step.json")
    write_json({"status": "complete" if stop_after in (None, STEPS[-1].name) else f"stopped after {stop_after}"},
               out / "status.json")
    log.info(f"build complete: {out}")
    return out


def _user_error(error):
    """Errors whose message is the whole story (no traceback needed in the log)."""
    from compiler.board import BoardError
    from compiler.codegen import CodegenError
    from compiler.driver import DriverGenError
    from compiler.frontend import UnsupportedLayerError

    return isinstance(error, (BuildError, UnsupportedLayerError, folding.FoldingError, CodegenError, BoardError,
                              DriverGenError, verify.VerificationError, FileNotFoundError, KeyError))
