"""From HLS code to a board, without Xilinx tools: the generated Vitis HLS and Vivado scripts run under
tclsh against recording stubs (tests/tcl/), for every board; the accelerator IP's AXI wrapper and test
bench run under g++; `make bitstream` says what is missing instead of pretending."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import boards
from compiler import board as board_project
from compiler import codegen
from compiler.codegen import Stream
from compiler.driver.runtime.accelerator import StreamFormat
from compiler.flow import BuildConfig, load_graph, run_build
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


def run_stubbed(command, record, board_parts=ALL_BOARD_PARTS, check=True, cwd=None):
    """Run a command with the stub vitis_hls/vivado first on PATH, recording into `record`."""
    env = dict(os.environ, PATH=f"{STUBS / 'bin'}:{os.environ['PATH']}", TCL_STUB_RECORD=str(record),
               TCL_STUB_BOARD_PARTS=board_parts)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    if check and result.returncode:
        raise AssertionError(f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def read_record(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def design_of(calls):
    """The block design and runs the recorded Vivado calls describe."""
    design = {"cells": {}, "properties": {}, "intf_nets": set(), "nets": {}, "addresses": [], "commands": []}
    for call in calls:
        if call["tool"] != "vivado":
            continue
        if call.get("event") == "property":
            design["properties"].setdefault(call["object"], {})[call["name"]] = call["value"]
            continue
        cmd, args, options = call.get("cmd"), call.get("args"), call.get("options")
        if cmd is None:
            continue
        design["commands"].append(cmd)
        if cmd == "create_project":
            design["part"] = options["-part"]
        elif cmd == "create_bd_cell":
            design["cells"][args[0]] = options["-vlnv"]
        elif cmd == "connect_bd_intf_net":
            design["intf_nets"].add(frozenset(args))
        elif cmd == "connect_bd_net":
            design["nets"][options["-net"]] = set(args)
        elif cmd == "assign_bd_address":
            design["addresses"].append((options.get("-target_address_space"), options.get("-offset"),
                                        options.get("-range"), tuple(args)))
    return design


def generate_for_board(tiny_build, name, out):
    """The tiny model's hls/, vivado/ and an empty driver/ for board `name` in `out`."""
    board = boards.get(name)
    model = load_graph(tiny_build, "minimize_bit_widths")
    codegen.generate(model, out / "hls", board, board.clock_mhz)
    vectors = ((tiny_build / "hls" / "tb" / "input.bin").read_bytes(), (tiny_build / "hls" / "tb" / "expected.bin").read_bytes())
    board_project.generate(out, model, board, board.clock_mhz, vectors)
    (out / "driver").mkdir()
    return board


def test_build_writes_the_board_project_and_says_the_bitstream_needs_vivado(tiny_build):
    for name in ["hls/synth.tcl", "hls/axi_top.cpp", "hls/axi_top.hpp", "hls/tb.cpp", "hls/tb/input.bin",
                 "hls/tb/expected.bin", "vivado/project.tcl", "vivado/build.sh"]:
        assert (tiny_build / name).exists(), name
    assert os.access(tiny_build / "vivado" / "build.sh", os.X_OK)
    log = (tiny_build / "build.log").read_text()
    assert "bitstream not built: it needs Vitis HLS and Vivado" in log
    assert f"bash {tiny_build}/vivado/build.sh" in log
    assert not list(tiny_build.glob("**/*.bit"))


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


@pytest.mark.parametrize("name", boards.names())
def test_block_design_per_board(tiny_build, tmp_path, name):
    """build.sh with stub tools: Vitis HLS then Vivado, the whole design recorded and checked."""
    out = tmp_path / "build"
    board = generate_for_board(tiny_build, name, out)
    record = tmp_path / "record.jsonl"
    result = run_stubbed(["bash", str(out / "vivado" / "build.sh")], record)
    assert "done:" in result.stdout
    calls = read_record(record)
    assert [c["tool"] for c in calls if c.get("event") == "end"] == ["vitis_hls", "vivado"]
    hls = {c["cmd"]: c for c in calls if c["tool"] == "vitis_hls" and "cmd" in c}
    assert hls["set_part"]["args"] == [board.part]
    assert float(hls["create_clock"]["options"]["-period"]) == pytest.approx(1000 / board.clock_mhz, abs=1e-3)

    design = design_of(calls)
    ps_ip, clock, reset, master, master_clock, slave, slave_clock, base, clock_key, hp_key, hp_width_key = PS[board.ps]
    assert design["part"] == board.part
    assert design["properties"]["accel_project"]["board_part"] == board.board_part
    assert design["cells"] == {"ps": f"xilinx.com:ip:{ps_ip}", "reset": "xilinx.com:ip:proc_sys_reset",
                               "dma": "xilinx.com:ip:axi_dma", "accel": "dataflow_accel:hls:dataflow_top_axi:1.0",
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
    assert design["addresses"] == [("/ps/Data", f"0x{base:08X}", "64K", ("/accel/s_axi_control/Reg",)),
                                   ("/ps/Data", f"0x{base + 0x10000:08X}", "64K", ("/dma/S_AXI_LITE/Reg",)),
                                   (None, None, None, ())]
    commands = design["commands"]
    assert commands.index("assign_bd_address") < commands.index("validate_bd_design") < commands.index("launch_runs")
    assert [c["args"][0] for c in calls if c.get("cmd") == "launch_runs"] == ["synth_1", "impl_1"]
    assert (out / "driver" / "accel.bit").exists() and (out / "driver" / "accel.hwh").exists()


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
    with pytest.raises(board_project.BoardError, match="lower the PE/SIMD"):
        board_project.dma_stream_width(1025)


def test_make_bitstream_never_pretends(tiny_build, tmp_path):
    """Without the tools: names them and the command to run elsewhere, fails. With them (stubs): runs
    build.sh, which leaves the bitstream and .hwh in driver/."""
    make = ["make", "-s", "bitstream", "MODEL=tiny", "BOARD=pynq-z2", f"OUT={tiny_build}"]
    path = ":".join(p for p in os.environ["PATH"].split(":") if not (Path(p) / "vivado").exists())
    result = subprocess.run(make, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, PATH=path))
    assert result.returncode != 0
    assert "vitis_hls and vivado are not on PATH" in result.stderr
    assert f"run: bash {tiny_build}/vivado/build.sh" in result.stderr
    assert not (tiny_build / "driver" / "accel.bit").exists()

    copy = tmp_path / "copy"
    shutil.copytree(tiny_build, copy)
    result = run_stubbed(["make", "-s", "bitstream", "MODEL=tiny", "BOARD=pynq-z2", f"OUT={copy}"], tmp_path / "r.jsonl",
                         cwd=ROOT)
    assert "done:" in result.stdout
    assert (copy / "driver" / "accel.bit").read_text() == "stub bitstream\n"
