"""make calibrate: fit our cost model (compiler/estimate/costmodel.py) to Yosys syntheses of our kernels.

A seeded sweep of lone MVAU, VVAU and Thresholding layers (random weights and sorted random
thresholds; PE, SIMD, folds, bit widths, activations, LUT or DSP products, LUT or block ROMs) is
generated as RTL, synthesized with Yosys for each FPGA family (synth_xilinx -family xc7 for Zynq-7000,
xcup for Zynq UltraScale+; cached by content like every synthesis here), and for every kernel and
resource (LUT, FF) the coefficients of costmodel.describe()'s features are fitted by non-negative
least squares on relative error (a layer smaller than SMALL_LAYER counting as that size), on three of
every four samples; the fourth is held out and the error there reported, beside FINN's estimate's on
the same layers. The same layers for every family. Writes compiler/estimate/calibration_<family>.json
(coefficients, errors, every sample). --refit fits again the Yosys counts that file keeps, with
describe()'s features as they are now: no synthesis.

    python -m compiler.estimate.calibrate [--family xc7|xcup|all] [--workers 2] [--samples-per-kernel N] [--refit]
"""
import argparse
import json
import math
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from scipy.optimize import nnls

import boards
from compiler import synth
from compiler.codegen import rtl
from compiler.estimate import costmodel
from compiler.fileio import write_json
from compiler.frontend.steps import narrowest_types
from compiler.hwgraphs import accumulator_span, chain, layer, random_values, sorted_thresholds
from compiler.hwops import dsp_packing

SEED = 2026
HELD_OUT_EVERY = 4
OPERANDS = [("UINT2", "INT2"), ("UINT4", "INT4"), ("INT4", "INT4"), ("UINT8", "INT8"), ("UINT4", "INT2"),
            ("UINT8", "INT4"), ("BINARY", "BINARY"), ("INT4", "BIPOLAR")]
ACTIVATIONS = [None, "UINT2", "UINT4", "BIPOLAR"]
STYLES = ["distributed", "block"]
# a lone layer synthesizes in well under a minute up to about this many bit-products in LUTs
MAX_LUT_BIT_PRODUCTS = 1024
# The fit's error is relative, but a layer under this many LUTs (FFs) weighs as one of this size: at
# tens of LUTs Yosys' count is mostly control logic, and by weighing those layers as much as the
# large ones a relative fit overestimated VGG10 w8a8's MVAUs (5,000-34,000 LUTs) by 17 % summed.
SMALL_LAYER = 100


def _steps(odt):
    return 1 if odt == "BIPOLAR" else DataType[odt].get_num_possible_values() - 1


def _mac_layer(rng, config):
    """A lone MVAU or VVAU as `config` says, random weights (and thresholds); its input datatype."""
    idt, wdt, odt = config["idt"], config["wdt"], config["act"]
    xnor = idt == wdt == "BINARY"
    pe, simd = config["PE"], config["SIMD"]
    attrs = dict(PE=pe, SIMD=simd, inputDataType=idt, weightDataType=wdt, resType=config["resType"],
                 ram_style=config["ram_style"])
    if config["op"] == "MVAU":
        mw, mh = simd * config["SF"], pe * config["NF"]
        weights = random_values(rng, wdt, (mw, mh))
        attrs.update(MW=mw, MH=mh, numInputVectors=[1, config["vectors"], 1], binaryXnorMode=int(xnor),
                     ram_style_thresholds=config["ram_style_thresholds"])
        count, channels, op = mw, mh, "MVAU_hls"
    else:
        kernel = simd * config["SF"]
        channels = pe * config["NF"]
        weights = random_values(rng, wdt, (channels, 1, kernel, 1))
        attrs.update(Channels=channels, Kernel=[kernel, 1], Dim=[config["vectors"], 1])
        count, op = kernel, "VVAU_hls"
    params = [("w", weights, wdt)]
    low, high = accumulator_span(count, idt, wdt)
    if odt is None:
        attrs.update(outputDataType="UINT24" if xnor else "INT24", noActivation=1)
    else:
        params.append(("t", sorted_thresholds(rng, channels, _steps(odt), low, high + 1), "INT24"))
        act_val = 0 if odt == "BIPOLAR" and xnor else (-1 if odt == "BIPOLAR" else int(DataType[odt].min()))
        attrs.update(outputDataType=odt, noActivation=0, ActVal=act_val)
    return layer(op, "layer", params, **attrs), idt


def _thresholding_layer(rng, config):
    idt, odt, pe = config["idt"], config["act"], config["PE"]
    channels = pe * config["NF"]
    lo, hi = DataType[idt].min(), DataType[idt].max()
    thresholds = sorted_thresholds(rng, channels, _steps(odt), lo, hi + 1)
    return layer("Thresholding_hls", "layer", [("t", thresholds, idt)], NumChannels=channels, PE=pe,
                 numSteps=_steps(odt), inputDataType=idt, weightDataType=idt, outputDataType=odt,
                 ActVal=0, numInputVectors=[1, config["vectors"], 1], ram_style=config["ram_style"]), idt


def build(config, seed):
    """The single-layer graph of `config`, with the narrowest types as a build's graphs have them."""
    rng = np.random.default_rng(seed)
    lone, idt = (_thresholding_layer if config["op"] == "Thresholding" else _mac_layer)(rng, config)
    model = chain(lone)
    model.set_tensor_datatype("t0", DataType[idt])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    return narrowest_types(model)


def sample_model(index, config):
    """The graph of sweep sample number `index`: its layer built with that sample's own seed."""
    return build(config, SEED + index)


def configurations(per_kernel, seed=SEED):
    """A seeded sample of `per_kernel` layer configurations of each kernel, small enough to synthesize quickly."""
    rng = np.random.default_rng(seed)

    def pick(values):
        return values[rng.integers(len(values))]

    found = {kernel: [] for kernel in costmodel.KERNELS}
    while any(len(found[k]) < per_kernel for k in found):
        op = pick(costmodel.KERNELS)
        if len(found[op]) >= per_kernel:
            continue
        if op == "Thresholding":
            config = dict(op=op, PE=pick([1, 2, 4, 8, 16]), NF=pick([1, 2, 8, 32]),
                          idt=pick(["INT8", "INT12", "INT16", "INT20"]), act=pick(["UINT2", "UINT4", "INT4", "BIPOLAR"]),
                          ram_style=pick(STYLES), vectors=4)
        else:
            idt, wdt = pick(OPERANDS)
            if op == "VVAU" and "BINARY" in (idt, wdt):
                continue
            config = dict(op=op, PE=pick([1, 2, 4, 8]), SIMD=pick([1, 2, 3, 4, 8]), SF=pick([1, 2, 4, 16]),
                          NF=pick([1, 2, 8, 32]), idt=idt, wdt=wdt, act=pick(ACTIVATIONS),
                          resType=pick(["lut", "dsp"]), ram_style=pick(STYLES),
                          ram_style_thresholds=pick(STYLES), vectors=4)
            if op == "MVAU" and config["SF"] == 16 and config["SIMD"] > 2:
                config["SF"] = 4                               # keep MW small
            bits = config["PE"] * config["SIMD"] * DataType[idt].bitwidth() * DataType[wdt].bitwidth()
            if bits > MAX_LUT_BIT_PRODUCTS:
                continue
        config = {k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()}
        if config not in found[op]:
            found[op].append(config)
    return [c for kernel in costmodel.KERNELS for c in found[kernel]]


def _described(inst, part):
    """What our cost model makes of a sample layer: its kernel, features, BRAM geometry and DSP packing."""
    kernel, features, blocks = costmodel.describe(inst, part)
    return {"kernel": kernel, "features": features,
            "bram18_geometry": sum(costmodel.bram18_of_rom(*b) for b in blocks), "dsp_pack": dsp_packing(inst).lanes}


def measure(configs, work, workers, family, log=print):
    """Per configuration: its features and FINN's estimate (from the graph) and Yosys' counts for `family`."""
    board = boards.get(costmodel.CALIBRATION_BOARDS[family])
    prepared = []
    for index, config in enumerate(configs):
        model = sample_model(index, config)
        inst = getCustomOp(model.graph.node[0])
        folder = Path(work) / f"layer{index}"
        rtl.generate(model, folder, board)
        finn = inst.node_res_estimation(board.part)
        prepared.append(({"config": config, **_described(inst, board.part),
                          "finn": {"LUT": math.ceil(finn["LUT"]), "BRAM_18K": math.ceil(finn["BRAM_18K"])}},
                         folder, rtl.module_name(model.graph.node[0].name), synth.layer_options(inst, board)))

    def one(item):
        sample, folder, module, options = item
        result = synth.synthesize_layer(folder, module, family, options)
        if "error" in result:
            raise RuntimeError(f"calibration layer {sample['config']}: {result['error']}")
        log(f"calibrate ({family}): {sample['kernel']} {sample['config']}: {result['counts']['LUT']} LUT "
            f"({'cached' if result['cached'] else str(result['seconds']) + ' s'})")
        return {**sample, "yosys": {r: result["counts"][r] for r in ("LUT", "FF", "BRAM18", "BRAM36", "DSP")}}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, prepared))


def refeatured(samples, family, log=print):
    """The stored `samples` with their features, BRAM geometry and packing described again by the cost
    model as it is now (each layer rebuilt from its config and seed, as measure() built it); Yosys' and
    FINN's counts kept."""
    board = boards.get(costmodel.CALIBRATION_BOARDS[family])
    refreshed = []
    for index, sample in enumerate(samples):
        inst = getCustomOp(sample_model(index, sample["config"]).graph.node[0])
        refreshed.append({**sample, **_described(inst, board.part)})
    log(f"calibrate ({family}): {len(refreshed)} stored layers described again, no synthesis")
    return refreshed


def _errors(predicted, measured):
    """Each layer's relative error, mean and max, and the summed absolute error over the summed count
    (weighted: a layer counts as it weighs, as in a design's total)."""
    predicted, measured = np.array(predicted, dtype=float), np.array(measured, dtype=float)
    off = np.abs(predicted - measured)
    relative = off / np.maximum(measured, 1)
    return {"mean_abs_error": round(float(relative.mean()), 4), "max_abs_error": round(float(relative.max()), 4),
            "weighted_abs_error": round(float(off.sum() / measured.sum()), 4)}


def fit(samples):
    """Per kernel and fitted resource: NNLS coefficients on the fitting samples, errors on the held-out ones."""
    kernels = {}
    for kernel in costmodel.KERNELS:
        rows = [s for s in samples if s["kernel"] == kernel]
        names = costmodel.FEATURES[kernel]
        held = [i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 for i in range(len(rows))]
        train = [s for s, h in zip(rows, held) if not h]
        test = [s for s, h in zip(rows, held) if h]
        x_train = np.array([[s["features"][n] for n in names] for s in train], dtype=float)
        entry = {"samples_fitted": len(train), "samples_held_out": len(test), "fits": {}}
        for resource in costmodel.FITTED:
            y = np.array([s["yosys"][resource] for s in train], dtype=float)
            weight = 1.0 / np.maximum(y, SMALL_LAYER)
            coef, _ = nnls(x_train * weight[:, None], y * weight)
            coefficients = {n: round(float(c), 5) for n, c in zip(names, coef) if c > 0}
            measured = [s["yosys"][resource] for s in test]
            predicted = [costmodel.predict(coefficients, s["features"]) for s in test]
            entry["fits"][resource] = {"coefficients": coefficients,
                                       "held_out": _errors(predicted, measured)}
            if resource == "LUT":
                entry["finn_held_out"] = _errors([s["finn"]["LUT"] for s in test], measured)
        bram = [2 * s["yosys"]["BRAM36"] + s["yosys"]["BRAM18"] for s in rows]
        entry["bram18_geometry_exact"] = f"{sum(s['bram18_geometry'] == b for s, b in zip(rows, bram))} of {len(rows)}"
        kernels[kernel] = entry
    return kernels


def _percent(errors):
    return (f"{100 * errors['mean_abs_error']:.1f} % / {100 * errors['max_abs_error']:.1f} % / "
            f"{100 * errors['weighted_abs_error']:.1f} %")


def table(calibration):
    lines = ["| kernel | samples (fit / held out) | LUT error, ours: mean / max / weighted | LUT error, FINN's | "
             "FF error, ours | BRAM18 by geometry = Yosys |", "|---|---|---|---|---|---|"]
    for kernel, entry in calibration["kernels"].items():
        lut, ff, finn = entry["fits"]["LUT"]["held_out"], entry["fits"]["FF"]["held_out"], entry["finn_held_out"]
        lines.append(f"| {kernel} | {entry['samples_fitted']} / {entry['samples_held_out']} | {_percent(lut)} | "
                     f"{_percent(finn)} | {_percent(ff)} | {entry['bram18_geometry_exact']} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m compiler.estimate.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=[*costmodel.CALIBRATION_BOARDS, "all"], default="all",
                        help="FPGA family to fit (default all: " + ", ".join(costmodel.CALIBRATION_BOARDS) + ")")
    parser.add_argument("--workers", type=int, default=2, help="Yosys runs at a time (default 2)")
    parser.add_argument("--samples-per-kernel", type=int, default=56)
    parser.add_argument("--refit", action="store_true",
                        help="fit the Yosys counts kept in calibration_<family>.json again, without synthesis")
    parser.add_argument("--out-dir", type=Path,
                        help="where calibration_<family>.json goes (default: beside the cost model)")
    args = parser.parse_args(argv)
    configs = configurations(args.samples_per_kernel)
    families = list(costmodel.CALIBRATION_BOARDS) if args.family == "all" else [args.family]
    for family in families:
        if args.refit:
            kept = json.loads(costmodel.calibration_file(family).read_text())
            tool, samples = kept["tool"], refeatured(kept["samples"], family)
        else:
            tool = f"Yosys (pyosys {synth.yosys_version()}) synth_xilinx -family {family}"
            print(f"calibrate: {len(configs)} layers through {tool}, {args.workers} at a time; "
                  f"cached in {synth.cache_dir()}")
            with tempfile.TemporaryDirectory(prefix="calibrate_") as work:
                samples = measure(configs, work, args.workers, family)
        calibration = {"tool": tool, "note": synth.NOT_VIVADO, "seed": SEED,
                       "board": costmodel.CALIBRATION_BOARDS[family],
                       "held_out": f"every {HELD_OUT_EVERY}th sample per kernel",
                       "kernels": fit(samples), "samples": samples}
        out = costmodel.calibration_file(family)
        out = args.out_dir / out.name if args.out_dir else out
        write_json(calibration, out)
        print(table(calibration))
        print(f"calibrate: wrote {out}")


if __name__ == "__main__":
    main()
