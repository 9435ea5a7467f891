"""Accuracy of a trained model on the RadioML test split (all SNRs): eval.json (overall, per SNR, per
class, confusion matrix, frames) and accuracy_vs_snr.png in an output folder.

    python -m models.evaluate --model vgg10 [--ckpt checkpoints/vgg10.pt] [--data GOLD_XYZ_OSC.0001_1024.hdf5]
                              [--out build/eval/vgg10]
"""
import argparse
import json
import sys
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import models
from models import radioml, train
from models.errors import MissingFileError, add_verbose_flag, run_cli, writable_dir


def evaluate_checkpoint(model_name, checkpoint=None, data_path=None, out_dir=None, log=print):
    """Evaluate the checkpoint (default: checkpoints/MODEL.pt, what `make train` writes) on the test
    split (default: the synthetic file) and write the report; returns the report."""
    spec = models.get(model_name)
    train.require_trainable(spec)
    checkpoint = Path(checkpoint) if checkpoint else radioml.REPO_ROOT / "checkpoints" / f"{spec.name}.pt"
    if not checkpoint.is_file():
        raise MissingFileError(f"checkpoint {checkpoint} not found: train it first "
                               f"(make train MODEL={spec.name} [DATA=...]) or pass CKPT=path/to/weights.pt")
    data_path = Path(data_path) if data_path else radioml.ensure_synthetic()
    out_dir = writable_dir(out_dir or radioml.REPO_ROOT / "build" / "eval" / spec.name, "OUT")
    model = train.load_checkpoint(checkpoint, spec, log=print)
    log(f"{spec.name}: evaluating {checkpoint} on the test split of {data_path}")
    report = {"model": spec.name, "checkpoint": str(checkpoint), "data": str(data_path),
              **train.evaluate(model, data_path, spec.input_shape[-1])}
    json_path, plot_path = write_report(report, out_dir)
    top_snr = max(report["per_snr"])
    log(f"accuracy {report['overall']:.4f} on {report['frames']} frames ({report['per_snr'][top_snr]:.4f} "
        f"at {top_snr} dB); written {json_path} and {plot_path}")
    return report


def write_report(report, out_dir):
    """eval.json and accuracy_vs_snr.png in out_dir; returns their paths."""
    out_dir = Path(out_dir)
    json_path, plot_path = out_dir / "eval.json", out_dir / "accuracy_vs_snr.png"
    train.write_atomic(json_path, lambda tmp: Path(tmp).write_text(json.dumps(report, indent=1) + "\n"))
    figure = plot_accuracy_vs_snr(report)
    train.write_atomic(plot_path, lambda tmp: figure.savefig(tmp, format="png", dpi=120))
    return json_path, plot_path


def plot_accuracy_vs_snr(report):
    """A figure (Agg canvas, no display needed) of accuracy per SNR with the overall accuracy and chance."""
    figure = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    snrs = sorted(report["per_snr"])
    ax.plot(snrs, [report["per_snr"][s] for s in snrs], "o-", label="per SNR")
    ax.axhline(report["overall"], color="tab:orange", linestyle="--", label=f"overall {report['overall']:.3f}")
    ax.axhline(1 / len(report["classes"]), color="gray", linestyle=":", label="chance")
    ax.set(xlabel="SNR (dB)", ylabel="accuracy", ylim=(0, 1),
           title=f"{report['model']}: {report['frames']} test frames of {Path(report['data']).name}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    figure.tight_layout()
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m models.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg10", choices=models.names())
    parser.add_argument("--ckpt", help="checkpoint (default: checkpoints/MODEL.pt)")
    parser.add_argument("--data", help="RadioML 2018.01A HDF5 file (default: synthetic data)")
    parser.add_argument("--out", help="output folder (default: build/eval/MODEL)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    return run_cli(lambda: evaluate_checkpoint(args.model, args.ckpt, args.data, args.out), args.verbose,
                   "models.evaluate")


if __name__ == "__main__":
    sys.exit(main())
