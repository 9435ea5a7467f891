"""Folding optimizer: the legal folding that meets a throughput target with the least resources, and the
throughput-versus-LUT trade-off of a graph.

A dataflow pipeline runs at the pace of its slowest layer while its resources are a sum over layers. So
for a budget of T cycles per frame, taking for every layer its cheapest legal configuration with at most
T cycles gives the cheapest folding that meets T; sweeping T over the cycle counts the layers can take
traces the whole Pareto front of (throughput, LUT). One cost is not per layer: where a layer's output
word differs from its consumer's input word the build inserts a width converter (FINN's InsertDWC),
which costs LUTs. Along a row of layers that cost is included exactly, by dynamic programming over the
word passed between neighbours. Rows meet at forks and joins (residual adds, concats): there each row
is folded again with the converters to its neighbours priced, one row at a time, until none gets
cheaper; a local optimum (the brute-force one on a residual block, tests/test_optimize.py).

Cycles are our kernels' (compiler/estimate/cycles.py) and resources those of the cost model asked for
(compiler/estimate: FINN's node_res_estimation by default; or "ours", fitted to Yosys, for
MVAU/VVAU/Thresholding; DSPs as our kernels pack products into them), evaluated on a copy of each
node with the candidate values set; the
legal values come from rules.py. A depthwise sliding window and the VVAU/Pool it feeds are folded
together (one stage), as FINN requires.

Two choices trade LUTs for another resource. A MAC layer whose resType is unset or "auto" (FINN's
defaults, which its estimates count as LUT products) may take its products on DSP slices; with our
cost model (the only one that counts threshold memories), an MVAU whose ram_style_thresholds is unset
or "auto" may keep its thresholds in block RAM instead of LUT ROMs. The plans are LUT-first, without
either; where that does not fit the budget, each traded resource is priced at w LUTs a unit (a
Lagrange multiplier) and the prices are searched, one resource at a time, for the cheapest plan within
every budget: the fewer LUTs a unit saves, the later its layer moves. A price moves whole layers, so
what it leaves of the DSP and BRAM budgets is then spent a stage at a time, the largest LUT saving
first. BRAM and URAM otherwise stay second in the cost, and front() is the LUT-only trade-off.
"""
import math
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import product
from typing import NamedTuple

from onnx import NodeProto, helper
from qonnx.custom_op.registry import getCustomOp

from compiler.estimate import DEFAULT_COST_MODEL, FIT_RESOURCES, LAYER_RESOURCES, layer_estimate
from compiler.folding.auto import frame_cycles
from compiler.folding.config import apply
from compiler.folding.rules import FoldingError, converter_too_wide, coupled, hw_nodes, legal_values, too_wide
from compiler.hwops import DMA_STREAM_WIDTHS, base_op, multiplies, multiplies_on_dsp

# At most this many passes of re-folding the rows at forks and joins; a pass that changes nothing ends it.
MAX_SWEEPS = 8
# What the optimizer chooses; every other attribute (ram_style, mem_mode, ...) stays as set. resType
# too, unless unset or "auto" on an HLS MAC layer: then "dsp" is a choice, and leaving it (products in
# LUTs, as FINN's estimate counts them) the other; likewise ram_style_thresholds "block" on an MVAU.
FOLD_ATTRS = ("PE", "SIMD", "parallel_window")
MAC_OPS = ("MVAU", "VVAU")
# Those choices -> the resource each spends instead of LUTs (in the estimates' units); that resource ->
# its budget's name.
TRADES = {("resType", "dsp"): "DSP", ("ram_style_thresholds", "block"): "BRAM_18K"}
TRADED = {"DSP": "DSP", "BRAM_18K": "BRAM36"}
# The search for the price of a traded unit in LUTs: between 0 and this, in this many halvings, each
# resource in turn, at most PRICE_ROUNDS times round (moving thresholds off BRAM may move products onto
# DSPs). Layers of the same shape save the same LUTs per unit and would move all at once; stage i's
# units cost 1 + i * PRICE_TIE times the price, so that they move one at a time.
MAX_PRICE, PRICE_STEPS, PRICE_ROUNDS, PRICE_TIE = 4096.0, 24, 2, 1e-4
# The cost: LUT first, then the others (FINN's units) break ties. In FINN's models more PE/SIMD all but
# never needs fewer BRAMs or DSPs, so the LUT-cheapest plan is the one to check against a BRAM or DSP budget.
COST = ("LUT", "BRAM_18K", "DSP", "URAM")


def kernel_supports(inst):
    """Whether this node configuration is one we build and verify where FINN allows more.

    A VVAU with 1 < SIMD < kernel size and PE < channels gets its window through a width converter,
    and FINN's Python execution of that VVAU (our verification reference) reads such a stream in the
    wrong order; as FINN's SetFolding does, take SIMD > 1 only over the whole kernel or all channels."""
    if base_op(inst.onnx_node.op_type) != "VVAU" or inst.get_nodeattr("SIMD") == 1:
        return True
    kernel = math.prod(inst.get_nodeattr("Kernel"))
    return inst.get_nodeattr("SIMD") == kernel or inst.get_nodeattr("PE") == inst.get_nodeattr("Channels")


def _within_widest_word(inst):
    """Every stream word within the widest ap_uint Vitis HLS supports (AP_INT_MAX_W, WIDEST_WORD bits),
    a MAC layer's weight word (PE * SIMD weights, read in one cycle) within WIDEST_MEMORY_WORD."""
    return not too_wide(inst)


def _copy(node, attrs):
    """The custom op of a copy of `node` with `attrs` set: candidates never touch the graph."""
    copy = NodeProto()
    copy.CopyFrom(node)
    inst = getCustomOp(copy)
    for attr, value in attrs.items():
        inst.set_nodeattr(attr, value)
    # FINN rebuilds an op's attribute table and searches the node's attributes on every read: most of an
    # estimate's time. A candidate is read-only from here on, so each table and value is computed once.
    types = inst.get_nodeattr_types()
    inst.get_nodeattr_types = lambda: types
    inst.get_nodeattr = cache(inst.get_nodeattr)
    return inst


def _usable(inst, attrs):
    legal = legal_values(inst)
    return all(value in legal[attr] for attr, value in attrs.items()) and kernel_supports(inst) \
        and _within_widest_word(inst)


def _unset(node, attr):
    return all(a.name != attr or a.s == b"auto" for a in node.attribute)


def _res_types(node):
    """The resType values the optimizer may give a node: "dsp" as well where it is not set, or "auto",
    and the products are multiplications (not bipolar)."""
    if base_op(node.op_type) in MAC_OPS and node.op_type.endswith("_hls") and multiplies(getCustomOp(node)) and \
            _unset(node, "resType"):
        return [{}, {"resType": "dsp"}]
    return [{}]


def _threshold_styles(node, cost_model):
    """The ram_style_thresholds values the optimizer may give a node: "block" as well for an MVAU with
    thresholds where it is not set, or "auto" (LUT ROMs), and the cost model counts them (ours)."""
    inst = getCustomOp(node)
    if cost_model == "ours" and base_op(node.op_type) == "MVAU" and not inst.get_nodeattr("noActivation") and \
            _unset(node, "ram_style_thresholds"):
        return [{}, {"ram_style_thresholds": "block"}]
    return [{}]


def _configs(node, part, cost_model):
    """(attrs, op) for every legal, supported assignment of the node's folding attributes and of the
    memory and multiplier choices; "dsp" only where the products would then be on DSP slices
    (multiplies_on_dsp: not for tiny products)."""
    axes = [a for a in FOLD_ATTRS if a in getCustomOp(node).get_nodeattr_types()]
    # parallel_window only narrows SIMD, so the candidates are the legal values with it off.
    legal = legal_values(_copy(node, {"parallel_window": 0} if "parallel_window" in axes else {}))
    axes = [a for a in axes if a in legal]
    for values, res_type, thresholds in product(product(*(legal[a] for a in axes)), _res_types(node),
                                                _threshold_styles(node, cost_model)):
        attrs = {**dict(zip(axes, values)), **res_type, **thresholds}
        inst = _copy(node, attrs)
        if _usable(inst, attrs) and (not res_type or multiplies_on_dsp(inst, part)):
            yield attrs, inst


@dataclass
class Option:
    """One way to fold a stage: its nodes' attributes, the slowest node's cycles, the summed resources
    and the words the stage reads and writes."""
    attrs: dict        # node name -> {attr: value}
    cycles: int
    resources: dict    # LAYER_RESOURCES -> estimate
    words: tuple       # ((elements, bits) of an input word, (elements, bits) of an output word)
    price_factor: float = 1.0    # of the prices of its traded units (PRICE_TIE)

    @property
    def trades(self):
        """The resources this option spends instead of LUTs by the optimizer's choices (TRADES)."""
        return {resource for (attr, value), resource in TRADES.items()
                if any(attrs.get(attr) == value for attrs in self.attrs.values())}

    @cached_property
    def _costs(self):
        return (self.resources["LUT"], *(self.resources[r] for r in COST[1:]), -self.cycles)

    def key(self, prices=None):
        """Cheapest first (COST, a unit of a traded resource adding its price in `prices` to the LUTs),
        then the slowest (least parallel) option among equals, which keeps the pipeline balanced."""
        if not prices:
            return self._costs
        priced = sum(price * self.resources[r] for r, price in prices.items()) * self.price_factor
        return (self._costs[0] + priced, *self._costs[1:])


def _option(insts_attrs, part, cost_model):
    """The option of a stage whose nodes (in stream order) are configured as `insts_attrs`."""
    layers = [layer_estimate(inst, part, cost_model) for inst, _ in insts_attrs]
    first, last = insts_attrs[0][0], insts_attrs[-1][0]
    return Option({inst.onnx_node.name: attrs for inst, attrs in insts_attrs},
                  max(layer["cycles"] for layer in layers),
                  {r: sum(layer[r] for layer in layers) for r in LAYER_RESOURCES},
                  ((first.get_folded_input_shape(0)[-1], first.get_instream_width(0)),
                   (last.get_folded_output_shape(0)[-1], last.get_outstream_width(0))))


def _depthwise_options(window, consumer, part, cost_model):
    """A depthwise window generator emits the channel group its VVAU/Pool consumes (SIMD = PE), all
    window positions at once (parallel_window) only for a VVAU that takes several (SIMD > 1). A VVAU
    taking fewer than all of them reads the window through a width converter, priced with the stage."""
    for attrs, inst in _configs(consumer, part, cost_model):
        window_attrs = {"SIMD": attrs["PE"]}
        if "parallel_window" in getCustomOp(window).get_nodeattr_types():
            window_attrs["parallel_window"] = int(attrs.get("SIMD", 1) > 1)
        window_inst = _copy(window, window_attrs)
        if not _usable(window_inst, window_attrs):
            continue
        inner = converter_luts((window_inst.get_folded_output_shape()[-1], window_inst.get_outstream_width()),
                               (inst.get_folded_input_shape()[-1], inst.get_instream_width()), part)
        if inner is not None:
            option = _option([(window_inst, window_attrs), (inst, attrs)], part, cost_model)
            option.resources["LUT"] += inner
            yield option


@cache
def converter_luts(written, read, part):
    """LUTs of the width converter FINN's InsertDWC puts between a producer writing words `written`
    and a consumer reading words `read` ((elements, bits) each): none if the element counts match;
    None if its buffer would be wider than the widest word (no folding may need it)."""
    if written[0] == read[0]:
        return 0
    if converter_too_wide(written[1], read[1]):
        return None
    node = helper.make_node("StreamingDataWidthConverter_hls", ["in"], ["out"], backend="fpgadataflow",
                            domain="finn.custom_op.fpgadataflow.hls", inWidth=written[1], outWidth=read[1])
    return math.ceil(getCustomOp(node).lut_estimation(part))


@dataclass
class Stage:
    """Nodes folded as one choice (in stream order) and the ways to fold them."""
    names: tuple
    options: list

    def __post_init__(self):
        self._ladders = {}

    def ladders(self, prices):
        """Per pair of words read and written: (cycles ascending, the cheapest option with at most that
        many), the traded resources at `prices` (resource -> LUTs a unit); with None, no option trades."""
        cached = None if prices is None else tuple(sorted(prices.items()))
        if cached not in self._ladders:
            ladders = {}
            options = [o for o in self.options if prices is not None or not o.trades]
            for option in sorted(options, key=lambda o: o.cycles):
                cycles, best = ladders.setdefault(option.words, ([], []))
                if not best or option.key(prices) < best[-1].key(prices):
                    if cycles and cycles[-1] == option.cycles:
                        best[-1] = option
                    else:
                        cycles.append(option.cycles)
                        best.append(option)
            self._ladders[cached] = list(ladders.values())
        return self._ladders[cached]

    def choices(self, budget_cycles, prices=None):
        """For each pair of words read and written, the cheapest option with at most `budget_cycles`."""
        found = []
        for cycles, best in self.ladders(prices):
            index = bisect_right(cycles, budget_cycles) - 1
            if index >= 0:
                found.append(best[index])
        return found


def _cheapest_row(choices, part, outside=None, prices=None):
    """(options, converter LUTs within the row, summed key) of the cheapest folding of a row of stages,
    given each stage's candidates, or None: dynamic programming over the word passed from one stage to
    the next. outside(k, option): LUTs of the converters between the row's k-th stage and stages of
    other rows (whose folding is fixed), counted in the key; traded resources cost `prices`."""
    best = {None: ((0,) * (len(COST) + 1), [], 0)}    # output word -> (summed key, options, LUTs)
    for k, candidates in enumerate(choices):
        arrivals = {}    # input word -> the cheapest way to deliver it, converter included
        for read in {option.words[0] for option in candidates}:
            for written, (total, options, luts) in best.items():
                converter = 0 if written is None else converter_luts(written, read, part)
                if converter is None:
                    continue
                total_here = (total[0] + converter, *total[1:])
                if read not in arrivals or total_here < arrivals[read][0]:
                    arrivals[read] = (total_here, options, luts + converter)
        reached = {}
        for option in candidates:
            if option.words[0] not in arrivals:
                continue
            total, options, luts = arrivals[option.words[0]]
            total = tuple(a + b for a, b in zip(total, option.key(prices)))
            if outside:
                total = (total[0] + outside(k, option), *total[1:])
            out = option.words[1]
            if out not in reached or total < reached[out][0]:
                reached[out] = (total, options + [option], luts)
        if not reached:
            return None
        best = reached
    total, options, luts = min(best.values(), key=lambda found: found[0])
    return options, luts, total


class Edge(NamedTuple):
    """A stream from output `output` of node `producer` (of stage `source`) to input `index` of node
    `consumer` (of stage `target`)."""
    source: int
    producer: str
    output: int
    target: int
    consumer: str
    index: int


def _boundaries(model, stages, rows):
    """The streams between rows (out of forks, into joins), as Edges."""
    stage_of = {name: i for i, stage in enumerate(stages) for name in stage.names}
    row_of = {i: r for r, row in enumerate(rows) for i in row}
    edges = []
    for consumer in stage_of:
        node = model.get_node_from_name(consumer)
        for index, tensor in enumerate(node.input):
            producer = model.find_producer(tensor)
            if producer is None or producer.name not in stage_of:
                continue
            i, j = stage_of[producer.name], stage_of[consumer]
            if row_of[i] != row_of[j]:
                edges.append(Edge(i, producer.name, list(producer.output).index(tensor), j, consumer, index))
    return edges


def _rows(model, stages):
    """The stages grouped into rows: runs in which a stage's output feeds only the next stage, which
    reads no other stream."""
    stage_of = {name: i for i, stage in enumerate(stages) for name in stage.names}
    after = {}
    for i, stage in enumerate(stages):
        last = model.get_node_from_name(stage.names[-1])
        consumers = model.find_consumers(last.output[0]) if len(last.output) == 1 else []
        if len(consumers) == 1 and consumers[0].name in stage_of:
            consumer = consumers[0]
            streamed = [t for t in consumer.input if model.get_initializer(t) is None]
            following = stage_of[consumer.name]
            if stages[following].names[0] == consumer.name and len(streamed) == 1:
                after[i] = following
    rows = []
    for start in sorted(set(range(len(stages))) - set(after.values())):
        rows.append([start])
        while rows[-1][-1] in after:
            rows[-1].append(after[rows[-1][-1]])
    return rows


@dataclass
class Plan:
    """A folding of the whole graph: one option per stage, and the width converters between them."""
    options: list
    converter_luts: int

    @property
    def cycles(self):
        return max(o.cycles for o in self.options)

    @property
    def totals(self):
        totals = {r: sum(o.resources[r] for o in self.options) for r in LAYER_RESOURCES}
        totals["LUT"] += self.converter_luts
        totals["BRAM36"] = math.ceil(totals["BRAM_18K"] / 2)
        return totals

    @property
    def config(self):
        """The folding config (FINN's format) that applies this plan."""
        config = {"Defaults": {}}
        for option in self.options:
            config.update(option.attrs)
        return config

    def point(self, clock_mhz):
        """This plan as a point of the throughput/resource trade-off."""
        return {"cycles": self.cycles, "fps": clock_mhz * 1e6 / self.cycles,
                **{r: self.totals[r] for r in FIT_RESOURCES}}

    def over(self, budget):
        """The board resources (FIT_RESOURCES) this plan needs more of than `budget` has."""
        totals = self.totals
        return [r for r in FIT_RESOURCES if r in budget and totals[r] > budget[r]]


class FoldingSpace:
    """Every legal folding of a graph's HW nodes, with the estimates of `cost_model` for `part`."""

    def __init__(self, model, part, cost_model=DEFAULT_COST_MODEL):
        nodes = hw_nodes(model)
        # the DMA streams the graph's input and output: their words fit its widest stream
        graph_in, graph_out = model.graph.input[0].name, model.graph.output[0].name
        pairs = {window.name: consumer.name for window, _, consumer, _ in coupled(model)}
        followers = set(pairs.values())
        self.part = part
        self.stages = []
        for name, node in nodes.items():
            if name in pairs:
                consumer = nodes[pairs[name]]
                options = list(_depthwise_options(node, consumer, part, cost_model))
                names = (name, consumer.name)
            elif name in followers:
                continue
            else:
                options = [_option([(inst, attrs)], part, cost_model)
                           for attrs, inst in _configs(node, part, cost_model)]
                names = (name,)
            if nodes[names[0]].input[0] == graph_in:
                options = [o for o in options if o.words[0][1] <= DMA_STREAM_WIDTHS[-1]]
            if nodes[names[-1]].output[0] == graph_out:
                options = [o for o in options if o.words[1][1] <= DMA_STREAM_WIDTHS[-1]]
            if not options:
                raise FoldingError(f"{', '.join(names)}: no legal folding that our kernels support "
                                   f"(legal values: {legal_values(getCustomOp(node))}; the accelerator's input "
                                   f"and output words at most {DMA_STREAM_WIDTHS[-1]} bits, the AXI DMA's widest)")
            for option in options:
                option.price_factor = 1 + PRICE_TIE * len(self.stages)
            self.stages.append(Stage(names, options))
        self.rows = _rows(model, self.stages)
        self.boundaries = _boundaries(model, self.stages, self.rows)
        self._edges_at = {i: [e for e in self.boundaries if i in (e.source, e.target)] for i in range(len(self.stages))}
        self._joined = [r for r, row in enumerate(self.rows) if any(self._edges_at[i] for i in row)]
        self._nodes, self._words = nodes, {}
        self.traded = [r for r in TRADED if any(r in o.trades for stage in self.stages for o in stage.options)]

    def _word(self, name, attrs, index, output):
        """(elements, bits) of a node's `index`th output (or input) word when folded as `attrs`."""
        key = (name, tuple(attrs.items()), index, output)
        if key not in self._words:
            inst = _copy(self._nodes[name], attrs)
            self._words[key] = (inst.get_folded_output_shape(index)[-1], inst.get_outstream_width(index)) if output \
                else (inst.get_folded_input_shape(index)[-1], inst.get_instream_width(index))
        return self._words[key]

    def _converter(self, edge, source_option, target_option):
        """LUTs of the width converter on `edge` with its two stages folded as given (infinite if it
        would be too wide)."""
        written = self._word(edge.producer, source_option.attrs[edge.producer], edge.output, True)
        read = self._word(edge.consumer, target_option.attrs[edge.consumer], edge.index, False)
        luts = converter_luts(written, read, self.part)
        return math.inf if luts is None else luts

    def _boundary_luts(self, chosen):
        """LUTs of the width converters between rows, for `chosen` (stage index -> option)."""
        return sum(self._converter(edge, chosen[edge.source], chosen[edge.target]) for edge in self.boundaries)

    def _outside(self, row, chosen):
        """outside() of _cheapest_row for `row`: its stages' converters to other rows, folded as `chosen`."""
        def luts(k, option):
            stage = row[k]
            return sum(self._converter(edge, option if edge.source == stage else chosen[edge.source],
                                       option if edge.target == stage else chosen[edge.target])
                       for edge in self._edges_at[stage])
        return luts

    @property
    def fastest_cycles(self):
        """The bottleneck of the fastest legal folding: some stage cannot go below it."""
        return max(min(o.cycles for o in stage.options) for stage in self.stages)

    def cheapest(self, budget_cycles, prices=None):
        """The cheapest plan with every stage at most `budget_cycles`, or None if one cannot make it.
        prices: what a unit of each traded resource costs in LUTs, where the optimizer may spend it
        instead (None: it does not)."""
        candidates = [stage.choices(budget_cycles, prices) for stage in self.stages]
        chosen, luts = {}, {}    # stage index -> option; row -> converter LUTs within it
        for r, row in enumerate(self.rows):
            found = _cheapest_row([candidates[i] for i in row], self.part, prices=prices)
            if found is None:
                return None
            chosen.update(zip(row, found[0]))
            luts[r] = found[1]
        # Forks and joins: re-fold one row at a time, converters to its fixed neighbours priced, while
        # that lowers the cost. Each step is exact for its row and never raises the total.
        for _ in range(MAX_SWEEPS):
            improved = False
            for r in self._joined:
                row, outside = self.rows[r], self._outside(self.rows[r], chosen)
                _, _, now = _cheapest_row([[chosen[i]] for i in row], self.part, outside, prices)
                options, row_luts, total = _cheapest_row([candidates[i] for i in row], self.part, outside, prices)
                if total < now:
                    chosen.update(zip(row, options))
                    luts[r] = row_luts
                    improved = True
            if not improved:
                break
        return Plan([chosen[i] for i in sorted(chosen)], sum(luts.values()) + self._boundary_luts(chosen))

    def budgets(self):
        """Every cycle budget where some stage's choice can change, fastest first."""
        floor = self.fastest_cycles
        return sorted({o.cycles for stage in self.stages for o in stage.options if o.cycles >= floor})

    def fewest_luts(self, budget_cycles):
        """The plan with every stage at most `budget_cycles` and the fewest LUTs: every trade free."""
        return self.cheapest(budget_cycles, dict.fromkeys(self.traded, 0.0))

    def cheapest_within(self, budget_cycles, budget):
        """The cheapest plan with every stage at most `budget_cycles` that fits `budget` (board units),
        or None: without trades if that fits, else trading LUTs for DSPs and BRAM at the lowest prices
        that keep the plan within their budgets (module docstring)."""
        plan = self.cheapest(budget_cycles)
        if plan is None or not plan.over(budget):
            return plan
        if plan.over(budget) != ["LUT"] or not self.traded:
            return None
        prices = dict.fromkeys(self.traded, 0.0)
        free = self.fewest_luts(budget_cycles)
        if free.totals["LUT"] > budget["LUT"] or not free.over(budget):
            return None if free.over(budget) else free
        fitting, plan = [], free
        for _ in range(PRICE_ROUNDS):
            for resource in self.traded:      # the lowest price keeping it within its budget, the others' as they are
                if plan.totals[TRADED[resource]] <= budget[TRADED[resource]]:
                    continue
                low, high = prices[resource], MAX_PRICE
                for _ in range(PRICE_STEPS):
                    prices[resource] = (low + high) / 2
                    plan = self.cheapest(budget_cycles, prices)
                    if plan.totals[TRADED[resource]] > budget[TRADED[resource]]:
                        low = prices[resource]
                    else:
                        high = prices[resource]
                        if not plan.over(budget):
                            fitting.append(plan)
                prices[resource] = high
                plan = self.cheapest(budget_cycles, prices)
        if not [r for r in plan.over(budget) if r != "LUT"]:
            plan = self._spend_leftovers(plan, budget_cycles, budget)
            if not plan.over(budget):
                fitting.append(plan)
        return min(fitting, key=lambda p: tuple(p.totals[r] for r in COST), default=None)

    def _spend_leftovers(self, plan, budget_cycles, budget):
        """`plan` with stages moved, one at a time and the largest LUT saving first, to options that
        read and write the same words (so no converter changes) and keep every resource but LUT within
        `budget`. The price search moves a layer's products or thresholds whole at one price, which can
        leave DSPs or BRAM unspent that a layer of another size or folding would fill."""
        options, converter_luts = list(plan.options), plan.converter_luts
        totals = {r: plan.totals[r] for r in LAYER_RESOURCES}
        others = [r for r in FIT_RESOURCES if r in budget and r != "LUT"]

        def within(after):
            board = {**after, "BRAM36": math.ceil(after["BRAM_18K"] / 2)}
            return all(board[r] <= budget[r] for r in others)

        while True:
            best = None
            for index, (stage, current) in enumerate(zip(self.stages, options)):
                for option in stage.options:
                    saving = current.resources["LUT"] - option.resources["LUT"]
                    if saving <= (best[0] if best else 0) or option.cycles > budget_cycles \
                            or option.words != current.words:
                        continue
                    after = {r: totals[r] - current.resources[r] + option.resources[r] for r in LAYER_RESOURCES}
                    if within(after):
                        best = (saving, index, option, after)
            if best is None:
                return Plan(options, converter_luts)
            _, index, options[index], totals = best

    def fastest_within(self, budget):
        """The fastest plan that fits `budget` (board units), or None if even the slowest does not."""
        for budget_cycles in self.budgets():
            plan = self.cheapest_within(budget_cycles, budget)
            if plan is not None:
                return plan
        return None

    def front(self):
        """The Pareto front of (cycles per frame, LUT), fastest first: each plan is the cheapest for its
        speed, and each slower one is cheaper."""
        front = []
        for budget_cycles in self.budgets():
            plan = self.cheapest(budget_cycles)
            if plan is not None and (not front or plan.totals["LUT"] < front[-1].totals["LUT"]):
                front.append(plan)
        return front


# Without MAX_RESOURCES automatic folding leaves a fifth of the board to the DMA shell, the
# interconnect and routing: the estimates cover the accelerator only, and a nearly full device
# rarely meets timing.
DEFAULT_LIMITS = "80%"


def resource_budget(board, limits=None):
    """{LUT, BRAM36, URAM, DSP} -> how many automatic folding may use: the board's, narrowed by `limits`,
    e.g. "LUT=50000,BRAM36=100", "LUT=70%" or "70%" (every resource); DEFAULT_LIMITS without."""
    budget = {r: board.resources[r] for r in FIT_RESOURCES}
    for item in (limits or DEFAULT_LIMITS).replace(" ", "").split(","):
        if not item:
            continue
        name, _, value = item.rpartition("=")
        names = [name] if name else list(FIT_RESOURCES)
        unknown = [n for n in names if n not in FIT_RESOURCES]
        try:
            number = float(value.rstrip("%"))
        except ValueError:
            number = -1
        if unknown or number < 0:
            raise FoldingError(f"resource limit '{item}': expected RESOURCE=COUNT, RESOURCE=PERCENT% or PERCENT% "
                               f"with RESOURCE one of {', '.join(FIT_RESOURCES)}")
        for n in names:
            budget[n] = int(board.resources[n] * number / 100) if value.endswith("%") else int(number)
    return budget


def optimize(model, part, clock_mhz, budget, target_fps=None, cost_model=DEFAULT_COST_MODEL):
    """(a copy of `model` folded by the optimizer, a summary of the choice), resources by `cost_model`.

    With `target_fps`, the least-LUT legal folding that meets it (or, beyond the graph's reach, the
    fastest one); without, the fastest folding that fits `budget` ({LUT, BRAM36, URAM, DSP} -> count).
    Raises FoldingError if the folding does not fit the budget, naming what it needs."""
    space = FoldingSpace(model, part, cost_model)
    fastest_fps = clock_mhz * 1e6 / space.fastest_cycles
    if target_fps is None:
        plan = space.fastest_within(budget)
        if plan is None:
            slowest = max(space.budgets())
            smallest = space.cheapest(slowest)
            message = f"no folding fits the budget: even the smallest needs {_overrun(smallest, budget)}"
            if space.traded and smallest.over(budget) == ["LUT"]:
                message += (f"; trading every LUT it can for DSPs and block RAM, "
                            f"{_overrun(space.fewest_luts(slowest), budget)}")
            raise FoldingError(message)
    else:
        budget_cycles = max(frame_cycles(target_fps, clock_mhz), space.fastest_cycles)
        plan = space.cheapest_within(budget_cycles, budget) or space.cheapest(budget_cycles)
        if plan.over(budget):
            fitting = space.fastest_within(budget)
            raise FoldingError(f"target {target_fps:g} fps needs {_overrun(plan, budget)}" + (
                f"; the fastest folding within the budget reaches {clock_mhz * 1e6 / fitting.cycles:.0f} fps"
                if fitting else "; no folding fits the budget"))
    folded = apply(model, plan.config, source="folding optimizer")
    met = target_fps is None or plan.cycles <= frame_cycles(target_fps, clock_mhz)
    return folded, {**plan.point(clock_mhz), "target_fps": target_fps, "met": met, "fastest_fps": fastest_fps}


def _overrun(plan, budget):
    return ", ".join(f"{plan.totals[r]} {r} (budget {budget[r]})" for r in plan.over(budget))
