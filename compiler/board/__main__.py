"""python -m compiler.board bitstream --model M --board B [--out DIR]: build the bitstream of a build
folder with vivado/build.sh (make bitstream runs this after make build)."""
import argparse
import sys

from compiler import board


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m compiler.board", description=__doc__)
    parser.add_argument("command", choices=["bitstream"])
    parser.add_argument("--model", default="vgg10")
    parser.add_argument("--board", default="pynq-z2")
    parser.add_argument("--out", default=None, help="build folder (default build/<model>-<board>)")
    args = parser.parse_args(argv)
    from compiler.flow import BuildConfig     # the one place that names the default build folder

    try:
        out = BuildConfig(model=args.model, board=args.board, out_dir=args.out or None).out_dir
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 1
    return board.bitstream(out)


if __name__ == "__main__":
    sys.exit(main())
