"""The ITU-ML5G-PS-007 challenge cost of a model, from qonnx's inference cost analysis.

    python -m models.cost --model bacalhau-faithful [--ckpt x.pt] [--out cost.json]
    (make cost MODEL=... [CKPT=...] [OUT=...])

Reports MACs, weights, bops (MACs x input bits x weight bits), weight bits and the challenge
score = 0.5 * bops / 807 699 904 + 0.5 * weight bits / 1 244 936 (the VGG10 baseline scores 1),
twice: sparsity-discounted (the challenge's rule: a weight that quantizes to 0 costs neither MACs
nor memory) and dense (a pruned weight stored as a zero still costs its MACs on an FPGA dataflow
accelerator, unless the hardware is built to skip it).

Counting rules (models.md "Cost rules to copy"): sparsity is counted after weight quantization; an
unquantized Conv/Gemm input counts as 32 bit. qonnx 1.0.0 gives a Concat the datatype of its first
input, whereas finn-base, which scored the challenge, made it float. Here a Concat counts as
quantized only if all its inputs come from quantizers with the same parameters (one scale, one bit
width), else as FLOAT32: that reproduces the published costs and keeps the hardware variants'
re-quantized Concats integer. Without a checkpoint the model is a seeded fresh initialization,
calibrated so that its activation quantizers hold distinct scales (else every Concat would look
quantized by one quantizer); the weights, so every dense figure, do not change.
"""
import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

from onnx import helper
from qonnx.analysis.inference_cost import inference_cost as cost_analysis
from qonnx.core.datatype import DataType
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import (
    GiveUniqueNodeNames, GiveUniqueParameterTensors, RemoveStaticGraphInputs, RemoveUnusedTensors,
)
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.inference_cost import inference_cost
import numpy as np
import torch

from models.calibration import calibrate
from models.errors import add_verbose_flag, run_cli, writable_file
from models.export import export_brevitas
from models.sources import load_source

BASELINE_BOPS = 807_699_904          # VGG10 w8a8, the challenge's reference
BASELINE_WEIGHT_BITS = 1_244_936
QUANT_DOMAIN = "qonnx.custom_op.general"
# Ops whose output keeps the input's datatype (as in qonnx's InferDataTypes)
PASS_THROUGH_OPS = {"Reshape", "Flatten", "Transpose", "MaxPool", "GlobalMaxPool", "Pad", "Identity",
                    "Squeeze", "Unsqueeze", "Clip"}
FIGURES = (("macs", "MACs"), ("weights", "weights"), ("bops", "bops"), ("weight_bits", "weight bits"),
           ("score", "score"))


def score(bops, weight_bits):
    return 0.5 * bops / BASELINE_BOPS + 0.5 * weight_bits / BASELINE_WEIGHT_BITS


def challenge_cost(model):
    """Cost of a QONNX ModelWrapper (one frame): {"dense": figures, "discounted": figures,
    "weight_sparsity": fraction of weights that are 0 after quantization, "unsupported": op types
    that cost nothing because qonnx cannot count them}."""
    model = _prepared(model)
    cost = {}
    for key, discount in (("dense", False), ("discounted", True)):
        result = inference_cost(model, preprocess=False, discount_sparsity=discount, cost_breakdown=True)
        cost[key] = _figures(result["total_cost"], _macs_by_type(model, result["node_cost"]))
    cost["weight_sparsity"] = 1 - cost["discounted"]["weights"] / cost["dense"]["weights"]
    cost["unsupported"] = sorted(_unsupported_ops(model))
    return cost


def _prepared(model):
    """qonnx inference_cost's own preprocessing (weights quantized and folded to constants,
    datatypes inferred), then the Concat rule of the module docstring."""
    for node in model.get_nodes_by_op_type("Quant"):
        node.domain = QUANT_DOMAIN
    model = model.transform(InferShapes())
    model = model.transform(GiveUniqueParameterTensors())
    model = model.transform(InferDataTypes(allow_scaledint_dtypes=True))
    model = model.transform(FoldConstants(exclude_op_types=[]))
    model = model.transform(RemoveUnusedTensors())
    model = model.transform(RemoveStaticGraphInputs())
    model = model.transform(InferDataTypes(allow_scaledint_dtypes=True))
    return _float_mixed_concats(model).transform(GiveUniqueNodeNames())     # the names inference_cost uses


def _float_mixed_concats(model):
    floats = set()
    for node in model.graph.node:                   # topological order
        if node.op_type == "Concat" and _mixed_quantizers(model, node) \
                or node.op_type in PASS_THROUGH_OPS and node.input[0] in floats:
            for out in node.output:
                model.set_tensor_datatype(out, DataType["FLOAT32"])
                floats.add(out)
    return model


def _mixed_quantizers(model, node):
    quantizers = [_quantizer(model, tensor) for tensor in node.input]
    return None in quantizers or len(set(quantizers)) > 1


def _quantizer(model, tensor):
    """The parameters of the Quant node producing `tensor` (None if no Quant produces it)."""
    node = model.find_producer(tensor)
    if node is None or node.op_type != "Quant":
        return None
    params = [model.get_initializer(name) for name in node.input[1:]]
    if any(p is None for p in params):
        return None
    attributes = tuple((a.name, helper.get_attribute_value(a)) for a in node.attribute)
    return tuple(tuple(p.flatten().tolist()) for p in params) + attributes


def _challenge_type(model, tensor):
    """An operand's datatype as the challenge's scoring (finn-base) named it: FLOAT32 unless a Quant
    produces it (through ops that keep values), else [SCALED][U]INT<bits> by its Quant's signedness
    and scale; weights (folded to constants) by their annotation."""
    if model.get_initializer(tensor) is not None:
        return model.get_tensor_datatype(tensor).name.replace("<", "").replace(">", "")
    if model.get_tensor_datatype(tensor) == DataType["FLOAT32"]:
        return "FLOAT32"
    node = model.find_producer(tensor)
    while node is not None and node.op_type in PASS_THROUGH_OPS | {"Concat"}:     # a Concat left quantized has one quantizer
        node = model.find_producer(node.input[0])
    if node is None or node.op_type != "Quant":
        return "FLOAT32"
    scale, bits = model.get_initializer(node.input[1]), model.get_initializer(node.input[3])
    signed = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "signed"), 1)
    scaled = "SCALED" if scale is None or not np.all(scale == 1) else ""
    return f"{scaled}{'' if signed else 'U'}INT{int(bits)}"


def _macs_by_type(model, node_cost):
    """MACs per 'input x weight' datatype pair, named as the challenge named them."""
    by_type = {}
    for node in model.graph.node:
        macs = sum(v for k, v in node_cost.get(node.name, {}).items() if k.startswith("op_mac_"))
        if macs:
            label = f"{_challenge_type(model, node.input[0])} x {_challenge_type(model, node.input[1])}"
            by_type[label] = by_type.get(label, 0) + macs
    return by_type


def _figures(totals, macs_by_type):
    bops, weight_bits = totals["total_bops"], totals["total_mem_w_bits"]
    return {"macs": totals["total_macs"], "weights": totals["total_mem_w_elems"], "bops": bops,
            "weight_bits": weight_bits, "score": score(bops, weight_bits), "macs_by_type": macs_by_type}


def _unsupported_ops(model):
    return model.analysis(cost_analysis)["total_cost"]["unsupported"]


def format_table(name, cost):
    dense, discounted = cost["dense"], cost["discounted"]
    lines = [f"{name}: challenge cost (score = 0.5*bops/{BASELINE_BOPS} + 0.5*weight bits/{BASELINE_WEIGHT_BITS})",
             f"  {'':12}{'dense':>16}{'sparsity-discounted':>22}"]
    for key, label in FIGURES:
        fmt = "{:.6f}" if key == "score" else "{:,.0f}"
        lines.append(f"  {label:12}{fmt.format(dense[key]):>16}{fmt.format(discounted[key]):>22}")
    lines.append(f"  weight sparsity (zero after quantization): {100 * cost['weight_sparsity']:.1f} %")
    for key, figures in (("dense", dense), ("sparsity-discounted", discounted)):
        lines.append(f"  MACs by input x weight datatype ({key}): "
                     + ", ".join(f"{k}: {v:,.0f}" for k, v in figures["macs_by_type"].items()))
    if cost["unsupported"]:
        lines.append(f"  not counted (op types qonnx cannot cost): {', '.join(cost['unsupported'])}")
    return "\n".join(lines)


def model_cost(ref, checkpoint=None, input_shape=None):
    """Cost of a registry model, a .onnx file or file.py:function (as `make build` takes them), with
    trained weights from `checkpoint` or else a seeded fresh initialization."""
    source = load_source(SimpleNamespace(model=ref, input_shape=input_shape, bits=None))
    if source.onnx_path or checkpoint:
        graph = source.export(checkpoint)
    else:
        torch.manual_seed(0)
        graph = export_brevitas(calibrate(source.module(None), source.input_shape, batch_size=2, signed=True),
                                source.input_shape)
    return {"model": ref, "checkpoint": str(checkpoint) if checkpoint else None,
            "input_shape": list(source.input_shape), **challenge_cost(graph)}


def _label(ref):
    if ".py:" in ref:
        return ref.rpartition(":")[2]
    return Path(ref).stem if ref.endswith(".onnx") else ref


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="registry name, .onnx file or file.py:function")
    parser.add_argument("--ckpt", default="", help="trained (or pruned) weights; default: fresh initialization")
    parser.add_argument("--input-shape", default="", help="one frame, e.g. 2,1024 (files only)")
    parser.add_argument("--out", default="", help="JSON file (default build/cost/<model>.json)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)

    def run():
        out = writable_file(args.out or f"build/cost/{_label(args.model)}.json", "OUT")
        result = model_cost(args.model, args.ckpt or None, args.input_shape or None)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(format_table(args.model, result))
        print(f"wrote {out}")

    return run_cli(run, args.verbose, "models.cost")


if __name__ == "__main__":
    sys.exit(main())
