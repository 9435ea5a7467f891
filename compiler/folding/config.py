"""The folding config in FINN's JSON format, read from and written to the graph's node attributes.

    {"Defaults": {"ram_style": ["block", ["MVAU_hls"]]},
     "MVAU_hls_0": {"PE": 16, "SIMD": 96, "ram_style": "auto", ...}, ...}

"Defaults" maps an attribute to [value, op types or "all", value, op types, ...], as in FINN's
ApplyConfig; a node's own entry wins over a default.
"""
import json
from pathlib import Path

from onnx import NodeProto
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from compiler.fileio import write_json
from compiler.folding.rules import (
    FIFO_ATTRS, FOLDING_ATTRS, WIDEST_WORD_WHY, FoldingError, configurable_attrs, converter_too_wide, coupled,
    hw_nodes, rules, too_wide,
)

_TYPE_NAMES = {"i": "an integer", "f": "a number", "s": "a string", "ints": "a list of integers"}


def _show(value):
    return json.dumps(value)


def extract(model, fifo_depths=False):
    """The current folding attributes of every HW node, as FINN writes them (Defaults first); with
    fifo_depths, also the depth of the FIFO in front of each of its inputs (inFIFODepths)."""
    config = {"Defaults": {}}
    wanted = FOLDING_ATTRS + (("inFIFODepths",) if fifo_depths else ())
    for name, node in hw_nodes(model).items():
        inst = getCustomOp(node)
        attrs = {a: inst.get_nodeattr(a) for a in configurable_attrs(inst) if a in wanted}
        if attrs:
            config[name] = attrs
    return config


def _resolve(config, hw, problems):
    """node name -> {attr: value} the config asks for, Defaults expanded; appends what is malformed."""
    if not isinstance(config, dict):
        problems.append(f"a folding config is a JSON object of node names, got {_show(config)}")
        return {}
    wanted = {name: {} for name in hw}
    defaults = config.get("Defaults", {})
    if not isinstance(defaults, dict):
        problems.append(f"Defaults must be an object, got {_show(defaults)}")
        defaults = {}
    graph_ops = list(dict.fromkeys(n.op_type for n in hw.values()))
    for attr, spec in defaults.items():
        if not (isinstance(spec, list) and spec and len(spec) % 2 == 0):
            problems.append(f'Defaults: {attr}={_show(spec)}: expected [value, ["OpType", ...] or "all", ...]')
            continue
        for value, ops in zip(spec[::2], spec[1::2]):
            ops = [ops] if isinstance(ops, str) and ops != "all" else ops
            if ops == "all":
                # FINN would fail on nodes without the attribute; "all" means all that have it.
                targets = [n for n in hw.values() if attr in configurable_attrs(getCustomOp(n))]
            elif isinstance(ops, list) and all(isinstance(op, str) for op in ops):
                targets = [n for n in hw.values() if n.op_type in ops]
                absent = [op for op in ops if op not in graph_ops]
                if absent:
                    # typically a generic name (MVAU) where the graph has specialized ones (MVAU_hls)
                    problems.append(f"Defaults: {attr}: no HW node has op type {', '.join(map(_show, absent))}; "
                                    f"the graph has {', '.join(graph_ops)}")
            else:
                problems.append(f'Defaults: {attr}: expected a list of op types or "all", got {_show(ops)}')
                continue
            for node in targets:
                wanted[node.name][attr] = value
    for name, attrs in config.items():
        if name == "Defaults":
            continue
        if name not in hw:
            # The width converters the build inserts after folding carry only FIFO depths: kept for then.
            if not (isinstance(attrs, dict) and attrs and set(attrs) <= set(FIFO_ATTRS)):
                problems.append(f"no HW node named {_show(name)}; the HW nodes are: {', '.join(hw)}")
        elif not isinstance(attrs, dict):
            problems.append(f"{name}: expected an object of attributes, got {_show(attrs)}")
        else:
            wanted[name].update(attrs)
    return {name: attrs for name, attrs in wanted.items() if attrs}


def _check(model, config, source):
    """Validate and return the resolved config; raise FoldingError listing every problem."""
    hw = hw_nodes(model)
    problems = []
    wanted = _resolve(config, hw, problems)
    # Legality is judged on a copy of each node with all its new values set, since one attribute's
    # legal values can depend on another's (e.g. SIMD on parallel_window).
    insts = {name: getCustomOp(node) for name, node in hw.items()}
    broken = set()      # nodes with illegal values
    for name, attrs in wanted.items():
        copy = NodeProto()
        copy.CopyFrom(hw[name])
        inst = insts[name] = getCustomOp(copy)
        where = f"{name} ({copy.op_type})"
        known = configurable_attrs(inst)
        settable = {}
        for attr, value in attrs.items():
            if attr not in known:
                problems.append(f"{where}: {_show(attr)} is not a folding attribute of {copy.op_type}; "
                                f"it has {', '.join(known)}")
                continue
            expected = _TYPE_NAMES.get(inst.get_nodeattr_def(attr)[0], "another type")
            if isinstance(value, bool):         # JSON true/false, which Python would take as 1/0
                problems.append(f"{where}: {attr}={_show(value)} has the wrong type: expected {expected}")
                continue
            try:
                inst.set_nodeattr(attr, value)
            except TypeError:
                problems.append(f"{where}: {attr}={_show(value)} has the wrong type: expected {expected}")
                continue
            except ValueError:
                pass  # outside the op's fixed set of values: reported below with the legal ones
            settable[attr] = value
        # Every attribute of a touched node is checked: a new value can make an old one illegal.
        illegal = [f"{where}: {attr}={_show(settable.get(attr, inst.get_nodeattr(attr)))} is not legal: {why}; "
                   f"legal values: {', '.join(map(_show, values)) or 'none'}"
                   for attr, (values, why) in rules(inst).items()
                   if settable.get(attr, inst.get_nodeattr(attr)) not in values]
        problems += illegal
        # word widths mean something for legal values only
        if not illegal and too_wide(inst):
            problems.append(f"{where}: {too_wide(inst)}; {WIDEST_WORD_WHY}")
        elif illegal:
            broken.add(name)
    for producer, p_attr, consumer, c_attr in coupled(model):
        if producer.name in wanted or consumer.name in wanted:
            p_val = insts[producer.name].get_nodeattr(p_attr)
            c_val = insts[consumer.name].get_nodeattr(c_attr)
            if p_val != c_val:
                problems.append(f"{producer.name} ({producer.op_type}): {p_attr}={p_val} must equal "
                                f"{c_attr}={c_val} of {consumer.name} ({consumer.op_type}), "
                                "which consumes its depthwise windows")
    if not broken:
        problems += _converter_problems(model, hw, insts, wanted)
    if problems:
        raise FoldingError(f"{source}: {len(problems)} problem(s) in the folding config:\n"
                           + "\n".join(f"  {p}" for p in problems))
    return wanted


def _converter_problems(model, hw, insts, wanted):
    """The streams into or out of a touched node whose width converter (the build inserts one where a
    producer's words differ from its consumer's) would be too wide."""
    problems = []
    for name, node in hw.items():
        for index, tensor in enumerate(node.output):
            for consumer in model.find_consumers(tensor):
                if consumer.name not in hw or not {name, consumer.name} & set(wanted):
                    continue
                port = [t for t in consumer.input if model.get_initializer(t) is None].index(tensor)
                why = converter_too_wide(insts[name].get_outstream_width(index),
                                         insts[consumer.name].get_instream_width(port))
                if why:
                    problems.append(f"{name} -> {consumer.name}: {why}; {WIDEST_WORD_WHY}")
    return problems


def validate(model, config, source="folding.json"):
    """Raise FoldingError listing every unknown node, unknown attribute and illegal value in `config`."""
    _check(model, config, source)


class _SetAttributes(Transformation):
    def __init__(self, wanted):
        super().__init__()
        self.wanted = wanted

    def apply(self, model):
        for node in model.graph.node:
            for attr, value in self.wanted.get(node.name, {}).items():
                getCustomOp(node).set_nodeattr(attr, value)
        return model, False


def apply(model, config, source="folding.json"):
    """A copy of `model` with the (validated) config's attributes set on its nodes."""
    return model.transform(_SetAttributes(_check(model, config, source)))


def apply_fifo_depths(model, config):
    """A copy of `model` with the FIFO depths (inFIFODepths) of `config` set on the nodes it has."""
    wanted = {name: {"inFIFODepths": attrs["inFIFODepths"]} for name, attrs in config.items()
              if name != "Defaults" and isinstance(attrs, dict) and "inFIFODepths" in attrs}
    return apply(model, {name: attrs for name, attrs in wanted.items() if name in hw_nodes(model)})


def load(path):
    """Read a folding config (FINN's folding_config.json format)."""
    path = Path(path)
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise FoldingError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise FoldingError(f"{path}: a folding config is a JSON object of node names")
    return config


_ATTR_ORDER = {attr: i for i, attr in enumerate(FOLDING_ATTRS + FIFO_ATTRS)}


def _attr_key(item):
    return _ATTR_ORDER.get(item[0], len(_ATTR_ORDER)), item[0]


def save(config, path):
    """Write `config` atomically: Defaults first, nodes in the given order, attributes in FINN's order."""
    ordered = {"Defaults": config.get("Defaults", {})}
    for name, attrs in config.items():
        if name != "Defaults":
            ordered[name] = dict(sorted(attrs.items(), key=_attr_key))
    write_json(ordered, path)
