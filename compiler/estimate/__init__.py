"""Estimates for a HW dataflow graph on a board: cycles, throughput, latency, resources, fit.

Cycles per frame are our kernels' (compiler/estimate/cycles.py, checked against rtlsim), with
FINN's get_exp_cycles() of FINN's implementations beside them. Resources by the cost model asked for:
"finn" (the default) takes FINN's analytical node_res_estimation(part) for every layer; "ours" takes
the LUTs, FFs and block RAM of MVAU, VVAU and Thresholding from our model of our kernels
(compiler/estimate/costmodel.py, fitted to Yosys) and FINN's for the other layers. Both models' LUT
and BRAM figures are kept beside the chosen one (finn_LUT, ours_LUT, ...). DSPs are counted as our
kernels pack products into them (hwops.dsp_slices) in both.
The bottleneck is the slowest layer; the latency is FINN's pessimistic critical path (the cycles of
the slowest input-to-output path, no overlap).
"""
import math

from qonnx.custom_op.registry import getCustomOp

from finn.util.fpgadataflow import is_fpgadataflow_node, is_hls_node, is_rtl_node

from compiler.estimate import costmodel
from compiler.estimate.cycles import layer_cycles
from compiler.fileio import write_json
from compiler.hwops import dsp_slices, fifo_depth, fifo_style, reorg_shape

LAYER_RESOURCES = ("LUT", "BRAM_18K", "URAM", "DSP")
COST_MODELS = ("ours", "finn")
MODEL_NAMES = {"ours": "our cost model (fitted to Yosys)", "finn": "FINN's cost model"}
# Not ours: by it (and by Yosys) an MVAU's 8-bit-activation thresholds (255 per channel) cost about 12k
# LUT in LUT ROMs or 26 BRAM18 in block RAM, so VGG10 w8a8, the default build, fits Pynq-Z2 by no folding
# (its thresholds and weights hold more bits than the board's block RAM).
DEFAULT_COST_MODEL = "finn"
FIT_RESOURCES = ("LUT", "BRAM36", "URAM", "DSP")   # what FINN estimates, in the board's units


def other_cost_model(cost_model):
    """The cost model an estimate by `cost_model` keeps beside."""
    return next(m for m in COST_MODELS if m != cost_model)


def _check_graph(model):
    if not model.graph.node:
        raise ValueError("estimates need a dataflow graph; this one has no nodes")
    # FINN's estimators sit in the _hls/_rtl classes (the generic MVAU has no LUT/DSP model, the generic
    # ConvolutionInputGenerator reports 0 cycles) and dataflow_performance skips everything else.
    # (A Shuffle stays generic: FINN specializes only its Inner/OuterShuffle decomposition; our reorg
    # kernel implements it whole, and our estimate counts it, reorg_resources.)
    others = [f"{n.name} ({n.op_type})" for n in model.graph.node
              if not (is_fpgadataflow_node(n) and (is_hls_node(n) or is_rtl_node(n) or n.op_type == "Shuffle"))]
    if others:
        raise ValueError("estimates need a dataflow graph of specialized HW nodes (_hls/_rtl, after "
                         f"SpecializeLayers); these are not: {', '.join(others)}")


BRAM18_WORDS, BRAM18_WIDTH = 512, 36      # a BRAM18 as 512 x 36


def fifo_estimates(model):
    """Per FIFO between two layers (the depth in front of each consumer input, FINN's inFIFODepths):
    its size and resources by our model of rtl/fifo.sv: a block FIFO takes BRAM18s of 512 x 36; a
    distributed one a LUT per bit per 64 words (LUTRAM) plus its control."""
    graph_in = model.graph.input[0].name
    fifos = []
    for node in model.graph.node:
        inst = getCustomOp(node)
        streamed = [t for t in node.input if model.get_initializer(t) is None]
        for port, tensor in enumerate(streamed):
            if tensor == graph_in:
                continue
            depth, width = fifo_depth(inst, port), inst.get_instream_width(port)
            fifos.append({"tensor": tensor, "consumer": node.name, "depth": depth, "width": width,
                          "style": fifo_style(depth, width), **buffer_resources(depth, width), "URAM": 0, "DSP": 0})
    return fifos


def buffer_resources(depth, width):
    """LUT and BRAM_18K of a buffer of `depth` words of `width` bits (a FIFO, the reorg's rows), placed by
    fifo_style: in block RAM, BRAM18s of 512 x 36; else a LUT per bit per 64 words (LUTRAM); plus control."""
    if fifo_style(depth, width) == "block":
        return {"LUT": 30, "BRAM_18K": math.ceil(width / BRAM18_WIDTH) * math.ceil(depth / BRAM18_WORDS)}
    return {"LUT": width * math.ceil(depth / 64) + 10, "BRAM_18K": 0}


def reorg_resources(inst):
    """Our estimate of a reorg (kernels/reorg.hpp, rtl/reorg.sv), which FINN's generic Shuffle does not
    estimate: its buffer of BLOCK-1 rows; None for any other node."""
    if inst.onnx_node.op_type != "Shuffle" or reorg_shape(inst) is None:
        return None
    _, w, channels, block = reorg_shape(inst)
    return buffer_resources((block - 1) * w * channels // inst.get_nodeattr("SIMD"), inst.get_instream_width())


def layer_estimate(inst, part, cost_model=DEFAULT_COST_MODEL, beside=False):
    """One node's (custom op's) cycles per frame, resources (whole LUTs/BRAMs) by `cost_model` and PE/SIMD;
    beside: our model's figures too (ours_LUT, ...), whichever model counts."""
    node = inst.onnx_node
    resources = inst.node_res_estimation(part)
    layer = {"name": node.name, "op_type": node.op_type, "cycles": layer_cycles(inst),
             "finn_cycles": int(inst.get_exp_cycles())}
    # FINN's models return fractions for some ops; a part of a LUT or BRAM is a whole one.
    layer.update({r: math.ceil(resources[r]) for r in LAYER_RESOURCES})
    layer.update(finn_LUT=layer["LUT"], finn_BRAM_18K=layer["BRAM_18K"])
    layer.update(reorg_resources(inst) or {})     # FINN has no model of it (0): ours, whichever model counts
    ours = costmodel.layer_cost(inst, part) if cost_model == "ours" or beside else None
    if ours:
        if beside:
            layer.update({f"ours_{r}": value for r, value in ours.items()})
        if cost_model == "ours":
            layer.update(ours)
    if hasattr(inst, "dsp_estimation"):
        layer["DSP"] = dsp_slices(inst, part)        # our kernels pack several products into one DSP
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


def estimate(model, board, clock_mhz=None, cost_model=DEFAULT_COST_MODEL):
    """Per-layer and total estimates of `model` (a dataflow graph of _hls/_rtl nodes) on `board`,
    clocked at `clock_mhz` (default: the board's clock), resources by `cost_model` (COST_MODELS)."""
    _check_graph(model)
    clock_mhz = clock_mhz or board.clock_mhz
    layers = [layer_estimate(getCustomOp(node), board.part, cost_model, beside=True) for node in model.graph.node]
    fifos = fifo_estimates(model)
    totals = {r: sum(item[r] for item in layers + fifos) for r in LAYER_RESOURCES}
    totals["BRAM36"] = math.ceil(totals["BRAM_18K"] / 2)
    # the design's LUTs by either model: ours where it covers a layer, FINN's elsewhere (and the FIFOs)
    unmodelled = sum(layer["LUT"] for layer in layers if "ours_LUT" not in layer) + sum(f["LUT"] for f in fifos)
    luts_by_model = {"finn": unmodelled + sum(layer["finn_LUT"] for layer in layers if "ours_LUT" in layer),
                     "ours": unmodelled + sum(layer["ours_LUT"] for layer in layers if "ours_LUT" in layer)}
    bottleneck = max(layers, key=lambda layer: layer["cycles"])
    critical_path = critical_path_cycles(model, {layer["name"]: layer["cycles"] for layer in layers})
    fits = {r: {"used": totals[r], "available": board.resources[r],
                # None where the part has none of the resource at all
                "utilization": totals[r] / board.resources[r] if board.resources[r] else None}
            for r in FIT_RESOURCES}
    return {
        "board": board.name,
        "part": board.part,
        "clock_mhz": clock_mhz,
        "cost_model": cost_model,
        "layers": layers,
        "fifos": fifos,
        "totals": totals,
        "luts_by_model": luts_by_model,
        "max_cycles": bottleneck["cycles"],
        "bottleneck": bottleneck["name"],
        "critical_path_cycles": critical_path,
        "estimated_fps": clock_mhz * 1e6 / bottleneck["cycles"],
        "balance": balance(model, bottleneck["cycles"]),
        "estimated_latency_ns": critical_path * 1e3 / clock_mhz,
        "fits": fits,
        "fits_board": all(f["used"] <= f["available"] for f in fits.values()),
    }


def critical_path_cycles(model, cycles):
    """FINN's pessimistic latency: the most cycles (`cycles` by node name) along any input-to-output
    path, as if no layer overlapped with the next."""
    latency = {}
    for node in model.graph.node:     # topological order
        predecessors = model.find_direct_predecessors(node) or []
        latency[node.name] = cycles[node.name] + max((latency[p.name] for p in predecessors), default=0)
    return max(latency.values())


def write_report(est, path):
    """Write an estimate() result as JSON, atomically."""
    write_json(est, path)
