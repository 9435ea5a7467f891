"""Command line: python -m compiler build|boards|folding ..."""
import argparse
import os
import sys
import tempfile

from compiler.synth import AUTO_MAX_LUT, LAYER_TIMEOUT
from models.errors import UserError, add_verbose_flag, run_cli


def _build(args):
    from compiler.flow import BuildConfig, read_config_file, run_build

    given = dict(model=args.model, board=args.board, out_dir=args.out, folding=args.folding,
                 target_fps=args.target_fps, data=args.data, ckpt=args.ckpt, bits=args.bits, input_shape=args.input_shape,
                 frames=args.frames, clock_mhz=args.clock_mhz, folding_strategy=args.folding_strategy,
                 max_resources=args.max_resources, cost_model=args.cost_model, input_phases=args.input_phases,
                 fifo_sizing=None if args.fifo_sizing is None else _switch(args.fifo_sizing, "FIFO_SIZING"),
                 rtlsim_frames=args.rtlsim_frames, synth_frames=args.synth_frames, synth=args.synth,
                 synth_timeout=args.synth_timeout)
    options = read_config_file(args.config) if args.config else {}      # the command line's values win
    options.update({name: value for name, value in given.items() if value is not None})
    run_build(BuildConfig(**options, chatter=args.verbose), stop_after=args.stop_after)


def _rtlsim(args):
    from compiler.flow import BuildConfig, rerun_rtlsim

    config = BuildConfig(model=args.model, board=args.board, out_dir=args.out, data=args.data, frames=args.frames)
    rerun_rtlsim(config)


def _switch(value, name):
    """An on/off command-line value: 1/0 (also true/false, yes/no, on/off); empty: on."""
    text = str(value or "1").lower()
    if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise UserError(f"{name}={value}: expected 1 (on) or 0 (off)")
    return text in ("1", "true", "yes", "on")


def _boards(args):
    import boards

    print(f"{'board':12} {'part':24} {'PS':17} {'MHz':>5} {'max':>4} {'LUT':>7} {'FF':>7} {'BRAM36':>6} {'DSP':>5} "
          f"{'URAM':>4}")
    for name in boards.names():
        b = boards.get(name)
        r = b.resources
        print(f"{name:12} {b.part:24} {b.ps:17} {b.clock_mhz:>5g} {b.max_clock_mhz:>4g} {r['LUT']:>7} {r['FF']:>7} "
              f"{r['BRAM36']:>6} {r['DSP']:>5} {r['URAM']:>4}")


def _folding(args):
    from compiler.folding import edit

    if args.action == "show":
        print(edit.show(args.build_dir))
    else:
        if not args.node or not args.values:
            raise UserError("usage: python -m compiler folding set BUILD_DIR NODE ATTR=VALUE [ATTR=VALUE ...]")
        print(edit.set_values(args.build_dir, args.node, args.values))
        print(f"\n{args.build_dir}/folding.json updated; run make build (or python -m compiler build) to regenerate")


def _empty_to_none(value):
    return value or None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m compiler", description="Brevitas model -> FPGA dataflow accelerator")
    sub = parser.add_subparsers(dest="command", required=True)
    # Values are passed on as text: BuildConfig checks them and names the legal range of a wrong one.
    build = sub.add_parser("build", help="build (or resume) a model for a board")
    build.add_argument("--config", type=_empty_to_none,
                       help="build options from a JSON or YAML file (the schema of a build's build_config.json); "
                            "options given here win")
    build.add_argument("--model", type=_empty_to_none,
                       help="registry name, a .onnx file, or path/to/file.py:function (default vgg10)")
    build.add_argument("--board", type=_empty_to_none, help="default pynq-z2")
    build.add_argument("--out", type=_empty_to_none, help="build folder (default build/<model>-<board>)")
    build.add_argument("--folding", type=_empty_to_none, help="FINN folding JSON to apply")
    build.add_argument("--target-fps", type=_empty_to_none,
                       help="fold automatically for this fps, or 'max': the fastest that fits the resource budget")
    build.add_argument("--max-resources", type=_empty_to_none,
                       help="automatic folding's budget, e.g. LUT=50000,BRAM36=100 or 70%% (default: 80%% of the "
                            "board's)")
    build.add_argument("--folding-strategy", type=_empty_to_none,
                       help="automatic folding: optimize (least resources; default) or setfolding (FINN's SetFolding)")
    build.add_argument("--cost-model", type=_empty_to_none,
                       help="resources of the estimates and the optimizer: finn (FINN's model of FINN's kernels; "
                            "default) or ours (our kernels, fitted to Yosys)")
    build.add_argument("--input-phases", type=_empty_to_none,
                       help="samples per pixel of a 1D network's first convolution and max pool (default 1), so "
                            "the frame streams in fewer cycles than it has samples")
    build.add_argument("--data", type=_empty_to_none, help="RadioML 2018.01A HDF5 (default: synthetic data)")
    build.add_argument("--ckpt", type=_empty_to_none, help="trained weights (default: train briefly first)")
    build.add_argument("--bits", type=_empty_to_none,
                       help="per-layer bit widths of a registry model (the file make search writes)")
    build.add_argument("--input-shape", type=_empty_to_none, help="one frame's shape for ONNX/Python models, e.g. 2,1024")
    build.add_argument("--frames", type=_empty_to_none, help="verification frames (default 16)")
    build.add_argument("--clock-mhz", type=_empty_to_none, help="default: the board's clock")
    build.add_argument("--fifo-sizing", type=_empty_to_none,
                       help="1 (default): size the FIFOs by rtlsim; 0: keep the folding's FIFO depths")
    build.add_argument("--rtlsim-frames", type=_empty_to_none, help="frames of the rtlsim performance run (default 5)")
    build.add_argument("--synth-frames", type=_empty_to_none,
                       help="verification frames through the kernels' synthesizable loops, cppsim_synth (default 2)")
    build.add_argument("--synth", type=_empty_to_none,
                       help="Yosys synthesis of every layer (report/synth.json): auto (default: designs up to "
                            f"{AUTO_MAX_LUT:,} estimated LUT), 1 or 0")
    build.add_argument("--synth-timeout", type=_empty_to_none,
                       help=f"seconds Yosys may take on one layer before it is reported as not synthesized "
                            f"(default {LAYER_TIMEOUT})")
    build.add_argument("--stop-after", type=_empty_to_none, help="stop after this step")
    build.set_defaults(run=_build)
    rerun = sub.add_parser("rtlsim", help="run a build's RTL in Verilator again, on more frames or on a dataset")
    rerun.add_argument("--model", default="vgg10", help="the build's model (with --board: its folder)")
    rerun.add_argument("--board", default="pynq-z2")
    rerun.add_argument("--out", type=_empty_to_none, help="the build folder (default build/<model>-<board>)")
    rerun.add_argument("--data", type=_empty_to_none, help="RadioML 2018.01A HDF5 to take the frames from "
                                                          "(default: the build's own verification frames)")
    rerun.add_argument("--frames", type=_empty_to_none, help="frames to simulate (default 16)")
    rerun.set_defaults(run=_rtlsim)
    sub.add_parser("boards", help="list the known boards").set_defaults(run=_boards)
    fold = sub.add_parser("folding", help="show or edit a build's folding (PE/SIMD per layer)")
    fold.add_argument("action", choices=["show", "set"])
    fold.add_argument("build_dir")
    fold.add_argument("node", nargs="?", help="set: the layer's node name")
    fold.add_argument("values", nargs="*", help="set: ATTR=VALUE pairs, e.g. PE=8 SIMD=16")
    fold.set_defaults(run=_folding)
    for command in (build, fold, rerun):
        add_verbose_flag(command)
    args = parser.parse_args(argv)

    os.environ.setdefault("FINN_BUILD_DIR", os.path.join(tempfile.gettempdir(), "finn_build"))
    return run_cli(lambda: args.run(args), getattr(args, "verbose", False), "compiler")


if __name__ == "__main__":
    sys.exit(main())
