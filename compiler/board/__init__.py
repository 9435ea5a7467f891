"""From the generated accelerator to a board: everything a machine with Vivado (and, for the HLS backend,
Vitis HLS) needs.

- hls/axi_top.{hpp,cpp}: the accelerator IP's top, the dataflow top behind DMA-sized AXI streams (TLAST
  on the last output word); hls/tb.cpp + hls/tb/: its C simulation test bench and frames (hls/synth.tcl,
  written with the rest of hls/, runs them before synthesis and exports the IP).
- vivado/project.tcl: block design (PS with the board preset, PL clock, AXI DMA, accelerator, address
  map), synthesis, implementation, bitstream, .hwh; vivado/build.sh runs Vitis HLS then Vivado.
- vivado/project_rtl.tcl + vivado/accel_axi_ref.v: the RTL backend, the same block design around the RTL
  that rtlsim simulated (rtl/, as a module reference), with Vivado alone; `BACKEND=rtl build.sh` runs it.
  Both scripts come from one template (project.tcl.j2): they differ only in where the accelerator comes from.

Nothing here runs a Xilinx tool; `bitstream()` does, where they are installed.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import jinja2

from compiler.codegen import TOP_NAME, dma_stream_width, streams
from compiler.codegen.rtl import AXI_TOP
from compiler.fileio import write_file
from models.errors import UserError

# Block design cell names; PYNQ exposes the cells under these names (overlay.dma, overlay.accel).
CELLS = {"ps": "ps", "reset": "reset", "dma": "dma", "accelerator": "accel",
         "control_interconnect": "control_ic", "memory_interconnect": "memory_ic"}
PROJECT, BLOCK_DESIGN = "accel_project", "accel_bd"
BITFILE, HWHFILE = "accel.bit", "accel.hwh"     # PYNQ wants the .hwh beside the .bit, same name
# AXI DMA in simple mode: buffer length register width (bits), so one transfer moves < 2^26 bytes.
DMA_LENGTH_WIDTH = 26
DMA_MAX_BYTES = 2 ** DMA_LENGTH_WIDTH - 1
TEST_FRAMES = 8                                 # frames the HLS C simulation checks
# The RTL backend's accelerator in the block design: a Verilog module over AXI_TOP (SystemVerilog), since a
# module reference's top must be Verilog or VHDL.
RTL_REFERENCE = "accel_axi_ref"


class Backend(NamedTuple):
    tools: tuple            # what must be on PATH
    tools_named: str        # the same, for people
    project_script: str     # in vivado/


# Where the accelerator comes from: Vitis HLS's IP of kernels/ (the default), or the RTL of rtl/.
BACKENDS = {"hls": Backend(("vitis_hls", "vivado"), "Vitis HLS and Vivado", "project.tcl"),
            "rtl": Backend(("vivado",), "Vivado", "project_rtl.tcl")}

_env = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.PackageLoader("compiler.board", "templates"),
                                jinja2.PackageLoader("compiler.codegen", "templates")]),
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


class BoardError(UserError):
    """The design or the board cannot make a board project (too wide a stream, no board files)."""


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


def generate(build_dir, model, board, clock_mhz, test_vectors):
    """Write the accelerator IP's top and test bench into hls/, and into vivado/ the project scripts of
    both backends (project.tcl, project_rtl.tcl with accel_axi_ref.v) and build.sh.
    test_vectors: (input bytes, expected output bytes) of a few frames as the DMA moves them."""
    build_dir = Path(build_dir)
    if not board.board_part:
        raise BoardError(f"board {board.name} has no board_part: the block design needs its board files for "
                         "the PS preset (DDR, MIO, clocks)")
    stream_in, stream_out = accelerator_streams(model)
    in_width, out_width = dma_stream_width(stream_in.width), dma_stream_width(stream_out.width)
    hls_context = dict(top=TOP_NAME, input=stream_in, output=stream_out, in_width=in_width, out_width=out_width)
    for name in ("axi_top.hpp", "axi_top.cpp", "tb.cpp"):
        write_file(build_dir / "hls" / name, _env.get_template(f"{name}.j2").render(**hls_context))
    write_file(build_dir / "hls" / "tb" / "input.bin", bytes(test_vectors[0]))
    write_file(build_dir / "hls" / "tb" / "expected.bin", bytes(test_vectors[1]))

    ps = _ps(board, clock_mhz)
    base = ps["control_base"]
    context = dict(top=TOP_NAME, board=board, clock_mhz=f"{clock_mhz:g}", cells=CELLS, ps=ps,
                   dma=_dma(board, in_width, out_width), project=PROJECT, bd=BLOCK_DESIGN, bitfile=BITFILE,
                   hwhfile=HWHFILE, board_part_pattern=board.board_part.rsplit(":", 1)[0] + ":*",
                   reference=RTL_REFERENCE, axi_top=AXI_TOP, in_width=in_width, out_width=out_width,
                   addresses=[(f"{CELLS['accelerator']}/s_axi_control", base),
                              (f"{CELLS['dma']}/S_AXI_LITE", base + 0x1_0000)])
    vivado = build_dir / "vivado"
    for backend, spec in BACKENDS.items():
        write_file(vivado / spec.project_script, _env.get_template("project.tcl.j2").render(**context, backend=backend))
    write_file(vivado / f"{RTL_REFERENCE}.v", _env.get_template("accel_axi_ref.v.j2").render(**context))
    write_file(vivado / "build.sh", _env.get_template("build.sh.j2").render(**context), mode=0o755)


def check_backend(backend):
    if backend not in BACKENDS:
        raise BoardError(f"BACKEND={backend} is not a backend: hls (Vitis HLS, then Vivado; the default) or rtl "
                         "(Vivado alone)")
    return BACKENDS[backend]


def missing_tools(backend="hls"):
    return [tool for tool in check_backend(backend).tools if shutil.which(tool) is None]


def build_command(build_dir, backend="hls"):
    """The command that builds the bitstream of a build folder on a machine with the tools."""
    script = Path(build_dir) / "vivado" / "build.sh"
    return f"bash {script}" if backend == "hls" else f"BACKEND={backend} bash {script}"


def bitstream_hint(build_dir, backend="hls"):
    """What the build log and `make bitstream` say about the bitstream on a machine without the tools."""
    spec, command = check_backend(backend), build_command(build_dir, backend)
    missing = missing_tools(backend)
    if not missing:
        make = "make bitstream" + ("" if backend == "hls" else f" BACKEND={backend}")
        return f"{spec.tools_named} {'is' if len(spec.tools) == 1 else 'are'} on PATH: `{command}` (or {make}) " \
               "builds the bitstream"
    hint = (f"bitstream not built: it needs {spec.tools_named}, and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not on PATH here. On a machine that has "
            f"{'it' if len(spec.tools) == 1 else 'them'} (source settings64.sh), run: {command}")
    if backend == "hls":
        hint += f" (or, with Vivado alone, from the RTL that rtlsim simulated: {build_command(build_dir, 'rtl')})"
    return hint


def bitstream(build_dir, backend="hls"):
    """Run vivado/build.sh of a build folder with BACKEND=backend; returns its exit code. Without the
    backend's tools, prints which is missing and the command to run elsewhere, and returns 1: never
    pretends to have a bitstream."""
    spec = check_backend(backend)
    vivado = Path(build_dir) / "vivado"
    for script in (vivado / "build.sh", vivado / spec.project_script):
        if not script.exists():
            print(f"error: {script} not found: run the build first (make build)", file=sys.stderr)
            return 1
    if missing_tools(backend):
        print(f"error: {bitstream_hint(build_dir, backend)}", file=sys.stderr)
        return 1
    return subprocess.run(["bash", str(vivado / "build.sh")], env={**os.environ, "BACKEND": backend}).returncode
