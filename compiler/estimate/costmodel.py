"""Our cost model: what our RTL kernels (rtl/mvau.sv, vvau.sv, thresholding.sv with threshold_search
and rom.sv) cost as Yosys' synth_xilinx maps them, per layer, from the node's attributes alone (the
optimizer prices thousands of candidate foldings).

LUTs and FFs are linear in a few structural counts of the kernel (describe(): bit-products in LUTs,
adder and accumulator bits, threshold comparators, ROM bits in LUTs, ...), with coefficients fitted
to a sweep of Yosys syntheses (`make calibrate`, compiler/estimate/calibrate.py) and kept with their
held-out error in calibration_<family>.json beside this file, one fit per FPGA family Yosys maps to
(xc7: Zynq-7000, xcup: Zynq UltraScale+). Block RAM is counted from the ROMs' geometry; DSPs as our
kernels pack products into them (hwops.dsp_slices). Figures are Yosys', not Vivado's.
"""
import json
import math
from functools import cache
from pathlib import Path

import boards
from compiler.hwops import (base_op, constants_impl, fifo_style, multiplies, multiplies_on_dsp, signed_bits,
                            threshold_stages, weight_words)

# the board whose part stands for each family in a calibration sweep
CALIBRATION_BOARDS = {"xc7": "pynq-z2", "xcup": "zcu104"}
LUTRAM_WORDS = 64                        # a LUTRAM of 64 words per LUT and bit
KERNELS = ("MVAU", "VVAU", "Thresholding")
FITTED = ("LUT", "FF")
FEATURES = {
    "MVAU": ("const", "products_lut", "products_const", "products_sign", "products_dsp", "adders", "accumulators",
             "compares", "threshold_rom", "weight_rom", "input_buffer", "outputs"),
    "Thresholding": ("const", "compares", "threshold_rom", "outputs"),
}
FEATURES["VVAU"] = FEATURES["MVAU"]
# BRAM18 aspect ratios (words, bits) a ROM may take, and a BRAM36's (in two BRAM18 units)
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))


def kernel_of(inst):
    """The kernel type our model covers for this node (MVAU, VVAU, Thresholding), or None."""
    op = base_op(inst.onnx_node.op_type)
    return op if op in KERNELS else None


def _rom_bits(words, bits):
    """What a ROM in LUTs costs grows with: its bits. Yosys builds it as logic (a LUTRAM needs a write
    port), a LUT per 30-45 bits of random contents by the fit; a single word is a constant, free."""
    return bits * words if words > 1 else 0


def bram18_of_rom(words, bits):
    """BRAM18 units of a words x bits ROM in block RAM: the cheapest tiling by BRAM18s or BRAM36s."""
    return min([math.ceil(words / d) * math.ceil(bits / w) for d, w in BRAM18_SHAPES] +
               [2 * math.ceil(words / d) * math.ceil(bits / w) for d, w in BRAM36_SHAPES])


def _thresholds(inst, acc_lo, acc_hi, channels, pe):
    """(stages, compare width, ROMs [(words, bits)]) of threshold_search, or (0, 0, []) without thresholds."""
    get, odt = inst.get_nodeattr, inst.get_output_datatype()
    if "noActivation" in inst.get_nodeattr_types() and get("noActivation"):
        return 0, 0, []
    count = get("numSteps") if "numSteps" in inst.get_nodeattr_types() else odt.get_num_possible_values() - 1
    stages = threshold_stages(count)
    cw = signed_bits(acc_lo, acc_hi) + 1
    folds = channels // pe
    return stages, cw, [(folds << stage, cw) for stage in range(stages)] * pe


def describe(inst, part):
    """(kernel, {feature: count}, [(words, bits) of each block-RAM memory]) of a node our model covers."""
    kernel, get = kernel_of(inst), inst.get_nodeattr
    pe = get("PE")
    blocks = []
    if kernel == "Thresholding":
        idt = inst.get_input_datatype(0)
        stages, cw, roms = _thresholds(inst, int(idt.min()), int(idt.max()), get("NumChannels"), pe)
        counts = {"compares": pe * stages * cw, "outputs": pe * inst.get_output_datatype().bitwidth()}
    else:
        idt, wdt, adt = inst.get_input_datatype(0), inst.get_input_datatype(1), inst.get_accumulator_datatype()
        simd = get("SIMD")
        if kernel == "MVAU":
            channels, sf, nf = get("MH"), get("MW") // simd, get("MH") // pe
        else:
            channels, sf, nf = get("Channels"), math.prod(get("Kernel")) // simd, get("Channels") // pe
        x_bits, w_bits = idt.bitwidth(), wdt.bitwidth()      # a bipolar lane is one bit
        product_bits = x_bits + w_bits + 2
        acc_bits = max(signed_bits(int(adt.min()), int(adt.max())) + 1, product_bits)
        stages, cw, roms = _thresholds(inst, int(adt.min()), int(adt.max()), channels, pe)
        on_dsp = multiplies_on_dsp(inst, part)
        products = pe * simd
        if on_dsp:
            lut_products = 0
        else:                      # an XNOR is a product of 1 x 1 bits
            lut_products = products * x_bits * w_bits if multiplies(inst) or x_bits == w_bits == 1 else 0
        # one bipolar operand negates or passes the other: an adder's worth per product
        signed_products = 0 if multiplies(inst) or x_bits == w_bits == 1 else products * max(x_bits, w_bits)
        weight_rom = (weight_words(inst), products * w_bits)
        # the input words an MVAU replays for its other neuron folds: a RAM, in LUTs or (deep) in block RAM
        buffer = (sf, simd * x_bits) if kernel == "MVAU" and nf > 1 else (0, 0)
        buffer_luts = 0
        if buffer[0] and fifo_style(*buffer) == "block":
            blocks.append(buffer)
        elif buffer[0]:
            buffer_luts = buffer[1] * math.ceil(buffer[0] / LUTRAM_WORDS)
        in_lutram = constants_impl(inst, part, "weights") == "lutram"
        if not in_lutram:
            blocks.append(weight_rom)
        constant_weights = weight_words(inst) == 1     # one weight word: products by constants, far cheaper
        counts = {"products_lut": 0 if constant_weights else lut_products,
                  "products_const": lut_products if constant_weights else 0,
                  "products_sign": signed_products, "products_dsp": products * product_bits if on_dsp else 0,
                  "adders": products * acc_bits, "accumulators": pe * acc_bits, "compares": pe * stages * cw,
                  "weight_rom": _rom_bits(*weight_rom) if in_lutram else 0,
                  "input_buffer": buffer_luts,
                  "outputs": pe * inst.get_output_datatype().bitwidth()}
    thresholds_in_lutram = not roms or constants_impl(inst, part, "thresholds") == "lutram"
    counts["threshold_rom"] = sum(_rom_bits(*rom) for rom in roms) if thresholds_in_lutram else 0
    if not thresholds_in_lutram:
        blocks += roms
    counts["const"] = 1
    return kernel, {name: counts.get(name, 0) for name in FEATURES[kernel]}, blocks


def calibration_file(family):
    return Path(__file__).with_name(f"calibration_{family}.json")


@cache
def coefficients(family):
    """{kernel: {resource: {feature: coefficient}}} fitted for `family` (calibration_<family>.json)."""
    data = json.loads(calibration_file(family).read_text())
    return {kernel: {r: fit["coefficients"] for r, fit in entry["fits"].items()}
            for kernel, entry in data["kernels"].items()}


def predict(coefficients, counts):
    """A fitted resource: the features' counts weighted by their coefficients, in whole units."""
    return math.ceil(sum(coefficients.get(name, 0.0) * value for name, value in counts.items()))


def layer_cost(inst, part):
    """Our model's {LUT, FF, BRAM_18K} of a node, or None for kernels it does not cover (kernel_of)."""
    if kernel_of(inst) is None:
        return None
    kernel, counts, blocks = describe(inst, part)
    fitted = coefficients(boards.family_of_part(part))[kernel]
    cost = {r: predict(fitted[r], counts) for r in FITTED}
    cost["BRAM_18K"] = sum(bram18_of_rom(words, bits) for words, bits in blocks)
    return cost
