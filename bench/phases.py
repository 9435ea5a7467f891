"""make bench, phases: VGG10-w4a4 on ZCU104 at 250 MHz past one input sample per cycle
(`python -m bench --parts phases`).

With one sample a cycle a 1024-sample frame takes at least 1,024 cycles (244k fps at 250 MHz). With
INPUT_PHASES=2 the first convolution and its max pool take two samples a pixel
(compiler/frontend/polyphase.py), so the frame can stream in 512. The build folds for the fastest
frame rate within 80 % of the board by our cost model, sizes the FIFOs and measures the frame interval
in rtlsim (Verilator), verifies cppsim and rtlsim exact, and counts every layer with Yosys'
synth_xilinx -family xcup (not Vivado; its largest layer took 28 minutes, then cached).
"""
import time

from compiler.flow import BuildConfig, run_build

from bench.dsp import built, built_line

MODEL, BOARD, CLOCK_MHZ, PHASES = "vgg10-w4a4", "zcu104", 250, 2
SYNTH_TIMEOUT = 3 * 3600     # its fully parallel MVAU (3,072 products in LUTs) takes Yosys far past the default


def run(build_root, log=print):
    out = build_root / f"{MODEL}-{BOARD}-phases{PHASES}"
    start = time.time()
    run_build(BuildConfig(model=MODEL, board=BOARD, out_dir=out, target_fps="max", clock_mhz=CLOCK_MHZ,
                          input_phases=PHASES, cost_model="ours", synth="1", synth_timeout=SYNTH_TIMEOUT))
    return {"model": MODEL, "board": BOARD, "clock_mhz": CLOCK_MHZ, "input_phases": PHASES,
            "build_seconds": round(time.time() - start, 1), "built": built(out)}


def table(result):
    rtlsim = result["built"]["rtlsim"]
    return (f"{result['model']} on {result['board']} at {result['clock_mhz']} MHz, INPUT_PHASES={result['input_phases']}, "
            f"fastest within 80 % by our cost model: estimated {result['built']['estimated_fps']:,.0f} fps, "
            f"{result['built']['estimated_LUT']:,} LUT; measured {rtlsim.get('fps', 0):,.0f} fps in rtlsim; built in "
            f"{result['build_seconds']} s: {built_line(result['built'])}")
