"""Weights the challenge teams published, in their own module layouts, into the zoo's modules.

    python -m models.importer --model bacalhau [--from bacalhaunet] team.pth -o weights.pt

A team's state_dict is first renamed to the zoo's model "as published" (`<name>-faithful`): each
layout is a list of key rewrites, plus what a layout needs besides renaming (Imperial's pruning
masks made permanent, its auxiliary training heads dropped). A hardware variant (`bacalhau`,
`aaronnet32`, ...) then takes the published model's weights module by module, in forward order:
it differs only by the activation quantizers it adds (their scales are calibrated on data, with the
BatchNorm statistics and every loaded scale kept) and by the biases it drops before a BatchNorm
(folded exactly into that BatchNorm's running mean). `make build|cost|eval CKPT=team.pth` does the
same on the fly when it recognises a layout.
"""
import argparse
import re
from dataclasses import dataclass

import brevitas.nn as qnn
import torch
from torch import nn

from models import registry
from models.calibration import calibrate
from models.errors import UserError, add_verbose_flag, run_cli, writable_file

# A scale may not be an exact small-integer ratio of another one: a sum of two quantized tensors
# re-quantized at exactly twice their scale puts every odd sum on a rounding boundary (3,040 of
# BacalhauNet's did), where float rounding in PyTorch and integer rounding in hardware part ways.
RATIO_DENOMINATORS = range(1, 9)
RATIO_TOLERANCE = 1e-6
NUDGE = 1 + 2 ** -10
CALIBRATION_BATCHES, CALIBRATION_BATCH = 8, 32


@dataclass(frozen=True)
class Layout:
    name: str
    team: str
    signature: str              # a key that only this layout has
    faithful: tuple             # the zoo models "as published" it loads into
    rules: tuple                # (regex, replacement) over keys, the first that matches applies
    dropped: tuple = ()         # key prefixes of training-only parts

    def rename(self, key):
        for pattern, replacement in self.rules:
            renamed, hits = re.subn(pattern, replacement, key)
            if hits:
                return renamed
        return None


def _shifted(pattern, fmt, offset):
    """A rule whose pattern's group 1 is a layer index, renumbered by `offset`."""
    return (pattern, lambda m: fmt.format(int(m[1]) + offset))


LAYOUTS = {layout.name: layout for layout in [
    # rules rewrite a key's module prefix; the rest of the key is the same in both layouts
    Layout("bacalhaunet", "BacalhauNet (ITU-ML5G-PS-007-BacalhauNet)", "conv.0.dw.conv.weight",
           ("bacalhau-faithful",), (
               (r"^hardtan\.", lambda m: "0."),
               _shifted(r"^conv\.(\d+)\.dw\.conv\.", "{}.depthwise.0.", 1),
               _shifted(r"^conv\.(\d+)\.dw\.norm\.", "{}.depthwise.1.", 1),
               _shifted(r"^conv\.(\d+)\.dw\.relu\.", "{}.depthwise.2.", 1),
               _shifted(r"^conv\.(\d+)\.pw\.conv\.", "{}.pointwise.0.", 1),
               _shifted(r"^conv\.(\d+)\.pw\.norm\.", "{}.pointwise.1.", 1),
               _shifted(r"^conv\.(\d+)\.pw\.relu\.", "{}.out_act.", 1),
               (r"^fc\.", lambda m: "8."))),
    Layout("aaronnet", "AaronNet (ITU-ML5G-PS-007-Aaronica)", "expand.branch1.0.weight",
           ("aaronnet32-faithful", "aaronnet48-faithful"), (
               _shifted(r"^expand\.branch(\d+)\.", "msc.{}.", -1),
               # a block is 5 layers and its MaxPool in the zoo's one flat Sequential
               (r"^feats\.(\d+)\.block\.(\d+)\.", lambda m: f"blocks.{6 * int(m[1]) + int(m[2])}."),
               _shifted(r"^classifier\.(\d+)\.", "head.{}.", 2))),       # after the MaxPool and Flatten
    Layout("imperial", "Imperial_IPC1 (PS-007 Imperial_IPC)", "momentum_features.1.weight_orig",
           ("imperial-faithful",), (
               _shifted(r"^features\.(\d+)\.", "conv_branch.{}.", -1),  # the zoo's branch starts at its input quantizer
               (r"^momentum_features\.", lambda m: "stats_branch."),
               (r"^classifier\.", lambda m: "head.")),
           dropped=("classifier_momentum.", "classifier_conv.")),
]}


def recognise(state):
    """The Layout whose signature key `state` holds, or None."""
    return next((layout for layout in LAYOUTS.values() if layout.signature in state), None)


def _pruned(state):
    """`x_orig * x_mask` for torch.nn.utils.prune's pairs (pruning made permanent)."""
    out = {k: v for k, v in state.items() if not k.endswith(("_orig", "_mask"))}
    for key in (k for k in state if k.endswith("_orig")):
        base = key[:-len("_orig")]
        mask = state.get(base + "_mask")
        if mask is None:
            raise UserError(f"{key} has no {base}_mask beside it: not a torch.nn.utils.prune state")
        out[base] = state[key] * mask
    return out


def to_faithful(state, layout):
    """A team's state_dict as the state_dict of the zoo's published model; every key is renamed or
    dropped as a training-only part, else a UserError names the keys the layout does not know."""
    state = _pruned(state)
    renamed, unknown = {}, []
    for key, value in state.items():
        if key.startswith(layout.dropped):
            continue
        new = layout.rename(key)
        (unknown.append(key) if new is None else renamed.__setitem__(new, value))
    if unknown:
        raise UserError(f"{len(unknown)} keys of the {layout.team} layout are not known to the importer: "
                        f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    return renamed


# Modules whose state a hardware variant takes from the published model, in forward order
_CARRIERS = (nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, qnn.QuantReLU, qnn.QuantHardTanh,
             qnn.QuantIdentity)
_ADDED = (qnn.QuantReLU, qnn.QuantIdentity)


def _carriers(module):
    return [(name, m) for name, m in module.named_modules() if isinstance(m, _CARRIERS)]


def to_variant(faithful_state, faithful, variant):
    """The published model's state (of module `faithful`) as a state of module `variant`, and the
    names of the activation quantizers `variant` adds. Modules pair up in forward order by type;
    a bias the variant drops is folded into the BatchNorm that follows it."""
    source, target = _carriers(faithful), _carriers(variant)
    state, added, pending_bias, i = {}, [], None, 0
    for name, module in target:
        if i < len(source) and type(source[i][1]) is type(module):
            src = source[i][0]
            for key, value in faithful_state.items():
                if key.startswith(src + "."):
                    state[name + key[len(src):]] = value
            if getattr(source[i][1], "bias", None) is not None and getattr(module, "bias", True) is None:
                pending_bias = state.pop(f"{name}.bias")
            elif pending_bias is not None:
                if not isinstance(module, nn.modules.batchnorm._BatchNorm):
                    raise UserError(f"cannot drop the bias before {name} ({type(module).__name__}): only a BatchNorm "
                                    "can absorb it")
                state[f"{name}.running_mean"] = state[f"{name}.running_mean"] - pending_bias
                pending_bias = None
            i += 1
        elif isinstance(module, _ADDED):
            added.append(name)
        else:
            want = source[i][0] if i < len(source) else "nothing"
            raise UserError(f"the published model and the hardware variant differ at {name} "
                            f"({type(module).__name__}; the published model has {want} there)")
    if i < len(source):
        raise UserError(f"the hardware variant has no place for {source[i][0]} of the published model")
    return state, added


def _scales(module):
    """{quantizer name: (its scale, the parameter it is value / max integer of)} of every activation
    quantizer with a learned or calibrated scale."""
    scales = {}
    for name, m in module.named_modules():
        scaling = getattr(getattr(m, "fused_activation_quant_proxy", None), "tensor_quant", None)
        value = getattr(getattr(scaling, "scaling_impl", None), "value", None)
        if isinstance(value, nn.Parameter):
            max_int = scaling.int_scaling_impl(scaling.msb_clamp_bit_width_impl())
            scales[name.removesuffix(".act_quant").removesuffix(".input_quant")] = (float(value.detach() / max_int), value)
    return scales


def _nudge_ratios(module, added, log):
    """Move each added quantizer's scale off any small-integer ratio p/q to another scale."""
    scales = _scales(module)
    for name in added:
        scale, value = scales[name]
        for other, (reference, _) in scales.items():
            ratio = scale / reference
            if other != name and any(abs(ratio * q - round(ratio * q)) < RATIO_TOLERANCE * q for q in RATIO_DENOMINATORS):
                with torch.no_grad():
                    value.mul_(NUDGE)
                log(f"{name}: its calibrated scale was {ratio:g} x {other}'s; moved by 2^-10 off the rounding boundaries")
                break


def calibration_frames(spec, data=None):
    """Frames to calibrate added quantizers on, and what they are: the train split of `data` (a
    RadioML file), else of the synthetic RadioML file."""
    from models import radioml

    frames = radioml.load(data or radioml.ensure_synthetic(), "train", snr_min=spec.train_snr_min,
                          limit=CALIBRATION_BATCHES * CALIBRATION_BATCH, length=spec.input_shape[-1])[0]
    return frames, f"{len(frames)} frames of {'DATA' if data else 'synthetic RadioML (no DATA given)'}"


def _calibrate_added(module, added, frames):
    """Scales for the added quantizers from training-mode passes with every BatchNorm in eval mode
    (their statistics are the team's) and every loaded scale fixed."""
    module.train()
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
    with torch.no_grad():
        for batch in range(0, len(frames), CALIBRATION_BATCH):
            module(torch.as_tensor(frames[batch:batch + CALIBRATION_BATCH]))
    for name in added:                                  # the statistics so far become the scale
        module.get_submodule(name).act_quant.fused_activation_quant_proxy.tensor_quant.scaling_impl.init_scale()
    module.eval()


def faithful_name(spec):
    """The zoo's published model that `spec`'s weights come from (itself for a published one)."""
    full = registry.get(spec.extra["full_model"]) if "full_model" in spec.extra else spec
    return full.extra.get("published", full.name)


def import_module(spec, state, layout, data=None, log=print):
    """The module of `spec` holding a team's published `state` (of `layout`); see the module docs."""
    target = faithful_name(spec)
    if target not in layout.faithful:
        raise UserError(f"the checkpoint holds {layout.team} weights, which load into "
                        f"{', '.join(n.removesuffix('-faithful') + ' or ' + n for n in layout.faithful)}, "
                        f"not MODEL={spec.name}")
    faithful = registry.get(target).build()
    faithful_state = to_faithful(state, layout)
    _load_strict(faithful, faithful_state, [], target)
    if spec.name == target:
        return faithful.eval()
    full = registry.get(spec.extra.get("full_model", spec.name))
    variant = full.build()
    variant_state, added = to_variant(faithful.state_dict(), faithful, variant)
    _load_strict(variant, variant_state, added, full.name)
    submodule = spec.extra.get("submodule")
    added = [a for a in added if not submodule or a.startswith(submodule + ".")]
    if added:
        frames, described = calibration_frames(full, data)
        log(f"{full.name}: {len(added)} activation quantizers the published model does not have "
            f"({', '.join(added)}): calibrated on {described}")
        _calibrate_added(variant, added, frames)
        _nudge_ratios(variant, added, log)
    return (variant.get_submodule(submodule) if submodule else variant).eval()


def _load_strict(module, state, added, name):
    """load_state_dict in which only the scales of the `added` quantizers may be missing."""
    result = module.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not any(k.startswith(a + ".") for a in added)]
    if missing or result.unexpected_keys:
        raise UserError(f"the imported weights do not fit {name}: missing {', '.join(missing[:4]) or 'none'}; "
                        f"unexpected {', '.join(result.unexpected_keys[:4]) or 'none'}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models.importer", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="the team's .pth (a state_dict, saved on CPU or GPU)")
    parser.add_argument("--model", required=True, help="zoo model to load it into, e.g. bacalhau or bacalhau-faithful")
    parser.add_argument("--from", dest="layout", choices=sorted(LAYOUTS), help="the team's layout (default: recognised)")
    parser.add_argument("-o", "--out", required=True, help="checkpoint to write (the project's format)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)

    def run():
        from models.train import read_checkpoint, save_checkpoint

        spec = registry.get(args.model)
        out = writable_file(args.out, "--out")
        state = read_checkpoint(args.checkpoint)["state_dict"]
        layout = LAYOUTS[args.layout] if args.layout else recognise(state)
        if layout is None:
            raise UserError(f"{args.checkpoint}: no known team layout ({', '.join(sorted(LAYOUTS))}); give --from")
        module = import_module(spec, state, layout)
        save_checkpoint(out, spec, module, {"imported_from": str(args.checkpoint), "layout": layout.name})
        print(f"wrote {out}: {layout.team} weights as {spec.name}")

    return run_cli(run, args.verbose, "models.importer")


if __name__ == "__main__":
    raise SystemExit(main())
