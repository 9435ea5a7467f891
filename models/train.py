"""Short CPU training of a registry model on RadioML 2018.01A (or the synthetic stand-in).

The recipe is the challenge baseline (models.md §0): Adam lr 0.01, CosineAnnealingWarmRestarts(T_0=5)
stepped per epoch, cross entropy, torch.manual_seed. Only the amount of data and epochs is cut down so
that the default run on synthetic data takes about a minute on 2 cores; raise --epochs and
--batch-size for real runs. The train split is loaded into memory: 18.8 GB as float32 for the
real file, so pass --max-batches there, which also bounds how many frames are loaded.

    python -m models.train --model vgg10 [--data GOLD_XYZ_OSC.0001_1024.hdf5] [--epochs N] --out PATH
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import models
from models import radioml

EPOCHS = 1                  # with the defaults, one pass over the synthetic train split: about a minute
BATCH_SIZE = 32             # small batches: more updates per second of CPU than 1024 (the seed's)
EVAL_BATCH = 256
THREADS = 2
LOG_EVERY = 100             # batches between progress lines inside an epoch


def train(spec_or_name, data_path=None, epochs=EPOCHS, batch_size=BATCH_SIZE, lr=0.01,
          max_batches=None, seed=0, log=print, out=None):
    """Train a fresh model, evaluate it on the test split and return its metrics (saved with the
    checkpoint when `out` is given). data_path None uses the synthetic file from ensure_synthetic().
    max_batches caps the batches per epoch by loading only that many frames (a random subset)."""
    spec = _spec(spec_or_name)
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    path = Path(data_path) if data_path else radioml.ensure_synthetic()
    length = spec.input_shape[-1]
    limit = max_batches * batch_size if max_batches else None
    x, y, _ = radioml.load(path, "train", snr_min=spec.train_snr_min, limit=limit, length=length, seed=seed)
    if epochs < 1 or len(y) < 2:
        raise ValueError(f"nothing to train: {epochs} epochs on {len(y)} frames of {path}")
    log(f"{spec.name}: training on {len(y)} frames of {path} (SNR >= {spec.train_snr_min} dB, "
        f"{length} samples), epochs {epochs}, batch size {batch_size}")
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    model = spec.build()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=5, T_mult=1)
    order = torch.Generator().manual_seed(seed)
    start = time.time()
    for epoch in range(1, epochs + 1):
        loss, acc = _train_epoch(model, optimizer, x, y, batch_size, order, log)
        scheduler.step()
        log(f"epoch {epoch}/{epochs}: loss {loss:.4f}, train accuracy {acc:.4f}, "
            f"{time.time() - start:.1f} s")

    metrics = evaluate(model, path, length)
    metrics.update(train_loss=loss, train_accuracy=acc, train_frames=len(y), epochs=epochs,
                   batch_size=batch_size, seconds=round(time.time() - start, 1), data=str(path))
    log(f"test accuracy {metrics['accuracy']:.4f} on {metrics['test_frames']} frames "
        f"({metrics['accuracy_by_snr'][max(radioml.SNRS)]:.4f} at {max(radioml.SNRS)} dB, "
        f"{metrics['predicted_classes']} classes predicted), {metrics['seconds']} s")
    if out:
        save_checkpoint(out, spec, model, metrics)
        log(f"checkpoint written to {out}")
    return metrics


def _spec(spec_or_name):
    return models.get(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name


def _train_epoch(model, optimizer, x, y, batch_size, generator, log):
    """One pass in random order; returns the mean loss and accuracy over it."""
    model.train()
    # A batch of one frame would break BatchNorm after the dense layers, so drop such a tail.
    batches = [b for b in torch.randperm(len(y), generator=generator).split(batch_size) if len(b) > 1]
    total_loss = correct = seen = 0
    for i, batch in enumerate(batches, 1):
        scores = model(x[batch]).value
        loss = nn.functional.cross_entropy(scores, y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(batch)
        correct += (scores.argmax(1) == y[batch]).sum().item()
        seen += len(batch)
        if i % LOG_EVERY == 0:
            log(f"  batch {i}/{len(batches)}: loss {total_loss / seen:.4f}")
    return total_loss / seen, correct / seen


def predict(model, x):
    """Predicted labels of frames x (N, 2, L), in eval mode and without gradients."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(b).value.argmax(1) for b in torch.from_numpy(x).split(EVAL_BATCH)]).numpy()


def evaluate(model, data_path, length):
    """Accuracy on the whole test split, overall and per SNR, and how many classes get predicted."""
    x, y, snr = radioml.load(data_path, "test", length=length)
    pred = predict(model, x)
    hit = pred == y
    return {"accuracy": float(hit.mean()),
            "accuracy_by_snr": {int(s): float(hit[snr == s].mean()) for s in np.unique(snr)},
            "predicted_classes": len(np.unique(pred)),
            "test_frames": len(y)}


def save_checkpoint(path, spec, model, metrics):
    """Write {model, state_dict, metrics, input_shape} via a temp file and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"model": spec.name, "state_dict": model.state_dict(), "metrics": metrics,
                    "input_shape": tuple(spec.input_shape)}, tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_checkpoint(path, spec):
    """The model of `spec` (a ModelSpec or registry name) with the checkpoint's weights, in eval mode."""
    spec = _spec(spec)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("model") != spec.name:
        raise ValueError(f"checkpoint {path} holds model '{checkpoint.get('model')}', not '{spec.name}'")
    model = spec.build()
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg10", choices=models.names())
    parser.add_argument("--data", help="RadioML 2018.01A HDF5 file (default: synthetic data)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--max-batches", type=int,
                        help="batches per epoch (default: the whole train split, loaded into memory)")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="checkpoint path (default: checkpoints/MODEL.pt in the repo)")
    args = parser.parse_args(argv)
    out = args.out or radioml.REPO_ROOT / "checkpoints" / f"{args.model}.pt"
    train(args.model, data_path=args.data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
          max_batches=args.max_batches, seed=args.seed, out=out)


if __name__ == "__main__":
    main()
