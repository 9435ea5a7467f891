"""Estimates for a HW dataflow graph on a board: cycles, throughput, latency, resources, fit.

The numbers are FINN's analytical models: each node's get_exp_cycles() and node_res_estimation(part),
and FINN's dataflow_performance for the bottleneck and the latency (critical path).
"""
import math

from qonnx.custom_op.registry import getCustomOp

from finn.analysis.fpgadataflow.dataflow_performance import dataflow_performance
from finn.transformation.fpgadataflow.annotate_cycles import AnnotateCycles
from finn.util.fpgadataflow import is_fpgadataflow_node, is_hls_node, is_rtl_node

from compiler.fileio import write_json

LAYER_RESOURCES = ("LUT", "BRAM_18K", "URAM", "DSP")
FIT_RESOURCES = ("LUT", "BRAM36", "URAM", "DSP")   # what FINN estimates, in the board's units


def _check_graph(model):
    if not model.graph.node:
        raise ValueError("estimates need a dataflow graph; this one has no nodes")
    # FINN's estimators sit in the _hls/_rtl classes (the generic MVAU has no LUT/DSP model, the generic
    # ConvolutionInputGenerator reports 0 cycles) and dataflow_performance skips everything else.
    others = [f"{n.name} ({n.op_type})" for n in model.graph.node
              if not (is_fpgadataflow_node(n) and (is_hls_node(n) or is_rtl_node(n)))]
    if others:
        raise ValueError("estimates need a dataflow graph of specialized HW nodes (_hls/_rtl, after "
                         f"SpecializeLayers); these are not: {', '.join(others)}")


def layer_estimate(inst, part):
    """One node's (custom op's) cycles per frame, resources (whole LUTs/BRAMs) and PE/SIMD."""
    node = inst.onnx_node
    resources = inst.node_res_estimation(part)
    layer = {"name": node.name, "op_type": node.op_type, "cycles": int(inst.get_exp_cycles())}
    # FINN's models return fractions for some ops; a part of a LUT or BRAM is a whole one.
    layer.update({r: math.ceil(resources[r]) for r in LAYER_RESOURCES})
    layer.update({a: inst.get_nodeattr(a) for a in ("PE", "SIMD") if a in inst.get_nodeattr_types()})
    return layer


def macs(inst):
    """(multiply-accumulates per frame, MACs per cycle) of a MAC layer (MVAU, VVAU); (0, 0) otherwise."""
    op, get = inst.onnx_node.op_type, inst.get_nodeattr
    if op.startswith("MVAU"):
        return get("MW") * get("MH") * math.prod(get("numInputVectors")), get("PE") * get("SIMD")
    if op.startswith("VVAU"):
        return get("Channels") * math.prod(get("Kernel")) * math.prod(get("Dim")), get("PE") * get("SIMD")
    return 0, 0


def balance(model, max_cycles):
    """How evenly the MAC units are loaded: the cycles a frame would take if every MAC unit were busy
    all the time (total MACs / total MACs per cycle) over the bottleneck's cycles; 1 is perfect."""
    layers = [macs(getCustomOp(node)) for node in model.graph.node]
    work, units = sum(w for w, _ in layers), sum(u for _, u in layers)
    return work / units / max_cycles if units else None


def estimate(model, board, clock_mhz=None):
    """Per-layer and total estimates of `model` (a dataflow graph of _hls/_rtl nodes) on `board`,
    clocked at `clock_mhz` (default: the board's clock)."""
    _check_graph(model)
    clock_mhz = clock_mhz or board.clock_mhz
    layers = [layer_estimate(getCustomOp(node), board.part) for node in model.graph.node]
    totals = {r: sum(layer[r] for layer in layers) for r in LAYER_RESOURCES}
    totals["BRAM36"] = math.ceil(totals["BRAM_18K"] / 2)
    perf = model.transform(AnnotateCycles()).analysis(dataflow_performance)
    fits = {r: {"used": totals[r], "available": board.resources[r],
                # None where the part has none of the resource at all
                "utilization": totals[r] / board.resources[r] if board.resources[r] else None}
            for r in FIT_RESOURCES}
    return {
        "board": board.name,
        "part": board.part,
        "clock_mhz": clock_mhz,
        "layers": layers,
        "totals": totals,
        "max_cycles": perf["max_cycles"],
        "bottleneck": perf["max_cycles_node_name"],
        "critical_path_cycles": perf["critical_path_cycles"],
        "estimated_fps": clock_mhz * 1e6 / perf["max_cycles"],
        "balance": balance(model, perf["max_cycles"]),
        # FINN's pessimistic latency: the cycles of the slowest input-to-output path, no overlap
        "estimated_latency_ns": perf["critical_path_cycles"] * 1e3 / clock_mhz,
        "fits": fits,
        "fits_board": all(f["used"] <= f["available"] for f in fits.values()),
    }


def write_report(est, path):
    """Write an estimate() result as JSON, atomically."""
    write_json(est, path)
