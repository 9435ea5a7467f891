"""python -m compiler.board bitstream --model M --board B [--out DIR] [--backend hls|rtl]: build the
bitstream of a build folder with vivado/build.sh (make bitstream runs this after make build). The
backend: hls (Vitis HLS, then Vivado; the default) or rtl (Vivado alone, from the RTL that rtlsim
simulated)."""
import argparse
import sys

from compiler import board
from models.errors import add_verbose_flag, run_cli


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m compiler.board", description=__doc__)
    parser.add_argument("command", choices=["bitstream"])
    parser.add_argument("--model", default="vgg10")
    parser.add_argument("--board", default="pynq-z2")
    parser.add_argument("--out", default=None, help="build folder (default build/<model>-<board>)")
    parser.add_argument("--backend", default="hls", help="hls (the default) or rtl")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    from compiler.flow import BuildConfig     # the one place that names the default build folder

    def run():
        return board.bitstream(BuildConfig(model=args.model, board=args.board, out_dir=args.out or None).out_dir,
                               args.backend)

    return run_cli(run, args.verbose, "compiler.board")


if __name__ == "__main__":
    sys.exit(main())
