"""From the generated HLS code to a board: everything a machine with Vitis HLS and Vivado needs.

- hls/axi_top.{hpp,cpp}: the accelerator IP's top, the dataflow top behind DMA-sized AXI streams (TLAST
  on the last output word); hls/tb.cpp + hls/tb/: its C simulation test bench and frames (hls/synth.tcl,
  written with the rest of hls/, runs them before synthesis and exports the IP).
- vivado/project.tcl: block design (PS with the board preset, PL clock, AXI DMA, accelerator, address
  map), synthesis, implementation, bitstream, .hwh; vivado/build.sh runs Vitis HLS then Vivado.

Nothing here runs a Xilinx tool; `bitstream()` does, where they are installed.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2

from compiler.codegen import TOP_NAME, streams

# Block design cell names; PYNQ exposes the cells under these names (overlay.dma, overlay.accel).
CELLS = {"ps": "ps", "reset": "reset", "dma": "dma", "accelerator": "accel",
         "control_interconnect": "control_ic", "memory_interconnect": "memory_ic"}
PROJECT, BLOCK_DESIGN = "accel_project", "accel_bd"
BITFILE, HWHFILE = "accel.bit", "accel.hwh"     # PYNQ wants the .hwh beside the .bit, same name
# Vitis HLS puts an s_axilite bundle's first scalar argument at 0x10 (after ap_ctrl 0x00, GIE 0x04,
# IER 0x08, ISR 0x0c): the accelerator's `frames` register.
FRAMES_OFFSET = 0x10
# AXI DMA in simple mode: buffer length register width (bits), so one transfer moves < 2^26 bytes.
DMA_LENGTH_WIDTH = 26
DMA_MAX_BYTES = 2 ** DMA_LENGTH_WIDTH - 1
DMA_STREAM_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)
TOOLS = ("vitis_hls", "vivado")
TEST_FRAMES = 8                                 # frames the HLS C simulation checks

_env = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.PackageLoader("compiler.board", "templates"),
                                jinja2.PackageLoader("compiler.codegen", "templates")]),
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


class BoardError(RuntimeError):
    pass


def dma_stream_width(bits):
    """The narrowest AXI DMA stream width that holds a `bits`-wide stream word."""
    for width in DMA_STREAM_WIDTHS:
        if width >= bits:
            return width
    raise BoardError(f"a {bits}-bit stream word is wider than the AXI DMA's widest stream "
                     f"({DMA_STREAM_WIDTHS[-1]} bits); lower the PE/SIMD of the first or last layer")


def accelerator_streams(model):
    """(input, output) codegen Streams of the dataflow graph: what the DMA moves."""
    stream_list = streams(model)
    return (next(s for s in stream_list if s.var == "in0"), next(s for s in stream_list if s.var == "out0"))


def _ps(board, clock_mhz):
    """What the block design needs from the board's processing system: its IP and block automation
    (which applies the board preset), PL clock and reset pins, the AXI master for control, the HP
    slave port for the DMA (with their clock pins), the settings that enable those, and the base of
    the master's address window."""
    hp = int(board.hp_port[-1])
    clock = f"{clock_mhz:g}"
    if board.ps == "zynq-7000":
        return dict(ip="processing_system7",
                    automation='{make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"}',
                    clock="FCLK_CLK0", reset="FCLK_RESET0_N", master="M_AXI_GP0", master_clock="M_AXI_GP0_ACLK",
                    slave=f"S_AXI_HP{hp}", slave_clock=f"S_AXI_HP{hp}_ACLK", control_base=0x4000_0000,
                    config={"PCW_USE_M_AXI_GP0": 1, f"PCW_USE_S_AXI_HP{hp}": 1,
                            f"PCW_S_AXI_HP{hp}_DATA_WIDTH": board.axi_width, "PCW_FPGA0_PERIPHERAL_FREQMHZ": clock})
    # Zynq UltraScale+: HP0..3 are the PS's S_AXI_GP2..5; HPM0_FPD is M_AXI_GP0. The other masters
    # (which some presets enable) are switched off so that no clock pin is left unconnected.
    return dict(ip="zynq_ultra_ps_e", automation='{apply_board_preset "1"}',
                clock="pl_clk0", reset="pl_resetn0", master="M_AXI_HPM0_FPD", master_clock="maxihpm0_fpd_aclk",
                slave=f"S_AXI_HP{hp}_FPD", slave_clock=f"saxihp{hp}_fpd_aclk", control_base=0xA000_0000,
                config={"PSU__USE__M_AXI_GP0": 1, "PSU__MAXIGP0__DATA_WIDTH": 32, "PSU__USE__M_AXI_GP1": 0,
                        "PSU__USE__M_AXI_GP2": 0, f"PSU__USE__S_AXI_GP{2 + hp}": 1,
                        f"PSU__SAXIGP{2 + hp}__DATA_WIDTH": board.axi_width, "PSU__FPGA_PL0_ENABLE": 1,
                        "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ": clock})


def _dma(board, in_width, out_width):
    return dict(length_width=DMA_LENGTH_WIDTH, config={
        "c_include_sg": 0, "c_sg_length_width": DMA_LENGTH_WIDTH, "c_addr_width": 32,
        "c_m_axi_mm2s_data_width": max(board.axi_width, in_width), "c_m_axis_mm2s_tdata_width": in_width,
        "c_m_axi_s2mm_data_width": max(board.axi_width, out_width), "c_s_axis_s2mm_tdata_width": out_width})


def _write(path, text, mode=None):
    """Write via a rename, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text) if isinstance(text, bytes) else tmp.write_text(text)
    if mode:
        tmp.chmod(mode)
    tmp.replace(path)


def generate(build_dir, model, board, clock_mhz, test_vectors):
    """Write the accelerator IP's top and test bench into hls/, and vivado/project.tcl + build.sh.
    test_vectors: (input bytes, expected output bytes) of a few frames as the DMA moves them."""
    build_dir = Path(build_dir)
    if not board.board_part:
        raise BoardError(f"board {board.name} has no board_part: the block design needs its board files for "
                         "the PS preset (DDR, MIO, clocks)")
    stream_in, stream_out = accelerator_streams(model)
    in_width, out_width = dma_stream_width(stream_in.width), dma_stream_width(stream_out.width)
    hls_context = dict(top=TOP_NAME, input=stream_in, output=stream_out, in_width=in_width, out_width=out_width)
    for name in ("axi_top.hpp", "axi_top.cpp", "tb.cpp"):
        _write(build_dir / "hls" / name, _env.get_template(f"{name}.j2").render(**hls_context))
    _write(build_dir / "hls" / "tb" / "input.bin", bytes(test_vectors[0]))
    _write(build_dir / "hls" / "tb" / "expected.bin", bytes(test_vectors[1]))

    ps = _ps(board, clock_mhz)
    base = ps["control_base"]
    context = dict(top=TOP_NAME, board=board, clock_mhz=f"{clock_mhz:g}", cells=CELLS, ps=ps,
                   dma=_dma(board, in_width, out_width), project=PROJECT, bd=BLOCK_DESIGN, bitfile=BITFILE,
                   hwhfile=HWHFILE, board_part_pattern=board.board_part.rsplit(":", 1)[0] + ":*",
                   addresses=[(CELLS["accelerator"], "s_axi_control/Reg", base),
                              (CELLS["dma"], "S_AXI_LITE/Reg", base + 0x1_0000)])
    _write(build_dir / "vivado" / "project.tcl", _env.get_template("project.tcl.j2").render(**context))
    _write(build_dir / "vivado" / "build.sh", _env.get_template("build.sh.j2").render(**context), mode=0o755)


def missing_tools():
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def bitstream_hint(build_dir):
    """What the build log and `make bitstream` say about the bitstream on a machine without the tools."""
    script = Path(build_dir) / "vivado" / "build.sh"
    missing = missing_tools()
    if not missing:
        return f"Vitis HLS and Vivado are on PATH: `bash {script}` (or make bitstream) builds the bitstream"
    return (f"bitstream not built: it needs Vitis HLS and Vivado, and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not on PATH here. On a machine that has them "
            f"(source settings64.sh), run: bash {script}")


def bitstream(build_dir):
    """Run vivado/build.sh of a build folder; returns its exit code. Without the tools, prints which
    is missing and the command to run elsewhere, and returns 1: never pretends to have a bitstream."""
    script = Path(build_dir) / "vivado" / "build.sh"
    if not script.exists():
        print(f"error: {script} not found: run the build first (make build)", file=sys.stderr)
        return 1
    if missing_tools():
        print(f"error: {bitstream_hint(build_dir)}", file=sys.stderr)
        return 1
    return subprocess.run(["bash", str(script)]).returncode
