"""One Yosys run (in its own process, so that a slow or failing layer cannot take the build with it):

    python compiler/synth/yosys.py <stat.json> <top> <family> [synth_xilinx options] -- <sources...>

reads the SystemVerilog sources with read_slang (from the current folder, where the layer's memory
files are; YOSYS defined, as Yosys' own frontend does), synthesizes `top` out of context for the Xilinx `family` and writes `stat -json`.
"""
import sys

from pyosys import libyosys as ys


def main(argv):
    split = argv.index("--")
    (stat, top, family, *options), sources = argv[:split], argv[split + 1:]
    design = ys.Design()
    ys.run_pass(f"read_slang --allow-use-before-declare -D SYNTHESIS -D YOSYS --top {top} {' '.join(sources)}", design)
    ys.run_pass(f"synth_xilinx -family {family} -noiopad -noclkbuf {' '.join(options)}", design)
    ys.run_pass(f"tee -q -o {stat} stat -json", design)


if __name__ == "__main__":
    main(sys.argv[1:])
