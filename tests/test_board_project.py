"""From HLS code or RTL to a board, without Xilinx tools: the generated Vitis HLS and Vivado scripts of
both backends run under tclsh against recording stubs (tests/tcl/), for every board; the accelerator IP's
AXI wrapper and test bench run under g++; `make bitstream` says what is missing instead of pretending."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import boards
from compiler import board as board_project
from compiler import codegen
from compiler.codegen import CodegenError, Stream
from compiler.driver.runtime.accelerator import StreamFormat
from compiler.buildfolder import load_graph
from compiler.flow import BuildConfig, run_build
from compiler.sim.cppsim import ap_types_include_dir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
STUBS = ROOT / "tests" / "tcl"
HLS_STUBS = ROOT / "tests" / "hls_stubs"
ALL_BOARD_PARTS = ",".join(boards.get(name).board_part for name in boards.names())


def tiny_build_dir(tmp_path_factory):
    """The tiny model built for Pynq-Z2 at a low frame rate: the folding is minimal, so the streams the
    tests spell out are one lane wide (shared with test_driver.py: the second run_build finds every step
    up to date)."""
    out = tmp_path_factory.getbasetemp() / "board-tiny"
    run_build(BuildConfig(model="tiny", board="pynq-z2", out_dir=out, target_fps=1000))
    return out


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory):
    return tiny_build_dir(tmp_path_factory)


def path_without_xilinx_tools():
    return ":".join(p for p in os.environ["PATH"].split(":")
                    if not any((Path(p) / tool).exists() for tool in ("vivado", "vitis_hls")))


def vivado_only(tmp_path):
    """A folder with the stub vivado and no vitis_hls, for PATH."""
    folder = tmp_path / "vivado-only"
    folder.mkdir()
    (folder / "vivado").write_text(f'#!/bin/sh\nexec "{STUBS / "bin" / "vivado"}" "$@"\n')
    (folder / "vivado").chmod(0o755)
    return folder


def run_stubbed(command, record, board_parts=ALL_BOARD_PARTS, check=True, cwd=None, stubs=STUBS / "bin",
                backend=None):
    """Run a command with the stub vitis_hls/vivado (those in `stubs`, and no real ones) on PATH,
    recording into `record`; with `backend`, BACKEND set to it."""
    env = dict(os.environ, PATH=f"{stubs}:{path_without_xilinx_tools()}", TCL_STUB_RECORD=str(record),
               TCL_STUB_BOARD_PARTS=board_parts)
    if backend:
        env["BACKEND"] = backend
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    if check and result.returncode:
        raise AssertionError(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def read_record(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def design_of(calls):
    """The block design and runs the recorded Vivado calls describe."""
    design = {"cells": {}, "properties": {}, "files": {}, "intf_nets": set(), "nets": {}, "addresses": [],
              "commands": []}
    for call in calls:
        if call["tool"] != "vivado":
            continue
        if call.get("event") == "property":
            design["properties"].setdefault(call["object"], {})[call["name"]] = call["value"]
            continue
        if call.get("event") == "file":
            design["files"][call["path"]] = call["fileset"]
            continue
        cmd, args, options = call.get("cmd"), call.get("args"), call.get("options")
        if cmd is None:
            continue
        design["commands"].append(cmd)
        if cmd == "create_project":
            design["part"] = options["-part"]
        elif cmd == "create_bd_cell":
            design["cells"][args[0]] = options.get("-vlnv") or f"module:{options['-reference']}"
        elif cmd == "connect_bd_intf_net":
            design["intf_nets"].add(frozenset(args))
        elif cmd == "connect_bd_net":
            design["nets"][options["-net"]] = set(args)
        elif cmd == "assign_bd_address":
            design["addresses"].append((options.get("-target_address_space"), options.get("-offset"),
                                        options.get("-range"), tuple(args)))
    return design


def generate_for_board(tiny_build, name, out):
    """The tiny model's hls/, vivado/, rtl/ (the build's: it does not depend on the board) and an empty
    driver/ for board `name` in `out`."""
    board = boards.get(name)
    model = load_graph(tiny_build, "minimize_bit_widths")
    codegen.generate(model, out / "hls", board, board.clock_mhz)
    shutil.copytree(tiny_build / "rtl", out / "rtl")
    vectors = ((tiny_build / "hls" / "tb" / "input.bin").read_bytes(), (tiny_build / "hls" / "tb" / "expected.bin").read_bytes())
    board_project.generate(out, model, board, board.clock_mhz, vectors)
    (out / "driver").mkdir()
    return board


def test_build_writes_the_board_project_and_says_the_bitstream_needs_vivado(tiny_build):
    for name in ["hls/synth.tcl", "hls/axi_top.cpp", "hls/axi_top.hpp", "hls/tb.cpp", "hls/tb/input.bin",
                 "hls/tb/expected.bin", "vivado/project.tcl", "vivado/project_rtl.tcl", "vivado/accel_axi_ref.v",
                 "vivado/build.sh"]:
        assert (tiny_build / name).exists(), name
    assert os.access(tiny_build / "vivado" / "build.sh", os.X_OK)
    log = (tiny_build / "build.log").read_text()
    assert "bitstream not built: it needs Vitis HLS and Vivado" in log
    assert f"bash {tiny_build}/vivado/build.sh" in log
    assert f"with Vivado alone, from the RTL that rtlsim simulated: BACKEND=rtl bash {tiny_build}/vivado/build.sh" in log
    assert not list(tiny_build.glob("**/*.bit"))


def test_a_small_build_is_synthesized_by_yosys_layer_by_layer(tiny_build):
    """SYNTH=auto synthesizes this folding (a few thousand estimated LUT): every layer and FIFO of
    rtl/, totals against the board, in summary.md with the warning that these are Yosys' counts."""
    import json

    record = json.loads((tiny_build / "report" / "synth.json").read_text())
    est = json.loads((tiny_build / "report" / "estimates.json").read_text())
    assert record["complete"] and record["fits_board"]
    assert [layer["name"] for layer in record["layers"]] == [layer["name"] for layer in est["layers"]]
    assert len(record["fifos"]) == len(est["fifos"]) and record["totals"]["LUT"] > 0
    assert record["totals"]["FF"] == sum(e["counts"]["FF"] for e in record["layers"] + record["fifos"])
    summary = (tiny_build / "report" / "summary.md").read_text()
    assert "## Synthesized with Yosys" in summary and "not a Vivado utilization report" in summary


def test_hls_script_checks_synthesizes_and_exports_the_axi_top(tiny_build, tmp_path):
    record = tmp_path / "record.jsonl"
    run_stubbed(["vitis_hls", "-f", str(tiny_build / "hls" / "synth.tcl")], record)
    calls = [c for c in read_record(record) if "cmd" in c]
    commands = [c["cmd"] for c in calls]
    args = {c["cmd"]: c for c in calls}
    assert args["set_top"]["args"] == ["dataflow_top_axi"]
    assert args["set_part"]["args"] == ["xc7z020clg400-1"]
    assert args["create_clock"]["options"]["-period"] == "10.000"
    assert args["open_solution"]["options"]["-flow_target"] == "vivado"
    design_files = [c["args"][0] for c in calls if c["cmd"] == "add_files" and "-tb" not in c["options"]]
    layers = sorted(f"layers/{p.name}" for p in (tiny_build / "hls" / "layers").glob("*.cpp"))
    assert sorted(design_files) == sorted(["axi_top.cpp", "top.cpp", *layers])
    assert [c["args"] for c in calls if c["cmd"] == "add_files" and "-tb" in c["options"]] == [["tb.cpp"]]
    assert commands.index("csim_design") < commands.index("csynth_design") < commands.index("export_design")
    assert args["csim_design"]["options"]["-argv"].split() == [str(tiny_build / "hls" / "tb" / f)
                                                               for f in ("input.bin", "expected.bin")]
    export = args["export_design"]["options"]
    assert (export["-format"], export["-vendor"], export["-library"], export["-ipname"], export["-version"]) == \
        ("ip_catalog", "dataflow_accel", "hls", "dataflow_top_axi", "1.0")
    assert commands[-1] == "exit"
    assert (tiny_build / "hls" / "dataflow_top_hls" / "sol1" / "impl" / "ip" / "component.xml").exists()


# What the block design must contain on each kind of PS: (PS IP, PL clock pin, reset pin, AXI master,
# its clock pin, HP slave port, its clock pin, control address window, config key of the clock,
# config keys enabling the HP port and setting its width).
PS = {
    "zynq-7000": ("processing_system7", "FCLK_CLK0", "FCLK_RESET0_N", "M_AXI_GP0", "M_AXI_GP0_ACLK", "S_AXI_HP0",
                  "S_AXI_HP0_ACLK", 0x4000_0000, "PCW_FPGA0_PERIPHERAL_FREQMHZ", "PCW_USE_S_AXI_HP0",
                  "PCW_S_AXI_HP0_DATA_WIDTH"),
    "zynq-ultrascale+": ("zynq_ultra_ps_e", "pl_clk0", "pl_resetn0", "M_AXI_HPM0_FPD", "maxihpm0_fpd_aclk",
                         "S_AXI_HP0_FPD", "saxihp0_fpd_aclk", 0xA000_0000, "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
                         "PSU__USE__S_AXI_GP2", "PSU__SAXIGP2__DATA_WIDTH"),
}


def check_block_design(calls, board, accelerator, accelerator_segment):
    """The block design and runs the recorded calls describe, as both backends must make them: only the
    accelerator cell (its VLNV or module reference) and the name of its register segment differ."""
    design = design_of(calls)
    ps_ip, clock, reset, master, master_clock, slave, slave_clock, base, clock_key, hp_key, hp_width_key = PS[board.ps]
    assert design["part"] == board.part
    assert design["properties"]["accel_project"]["board_part"] == board.board_part
    assert design["cells"] == {"ps": f"xilinx.com:ip:{ps_ip}", "reset": "xilinx.com:ip:proc_sys_reset",
                               "dma": "xilinx.com:ip:axi_dma", "accel": accelerator,
                               "control_ic": "xilinx.com:ip:smartconnect", "memory_ic": "xilinx.com:ip:smartconnect"}
    ps = design["properties"]["/ps"]
    assert float(ps[f"CONFIG.{clock_key}"]) == board.clock_mhz
    assert ps[f"CONFIG.{hp_key}"] == "1" and ps[f"CONFIG.{hp_width_key}"] == str(board.axi_width)
    dma = {k.removeprefix("CONFIG."): v for k, v in design["properties"]["/dma"].items()}
    assert dma["c_include_sg"] == "0" and dma["c_sg_length_width"] == "26"
    assert (dma["c_m_axis_mm2s_tdata_width"], dma["c_s_axis_s2mm_tdata_width"]) == ("8", "16")   # INT8 in, INT11 out
    assert dma["c_m_axi_mm2s_data_width"] == dma["c_m_axi_s2mm_data_width"] == str(board.axi_width)
    assert design["properties"]["/control_ic"] == {"CONFIG.NUM_SI": "1", "CONFIG.NUM_MI": "2"}
    assert design["properties"]["/memory_ic"] == {"CONFIG.NUM_SI": "2", "CONFIG.NUM_MI": "1"}
    assert design["intf_nets"] == {frozenset(pair) for pair in [
        (f"/ps/{master}", "/control_ic/S00_AXI"), ("/control_ic/M00_AXI", "/dma/S_AXI_LITE"),
        ("/control_ic/M01_AXI", "/accel/s_axi_control"), ("/dma/M_AXI_MM2S", "/memory_ic/S00_AXI"),
        ("/dma/M_AXI_S2MM", "/memory_ic/S01_AXI"), ("/memory_ic/M00_AXI", f"/ps/{slave}"),
        ("/dma/M_AXIS_MM2S", "/accel/in0"), ("/accel/out0", "/dma/S_AXIS_S2MM")]}
    assert design["nets"] == {
        "clock": {f"/ps/{clock}", f"/ps/{master_clock}", f"/ps/{slave_clock}", "/reset/slowest_sync_clk",
                  "/control_ic/aclk", "/memory_ic/aclk", "/dma/s_axi_lite_aclk", "/dma/m_axi_mm2s_aclk",
                  "/dma/m_axi_s2mm_aclk", "/accel/ap_clk"},
        "ps_reset": {f"/ps/{reset}", "/reset/ext_reset_in"},
        "reset": {"/reset/peripheral_aresetn", "/control_ic/aresetn", "/memory_ic/aresetn", "/dma/axi_resetn",
                  "/accel/ap_rst_n"}}
    assert design["addresses"] == [
        ("/ps/Data", f"0x{base:08X}", "64K", (f"/accel/s_axi_control/{accelerator_segment}",)),
        ("/ps/Data", f"0x{base + 0x10000:08X}", "64K", ("/dma/S_AXI_LITE/Reg",)), (None, None, None, ())]
    commands = design["commands"]
    assert commands.index("assign_bd_address") < commands.index("validate_bd_design") < commands.index("launch_runs")
    assert [c["args"][0] for c in calls if c.get("cmd") == "launch_runs"] == ["synth_1", "impl_1"]
    return design


@pytest.mark.parametrize("name", boards.names())
def test_block_design_per_board(tiny_build, tmp_path, name):
    """build.sh with stub tools: Vitis HLS then Vivado, the whole design recorded and checked."""
    out = tmp_path / "build"
    board = generate_for_board(tiny_build, name, out)
    record = tmp_path / "record.jsonl"
    result = run_stubbed(["bash", str(out / "vivado" / "build.sh")], record)
    assert "done (hls backend):" in result.stdout
    calls = read_record(record)
    assert [c["tool"] for c in calls if c.get("event") == "end"] == ["vitis_hls", "vivado"]
    hls = {c["cmd"]: c for c in calls if c["tool"] == "vitis_hls" and "cmd" in c}
    assert hls["set_part"]["args"] == [board.part]
    assert float(hls["create_clock"]["options"]["-period"]) == pytest.approx(1000 / board.clock_mhz, abs=1e-3)
    check_block_design(calls, board, "dataflow_accel:hls:dataflow_top_axi:1.0", "Reg")
    assert (out / "driver" / "accel.bit").exists() and (out / "driver" / "accel.hwh").exists()


@pytest.mark.parametrize("name", boards.names())
def test_rtl_block_design_per_board(tiny_build, tmp_path, name):
    """BACKEND=rtl build.sh with only the stub vivado on PATH: the same block design around the RTL the
    build simulated, every source of rtl/sources.f and every ROM file in the project, the accelerator a
    module reference with the interfaces and register segment the HLS IP has."""
    out = tmp_path / "build"
    board = generate_for_board(tiny_build, name, out)
    record = tmp_path / "record.jsonl"
    result = run_stubbed(["bash", str(out / "vivado" / "build.sh")], record, stubs=vivado_only(tmp_path),
                         backend="rtl")
    assert "done (rtl backend):" in result.stdout
    calls = read_record(record)
    assert [c["tool"] for c in calls if c.get("event") == "end"] == ["vivado"]
    design = check_block_design(calls, board, "module:accel_axi_ref", "reg0")

    rtl = out / "rtl"
    sources = [str(rtl / name) for name in (rtl / "sources.f").read_text().split()]
    assert f"{rtl}/accel_axi.sv" in sources and f"{rtl}/accel_top.sv" in sources
    named_memories = {m for path in rtl.glob("*.sv") for m in re.findall(r'INIT_FILE\("([^"]+)"\)', path.read_text())}
    assert named_memories and named_memories == {path.name for path in rtl.glob("*.mem")}
    memories = [str(rtl / name) for name in sorted(named_memories)]
    wrapper = str(out / "vivado" / "accel_project" / "accel_project.gen" / "sources_1" / "bd" / "accel_bd" / "hdl"
                  / "accel_bd_wrapper.v")
    assert design["files"] == {path: "sources_1" for path in [*sources, str(out / "vivado" / "accel_axi_ref.v"),
                                                              *memories, wrapper]}
    assert all(design["properties"][path]["FILE_TYPE"] == "Memory Initialization Files" for path in memories)
    commands = design["commands"]
    assert commands.index("update_compile_order") < commands.index("create_bd_design")
    assert (out / "driver" / "accel.bit").exists() and (out / "driver" / "accel.hwh").exists()


def test_rtl_project_fails_when_synthesis_cannot_read_a_rom(tiny_build, tmp_path):
    """Vivado only warns when $readmemh finds no file (the ROM stays zeros): project_rtl.tcl fails instead."""
    out = tmp_path / "build"
    generate_for_board(tiny_build, "zcu104", out)
    lost = sorted((out / "rtl").glob("*.mem"))[0]
    lost.unlink()
    result = run_stubbed(["vivado", "-mode", "batch", "-source", str(out / "vivado" / "project_rtl.tcl")],
                         tmp_path / "r.jsonl", check=False)
    assert result.returncode and "synthesis could not read ROM contents" in result.stderr
    assert f"'{lost.name}'" in result.stderr
    assert not (out / "vivado" / "output").exists()


def test_rtl_reference_is_accel_axi_in_verilog(tiny_build):
    """accel_axi_ref.v is plain Verilog (Verilator as Verilog-2005) over accel_axi with every one of its
    ports, same direction and width, each with an interface attribute; the whole IP elaborates under it."""
    from compiler.sim.rtlsim import verilator_root

    def ports(text, kind):
        return re.findall(rf"^\s*(input|output)\s+{kind}\s+(?:\[(\d+):0\]\s*)?(\w+)", text, re.MULTILINE)

    reference = (tiny_build / "vivado" / "accel_axi_ref.v").read_text()
    assert ports(reference, "wire") == ports((tiny_build / "rtl" / "accel_axi.sv").read_text(), "logic")
    assert reference.count("X_INTERFACE_INFO") == len(ports(reference, "wire"))
    rtl = tiny_build / "rtl"
    sources = [str(rtl / name) for name in (rtl / "sources.f").read_text().split()]
    root = verilator_root()
    # -Wall, for widths and unconnected ports; SYMRSVDWORD: `interrupt` is a C++ word, Verilator's concern only.
    result = subprocess.run([str(root / "bin" / "verilator"), "--lint-only", "-Wall", "-Wno-fatal", "-Wno-SYMRSVDWORD",
                             "+1364-2005ext+v", "--top-module", "accel_axi_ref", *sources,
                             str(tiny_build / "vivado" / "accel_axi_ref.v")],
                            capture_output=True, text=True, env=dict(os.environ, VERILATOR_ROOT=str(root)))
    assert result.returncode == 0, result.stderr
    assert "accel_axi_ref.v" not in result.stderr, result.stderr


def test_accelerator_ports_in_the_design_are_the_axi_tops_arguments(tiny_build):
    """The stubs know the accelerator's ports as in0, out0, s_axi_control: that is what Vitis HLS
    makes of the top function written here."""
    source = (tiny_build / "hls" / "axi_top.cpp").read_text()
    signature = re.search(r"void dataflow_top_axi\(([^)]*)\)", source).group(1)
    assert [a.split("&")[-1].split()[-1] for a in signature.split(",")] == ["in0", "out0", "frames"]
    assert "INTERFACE axis port = in0" in source and "INTERFACE axis port = out0" in source
    assert "s_axilite port = frames bundle = control" in source
    assert re.search(r"hls/\{\{ ip.project \}\}/\{\{ ip.solution \}\}/impl/ip",
                     (ROOT / "compiler/board/templates/project.tcl.j2").read_text())


def test_missing_board_files_are_named_with_where_to_get_them(tiny_build, tmp_path):
    out = tmp_path / "build"
    board = generate_for_board(tiny_build, "ultra96", out)
    run_stubbed(["vitis_hls", "-f", str(out / "hls" / "synth.tcl")], tmp_path / "r.jsonl")
    result = run_stubbed(["vivado", "-mode", "batch", "-source", str(out / "vivado" / "project.tcl")],
                         tmp_path / "r.jsonl", board_parts="", check=False)
    assert result.returncode
    assert "board files of Ultra96" in result.stderr and "github.com/Avnet/bdf" in result.stderr
    assert "Avnet" in board.board_files


def test_vivado_script_needs_the_hls_ip_first(tiny_build, tmp_path):
    out = tmp_path / "build"
    generate_for_board(tiny_build, "pynq-z1", out)
    result = run_stubbed(["vivado", "-mode", "batch", "-source", str(out / "vivado" / "project.tcl")],
                         tmp_path / "r.jsonl", check=False)
    assert result.returncode and "run vitis_hls -f synth.tcl" in result.stderr


@pytest.mark.parametrize("line, message", [
    ("create_bd_cel -type ip -vlnv xilinx.com:ip:axi_dma dma", 'invalid command name "create_bd_cel"'),
    ("create_bd_cell -type ip -vlvn xilinx.com:ip:axi_dma dma", "invalid option '-vlvn'"),
    ("create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dmaa dma", "not in the catalog"),
    ("get_bd_pins dma/s_axi_lite_clk", "has no pin 's_axi_lite_clk'"),
    ("get_bd_intf_pins ps/S_AXI_HP0", "no cell 'ps'"),
])
def test_stubs_reject_what_vivado_would(tmp_path, line, message):
    script = tmp_path / "bad.tcl"
    script.write_text("create_project p ./p -part xc7z020clg400-1\ncreate_bd_design d\n"
                      "create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma dma\n" + line + "\n")
    result = subprocess.run(["tclsh", str(STUBS / "stub.tcl"), "vivado", str(script)], capture_output=True, text=True,
                            cwd=tmp_path, env=dict(os.environ, TCL_STUB_RECORD=str(tmp_path / "r.jsonl")))
    assert result.returncode and message in result.stderr


def verilog_top(name, clock_parameter):
    """A Verilog module with an AXI-stream slave s on clock clk, over the SystemVerilog `inner`."""
    return f"""module {name} (
  (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 clk CLK" *)
  (* X_INTERFACE_PARAMETER = "{clock_parameter}" *)
  input  wire clk,
  (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 rst_n RST" *)
  (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)
  input  wire rst_n,
  (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s TDATA" *)
  input  wire [7:0] s_tdata,
  (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s TVALID" *)
  input  wire s_tvalid,
  (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 s TREADY" *)
  output wire s_tready
);
  inner u_inner (.clk(clk), .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tready(s_tready));
endmodule
"""


# Sources for module references, as accel_axi_ref.v over accel_axi.sv; late.v is added after update_compile_order.
MODULE_SOURCES = {
    "inner.sv": "module inner (input logic clk, input logic [7:0] s_tdata, input logic s_tvalid, "
                "output logic s_tready);\n  assign s_tready = 1'b1;\nendmodule\n",
    "top.v": verilog_top("top", "ASSOCIATED_BUSIF s, ASSOCIATED_RESET rst_n"),
    "unclocked.v": verilog_top("unclocked", "ASSOCIATED_RESET rst_n"),
    "unreset.v": verilog_top("unreset", "ASSOCIATED_BUSIF s"),
    "orphan.v": "module orphan (input wire clk);\n  ghost u_ghost (.clk(clk));\nendmodule\n",
    "late.v": "module late (input wire clk);\nendmodule\n",
}


@pytest.mark.parametrize("line, message", [
    ("create_bd_cell -type module -reference top t; get_bd_intf_pins t/s; get_bd_pins t/clk", None),
    ("create_bd_cell -type module -reference inner t", "a module reference's top must be Verilog or VHDL"),
    ("create_bd_cell -type module -reference nowhere t", "no module 'nowhere' in the project's sources"),
    ("add_files late.v; create_bd_cell -type module -reference late t", "no module 'late' in the project's sources"),
    ("create_bd_cell -type module -reference orphan t", "instantiates 'ghost', which no project source defines"),
    ("create_bd_cell -type module -reference unclocked t", "interface s is in no clock's ASSOCIATED_BUSIF"),
    ("create_bd_cell -type module -reference unreset t", "clock clk has no ASSOCIATED_RESET naming its reset pin"),
    ("create_bd_cell -type module -vlnv a:b:top:1.0 t", "-type module takes -reference <module>"),
    ("create_bd_cell -type module -reference top t; get_bd_intf_pins t/m", "has no interface pin 'm'"),
    ("create_bd_cell -type module -reference top t; get_bd_addr_segs -of_objects [get_bd_intf_pins t/s]",
     "interface pin /t/s has no address segment"),
    ("add_files missing.v", "file missing.v does not exist"),
    ("set_property FILE_TYPE {Memory Files} [get_files inner.sv]", "FILE_TYPE 'Memory Files' is none of"),
    ("get_files other.mem", "no file other.mem in the project"),
])
def test_stubs_take_module_references_as_vivado_would(tmp_path, line, message):
    for name, text in MODULE_SOURCES.items():
        (tmp_path / name).write_text(text)
    script = tmp_path / "refs.tcl"
    script.write_text("create_project p ./p -part xc7z020clg400-1\n"
                      "add_files -norecurse -fileset sources_1 [list inner.sv top.v unclocked.v unreset.v orphan.v]\n"
                      "update_compile_order -fileset sources_1\ncreate_bd_design d\n" + line + "\n")
    result = subprocess.run(["tclsh", str(STUBS / "stub.tcl"), "vivado", str(script)], capture_output=True, text=True,
                            cwd=tmp_path, env=dict(os.environ, TCL_STUB_RECORD=str(tmp_path / "r.jsonl")))
    if message is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode and message in result.stderr


def compile_hls(hls_dir, sources, binary):
    """Compile HLS C++ (one translation unit) with g++, the open ap_types headers and the ap_axi_sdata stand-in."""
    unity = binary.with_name("unity.cpp")
    unity.write_text("".join(f'#include "{source}"\n' for source in sources))
    subprocess.run(["g++", "-std=c++14", "-O1", "-Wno-unknown-pragmas", f"-I{hls_dir}", f"-I{HLS_STUBS}",
                    f"-I{ap_types_include_dir()}", str(unity), "-o", str(binary)], check=True, capture_output=True)
    return binary


def test_ip_top_passes_its_csim_test_bench(tiny_build, tmp_path):
    """What csim_design runs: the AXI top on the verified frames as the driver packs them."""
    hls = tiny_build / "hls"
    layers = sorted(f"layers/{p.name}" for p in (hls / "layers").glob("*.cpp"))
    tb = compile_hls(hls, ["tb.cpp", "axi_top.cpp", "top.cpp", *layers], tmp_path / "tb")
    result = subprocess.run([str(tb), str(hls / "tb" / "input.bin"), str(hls / "tb" / "expected.bin")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"{board_project.TEST_FRAMES} frames" in result.stdout and "TLAST on the last" in result.stdout

    wrong = bytearray((hls / "tb" / "expected.bin").read_bytes())
    wrong[-2] ^= 1
    (tmp_path / "wrong.bin").write_bytes(bytes(wrong))
    result = subprocess.run([str(tb), str(hls / "tb" / "input.bin"), str(tmp_path / "wrong.bin")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and f"frame {board_project.TEST_FRAMES - 1}, output word 23, byte 0" in result.stderr


def test_axi_top_pads_words_to_dma_widths(tmp_path):
    """Stream words that are no DMA width (12-bit input of three INT4, 20-bit output of two UINT10)
    are padded to 16 and 32 bits, bit-exactly as the driver packs them."""
    from qonnx.core.datatype import DataType

    stream_in = Stream("x", "in0", 12, DataType["INT4"], elems=6)
    stream_out = Stream("y", "out0", 20, DataType["UINT10"], elems=4)
    in_width, out_width = board_project.dma_stream_width(12), board_project.dma_stream_width(20)
    assert (in_width, out_width) == (16, 32)
    context = dict(top="dataflow_top", input=stream_in, output=stream_out, in_width=in_width, out_width=out_width)
    for name in ("axi_top.hpp", "axi_top.cpp", "tb.cpp"):
        (tmp_path / name).write_text(board_project._env.get_template(f"{name}.j2").render(**context))
    # A stand-in dataflow top: per frame, two input words in, two output words out (y = x0 + x1 + x2 + 32, then + 100 w).
    (tmp_path / "top.hpp").write_text(
        "#pragma once\n#include <ap_int.h>\n#include <hls_stream.h>\n"
        "void dataflow_top(hls::stream<ap_uint<12>>& in0, hls::stream<ap_uint<20>>& out0, unsigned frames);\n")
    (tmp_path / "top.cpp").write_text(
        '#include "top.hpp"\n'
        "void dataflow_top(hls::stream<ap_uint<12>>& in0, hls::stream<ap_uint<20>>& out0, unsigned frames) {\n"
        "  for (unsigned f = 0; f < frames; f++) for (unsigned w = 0; w < 2; w++) {\n"
        "    ap_uint<12> x = in0.read(); int s = 0;\n"
        "    for (int i = 0; i < 3; i++) s += ap_int<4>(x.range(4 * i + 3, 4 * i)).to_int();\n"
        "    ap_uint<20> y = 0; y.range(9, 0) = s + 32; y.range(19, 10) = s + 32 + 100 * w; out0.write(y);\n"
        "  }\n}\n")
    x = np.random.default_rng(1).integers(-8, 8, size=(5, 2, 3))
    sums = x.sum(axis=2) + 32
    y = np.stack([sums, sums + 100 * np.arange(2)], axis=-1)
    fmt_in = StreamFormat({"datatype": "INT4", "bits": 4, "signed": True, "shape_normal": [1, 6],
                           "shape_folded": [1, 2, 3], "word_bits": in_width})
    fmt_out = StreamFormat({"datatype": "UINT10", "bits": 10, "signed": False, "shape_normal": [1, 4],
                            "shape_folded": [1, 2, 2], "word_bits": out_width})
    (tmp_path / "in.bin").write_bytes(fmt_in.pack(x).tobytes())
    (tmp_path / "out.bin").write_bytes(fmt_out.pack(y).tobytes())
    tb = compile_hls(tmp_path, ["tb.cpp", "axi_top.cpp", "top.cpp"], tmp_path / "tb")
    result = subprocess.run([str(tb), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "unpad_input" in (tmp_path / "axi_top.cpp").read_text()


def test_dma_stream_width_and_the_limit():
    assert [board_project.dma_stream_width(b) for b in (1, 8, 9, 16, 22, 33, 1024)] == [8, 8, 16, 16, 32, 64, 1024]
    with pytest.raises(CodegenError, match="lower the PE/SIMD"):
        board_project.dma_stream_width(1025)


def test_make_bitstream_never_pretends(tiny_build, tmp_path):
    """Without the tools: names them and the command to run elsewhere, fails. With them (stubs): runs
    build.sh, which leaves the bitstream and .hwh in driver/."""
    make = ["make", "-s", "bitstream", "MODEL=tiny", "BOARD=pynq-z2", f"OUT={tiny_build}"]
    result = subprocess.run(make, cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PATH=path_without_xilinx_tools()))
    assert result.returncode != 0
    assert "vitis_hls and vivado are not on PATH" in result.stderr
    assert f"run: bash {tiny_build}/vivado/build.sh" in result.stderr
    assert not (tiny_build / "driver" / "accel.bit").exists()

    copy = tmp_path / "copy"
    shutil.copytree(tiny_build, copy)
    result = run_stubbed(["make", "-s", "bitstream", "MODEL=tiny", "BOARD=pynq-z2", f"OUT={copy}"], tmp_path / "r.jsonl",
                         cwd=ROOT)
    assert "done (hls backend):" in result.stdout
    assert (copy / "driver" / "accel.bit").read_text() == "stub bitstream\n"


def test_rtl_bitstream_needs_vivado_alone(tiny_build, tmp_path):
    """BACKEND=rtl: without vivado, make bitstream and build.sh name it (not vitis_hls) and fail; with the
    stub vivado alone on PATH, `python -m compiler.board bitstream --backend rtl` (what make runs) builds the
    bitstream, and build.sh for the HLS backend says vitis_hls is missing."""
    make = ["make", "-s", "bitstream", "BACKEND=rtl", "MODEL=tiny", "BOARD=pynq-z2", f"OUT={tiny_build}"]
    result = subprocess.run(make, cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PATH=path_without_xilinx_tools()))
    assert result.returncode != 0
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]    # after the build's log
    assert "it needs Vivado, and vivado is not on PATH here" in error and "vitis_hls" not in error
    assert error.endswith(f"run: BACKEND=rtl bash {tiny_build}/vivado/build.sh")
    assert not (tiny_build / "driver" / "accel.bit").exists()

    script = str(tiny_build / "vivado" / "build.sh")
    (tmp_path / "no-tools").mkdir()
    result = run_stubbed(["bash", script], tmp_path / "r.jsonl", stubs=tmp_path / "no-tools", backend="rtl", check=False)
    assert result.returncode == 1
    assert f"error: vivado is not on PATH (BACKEND=rtl needs vivado); source the Xilinx settings64.sh, then run: " \
           f"BACKEND=rtl bash {script}" in result.stderr
    vivado = vivado_only(tmp_path)
    result = run_stubbed(["bash", script], tmp_path / "r.jsonl", stubs=vivado, backend="hls", check=False)
    assert result.returncode == 1 and "error: vitis_hls is not on PATH (BACKEND=hls needs vitis_hls and vivado)" \
        in result.stderr

    copy = tmp_path / "copy"
    shutil.copytree(tiny_build, copy)
    record = tmp_path / "record.jsonl"
    result = run_stubbed([sys.executable, "-m", "compiler.board", "bitstream", "--backend", "rtl", "--model", "tiny",
                          "--out", str(copy)], record, stubs=vivado, cwd=ROOT)
    assert "done (rtl backend):" in result.stdout
    assert (copy / "driver" / "accel.bit").read_text() == "stub bitstream\n"
    assert {call["tool"] for call in read_record(record)} == {"vivado"}


def test_backend_is_hls_or_rtl(tiny_build):
    """BACKEND=bogus: make bitstream (before the build starts), python -m compiler.board and build.sh each
    fail with one line naming the legal values."""
    message = "BACKEND=bogus is not a backend: hls (Vitis HLS, then Vivado; the default) or rtl (Vivado alone)"
    log = (tiny_build / "build.log").stat().st_mtime
    env = dict(os.environ, PATH=path_without_xilinx_tools(), PYTHONPATH=str(ROOT))
    for command, code in [(["make", "-s", "bitstream", "BACKEND=bogus", "MODEL=tiny", f"OUT={tiny_build}"], 2),
                          ([sys.executable, "-m", "compiler.board", "bitstream", "--backend", "bogus", "--model",
                            "tiny", "--out", str(tiny_build)], 1)]:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
        assert (result.returncode, result.stdout) == (code, ""), result.stderr
        assert message in result.stderr
    assert (tiny_build / "build.log").stat().st_mtime == log          # no build ran
    result = subprocess.run(["bash", str(tiny_build / "vivado" / "build.sh")], capture_output=True, text=True,
                            env=dict(env, BACKEND="bogus"))
    assert result.returncode == 1 and result.stderr == f"error: {message}\n"
