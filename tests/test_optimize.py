"""The folding optimizer: exact on small graphs (brute force), legal and at least as cheap as FINN's
SetFolding on hand-built graphs and on every registry model that builds, for many random targets."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qonnx.custom_op.registry import getCustomOp

import boards
from compiler import folding
from compiler.estimate import estimate
from compiler.estimate.cycles import layer_cycles
from compiler.folding import FoldingError, FoldingSpace, optimize, resource_budget
from compiler.folding.optimize import FOLD_ATTRS, converter_luts, kernel_supports
from compiler.hwgraphs import chain, layer, mvau, residual_block, swg, tiny_cnn
from models import registry

BOARD = boards.get("pynq-z2")
CLOCK_MHZ = 100
PART = BOARD.part
BUDGET = resource_budget(BOARD, "100%")


def with_converters(model, part=PART):
    """The folded graph as the build estimates it: a width converter wherever words differ."""
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
    from qonnx.transformation.infer_shapes import InferShapes

    return model.transform(InferShapes()).transform(InsertDWC()).transform(SpecializeLayers(part))


def cycles_of(model):
    """Cycles per frame of every node by our cycle model (checked against the kernels' trip counts in
    test_kernels.py and against rtlsim in test_rtl.py)."""
    return {n.name: layer_cycles(getCustomOp(n)) for n in model.graph.node}


def layer_totals(est):
    """An estimate's resources summed over its layers (converters included; the FIFOs, which FIFO
    sizing adds after folding, left out)."""
    return {r: sum(layer[r] for layer in est["layers"]) for r in ("LUT", "BRAM_18K", "DSP", "URAM")}


def luts(model, board=BOARD):
    """FINN's LUT estimate of a folded graph and the width converters the build inserts into it."""
    return layer_totals(estimate(with_converters(model, board.part), board, CLOCK_MHZ))["LUT"]


def conv_chain():
    """pad -> window -> conv -> dense: small enough to enumerate every folding."""
    return chain(
        layer("FMPadding_rtl", "pad", ImgDim=[16, 1], Padding=[1, 0, 1, 0], NumChannels=4, SIMD=1,
              inputDataType="UINT4"),
        swg("win", 18, 3, 4),
        mvau("conv", 12, 8, vecs=(1, 16, 1), idt="UINT4", outputDataType="UINT4", noActivation=1),
        mvau("fc", 8, 6, vecs=(1, 16, 1)),
    )


# ---- exactness ----------------------------------------------------------------------------------

def lut_options(stage):
    """The stage's options without trades (products in LUTs, LUT ROMs), where the plans without prices choose."""
    return [o for o in stage.options if not o.trades]


@pytest.fixture(scope="module")
def conv_space():
    return FoldingSpace(conv_chain(), PART)


@pytest.mark.parametrize("budget_cycles", [1000, 400, 120, 48, 20])
def test_cheapest_plan_is_the_brute_force_minimum(conv_space, budget_cycles):
    """Every combination of the stages' options, width converters priced: none is cheaper."""
    space = conv_space
    plan = space.cheapest(budget_cycles)
    best = None
    for options in itertools.product(*(lut_options(stage) for stage in space.stages)):
        if max(o.cycles for o in options) > budget_cycles:
            continue
        lut = sum(o.resources["LUT"] for o in options) + sum(
            converter_luts(a.words[1], b.words[0], PART) for a, b in zip(options, options[1:]))
        best = lut if best is None else min(best, lut)
    assert plan.totals["LUT"] == best


def test_nothing_is_faster_than_the_fastest_folding(conv_space):
    # padding and window pass one 4-channel pixel per cycle at best: 18 pixels
    assert conv_space.fastest_cycles == 18
    assert conv_space.cheapest(17) is None


@pytest.mark.parametrize("budget_cycles", [1000, 120, 20])
def test_plan_estimates_are_the_folded_graphs(conv_space, budget_cycles):
    """What the optimizer predicts is what FINN's estimators say of the folded graph, converters included."""
    plan = conv_space.cheapest(budget_cycles)
    folded = folding.apply(conv_chain(), plan.config)
    est = estimate(with_converters(folded), BOARD, CLOCK_MHZ)
    assert est["max_cycles"] == plan.cycles <= budget_cycles
    assert layer_totals(est) == {r: plan.totals[r] for r in ("LUT", "BRAM_18K", "DSP", "URAM")}


@pytest.fixture(scope="module")
def residual_space():
    return FoldingSpace(residual_block(channels=8), PART)


@pytest.mark.parametrize("budget_cycles", [16, 32, 64, 128, 256, 512, 1024])
def test_cheapest_plan_at_a_fork_and_join_is_the_brute_force_minimum(residual_space, budget_cycles):
    """Each branch wants its own folding, the converters out of the fork and into the join want them
    alike: every combination of the stages' options, converters priced, and none is cheaper."""
    space = residual_space
    best = None
    for options in itertools.product(*(lut_options(stage) for stage in space.stages)):
        if max(o.cycles for o in options) <= budget_cycles:
            lut = sum(o.resources["LUT"] for o in options) + sum(
                space._converter(edge, options[edge.source], options[edge.target]) for edge in space.boundaries)
            best = lut if best is None else min(best, lut)
    assert space.cheapest(budget_cycles).totals["LUT"] == best


@pytest.mark.parametrize("budget_cycles", [1024, 128, 16])
def test_plan_estimates_at_a_fork_and_join_are_the_folded_graphs(residual_space, budget_cycles):
    plan = residual_space.cheapest(budget_cycles)
    est = estimate(with_converters(folding.apply(residual_block(channels=8), plan.config)), BOARD, CLOCK_MHZ)
    assert est["max_cycles"] == plan.cycles and layer_totals(est)["LUT"] == plan.totals["LUT"]


def brute_force_points(space, dsp=False):
    """(cycles, LUT, DSP) of every combination of the stages' options (with dsp, those that move products
    to DSPs too), the width converters between them priced (a row of stages)."""
    points = []
    for options in itertools.product(*(stage.options if dsp else lut_options(stage) for stage in space.stages)):
        converters = [converter_luts(a.words[1], b.words[0], PART) for a, b in zip(options, options[1:])]
        if None not in converters:
            points.append((max(o.cycles for o in options), sum(o.resources["LUT"] for o in options) + sum(converters),
                           sum(o.resources["DSP"] for o in options)))
    return points


def test_front_is_the_brute_force_pareto_front(conv_space):
    """Every folding enumerated: for each speed the fewest LUTs, kept where slower is cheaper."""
    points = brute_force_points(conv_space)
    expected = []
    for cycles in sorted({c for c, _, _ in points}):
        cheapest = min(lut for c, lut, _ in points if c <= cycles)
        if not expected or cheapest < expected[-1][1]:
            expected.append((cycles, cheapest))
    assert [(plan.cycles, plan.totals["LUT"]) for plan in conv_space.front()] == expected
    assert expected[0][0] == 18


# ---- legality and the comparison with SetFolding -----------------------------------------------------

@pytest.fixture(scope="module")
def cnn_space():
    return FoldingSpace(tiny_cnn(), PART)


def check_meets(model, folded, target_fps, fastest_cycles):
    """Legal, names kept, only folding attributes changed, and the target met where reachable."""
    folding.validate(folded, folding.extract(folded))
    assert [n.name for n in folded.graph.node] == [n.name for n in model.graph.node]
    for before, after in zip(model.graph.node, folded.graph.node):
        changed = {a.name for a in before.attribute} ^ {a.name for a in after.attribute} | {
            a.name for a, b in zip(before.attribute, after.attribute) if a != b}
        assert changed <= set(FOLD_ATTRS), (before.name, changed)
        assert kernel_supports(getCustomOp(after))
    wanted = int(CLOCK_MHZ * 1e6 / target_fps)
    assert max(cycles_of(folded).values()) <= max(wanted, fastest_cycles)


def test_optimize_meets_the_target_legally():
    model = tiny_cnn()
    folded, chosen = optimize(model, PART, CLOCK_MHZ, BUDGET, 20000)
    check_meets(model, folded, 20000, 0)
    assert chosen["met"] and chosen["fps"] >= 20000 and luts(folded) == chosen["LUT"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target_fps=st.floats(min_value=1e3, max_value=5e7))
def test_random_targets_on_a_cnn_are_met_legally(cnn_space, target_fps):
    model = tiny_cnn()
    wanted = max(int(CLOCK_MHZ * 1e6 / target_fps), cnn_space.fastest_cycles)
    folded = folding.apply(model, cnn_space.cheapest(wanted).config)
    check_meets(model, folded, target_fps, cnn_space.fastest_cycles)


# Targets where FINN's SetFolding meets the target with foldings our kernels build (a VVAU SIMD of 1).
@pytest.mark.parametrize("target_fps", [2e3, 1e4, 5e4, 1e5])
def test_cnn_needs_no_more_luts_than_set_folding(target_fps):
    model = tiny_cnn()
    ours, _ = optimize(model, PART, CLOCK_MHZ, BUDGET, target_fps)
    theirs = folding.auto_fold(model, target_fps, CLOCK_MHZ)
    assert max(cycles_of(theirs).values()) <= int(CLOCK_MHZ * 1e6 / target_fps)
    assert getCustomOp(theirs.get_node_from_name("dw1")).get_nodeattr("SIMD") == 1
    assert luts(ours) <= luts(theirs)


def test_depthwise_windows_follow_their_consumer_and_vvau_simd_spans_the_kernel():
    folded = folding.extract(optimize(tiny_cnn(), PART, CLOCK_MHZ, BUDGET)[0])
    # SIMD over the whole 3-tap kernel (not a part of it with PE < channels: see kernel_supports)
    assert folded["dw1"]["SIMD"] == 3 and folded["dw1"]["PE"] == 4
    assert folded["dw1_swg"]["SIMD"] == 4 and folded["dw1_swg"]["parallel_window"] == 1
    assert folded["pool0_swg"]["SIMD"] == folded["pool0"]["PE"]


def test_fastest_folding_of_a_conv_uses_the_parallel_window():
    folded = folding.extract(optimize(conv_chain(), PART, CLOCK_MHZ, BUDGET)[0])
    assert folded["win"] == {"SIMD": 4, "parallel_window": 1, "ram_style": "distributed"}
    assert folded["conv"]["SIMD"] == 12 and folded["conv"]["PE"] == 8


def test_weight_words_stay_within_the_widest_reshaped_array_word():
    # 16-bit weights: PE * SIMD * 16 <= 65536 allows at most 4096 weights per cycle, not all 64 * 512;
    # the weights are read one by one, so the 4096-bit ap_uint limit does not apply to their word
    model = chain(mvau("wide", 512, 64, wdt="INT16"))
    space = FoldingSpace(model, PART)
    widths = [o.attrs["wide"]["PE"] * o.attrs["wide"]["SIMD"] * 16 for o in lut_options(space.stages[0])]
    assert max(widths) == 65536 > 4096 and len(widths) < 7 * 10
    assert space.fastest_cycles == 512 * 64 // 4096
    with pytest.raises(FoldingError, match=r"wide \(MVAU_hls\): its weight word has 131072 bits \(at most 65536\); "
                                           r".* a weight memory word within 65536 bits"):
        folding.validate(model, {"wide": {"PE": 64, "SIMD": 128}})


def test_input_words_stay_within_the_widest_ap_uint_and_the_dma():
    # 1024 8-bit inputs: at most 512 per word (4096 bits) inside the graph, 128 (1024 bits, the AXI
    # DMA's widest stream) as the accelerator's input
    inside = chain(mvau("first", 2, 1024, idt="UINT8", wdt="INT2", outputDataType="UINT8"),
                   mvau("wide", 1024, 2, idt="UINT8", wdt="INT2"))
    stage = next(s for s in FoldingSpace(inside, PART).stages if s.names == ("wide",))
    assert max(o.attrs["wide"]["SIMD"] for o in stage.options) == 512
    space = FoldingSpace(chain(mvau("wide", 1024, 2, idt="UINT8", wdt="INT2")), PART)
    assert max(o.attrs["wide"]["SIMD"] for o in space.stages[0].options) == 128
    with pytest.raises(FoldingError, match=r"wide \(MVAU_hls\): its input 0 word has 8192 bits \(at most 4096\); "
                                           r"every stream and buffer word must stay within 4096 bits \(AP_INT_MAX_W"):
        folding.validate(chain(mvau("wide", 1024, 2, idt="UINT8", wdt="INT2")), {"wide": {"SIMD": 1024}})


def test_width_converters_stay_within_the_widest_ap_uint():
    """3200-bit words into 2400-bit words need a converter of 3200 + 2400 - 800 bits: refused."""
    model = chain(mvau("a", 4, 1200, wdt="INT4"), mvau("b", 1200, 4, idt="INT16", wdt="INT4"))
    with pytest.raises(FoldingError, match=r"a -> b: a width converter from 3200- to 2400-bit words needs a "
                                           r"4800-bit buffer; .* 4096 bits"):
        folding.validate(model, {"a": {"PE": 200}, "b": {"SIMD": 150}})
    folding.validate(model, {"a": {"PE": 200}, "b": {"SIMD": 200}})       # same words: no converter
    assert converter_luts((200, 3200), (150, 2400), PART) is None
    assert converter_luts((100, 1600), (150, 2400), PART) > 0             # 1600 + 2400 - 800 bits


def test_mvau_hls_simd_floor_is_respected():
    folded = folding.extract(optimize(chain(mvau("long", 4096, 2)), PART, CLOCK_MHZ, BUDGET, 1)[0])
    assert folded["long"]["SIMD"] == 4 and folded["long"]["PE"] == 1


def test_unreachable_target_gives_the_fastest_folding():
    model = conv_chain()
    folded, chosen = optimize(model, PART, CLOCK_MHZ, BUDGET, target_fps=1e7)   # 10 cycles per frame
    assert not chosen["met"] and chosen["cycles"] == 18      # see test_nothing_is_faster_than_the_fastest_folding
    assert max(cycles_of(folded).values()) == 18


# ---- budgets ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lut_budget", [2000, 1500, 1100])
def test_without_target_the_fastest_folding_within_the_budget(conv_space, lut_budget):
    """The brute-force answer: the fewest cycles of any folding whose LUTs fit (no DSPs to spend)."""
    fastest = min(cycles for cycles, lut, _ in brute_force_points(conv_space) if lut <= lut_budget)
    folded, chosen = optimize(conv_chain(), PART, CLOCK_MHZ, {**BUDGET, "LUT": lut_budget, "DSP": 0})
    assert chosen["cycles"] == fastest == max(cycles_of(folded).values())
    assert chosen["LUT"] == luts(folded) <= lut_budget
    assert chosen["DSP"] == 0


@pytest.mark.parametrize("lut_budget,dsp_budget", [(1000, 4), (1300, 8), (1500, 16), (2000, 24), (1800, 4)])
def test_where_luts_run_short_products_move_to_dsps_within_their_budget(conv_space, lut_budget, dsp_budget):
    """As fast as the brute-force fastest folding within both budgets, products in LUTs or on DSPs; and
    as the folded graph's estimate says."""
    points = brute_force_points(conv_space, dsp=True)
    fastest = min(cycles for cycles, lut, dsp in points if lut <= lut_budget and dsp <= dsp_budget)
    assert fastest < min(cycles for cycles, lut, dsp in points if lut <= lut_budget and dsp == 0)
    folded, chosen = optimize(conv_chain(), PART, CLOCK_MHZ, {**BUDGET, "LUT": lut_budget, "DSP": dsp_budget})
    est = estimate(folded, BOARD, CLOCK_MHZ)
    assert chosen["cycles"] == fastest == est["max_cycles"]
    assert chosen["LUT"] == luts(folded) <= lut_budget
    assert 0 < chosen["DSP"] == est["totals"]["DSP"] <= dsp_budget
    assert {getCustomOp(n).get_nodeattr("resType") for n in folded.graph.node if n.op_type.startswith("MVAU")} \
        <= {"lut", "dsp"}


def test_target_beyond_the_budget_names_what_is_missing():
    smallest = FoldingSpace(tiny_cnn(), PART).front()[-1]
    smallest_luts = luts(folding.apply(tiny_cnn(), smallest.config))     # FINN's estimate of that folding
    with pytest.raises(FoldingError, match=r"^target 1e\+06 fps needs \d+ LUT \(budget \d+\); the fastest folding "
                                           r"within the budget reaches \d+ fps$"):
        optimize(tiny_cnn(), PART, CLOCK_MHZ, {**BUDGET, "LUT": smallest_luts + 100}, 1e6)
    with pytest.raises(FoldingError, match=rf"^no folding fits the budget: even the smallest needs "
                                           rf"{smallest_luts} LUT \(budget 10\)(; trading every LUT it can for "
                                           rf"DSPs and block RAM, \d+ LUT \(budget 10\))?$"):
        optimize(tiny_cnn(), PART, CLOCK_MHZ, {**BUDGET, "LUT": 10})


def test_bram_budget_slows_the_folding_down():
    """Two 64x64 layers, a quarter of the fastest folding's BRAM: the brute-force fastest folding within it."""
    model = chain(mvau("fc", 64, 64), mvau("fc2", 64, 64))
    space = FoldingSpace(model, PART)
    fastest = space.cheapest(space.fastest_cycles)
    budget = {**BUDGET, "BRAM36": fastest.totals["BRAM36"] // 4}
    plan = space.fastest_within(budget)
    within = [max(a.cycles, b.cycles) for a, b in itertools.product(*(lut_options(stage) for stage in space.stages))
              if -(-(a.resources["BRAM_18K"] + b.resources["BRAM_18K"]) // 2) <= budget["BRAM36"]
              and a.resources["LUT"] + b.resources["LUT"] <= budget["LUT"]]
    assert plan.cycles == min(within) > fastest.cycles
    assert plan.totals["BRAM36"] <= budget["BRAM36"]


@pytest.mark.parametrize("limits,expected", [
    (None, {r: int(v * 0.8) for r, v in BUDGET.items()}),     # room for the DMA shell and routing
    ("100%", {r: BOARD.resources[r] for r in ("LUT", "BRAM36", "URAM", "DSP")}),
    ("LUT=50000,BRAM36=100", {**BUDGET, "LUT": 50000, "BRAM36": 100}),
    ("50%", {r: int(v / 2) for r, v in BUDGET.items()}),
    ("LUT=10%, DSP=0", {**BUDGET, "LUT": BUDGET["LUT"] // 10, "DSP": 0}),
])
def test_resource_budget(limits, expected):
    assert resource_budget(BOARD, limits) == expected


@pytest.mark.parametrize("limits", ["FF=100", "LUT=lots", "LUT=-5", "LUT50"])
def test_bad_resource_budget_names_the_item_and_the_resources(limits):
    with pytest.raises(FoldingError, match=r"resource limit .* with RESOURCE one of LUT, BRAM36, URAM, DSP"):
        resource_budget(BOARD, limits)


# ---- every registry model that builds ------------------------------------------------------------------

# the registry's hardware models (not the -faithful/-full training variants) and a board for each
# (vggtiny's narrow 4-bit weight words take 174 BRAM36 in FINN's model even folded least: beyond 80 % of
# a Pynq-Z2 or an Ultra96, and the optimizer, LUTs first, does not trade LUTs for BRAM)
REGISTRY = {"vgg10": "pynq-z2", "vgg10-w4a4": "zcu104", "tiny": "pynq-z2", "bacalhau": "ultra96",
            "aaronnet32": "ultra96", "aaronnet48": "ultra96", "imperial": "ultra96", "vggtiny": "zcu104",
            "ultranet": "ultra96"}
# and FINN's BNN-PYNQ networks on Pynq-Z1, the board of finn-examples' figures for them: one of each
# architecture and of each of their three precisions (all eleven build in make bench: bench/bnn_pynq.py)
REGISTRY.update({name: "pynq-z1" for name in ("tfc-w1a1", "sfc-w1a2", "lfc-w2a2", "cnv-w1a1", "cnv-w2a2")})


def untrained_checkpoint(name, path):
    """Folding needs shapes, not trained weights: forward passes in training mode until Brevitas has
    initialised every runtime-statistics scale, then save."""
    from models.train import save_checkpoint

    spec = registry.get(name)
    model = spec.build().train()
    sizes = []
    with torch.no_grad():
        while len(sizes) < 10 or sizes[-1] != sizes[-10]:
            model(torch.randn(2, *spec.input_shape))
            sizes.append(len(model.state_dict()))
    save_checkpoint(path, spec, model.eval(), {})


@pytest.fixture(scope="module", params=[m for m in REGISTRY if m in registry.names()])
def registry_graph(request, tmp_path_factory):
    from compiler.buildfolder import load_graph
    from compiler.flow import BuildConfig, run_build

    name, board = request.param, boards.get(REGISTRY[request.param])
    out = tmp_path_factory.mktemp(name)
    untrained_checkpoint(name, out / "untrained.pt")
    run_build(BuildConfig(model=name, board=REGISTRY[name], out_dir=out / "build", ckpt=out / "untrained.pt"),
              stop_after="specialize_layers")
    model = load_graph(out / "build", "specialize_layers")
    return name, model, board, FoldingSpace(model, board.part)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(speed=st.floats(min_value=0, max_value=1.2))
def test_registry_models_fold_legally_for_random_targets(registry_graph, speed):
    """`speed` spans 100 frames/s (0) to the fastest folding (1), log scale, and beyond it."""
    name, model, board, space = registry_graph
    clock = board.clock_mhz
    fastest = clock * 1e6 / space.fastest_cycles
    target = 100 * (fastest / 100) ** speed
    wanted = max(int(clock * 1e6 / target), space.fastest_cycles)
    plan = space.cheapest(wanted)
    folded = folding.apply(model, plan.config, source=f"{name} at {target:.0f} fps")
    folding.validate(folded, folding.extract(folded))
    assert max(cycles_of(with_converters(folded, board.part)).values()) == plan.cycles <= wanted
    assert all(kernel_supports(getCustomOp(n)) for n in folded.graph.node)


@pytest.mark.slow
def test_registry_plans_are_the_folded_graphs_estimates(registry_graph):
    """Width converters at forks and joins (residual adds, concats) included: the plan's resources are
    what FINN's estimators say of the folded graph."""
    name, model, board, space = registry_graph
    for cycles in sorted({space.fastest_cycles, space.fastest_cycles * 8, max(space.budgets())}):
        plan = space.cheapest(cycles)
        est = estimate(with_converters(folding.apply(model, plan.config), board.part), board, board.clock_mhz)
        assert layer_totals(est) == {r: plan.totals[r] for r in ("LUT", "BRAM_18K", "DSP", "URAM")}, \
            f"{name} at {cycles} cycles"


@pytest.mark.slow
def test_registry_models_need_no_more_luts_than_set_folding(registry_graph):
    """Where SetFolding meets a target with a folding our kernels build, ours needs no more LUTs; among
    targets from 2x to 1000x the fastest folding's cycles, it does so for some."""
    name, model, board, space = registry_graph
    if name == "vggtiny":
        pytest.skip("SetFolding folds vggtiny's Linear 4096->10 with SIMD < MW/1024, which FINN's MVAU_hls refuses")
    clock = board.clock_mhz
    compared = 0
    for factor in (2, 4, 16, 64, 200, 1000):
        cycles = space.fastest_cycles * factor
        fps = clock * 1e6 / cycles
        try:
            theirs = folding.auto_fold(model, fps, clock)
        except FoldingError:
            continue    # SetFolding's folding is illegal (e.g. vggtiny: SIMD < MW/1024): nothing to compare
        if max(cycles_of(with_converters(theirs, board.part)).values()) > cycles or \
                not all(kernel_supports(getCustomOp(n)) for n in theirs.graph.node):
            continue    # SetFolding missed the target or chose what our kernels lack: nothing to compare
        ours = folding.apply(model, space.cheapest(cycles).config)
        assert luts(ours, board) <= luts(theirs, board), f"{name} at {fps:.0f} fps"
        compared += 1
    assert compared > 0, f"{name}: SetFolding met none of the targets with a folding our kernels build"


@pytest.mark.slow
def test_registry_models_fastest_folding_fits(registry_graph):
    """Every registry model has a folding within 80 % of its board whose input and output words fit
    the AXI DMA's widest stream (1024 bits; SFC's 784 2-bit inputs in one word would not), and one
    LUT is no budget."""
    name, model, board, space = registry_graph
    budget = resource_budget(board)
    plan = space.fastest_within(budget)
    assert plan is not None and not plan.over(budget), name
    folded = folding.apply(model, plan.config)
    first, last = getCustomOp(folded.graph.node[0]), getCustomOp(folded.graph.node[-1])
    assert first.get_instream_width(0) <= 1024 and last.get_outstream_width(0) <= 1024, name
    with pytest.raises(FoldingError, match="no folding fits the budget: even the smallest needs"):
        optimize(model, board.part, board.clock_mhz, {**budget, "LUT": 1})


@pytest.mark.parametrize("lut_budget", [1500, 3000])
def test_our_cost_model_folds_to_the_brute_force_fastest_within_a_lut_budget(lut_budget):
    """With our cost model (COST_MODEL=ours) as with FINN's: the fewest cycles of any folding whose LUTs fit."""
    points = brute_force_points(FoldingSpace(conv_chain(), PART, "ours"))
    fastest = min(cycles for cycles, lut, _ in points if lut <= lut_budget)
    folded, chosen = optimize(conv_chain(), PART, CLOCK_MHZ, {**BUDGET, "LUT": lut_budget, "DSP": 0}, cost_model="ours")
    assert chosen["cycles"] == fastest == max(cycles_of(folded).values())
    assert chosen["LUT"] == layer_totals(estimate(with_converters(folded, PART), BOARD, CLOCK_MHZ, "ours"))["LUT"] \
        <= lut_budget


def threshold_chain():
    """Two MVAUs with 8-bit activations: 255 thresholds a channel, in LUT ROMs or (the optimizer's
    choice with our cost model) in block RAM."""
    rng = np.random.default_rng(0)

    def thresholds(channels):
        return np.sort(rng.integers(-2000, 2000, size=(channels, 255)), axis=1).astype(np.float32)
    return chain(mvau("fc0", 16, 16, vecs=(1, 8, 1), idt="UINT8", thresholds=thresholds(16), outputDataType="UINT8"),
                 mvau("fc1", 16, 8, vecs=(1, 8, 1), idt="UINT8", thresholds=thresholds(8), outputDataType="UINT8"))


@pytest.fixture(scope="module")
def threshold_points():
    """(cycles, LUT, BRAM36, whether thresholds are in block RAM) of every folding of threshold_chain
    with its products in LUTs, by our cost model."""
    space = FoldingSpace(threshold_chain(), PART, "ours")
    points = []
    for options in itertools.product(*([o for o in stage.options if "DSP" not in o.trades] for stage in space.stages)):
        converters = [converter_luts(a.words[1], b.words[0], PART) for a, b in zip(options, options[1:])]
        if None not in converters:
            points.append((max(o.cycles for o in options), sum(o.resources["LUT"] for o in options) + sum(converters),
                           math.ceil(sum(o.resources["BRAM_18K"] for o in options) / 2),
                           any("BRAM_18K" in o.trades for o in options)))
    return points


@pytest.mark.parametrize("lut_budget,bram36_budget", [(5000, 20), (10000, 20), (3000, 40)])
def test_where_luts_run_short_thresholds_move_to_block_ram_within_its_budget(threshold_points, lut_budget,
                                                                              bram36_budget):
    """With our cost model, 8-bit activations' thresholds go to block RAM where LUT ROMs do not fit:
    as fast as the brute-force fastest folding within both budgets, and as the folded graph's estimate says."""
    fits = [(cycles, block) for cycles, lut, bram36, block in threshold_points
            if lut <= lut_budget and bram36 <= bram36_budget]
    fastest = min(cycles for cycles, _ in fits)
    assert fastest < min([cycles for cycles, block in fits if not block], default=math.inf)
    budget = {**BUDGET, "LUT": lut_budget, "BRAM36": bram36_budget, "DSP": 0}
    folded, chosen = optimize(threshold_chain(), PART, CLOCK_MHZ, budget, cost_model="ours")
    est = estimate(with_converters(folded, PART), BOARD, CLOCK_MHZ, "ours")
    assert chosen["cycles"] == fastest == est["max_cycles"]
    assert chosen["LUT"] == layer_totals(est)["LUT"] <= lut_budget
    assert chosen["BRAM36"] <= bram36_budget
    styles = {getCustomOp(n).get_nodeattr("ram_style_thresholds") for n in folded.graph.node if n.op_type == "MVAU_hls"}
    assert "block" in styles <= {"auto", "block"}


def test_thresholds_stay_in_luts_by_finns_model():
    """FINN's MVAU estimate counts no threshold memory, so with it the optimizer never moves them."""
    assert FoldingSpace(threshold_chain(), PART, "finn").traded == ["DSP"]
    assert FoldingSpace(threshold_chain(), PART, "ours").traded == ["DSP", "BRAM_18K"]


def test_no_fit_says_what_trading_luts_would_need():
    with pytest.raises(FoldingError, match=r"^no folding fits the budget: even the smallest needs \d+ LUT \(budget "
                                           r"3000\); trading every LUT it can for DSPs and block RAM, \d+ BRAM36 "
                                           r"\(budget 2\)$"):
        optimize(threshold_chain(), PART, CLOCK_MHZ, {**BUDGET, "LUT": 3000, "BRAM36": 2}, cost_model="ours")
