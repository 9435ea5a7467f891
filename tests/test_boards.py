import dataclasses

import pytest

import boards

# Datasheet figures of the parts (LUT, FF, BRAM36, DSP, URAM).
PARTS = {
    "xc7z020": (53200, 106400, 140, 220, 0),
    "xczu3eg": (70560, 141120, 216, 360, 0),
    "xczu7ev": (230400, 460800, 312, 1728, 96),
    "xck26": (117120, 234240, 144, 1248, 64),
    "xczu48dr": (425280, 850560, 1080, 4272, 80),
}


def test_names_lists_every_board_file():
    assert boards.names() == ["kv260", "pynq-z1", "pynq-z2", "rfsoc4x2", "ultra96", "ultra96-v2", "zcu104"]


@pytest.mark.parametrize("name", boards.names())
def test_board_is_consistent_with_its_part(name):
    board = boards.get(name)
    family = next(p for p in PARTS if board.part.startswith(p))
    assert tuple(board.resources[r] for r in boards.RESOURCES) == PARTS[family]
    assert board.ps == ("zynq-7000" if family == "xc7z020" else "zynq-ultrascale+")
    assert board.clock_mhz == (100 if board.ps == "zynq-7000" else 200)
    assert board.axi_width == (64 if board.ps == "zynq-7000" else 128)
    assert board.board_part is None or board.board_part.count(":") == 3


@pytest.mark.parametrize("spelling", ["pynq-z2", "pynq_z2", "Pynq-Z2", "PYNQ_Z2", " pynq-z2 "])
def test_get_accepts_spellings(spelling):
    assert boards.get(spelling).part == "xc7z020clg400-1"


def test_get_accepts_finn_board_name():
    assert boards.get("KV260_SOM") is boards.get("kv260")
    assert boards.get("Ultra96-V2").part == "xczu3eg-sbva484-1-i"


def test_unknown_board_lists_known_names():
    with pytest.raises(KeyError) as err:
        boards.get("zedboard")
    message = str(err.value)
    assert "zedboard" in message
    for name in boards.names():
        assert name in message


def test_board_is_frozen_and_checked():
    board = boards.get("zcu104")
    with pytest.raises(dataclasses.FrozenInstanceError):
        board.clock_mhz = 300
    hash(board)
    with pytest.raises(ValueError, match="ps must be"):
        dataclasses.replace(board, ps="versal")
    with pytest.raises(ValueError, match="resources must have"):
        dataclasses.replace(board, resources={"LUT": 1})
