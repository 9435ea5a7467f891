"""Automatic folding: FINN's SetFolding for a frame-rate target, then a legality check of its result."""
from finn.transformation.fpgadataflow.set_folding import SetFolding
from finn.util.fpgadataflow import is_hls_node, is_rtl_node

from compiler.folding.config import extract, validate
from compiler.folding.rules import FoldingError, hw_nodes
from compiler.hwops import WIDEST_WORD


# FINN caps an MVAU's weight stream (PE * SIMD * weight bits) at 36 bits by default because its
# decoupled-memory MVAUs stream weights from a memory. Our MVAU reads one weight word of PE * SIMD
# weights per cycle from its ROM; SetFolding (FINN's strategy, not the default) keeps the cap of a
# stream word (WIDEST_WORD), narrower than the weight word's own limit (WIDEST_MEMORY_WORD), which the
# optimizer uses.
NO_WEIGHT_STREAM_CAP = WIDEST_WORD


def frame_cycles(target_fps, clock_mhz):
    """The cycle budget per frame of a frame-rate target, as FINN's build computes it."""
    cycles = int(clock_mhz * 1e6 / target_fps)
    if cycles < 1:
        raise FoldingError(f"target {target_fps:g} fps at {clock_mhz:g} MHz leaves less than one cycle per frame")
    return cycles


def auto_fold(model, target_fps, clock_mhz, mvau_wwidth_max=NO_WEIGHT_STREAM_CAP, two_pass_relaxation=True):
    """A copy of `model` folded by SetFolding to reach `target_fps` at `clock_mhz`.

    Raises FoldingError if the graph is not specialized or SetFolding's result is illegal."""
    # SetFolding silently skips nodes that are not _hls/_rtl: they would keep PE=SIMD=1.
    generic = [name for name, node in hw_nodes(model).items() if not (is_hls_node(node) or is_rtl_node(node))]
    if generic:
        raise FoldingError("auto folding needs specialized (_hls/_rtl) nodes; run SpecializeLayers first. "
                           f"Not specialized: {', '.join(generic)}")
    cycles = frame_cycles(target_fps, clock_mhz)
    names = [node.name for node in model.graph.node]
    folded = model.transform(SetFolding(target_cycles_per_frame=cycles, mvau_wwidth_max=mvau_wwidth_max,
                                        two_pass_relaxation=two_pass_relaxation))
    # SetFolding renames every node (GiveUniqueNodeNames); keep ours, which folding.json refers to.
    for node, name in zip(folded.graph.node, names, strict=True):
        node.name = name
    validate(folded, extract(folded), source=f"SetFolding(target_cycles_per_frame={cycles})")
    return folded
