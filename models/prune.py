"""Magnitude-pruning schedules of the challenge seeds (models.md §2-4) for any registry model: they prune
the weights of its QuantConv and QuantLinear layers, and fine-tune on RadioML after each step.

  bacalhau  BacalhauNet: in every layer, l1_unstructured of exactly the weights with |w| < epsilon
            (a threshold on the float weights). Three iterations with (epsilon, weight decay) =
            (0.15, 5e-5), (0.25, 1e-4), (0.25, 1e-5), each followed by 20 fine-tune epochs.
  aaronnet  AaronNet: global_unstructured L1 over all those layers at once, 20 % of the remaining
            weights per step, each step followed by ret_ep*T0 = 2*5 = 10 epochs. The seed retrained
            5 epochs and 10 more only while test accuracy was below 56 %. Its variants: 32+ = 3 steps,
            48+ = 4, 48++ = 7.
  imperial  Imperial_IPC: global L1 at 15 % of the remaining weights, separately over the conv layers
            and the linear layers, each step followed by 20 epochs with the loss
            0.5*CE + 0.5*T^2*KL(teacher || student) at T = 2, where the teacher is the unpruned model.
            The seed's CE was a sum over its output and two training-only auxiliary heads; a registry
            model has one output, so the CE here is over that one. The seed also kept one optimizer
            across steps and stopped below 56.3 % accuracy; here every step starts a fresh optimizer
            and leaves a checkpoint to choose from.

Fine-tuning is train.fit (Adam 0.01, cosine warm restarts T0=5, best epoch kept), with the model's
SNR filter. Masks persist across steps (torch.nn.utils.prune). Each step's checkpoint is made
permanent (prune.remove), so the zeros reach the QONNX export; the hardware still stores them.
Sparsity is counted after weight quantization (Brevitas quant_weight()): a weight that rounds to
zero counts as pruned, as in the challenge score.

    python -m models.prune --model vgg10 --schedule bacalhau|aaronnet|imperial [--steps N]
                           [--ckpt checkpoints/vgg10.pt] [--data GOLD_XYZ_OSC.0001_1024.hdf5] [--out PATH]
"""
import argparse
import copy
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import brevitas.nn as qnn
import torch
from torch.nn import functional as F
from torch.nn.utils import prune

import models
from models import radioml, train
from models.errors import MissingFileError, UserError, add_verbose_flag, run_cli, whole_number, writable_file

CONV = (qnn.QuantConv1d, qnn.QuantConv2d)
LINEAR = (qnn.QuantLinear,)
PRUNABLE = CONV + LINEAR
BACALHAU_ITERATIONS = ((0.15, 5e-5), (0.25, 1e-4), (0.25, 1e-5))     # (epsilon, weight decay), run_config.ods


def prunable_layers(model, types=PRUNABLE):
    """(name, module) of the layers whose weights the schedules prune."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, types)]


def _refresh_masked_weights(model):
    """While a layer is pruned, `weight` is a plain tensor that only the forward pre-hook recomputes
    from weight_orig * weight_mask; recompute it so that pruning and counting see the trained weights.
    Without gradient history, so that the model can be deep-copied (the next forward restores it)."""
    with torch.no_grad():
        for _, layer in prunable_layers(model):
            if hasattr(layer, "weight_orig"):
                layer.weight = layer.weight_orig * layer.weight_mask


def prune_below(model, epsilon):
    """BacalhauNet's rule: in every layer, prune exactly the weights with |w| < epsilon."""
    _refresh_masked_weights(model)
    for _, layer in prunable_layers(model):
        below = int((layer.weight.abs() < epsilon).sum())       # includes the zeros of earlier steps
        already_pruned = int((layer.weight_mask == 0).sum()) if hasattr(layer, "weight_mask") else 0
        # On a pruned layer, an integer amount counts among the weights still unpruned, smallest first.
        prune.l1_unstructured(layer, "weight", amount=below - already_pruned)


def prune_global(model, fraction, types=PRUNABLE):
    """Global L1: prune `fraction` of the still unpruned weights of all layers of `types` together,
    smallest |w| first."""
    _refresh_masked_weights(model)
    layers = [(layer, "weight") for _, layer in prunable_layers(model, types)]
    if layers:
        prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=fraction)


def _imperial_step(model, step):
    prune_global(model, 0.15, CONV)
    prune_global(model, 0.15, LINEAR)


@dataclass(frozen=True)
class Schedule:
    name: str
    prune_step: Callable            # (model, step counted from 0): prunes in place, earlier masks stay
    steps: int                      # the seed's number of steps, the default of --steps
    finetune_epochs: int            # after each step, with the seed recipe
    max_steps: int | None = None
    weight_decays: tuple = ()       # fine-tune weight decay per step; 0 beyond the tuple
    distill: bool = False           # fine-tune against the unpruned model as teacher

    def weight_decay(self, step):
        return self.weight_decays[step] if step < len(self.weight_decays) else 0.0


SCHEDULES = {s.name: s for s in (
    Schedule("bacalhau", lambda model, step: prune_below(model, BACALHAU_ITERATIONS[step][0]), steps=3,
             finetune_epochs=20, max_steps=len(BACALHAU_ITERATIONS),
             weight_decays=tuple(decay for _, decay in BACALHAU_ITERATIONS)),
    Schedule("aaronnet", lambda model, step: prune_global(model, 0.2), steps=3, finetune_epochs=10),
    Schedule("imperial", _imperial_step, steps=9, finetune_epochs=20, distill=True),
)}


def distillation_loss(teacher, temperature=2.0):
    """Imperial's fine-tune loss: 0.5 * CE + 0.5 * T^2 * KL(teacher || student) at temperature T."""
    def loss(scores, labels, frames):
        with torch.no_grad():
            soft_targets = F.softmax(train.unwrap(teacher(frames)) / temperature, dim=1)
        kl = F.kl_div(F.log_softmax(scores / temperature, dim=1), soft_targets, reduction="batchmean")
        return 0.5 * F.cross_entropy(scores, labels) + 0.5 * temperature ** 2 * kl
    return loss


def sparsity(model):
    """Weights and zeros after weight quantization, in total and per prunable layer."""
    _refresh_masked_weights(model)
    layers = []
    with torch.no_grad():
        for name, layer in prunable_layers(model):
            quantized = train.unwrap(layer.quant_weight())
            zeros = int((quantized == 0).sum())
            layers.append({"layer": name, "weights": quantized.numel(), "zeros": zeros,
                           "sparsity": zeros / quantized.numel()})
    weights, zeros = sum(l["weights"] for l in layers), sum(l["zeros"] for l in layers)
    return {"weights": weights, "zeros": zeros, "sparsity": zeros / weights, "layers": layers}


def sparsity_lines(report):
    lines = [f"  {'layer':<28} {'weights':>8} {'zeros':>8} {'sparsity':>9}"]
    for row in report["layers"] + [dict(report, layer="total")]:
        lines.append(f"  {row['layer']:<28} {row['weights']:>8} {row['zeros']:>8} {row['sparsity']:>9.1%}")
    return lines


def make_permanent(model):
    """prune.remove on every pruned layer: the zeros move into `weight` and the masks go, so the
    state_dict and the export hold plain weights with zeros. Returns the model."""
    for _, layer in prunable_layers(model):
        if prune.is_pruned(layer):
            prune.remove(layer, "weight")
    return model


def permanent_copy(model):
    """A copy of a model under pruning with the pruning made permanent; the model keeps its masks."""
    _refresh_masked_weights(model)
    return make_permanent(copy.deepcopy(model))


def step_checkpoint_path(out, step):
    out = Path(out)
    return out.with_name(f"{out.stem}.step{step}{out.suffix}")


def prune_checkpoint(model_name, schedule_name, steps=None, checkpoint=None, data_path=None,
                     recipe=train.QUICK, out=None, seed=0, log=print):
    """Prune the trained weights `checkpoint` (default checkpoints/MODEL.pt) of a registry model with
    a schedule for `steps` steps (default: the seed's), fine-tuning recipe.epochs after each. Writes
    each step's permanent checkpoint to <out>.step<k>.pt and the last one to `out` (default
    checkpoints/MODEL-SCHEDULE.pt); returns the per-step history."""
    spec = models.get(model_name)
    train.require_trainable(spec)
    schedule = SCHEDULES[schedule_name]
    steps = schedule.steps if steps is None else steps
    if not 1 <= steps <= (schedule.max_steps or steps):
        raise UserError(f"schedule '{schedule.name}' takes 1..{schedule.max_steps or 'any'} steps, not {steps}")
    checkpoint = Path(checkpoint) if checkpoint else radioml.REPO_ROOT / "checkpoints" / f"{spec.name}.pt"
    if not checkpoint.is_file():
        raise MissingFileError(f"checkpoint {checkpoint} not found: pruning starts from trained weights; "
                               f"train them first (make train MODEL={spec.name} DATA=...) or pass CKPT=")
    # checked now, not after the fine-tuning
    out = writable_file(out or radioml.REPO_ROOT / "checkpoints" / f"{spec.name}-{schedule.name}.pt", "OUT")
    path = Path(data_path) if data_path else radioml.ensure_synthetic()
    torch.manual_seed(seed)

    model = train.load_checkpoint(checkpoint, spec, log=print)
    limit = recipe.max_batches * recipe.batch_size if recipe.max_batches else None
    stream = radioml.FrameStream(path, "train", snr_min=spec.train_snr_min, limit=limit,
                                 length=spec.input_shape[-1], seed=seed)
    # The seed left its teacher in train mode (batch statistics); eval mode gives it fixed outputs.
    teacher = copy.deepcopy(model).eval().requires_grad_(False) if schedule.distill else None
    loss_fn = distillation_loss(teacher) if schedule.distill else train.cross_entropy
    log(f"{spec.name}: schedule '{schedule.name}', {steps} steps from {checkpoint}; fine-tune recipe "
        f"'{recipe.name}' ({recipe.describe()}) on {len(stream)} train frames of {path} "
        f"(SNR >= {spec.train_snr_min} dB)")
    before = train.evaluate(model, path, stream.length)["overall"]
    log(f"before pruning: test accuracy {before:.4f}")
    for line in sparsity_lines(sparsity(model)):
        log(line)

    history = []
    for step in range(steps):
        schedule.prune_step(model, step)
        log(f"step {step + 1}/{steps}: pruned to {sparsity(model)['sparsity']:.1%} sparsity; fine-tuning "
            f"with weight decay {schedule.weight_decay(step)}")
        metrics = train.fit(model, stream, path, recipe, schedule.weight_decay(step), loss_fn, seed=seed, log=log)
        report = sparsity(model)
        history.append({"step": step + 1, "accuracy": metrics["overall"], "best_epoch": metrics["epoch"],
                        "weight_decay": schedule.weight_decay(step), **report})
        log(f"step {step + 1}/{steps}: test accuracy {metrics['overall']:.4f} (epoch {metrics['epoch']}), "
            f"{report['zeros']}/{report['weights']} weights zero after quantization")
        for line in sparsity_lines(report):
            log(line)
        permanent = permanent_copy(model)
        saved = {**metrics, "accuracy_before_pruning": before, "schedule": schedule.name, "pruning": history}
        train.save_checkpoint(step_checkpoint_path(out, step + 1), spec, permanent, saved)
    train.save_checkpoint(out, spec, permanent, saved)
    log(f"checkpoints written to {out} and {step_checkpoint_path(out, '<k>').name} per step")
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models.prune", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg10", choices=models.names())
    parser.add_argument("--schedule", required=True, choices=sorted(SCHEDULES))
    parser.add_argument("--steps",
                        help="pruning steps (default: the seed's, " +
                             ", ".join(f"{s.name} {s.steps}" for s in SCHEDULES.values()) + ")")
    parser.add_argument("--ckpt", help="trained weights to prune (default: checkpoints/MODEL.pt)")
    train.add_recipe_arguments(parser)
    parser.add_argument("--out", help="pruned checkpoint (default: checkpoints/MODEL-SCHEDULE.pt)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    schedule = SCHEDULES[args.schedule]

    def run():
        recipe = train.recipe_from_args(args)
        if recipe.name == "seed" and args.epochs in (None, ""):
            recipe = replace(recipe, epochs=schedule.finetune_epochs)     # per step, the seed's
        steps = None if args.steps in (None, "") else whole_number(args.steps, "STEPS")
        prune_checkpoint(args.model, schedule.name, steps, args.ckpt, args.data, recipe, args.out, args.seed)

    return run_cli(run, args.verbose, "models.prune")


if __name__ == "__main__":
    sys.exit(main())
