#!/usr/bin/env python3
"""Run the accelerator of this build: python3 driver.py --exec_mode MODE [options]

  execute          model input frames (--inputfile .npy, as the model takes them) -> model outputs (--outputfile)
  throughput_test  a batch of random frames through the accelerator; FINN's metrics, as JSON (--metricsfile)
  validate         the RadioML test split (--dataset .hdf5, --limit N) or --inputfile/--labelfile .npy:
                   accuracy overall and per SNR, as JSON (--metricsfile)

--platform zynq (default): a PYNQ board, with --bitfile (default accel.bit here) and its .hwh beside it.
--platform sim: the build's cppsim binary instead of the board (everything but the DMA and the hardware).
"""
import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from accelerator import Accelerator, DriverError

METRICS_FILES = {"throughput_test": "nw_metrics.json", "validate": "validation.json"}


def throughput_test(accelerator):
    """FINN's throughput test: one batch of random inputs through the accelerator, every stage timed."""
    n = accelerator.batch_size
    accelerator.execute(accelerator.random_inputs(n))
    ms = {stage: seconds * 1e3 for stage, seconds in accelerator.timings.items()}
    runtime = accelerator.timings["runtime"]
    return {
        "platform": accelerator.platform.name,
        "runtime[ms]": ms["runtime"],
        "throughput[images/s]": n / runtime,
        "DRAM_in_bandwidth[MB/s]": n * accelerator.input.frame_bytes / runtime / 1e6,
        "DRAM_out_bandwidth[MB/s]": n * accelerator.output.frame_bytes / runtime / 1e6,
        "fclk[mhz]": accelerator.platform.fclk_mhz,
        "batch_size": n,
        **{f"{stage}[ms]": ms[stage] for stage in ("fold_input", "pack_input", "copy_input_data_to_device",
                                                     "copy_output_data_from_device", "unpack_output", "unfold_output")},
    }


def load_validation_set(args, config):
    """(frames, labels, SNRs or None, description)."""
    if args.inputfile:
        if not args.labelfile:
            raise DriverError("validate with --inputfile needs --labelfile (and optionally --snrfile)")
        snr = load_array(args.snrfile, "--snrfile").reshape(-1) if args.snrfile else None
        return (load_array(args.inputfile, "--inputfile"), load_array(args.labelfile, "--labelfile").reshape(-1), snr,
                args.inputfile)
    dataset = config.get("dataset")
    if not dataset:
        raise DriverError("this model takes no RadioML frames: validate with --inputfile and --labelfile")
    path = args.dataset or dataset["path"]
    try:
        import radioml      # the build's RadioML loader (official split), copied beside this file
    except ImportError as error:
        raise DriverError(f"validate on RadioML data needs h5py (pip install h5py): {error}") from None

    try:
        x, y, snr = radioml.load(path, "test", limit=args.limit, length=dataset["frame_length"])
    except (FileNotFoundError, ValueError) as error:      # radioml's errors of a missing or malformed file
        raise DriverError(str(error)) from None
    x = radioml.average_pool(x, dataset["average_pool"])      # the host's first step, as the build verified
    return x, y, snr, f"{path} (test split{f', {args.limit} frames' if args.limit else ''})"


def load_array(path, flag):
    try:
        return np.load(path)
    except (OSError, ValueError) as error:
        raise DriverError(f"{flag} {path}: not a readable .npy file ({error})") from None


def writable(path, flag):
    """`path`, after checking that it can be written, before the run whose result goes there."""
    folder = Path(path).resolve().parent
    if Path(path).is_dir() or not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise DriverError(f"{flag} {path}: cannot write there (is {folder} a writable folder?)")
    return Path(path)


def internal_error(error, verbose):
    """A bug: one line saying so, the traceback in a new file (and on stderr with -v); exit code 2."""
    fd, path = tempfile.mkstemp(prefix="driver-traceback-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(traceback.format_exc())
    print(f"internal error (a bug, not a problem with the input): {type(error).__name__}: {error}; the traceback "
          f"is in {path}" + ("" if verbose else " (-v prints it)"), file=sys.stderr)
    if verbose:
        traceback.print_exc()
    return 2


def validate(accelerator, args):
    x, labels, snr, source = load_validation_set(args, accelerator.config)
    start = time.perf_counter()
    chunk = max(accelerator.batch_size, 1024)      # bounds host memory on a board
    predictions = np.concatenate([accelerator.predictions(accelerator.infer(x[i:i + chunk]))
                                  for i in range(0, len(x), chunk)])
    seconds = time.perf_counter() - start
    correct = predictions == labels
    report = {"platform": accelerator.platform.name, "dataset": source, "frames": len(labels),
              "accuracy": float(correct.mean()), "seconds": seconds, "frames_per_second": len(labels) / seconds}
    if snr is not None:
        report["per_snr"] = {str(int(s)): {"frames": int((snr == s).sum()), "accuracy": float(correct[snr == s].mean())}
                             for s in np.unique(snr)}
    report["predictions"] = predictions.tolist()
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exec_mode", choices=["execute", "throughput_test", "validate"], default="execute")
    parser.add_argument("--platform", choices=["zynq", "sim"], default="zynq")
    parser.add_argument("--batchsize", type=int, default=1, help="frames per accelerator call (one DMA transfer)")
    parser.add_argument("--bitfile", help="bitstream (default: accel.bit beside this driver)")
    parser.add_argument("--inputfile", help="execute: model input frames (.npy); validate: frames instead of --dataset")
    parser.add_argument("--outputfile", default="output.npy", help="execute: model outputs (.npy)")
    parser.add_argument("--metricsfile", help="throughput_test / validate report (default nw_metrics.json / validation.json)")
    parser.add_argument("--dataset", help="validate: RadioML 2018.01A .hdf5 (default: the build's data)")
    parser.add_argument("--limit", type=int, help="validate: a seeded random subset of this many test frames")
    parser.add_argument("--labelfile", help="validate with --inputfile: class labels (.npy)")
    parser.add_argument("--snrfile", help="validate with --inputfile: SNR per frame (.npy)")
    parser.add_argument("--cppsim", help="sim platform: the cppsim binary (default: the build's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print an internal error's traceback")
    args = parser.parse_args(argv)
    try:
        if args.limit is not None and args.limit < 1:
            raise DriverError(f"--limit {args.limit}: give 1 or more frames")
        if args.exec_mode == "execute":
            if not args.inputfile:
                raise DriverError("execute needs --inputfile (model input frames, .npy)")
            out = writable(args.outputfile, "--outputfile")
        else:
            out = writable(args.metricsfile or METRICS_FILES[args.exec_mode], "--metricsfile")
        accelerator = Accelerator(args.platform, bitfile=args.bitfile, cppsim=args.cppsim, batch_size=args.batchsize)
        if args.exec_mode == "execute":
            outputs = accelerator.infer(load_array(args.inputfile, "--inputfile"))
            np.save(out, outputs)
            print(f"{len(outputs)} frames: outputs written to {out}")
            return 0
        report = throughput_test(accelerator) if args.exec_mode == "throughput_test" else validate(accelerator, args)
    except DriverError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        return internal_error(error, args.verbose)
    out.write_text(json.dumps(report, indent=2) + "\n")
    shown = {k: v for k, v in report.items() if k not in ("per_snr", "predictions")}
    print(json.dumps(shown, indent=2))
    if "per_snr" in report:
        print("accuracy per SNR: " + ", ".join(f"{s} dB {r['accuracy']:.1%}" for s, r in report["per_snr"].items()))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
