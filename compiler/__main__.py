"""Command line: python -m compiler build|boards ..."""
import argparse
import os
import sys
import tempfile


def _build(args):
    from compiler.flow import BuildConfig, run_build

    config = BuildConfig(model=args.model, board=args.board, out_dir=args.out, folding=args.folding,
                         target_fps=args.target_fps, data=args.data, ckpt=args.ckpt,
                         input_shape=args.input_shape, frames=args.frames, clock_mhz=args.clock_mhz,
                         folding_strategy=args.folding_strategy, max_resources=args.max_resources)
    run_build(config, stop_after=args.stop_after)


def _boards(args):
    import boards

    print(f"{'board':12} {'part':24} {'PS':17} {'MHz':>5} {'LUT':>7} {'FF':>7} {'BRAM36':>6} {'DSP':>5} {'URAM':>4}")
    for name in boards.names():
        b = boards.get(name)
        r = b.resources
        print(f"{name:12} {b.part:24} {b.ps:17} {b.clock_mhz:>5g} {r['LUT']:>7} {r['FF']:>7} {r['BRAM36']:>6} "
              f"{r['DSP']:>5} {r['URAM']:>4}")


def _folding(args):
    from compiler.folding import edit

    if args.action == "show":
        print(edit.show(args.build_dir))
    else:
        if not args.node or not args.values:
            raise ValueError("usage: python -m compiler folding set BUILD_DIR NODE ATTR=VALUE [ATTR=VALUE ...]")
        print(edit.set_values(args.build_dir, args.node, args.values))
        print(f"\n{args.build_dir}/folding.json updated; run make build (or python -m compiler build) to regenerate")


def _empty_to_none(value):
    return value or None


def _target_fps(value):
    """A frame rate, or "max": the fastest folding that fits the board (or MAX_RESOURCES)."""
    return None if not value else value if value == "max" else float(value)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m compiler", description="Brevitas model -> FPGA dataflow accelerator")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or resume) a model for a board")
    build.add_argument("--model", default="vgg10", help="registry name, a .onnx file, or path/to/file.py:function")
    build.add_argument("--board", default="pynq-z2")
    build.add_argument("--out", type=_empty_to_none, help="build folder (default build/<model>-<board>)")
    build.add_argument("--folding", type=_empty_to_none, help="FINN folding JSON to apply")
    build.add_argument("--target-fps", type=_target_fps,
                       help="fold automatically for this fps, or 'max': the fastest that fits the resource budget")
    build.add_argument("--max-resources", type=_empty_to_none,
                       help="automatic folding's budget, e.g. LUT=50000,BRAM36=100 or 70%% (default: 80%% of the "
                            "board's)")
    build.add_argument("--folding-strategy", default="optimize",
                       help="automatic folding: optimize (least resources; default) or setfolding (FINN's SetFolding)")
    build.add_argument("--data", type=_empty_to_none, help="RadioML 2018.01A HDF5 (default: synthetic data)")
    build.add_argument("--ckpt", type=_empty_to_none, help="trained weights (default: train briefly first)")
    build.add_argument("--input-shape", type=_empty_to_none, help="one frame's shape for ONNX/Python models, e.g. 2,1024")
    build.add_argument("--frames", type=int, default=16, help="verification frames (default 16)")
    build.add_argument("--clock-mhz", type=lambda v: float(v) if v else None, help="default: the board's clock")
    build.add_argument("--stop-after", type=_empty_to_none, help="stop after this step")
    build.set_defaults(run=_build)
    sub.add_parser("boards", help="list the known boards").set_defaults(run=_boards)
    fold = sub.add_parser("folding", help="show or edit a build's folding (PE/SIMD per layer)")
    fold.add_argument("action", choices=["show", "set"])
    fold.add_argument("build_dir")
    fold.add_argument("node", nargs="?", help="set: the layer's node name")
    fold.add_argument("values", nargs="*", help="set: ATTR=VALUE pairs, e.g. PE=8 SIMD=16")
    fold.set_defaults(run=_folding)
    args = parser.parse_args(argv)

    os.environ.setdefault("FINN_BUILD_DIR", os.path.join(tempfile.gettempdir(), "finn_build"))
    from compiler.flow import BuildError
    from compiler.sources import SourceError

    try:
        args.run(args)
    except (BuildError, SourceError, KeyError, ValueError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
