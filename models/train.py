"""Training of registry models on RadioML 2018.01A (or the synthetic stand-in), and the one evaluation
on the test split that training, pruning and `make eval` share.

Two recipes; a run prints which one it uses:
  seed   the challenge seeds' recipe (models.md §0): Adam lr 0.01, CosineAnnealingWarmRestarts(T_0=5,
         T_mult=1) stepped per epoch, batch 1024, 20 epochs, cross entropy, torch.manual_seed(0), the
         model's SNR filter (ModelSpec.train_snr_min) and weight decay (ModelSpec.extra["weight_decay"],
         1e-4 for BacalhauNet). The CLI's default when --data is given.
  quick  the same optimizer for 1 epoch of at most 300 batches of 32: about a minute on 2 idle cores. The
         CLI's default on synthetic data, and what `make build` runs when it has no CKPT.
  finetune  3 such epochs at lr 0.001, from the weights of --ckpt (make finetune): e.g. a challenge
         team's published model in its hardware variant, whose added quantizers were calibrated; it
         reports how often the variant predicts like the published model, before and after.
Both keep the weights of the best epoch, as BacalhauNet did. Like the seeds, which had no validation
split, they pick it by test accuracy, so the reported accuracy is slightly optimistic.

The train split is streamed from the HDF5 file a chunk at a time (radioml.FrameStream), because the
real one is 18.8 GB as float32.

    python -m models.train --model vgg10 [--data GOLD_XYZ_OSC.0001_1024.hdf5] [--recipe seed|quick|finetune]
                           [--ckpt START.pt] [--out PATH]
"""
import argparse
import copy
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from brevitas.quant_tensor import QuantTensor
from torch import nn

import models
from models import images, progress, radioml
from models.calibration import calibrate
from models.errors import (
    MissingFileError, UserError, add_verbose_flag, positive_number, run_cli, whole_number, writable_file,
)

EVAL_BATCH = 256
LOG_EVERY = 100             # batches between progress lines inside an epoch


@dataclass(frozen=True)
class Recipe:
    name: str
    epochs: int
    batch_size: int
    max_batches: int | None = None      # per epoch; trains on a fixed random subset of that many batches
    lr: float = 0.01
    restart_epochs: int = 5             # T_0 of CosineAnnealingWarmRestarts (T_mult 1)

    def describe(self):
        subset = f" of at most {self.max_batches} batches" if self.max_batches else ""
        return (f"Adam lr {self.lr}, cosine warm restarts T0={self.restart_epochs}, batch {self.batch_size}, "
                f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}{subset}")


SEED = Recipe("seed", epochs=20, batch_size=1024)
# Small batches give more updates per second of CPU; 300 of them cover the synthetic train split (273).
QUICK = Recipe("quick", epochs=1, batch_size=32, max_batches=300)
# A few epochs of QAT from given weights (a team's published model in its hardware variant), at a
# tenth of the learning rate so that the published weights move, not restart.
FINETUNE = Recipe("finetune", epochs=3, batch_size=32, max_batches=300, lr=0.001)
RECIPES = {r.name: r for r in (SEED, QUICK, FINETUNE)}


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def untrainable_reason(spec):
    """Why training, pruning and evaluation here cannot take `spec` (they need a classifier of whole
    RadioML frames), or None if they can."""
    if spec.dataset != "radioml":
        return (f"model '{spec.name}' ({spec.description}) takes {spec.dataset} input of shape "
                f"{tuple(spec.input_shape)}, but models.train, models.prune and models.evaluate read only "
                f"RadioML 2018.01A files: train it on {spec.dataset} data elsewhere and pass the weights "
                f"with CKPT=")
    full_model = spec.extra.get("full_model")
    if full_model:
        return (f"model '{spec.name}' is the part of '{full_model}' that runs on the FPGA "
                f"({spec.description}), not a classifier of whole frames: train, prune and evaluate "
                f"'{full_model}', whose checkpoint holds these weights (its {spec.extra.get('submodule')})")
    return None


def require_trainable(spec):
    reason = untrainable_reason(spec)
    if reason:
        raise UserError(reason)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

def unwrap(output):
    """The float tensor of a module output (Brevitas layers may return a QuantTensor)."""
    return output.value if isinstance(output, QuantTensor) else output


def predict(model, x):
    """Predicted labels of frames x (N, 2, L), in eval mode and without gradients."""
    model.eval()
    with torch.no_grad():
        return torch.cat([unwrap(model(b)).argmax(1) for b in torch.from_numpy(x).split(EVAL_BATCH)]).numpy()


def evaluate(model, data_path, length):
    """Accuracy of `model` on the whole test split (all SNRs) of a RadioML file; see accuracy_report."""
    stream = radioml.FrameStream(data_path, "test", length=length)
    labels, predictions = [], []
    for x, y, _ in stream.batches(EVAL_BATCH):
        labels.append(y)
        predictions.append(predict(model, x))
    return accuracy_report(np.concatenate(labels), np.concatenate(predictions), stream.snr)


def accuracy_report(labels, predictions, snr):
    """Accuracy overall, per SNR (with frame counts), per class, and the confusion matrix
    (rows: true class, columns: predicted class, both in the order of "classes")."""
    hit = labels == predictions
    n_classes = len(radioml.CLASSES)
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    snrs = np.unique(snr)
    return {"overall": float(hit.mean()),
            "frames": len(hit),
            "per_snr": {int(s): float(hit[snr == s].mean()) for s in snrs},
            "frames_per_snr": {int(s): int((snr == s).sum()) for s in snrs},
            "per_class": {name: float(hit[labels == c].mean())
                          for c, name in enumerate(radioml.CLASSES) if (labels == c).any()},
            "predicted_classes": len(np.unique(predictions)),
            "classes": list(radioml.CLASSES),
            "confusion": confusion.tolist()}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def optimizer_and_scheduler(model, recipe, weight_decay=0.0):
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=recipe.restart_epochs, T_mult=1)
    return optimizer, scheduler


def cross_entropy(scores, labels, frames):
    """The training loss; `frames` is there for losses that need the input (distillation in prune.py)."""
    return nn.functional.cross_entropy(scores, labels)


def fit(model, stream, test_path, recipe, weight_decay=0.0, loss_fn=cross_entropy, seed=0, log=print,
        on_best=None):
    """Train `model` in place for recipe.epochs over `stream` (a radioml.FrameStream of the train split),
    evaluating on the test split of `test_path` after every epoch. The model ends with the weights of
    its best epoch; on_best(metrics) is called at each new best (to write a checkpoint). Returns the
    best epoch's evaluation with "epoch" and the per-epoch "history"."""
    if recipe.epochs < 1 or recipe.batch_size < 2 or len(stream) < 2:
        raise UserError(f"nothing to train: {recipe.epochs} epochs of batch size {recipe.batch_size} on "
                        f"{len(stream)} frames of {stream.path} (each needs at least 1, 2 and 2)")
    optimizer, scheduler = optimizer_and_scheduler(model, recipe, weight_decay)
    shuffle = torch.Generator().manual_seed(seed)
    best, best_state, history = None, None, []
    with progress.bar(recipe.epochs * -(-len(stream) // recipe.batch_size), "batches") as batches:
        for epoch in range(1, recipe.epochs + 1):
            start = time.time()
            lr = optimizer.param_groups[0]["lr"]
            loss, train_accuracy = _train_epoch(model, optimizer, stream, recipe.batch_size, shuffle, loss_fn, log,
                                                batches)
            scheduler.step()
            result = evaluate(model, test_path, stream.length)
            improved = best is None or result["overall"] > best["overall"]
            history.append({"epoch": epoch, "lr": lr, "loss": loss, "train_accuracy": train_accuracy,
                            "test_accuracy": result["overall"], "seconds": round(time.time() - start, 1)})
            log(f"epoch {epoch}/{recipe.epochs}: lr {lr:.5f}, loss {loss:.4f}, train accuracy {train_accuracy:.4f}, "
                f"test accuracy {result['overall']:.4f}{' (best)' if improved else ''}, {time.time() - start:.1f} s")
            if improved:
                best = dict(result, epoch=epoch)
                best_state = copy.deepcopy(model.state_dict())
                if on_best:
                    on_best(dict(best, history=history))
    model.load_state_dict(best_state)
    return dict(best, history=history)


def _train_epoch(model, optimizer, stream, batch_size, generator, loss_fn, log, batches):
    """One pass in random order, counted on the progress bar `batches`; returns the mean loss and
    accuracy over it."""
    model.train()
    order = torch.randperm(len(stream), generator=generator).numpy()
    n_batches = -(-len(stream) // batch_size)
    total_loss = correct = seen = 0
    for i, (x, y, _) in enumerate(stream.batches(batch_size, order), 1):
        batches.advance()
        if len(y) < 2:          # a batch of one frame breaks BatchNorm after the dense layers
            continue
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        scores = unwrap(model(x))
        loss = loss_fn(scores, y, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += (scores.argmax(1) == y).sum().item()
        seen += len(y)
        if i % LOG_EVERY == 0:
            log(f"  batch {i}/{n_batches}: loss {total_loss / seen:.4f}")
    return total_loss / seen, correct / seen


CALIBRATION_BATCHES = 4
# Image classifiers calibrate on more frames: BatchNorm's running statistics move 10 % of the way per
# batch, and a binarized network's signs depend on them.
IMAGE_CALIBRATION_FRAMES, IMAGE_CALIBRATION_BATCH = 512, 32


def train(spec_or_name, data_path=None, recipe=QUICK, seed=0, log=print, out=None, start=None):
    """Train a registry model with `recipe` (data_path None: the synthetic file), fresh or from the
    weights of checkpoint `start` (fine-tuning; a team's published file is imported), and return the
    best epoch's metrics. With `out`, the checkpoint is written at each new best epoch and at the end."""
    spec = _spec(spec_or_name)
    require_trainable(spec)
    torch.manual_seed(seed)
    path = Path(data_path) if data_path else radioml.ensure_synthetic()
    limit = recipe.max_batches * recipe.batch_size if recipe.max_batches else None
    stream = radioml.FrameStream(path, "train", snr_min=spec.train_snr_min, limit=limit,
                                 length=spec.input_shape[-1], seed=seed)
    weight_decay = spec.extra.get("weight_decay", 0.0)
    log(f"{spec.name}: recipe '{recipe.name}' ({recipe.describe()}, weight decay {weight_decay}) on "
        f"{len(stream)} train frames of {path} (SNR >= {spec.train_snr_min} dB), read {radioml.CHUNK_FRAMES} at a time")
    model = load_checkpoint(start, spec, log).train() if start else spec.build()
    published = _published_model(start, spec)
    info = {"recipe": asdict(recipe), "weight_decay": weight_decay, "train_frames": len(stream),
            "data": str(path), "seed": seed, **({"start": str(start)} if start else {})}
    if published:
        info["agreement_before"] = agreement(published, model, path, stream.length)
        log(f"before: predicts like the published model on {100 * info['agreement_before']:.1f} % of the test frames")
    save = (lambda metrics: save_checkpoint(out, spec, model, {**metrics, **info})) if out else None
    start = time.time()
    metrics = {**fit(model, stream, path, recipe, weight_decay, seed=seed, log=log, on_best=save), **info}
    top_snr = max(metrics["per_snr"])
    log(f"best epoch {metrics['epoch']}/{recipe.epochs}: test accuracy {metrics['overall']:.4f} on "
        f"{metrics['frames']} frames ({metrics['per_snr'][top_snr]:.4f} at {top_snr} dB, "
        f"{metrics['predicted_classes']} classes predicted), {time.time() - start:.1f} s")
    if published:
        metrics["agreement_after"] = agreement(published, model, path, stream.length)
        log(f"after: predicts like the published model on {100 * metrics['agreement_after']:.1f} % of the test frames")
    if out:
        save_checkpoint(out, spec, model, metrics)
        log(f"checkpoint written to {out}")
    return metrics


def _published_model(start, spec):
    """The model as its team published it, when `start` is their file and `spec` a hardware variant."""
    from models import importer

    if not start or spec.name == importer.faithful_name(spec):
        return None
    checkpoint = read_checkpoint(start)
    if "model" in checkpoint or not importer.recognise(checkpoint["state_dict"]):
        return None
    return load_checkpoint(start, importer.faithful_name(spec))


def agreement(a, b, data_path, length):
    """The share of the test split's frames on which models a and b predict the same class."""
    same = total = 0
    for x, _, _ in radioml.FrameStream(data_path, "test", length=length).batches(EVAL_BATCH):
        same += int((predict(a, x) == predict(b, x)).sum())
        total += len(x)
    return same / total


def _spec(spec_or_name):
    return models.get(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name


def weights_for_build(spec_or_name, out, data_path=None, log=print):
    """Weights a build can verify with, written to `out` as a checkpoint of the model:
    - a RadioML classifier: trained with the quick recipe;
    - the FPGA part of a larger model (extra full_model + submodule): the full model is trained and
      its submodule's weights are kept;
    - a model of another dataset: BatchNorm statistics and activation scales are calibrated, not
      trained, so its outputs mean nothing but exercise every layer: on MNIST or CIFAR-10 frames
      (of DATA, else synthetic ones that look like them, models/images.py), on seeded random frames
      for other data."""
    spec = _spec(spec_or_name)
    full_name = spec.extra.get("full_model")
    if full_name:
        full_out = Path(out).with_name(f"{full_name}.pt")
        metrics = train(full_name, data_path, out=full_out, log=log)
        part = getattr(load_checkpoint(full_out, full_name), spec.extra["submodule"])
        save_checkpoint(out, spec, part, {**metrics, "from": full_name})
        log(f"{spec.name}: weights of {full_name}.{spec.extra['submodule']}")
    elif spec.dataset in images.SHAPES:
        frames, described = images.frames_for(spec.dataset, data_path, IMAGE_CALIBRATION_FRAMES)
        log(f"{spec.name}: calibrating BatchNorm and quantizer statistics on {described}; untrained, so "
            "its predictions are meaningless, the hardware check is not")
        torch.manual_seed(0)
        batches = -(-len(frames) // IMAGE_CALIBRATION_BATCH)      # DATA may hold fewer frames
        model = calibrate(spec.build(), spec.input_shape, batches, IMAGE_CALIBRATION_BATCH, frames=frames)
        save_checkpoint(out, spec, model, {"calibrated_on": described})
    elif spec.dataset != "radioml":
        log(f"{spec.name}: no {spec.dataset} data here; calibrating BatchNorm and quantizer statistics on "
            "random frames (untrained: predictions are meaningless, the hardware check is not)")
        torch.manual_seed(0)
        model = calibrate(spec.build(), spec.input_shape, CALIBRATION_BATCHES)
        save_checkpoint(out, spec, model, {"calibrated_on": "uniform random frames"})
    else:
        train(spec, data_path, out=out, log=log)


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------

def write_atomic(path, write):
    """Call write(temporary path) next to `path`, then rename it to `path`: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)            # mkstemp creates it readable by its owner only
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_checkpoint(path, spec, model, metrics):
    """Write {model, state_dict, metrics, input_shape, bits?} atomically (bits: per-layer widths, models/bits.py)."""
    checkpoint = {"model": spec.name, "state_dict": model.state_dict(), "metrics": metrics,
                  "input_shape": tuple(spec.input_shape),
                  **({"bits": spec.extra["bits"]} if "bits" in spec.extra else {})}
    write_atomic(path, lambda tmp: torch.save(checkpoint, tmp))


def _is_state_dict(value):
    return isinstance(value, dict) and bool(value) and all(isinstance(v, torch.Tensor) for v in value.values())


def read_checkpoint(path):
    """{state_dict, model?, ...} from `path`: a checkpoint as make train writes it, or a plain
    state_dict (saved on CPU or GPU); a UserError if it is missing or is neither."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"checkpoint {path} not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:      # torch's several error types come with advice that does not apply here
        raise UserError(f"checkpoint {path} cannot be read: it is not a file torch.save wrote of tensors and "
                        "plain values (a pickled module is not taken), or it is truncated or corrupt "
                        f"({type(error).__name__})") from None
    if _is_state_dict(checkpoint):
        return {"state_dict": checkpoint}
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        return checkpoint
    found = (f"a dict of {', '.join(map(str, list(checkpoint)[:6]))}{' ...' if len(checkpoint) > 6 else ''}"
             if isinstance(checkpoint, dict) else f"a {type(checkpoint).__name__}")
    raise UserError(f"checkpoint {path} holds {found}: expected a state_dict (names to tensors) or a checkpoint as "
                    "make train writes it ({model, state_dict, ...})")


def load_weights(module, checkpoint, path, model_name):
    """Load a read_checkpoint() dict into `module`; a UserError if its weights do not fit."""
    try:
        module.load_state_dict(checkpoint["state_dict"])
    except (RuntimeError, ValueError, KeyError) as error:
        summary = " ".join(str(error).split())
        raise UserError(f"checkpoint {path} does not fit model '{model_name}': "
                        f"{summary[:300]}{'...' if len(summary) > 300 else ''}") from None


def load_checkpoint(path, spec, log=lambda *_: None):
    """The model of `spec` (a ModelSpec or registry name) with the checkpoint's weights, in eval mode.
    A plain state_dict in a challenge team's layout is imported (models/importer.py, told to `log`)."""
    from models import importer

    spec = _spec(spec)
    checkpoint = read_checkpoint(path)
    if checkpoint.get("model", spec.name) != spec.name:
        raise UserError(f"checkpoint {path} holds model '{checkpoint.get('model')}', not '{spec.name}'")
    # Brevitas keeps constant bit widths out of the state_dict: weights of other widths would load
    if "model" in checkpoint and checkpoint.get("bits") != spec.extra.get("bits"):
        def widths(bits):
            return f"bitw {bits['bitw']} bita {bits['bita']}" if bits else "the registry's widths"
        raise UserError(f"checkpoint {path} was trained at {widths(checkpoint.get('bits'))}, not at "
                        f"{widths(spec.extra.get('bits'))}: give BITS= the file it was trained with")
    layout = None if "model" in checkpoint else importer.recognise(checkpoint["state_dict"])
    if layout:
        log(f"{path}: a state_dict in the layout of {layout.team}; imported into {spec.name}")
        return importer.import_module(spec, checkpoint["state_dict"], layout, log=log)
    model = spec.build()
    load_weights(model, checkpoint, path, spec.name)
    return model.eval()


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def add_recipe_arguments(parser):
    parser.add_argument("--data", help="RadioML 2018.01A HDF5 file (default: synthetic data)")
    parser.add_argument("--recipe", choices=sorted(RECIPES),
                        help="seed: the seeds' full recipe (default with --data); quick: a short CPU run "
                             "(default on synthetic data); finetune: 3 short epochs at lr 0.001 (default with --ckpt)")
    # checked by recipe_from_args, so that a wrong value names its legal range
    parser.add_argument("--epochs", help="override the recipe's epochs")
    parser.add_argument("--batch-size", help="override the recipe's batch size")
    parser.add_argument("--max-batches", help="override the recipe's batches per epoch (0: all)")
    parser.add_argument("--lr", help="override the recipe's learning rate")
    parser.add_argument("--seed", default="0")


def recipe_from_args(args):
    """The recipe named by --recipe (default: seed on real data, quick on synthetic) with the overrides,
    each checked. Checks --seed too, and makes it an int."""
    args.seed = whole_number(args.seed, "--seed", minimum=0)
    recipe = RECIPES[args.recipe or ("finetune" if getattr(args, "ckpt", None) else "seed" if args.data else "quick")]
    overrides = {"epochs": lambda: whole_number(args.epochs, "--epochs"),
                 "batch_size": lambda: whole_number(args.batch_size, "--batch-size", minimum=2),
                 "lr": lambda: positive_number(args.lr, "--lr")}
    recipe = replace(recipe, **{k: check() for k, check in overrides.items() if getattr(args, k) not in (None, "")})
    if args.max_batches not in (None, ""):
        recipe = replace(recipe, max_batches=whole_number(args.max_batches, "--max-batches", minimum=0) or None)
    return recipe


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg10", choices=models.names())
    add_recipe_arguments(parser)
    parser.add_argument("--ckpt", help="start from these weights (fine-tuning; e.g. a challenge team's published "
                                       "file, imported); default: a fresh model")
    parser.add_argument("--out", help="checkpoint path (default: checkpoints/MODEL.pt in the repo; make: OUT=)")
    parser.add_argument("--bits", help="per-layer bit widths (a file make search wrote; models/bits.py)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)

    def run():
        from models.bits import with_bits

        recipe = recipe_from_args(args)
        spec = with_bits(models.get(args.model), args.bits) if args.bits else models.get(args.model)
        require_trainable(spec)
        # checked now, not after hours of training
        stem = f"{args.model}-{Path(args.bits).stem}" if args.bits else args.model
        out = writable_file(args.out or radioml.REPO_ROOT / "checkpoints" / f"{stem}.pt", "OUT")
        if args.ckpt:
            load_checkpoint(args.ckpt, spec)      # the weights fit: checked before training, too
        train(spec, data_path=args.data, recipe=recipe, seed=args.seed, out=out, start=args.ckpt)

    return run_cli(run, args.verbose, "models.train")


if __name__ == "__main__":
    sys.exit(main())
