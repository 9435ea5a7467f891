"""`dfa`: the one command line (the Makefile's targets call it).

    dfa build|rtlsim|folding|boards ...   the accelerator flow (python -m compiler)
    dfa bitstream ...                     Vitis HLS / Vivado, where installed (python -m compiler.board)
    dfa sweep|verify-dataset ...          many builds / a whole test split on Ray (compiler.sweep, .dataset)
    dfa search ...                        mixed-precision search: per-layer bit widths (compiler.search)
    dfa train|prune|eval|cost|import ...  the models (python -m models.<module>)

Everywhere: MODEL is a registry name or a file, CKPT= / --ckpt is weights read, OUT= / --out is
what a command writes, -v prints an internal error's traceback.
"""
import importlib
import sys

# command -> (module whose main() runs it, whether that main takes the command name first)
COMMANDS = {
    "build": ("compiler.__main__", True), "rtlsim": ("compiler.__main__", True),
    "folding": ("compiler.__main__", True), "boards": ("compiler.__main__", True),
    "bitstream": ("compiler.board.__main__", True),
    "sweep": ("compiler.sweep", False), "verify-dataset": ("compiler.dataset", False),
    "search": ("compiler.search", False),
    "train": ("models.train", False), "prune": ("models.prune", False), "eval": ("models.evaluate", False),
    "cost": ("models.cost", False), "import": ("models.importer", False),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"dfa: unknown command '{command}'; the commands are: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module, takes_name = COMMANDS[command]
    return importlib.import_module(module).main([command, *rest] if takes_name else rest) or 0


if __name__ == "__main__":
    sys.exit(main())
