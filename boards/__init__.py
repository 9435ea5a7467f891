"""Target boards: one JSON file per board in this folder (part, PS type, clock and its limit, AXI width, resources,
and what the Vivado block design needs: the PS slave port the DMA uses and where the board files come from).

`name` is FINN's board name (the key of finn.util.basic.pynq_part_map), so it can be handed to FINN
as is; `get()` also accepts the file name, in any case and with `_` for `-` (`pynq_z2`, `Pynq-Z2`).
"""
import json
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path

PS_TYPES = ("zynq-7000", "zynq-ultrascale+")
# PS type -> the FPGA family of its programmable logic, as Yosys' synth_xilinx -family names it
FAMILIES = {"zynq-7000": "xc7", "zynq-ultrascale+": "xcup"}
HP_PORTS = ("HP0", "HP1", "HP2", "HP3")
RESOURCES = ("LUT", "FF", "BRAM36", "DSP", "URAM")
_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    board_part: str | None      # Vivado board part; None where the board has no board files
    ps: str                     # one of PS_TYPES
    clock_mhz: float            # default PL clock for builds
    max_clock_mhz: float        # the highest PL clock a build may ask for (the PS's fabric clock limit)
    axi_width: int              # native width (bits) of the PS-PL AXI HP port the DMA uses
    resources: dict = field(hash=False)   # RESOURCES -> count available on the part
    hp_port: str                # PS high-performance slave port (HP_PORTS) the DMA reaches DDR through
    board_files: str            # where Vivado gets the board files (PS presets) from, for the user

    @property
    def family(self):
        """The FPGA family of the part (FAMILIES): what synthesis maps to and our cost model is fitted for."""
        return FAMILIES[self.ps]

    def __post_init__(self):
        if self.ps not in PS_TYPES:
            raise ValueError(f"board {self.name}: ps must be one of {', '.join(PS_TYPES)}, got {self.ps!r}")
        if self.hp_port not in HP_PORTS:
            raise ValueError(f"board {self.name}: hp_port must be one of {', '.join(HP_PORTS)}, got {self.hp_port!r}")
        if not 0 < self.clock_mhz <= self.max_clock_mhz:
            raise ValueError(f"board {self.name}: clock_mhz must be > 0 and at most max_clock_mhz "
                             f"({self.max_clock_mhz}), got {self.clock_mhz}")
        if sorted(self.resources) != sorted(RESOURCES):
            raise ValueError(f"board {self.name}: resources must have exactly {', '.join(RESOURCES)}, "
                             f"got {', '.join(self.resources)}")


def _key(name):
    return name.strip().lower().replace("_", "-")


def _load(path):
    data = json.loads(path.read_text())
    expected = {f.name for f in fields(Board)}
    if set(data) != expected:
        raise ValueError(f"{path}: fields must be {', '.join(sorted(expected))}, got {', '.join(sorted(data))}")
    return Board(**data)


_BOARDS = {path.stem: _load(path) for path in sorted(_DIR.glob("*.json"))}
_ALIASES = {**{_key(b.name): key for key, b in _BOARDS.items()}, **{key: key for key in _BOARDS}}


def names():
    """The board file names (`pynq-z2`, `zcu104`, ...), sorted."""
    return sorted(_BOARDS)


def canonical(name):
    """The file name of board `name` (file name or FINN board name, case-insensitive, `_` or `-`)."""
    try:
        return _ALIASES[_key(name)]
    except KeyError:
        raise KeyError(f"unknown board '{name}'; known boards: {', '.join(names())}") from None


def get(name):
    """The Board called `name` (see `canonical` for the accepted spellings)."""
    return _BOARDS[canonical(name)]


@cache
def family_of_part(part):
    """The FPGA family (FAMILIES) of `part`, by the boards that carry it (cached: the cost model asks
    for every candidate layer it prices)."""
    for board in _BOARDS.values():
        if board.part == part:
            return board.family
    raise KeyError(f"no board has FPGA part {part}; known parts: "
                   f"{', '.join(sorted({b.part for b in _BOARDS.values()}))}")
