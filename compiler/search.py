"""Mixed-precision search (DeepBurning-MixQ's `search_train.py`, with this project's hardware cost):
`make search MODEL=vgg10 BOARD=pynq-z2 [TARGET_FPS=N] [CD=3e-5]` -> per-layer bit widths (BITS= of
make train and make build).

The supernet (models/supernet.py) trains its weights and its architecture parameters together on
    cross-entropy + CD * expected hardware cost,
the expected cost being, per weight layer, its cost at every combination of candidate widths (weights,
input activation, output activation) weighted by the probabilities of that combination. A layer's cost
at given widths is the folding optimizer's (compiler/folding/optimize.py) for that layer alone as an
MVAU at the target's cycle budget: its LUTs, and its DSPs (where the optimizer puts products on them)
priced at the board's LUTs per DSP. That surrogate leaves out what is not a weight layer (sliding
windows, pools, width converters, FIFOs); the figures reported for the chosen network are the
optimizer's for its whole built graph, as `make build BITS=` folds it.
"""
import argparse
import json
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
import torch

import boards
from compiler.estimate import DEFAULT_COST_MODEL
from compiler.folding.auto import frame_cycles
from compiler.folding import FoldingError, FoldingSpace, extract, optimize, resource_budget
from compiler.hwgraphs import accumulator_span, chain, mvau
from models import progress, radioml
from models.errors import UserError, add_verbose_flag, positive_number, run_cli, whole_number, writable_dir

DEFAULT_WEIGHT_BITS = DEFAULT_ACT_BITS = (2, 4, 6, 8)
DEFAULT_CD = 3e-5          # per LUT: a network of 30k LUTs adds about 1 to the loss
DEFAULT_TARGET_FPS = 10000
ARCH_LR = 0.05             # the architecture parameters' Adam step: widths move within a short schedule
RECORD_EVERY = 10          # batches between points of the search's history (the plot)
EVAL_FRAMES = 2048         # test frames the chosen network's accuracy is measured on


def _datatype(bits, signed):
    return f"{'INT' if signed else 'UINT'}{bits}"


@cache
def layer_cost(layer, w, a_in, in_signed, a_out, part, budget_cycles, lut_per_dsp, cost_model):
    """(LUT-equivalent cost, LUT, DSP) of weight layer `layer` (a supernet WeightLayer) alone as an MVAU
    with w-bit weights, a_in-bit inputs and a_out-bit thresholded outputs (None: raw accumulators), folded
    by the optimizer for `budget_cycles` (or as fast as it goes, if it cannot make it)."""
    if a_out is None:
        low, high = accumulator_span(layer.mw, _datatype(a_in, in_signed), f"INT{w}")
        attrs = {"outputDataType": f"INT{max(abs(low), high).bit_length() + 1}"}
        thresholds = None
    else:
        low, high = accumulator_span(layer.mw, _datatype(a_in, in_signed), f"INT{w}")
        steps = 2 ** a_out - 1
        thresholds = np.tile(np.linspace(low, high, steps + 2)[1:-1].round(), (layer.mh, 1)).astype(np.float32)
        attrs = {"outputDataType": f"UINT{a_out}"}
    graph = chain(mvau("layer", layer.mw, layer.mh, vecs=(1, layer.vectors), wdt=f"INT{w}",
                       idt=_datatype(a_in, in_signed), thresholds=thresholds, **attrs))
    space = FoldingSpace(graph, part, cost_model)
    prices = {"DSP": lut_per_dsp} if "DSP" in space.traded else None
    plan = space.cheapest(max(budget_cycles, space.fastest_cycles), prices)
    totals = plan.totals
    return totals["LUT"] + lut_per_dsp * totals["DSP"], totals["LUT"], totals["DSP"]


class CostTable:
    """Every weight layer's cost at every combination of candidate widths, as tensors
    (weight, input, output) for the expected cost."""

    def __init__(self, supernet, board, target_fps, clock_mhz, cost_model):
        self.supernet = supernet
        budget_cycles = frame_cycles(target_fps, clock_mhz)
        lut_per_dsp = board.resources["LUT"] / board.resources["DSP"]
        self.weight_bits = supernet.weight_layers[0][0].choice.candidates
        self.act_bits = supernet.activations[0].choice.candidates
        self.tables = []
        layers = supernet.layers
        count = sum(len(self._inputs(l)) * len(self._outputs(l)) * len(self.weight_bits) for l in layers)
        with progress.bar(count, "layer costs") as done:
            for layer in layers:
                table = np.zeros((len(self.weight_bits), len(self._inputs(layer)), len(self._outputs(layer))))
                for i, w in enumerate(self.weight_bits):
                    for j, (a_in, signed) in enumerate(self._inputs(layer)):
                        for k, a_out in enumerate(self._outputs(layer)):
                            table[i, j, k] = layer_cost(layer, w, a_in, signed, a_out, board.part, budget_cycles,
                                                        lut_per_dsp, cost_model)[0]
                            done.advance()
                self.tables.append(torch.tensor(table, dtype=torch.float32))

    def _inputs(self, layer):
        if layer.input_act < 0:
            return [(self.supernet.input_bits, self.supernet.input_signed)]
        return [(a, False) for a in self.act_bits]

    def _outputs(self, layer):
        return [None] if layer.output_act is None else list(self.act_bits)

    def expected(self):
        """The expected cost (LUT-equivalents) under the supernet's architecture probabilities."""
        acts = self.supernet.activation_probabilities()
        total = 0
        for layer, table, p_w in zip(self.supernet.layers, self.tables, self.supernet.weight_probabilities()):
            p_in = torch.ones(1) if layer.input_act < 0 else acts[layer.input_act]
            p_out = torch.ones(1) if layer.output_act is None else acts[layer.output_act]
            total = total + torch.einsum("i,j,k,ijk->", p_w, p_in, p_out, table)
        return total

    def of(self, bits):
        """The cost of the network at widths `bits` ({"bitw", "bita"})."""
        total = 0.0
        for layer, table, w in zip(self.supernet.layers, self.tables, bits["bitw"]):
            j = 0 if layer.input_act < 0 else self.act_bits.index(bits["bita"][layer.input_act])
            k = 0 if layer.output_act is None else self.act_bits.index(bits["bita"][layer.output_act])
            total += float(table[self.weight_bits.index(w), j, k])
        return total


def _accuracy(supernet, path, length, frames):
    """Accuracy of the supernet at its chosen widths on (up to `frames` of) the test split."""
    stream = radioml.FrameStream(path, "test", length=length, limit=frames)
    supernet.eval()
    supernet.set_hard(True)
    hits = seen = 0
    with torch.no_grad():
        for x, y, _ in stream.batches(256):
            hits += int((supernet(torch.from_numpy(x)).argmax(1).numpy() == y).sum())
            seen += len(y)
    supernet.set_hard(False)
    supernet.train()
    return hits / seen


def search(spec, board, target_fps=DEFAULT_TARGET_FPS, cd=DEFAULT_CD, data_path=None,
           weight_bits=DEFAULT_WEIGHT_BITS, act_bits=DEFAULT_ACT_BITS, epochs=1, batch_size=32, max_batches=300,
           clock_mhz=None, cost_model=DEFAULT_COST_MODEL, seed=0, log=print):
    """The search's result: {"bitw", "bita", "surrogate_cost", "accuracy", "history", ...}."""
    from models.supernet import Supernet
    from models.train import require_trainable

    require_trainable(spec)
    if spec.dataset != "radioml":
        raise UserError(f"the search trains on RadioML frames; model '{spec.name}' is a {spec.dataset} model")
    clock_mhz = clock_mhz or float(board.clock_mhz)
    torch.manual_seed(seed)
    supernet = Supernet(spec.build(), weight_bits, act_bits, spec.input_shape)
    log(f"{spec.name}: supernet of {len(supernet.layers)} weight layers and {len(supernet.activations)} "
        f"activations; weights {list(weight_bits)} bits, activations {list(act_bits)} bits")
    started = time.time()
    table = CostTable(supernet, board, target_fps, clock_mhz, cost_model)
    log(f"layer costs at {target_fps:g} fps on {board.name} ({cost_model} cost model): {time.time() - started:.0f} s")
    path = Path(data_path) if data_path else radioml.ensure_synthetic()
    if not data_path:
        log(f"on synthetic data ({path}): its accuracies say little about the real dataset's; DATA= sets real data")
    limit = max_batches * batch_size if max_batches else None
    stream = radioml.FrameStream(path, "train", snr_min=spec.train_snr_min, limit=limit,
                                 length=spec.input_shape[-1], seed=seed)
    weights = torch.optim.Adam(supernet.weight_parameters(), lr=0.01)
    architecture = torch.optim.Adam(supernet.architecture_parameters(), lr=ARCH_LR)
    shuffle = torch.Generator().manual_seed(seed)
    history, step = [], 0
    supernet.train()
    with progress.bar(epochs * -(-len(stream) // batch_size), "batches") as batches:
        for epoch in range(1, epochs + 1):
            order = torch.randperm(len(stream), generator=shuffle).numpy()
            for x, y, _ in stream.batches(batch_size, order):
                batches.advance()
                if len(y) < 2:
                    continue
                scores = supernet(torch.from_numpy(x))
                error = torch.nn.functional.cross_entropy(scores, torch.from_numpy(y))
                cost = table.expected()
                loss = error + cd * cost
                weights.zero_grad()
                architecture.zero_grad()
                loss.backward()
                weights.step()
                architecture.step()
                if step % RECORD_EVERY == 0:
                    history.append({"epoch": epoch, "batch": step, "loss": loss.item(), "cross_entropy": error.item(),
                                    "expected_cost": cost.item(), **supernet.chosen()})
                step += 1
            log(f"epoch {epoch}/{epochs}: cross-entropy {error.item():.4f}, expected cost {cost.item():.0f} "
                f"LUT-equivalents, widths {supernet.chosen()}")
    bits = supernet.chosen()
    history.append({"epoch": epochs, "batch": step, "loss": loss.item(), "cross_entropy": error.item(),
                    "expected_cost": cost.item(), **bits})
    accuracy = _accuracy(supernet, path, spec.input_shape[-1], EVAL_FRAMES)
    return {"model": spec.name, **bits, "board": board.name, "target_fps": target_fps, "clock_mhz": clock_mhz,
            "cd": cd, "cost_model": cost_model, "candidates": {"bitw": list(weight_bits), "bita": list(act_bits)},
            "data": str(path), "synthetic_data": not data_path,
            "surrogate_cost": table.of(bits), "uniform_surrogate_costs": {
                f"w{w}a{a}": table.of({"bitw": [w] * len(bits["bitw"]), "bita": [a] * len(bits["bita"])})
                for w in weight_bits for a in act_bits if w == a},
            "accuracy": {"value": accuracy, "of": "the supernet at the chosen widths, before retraining",
                         "frames": min(EVAL_FRAMES, len(radioml.FrameStream(path, "test")))},
            "history": history}


def network_estimate(spec, bits_path, board, target_fps, clock_mhz, cost_model, work_dir, log=print):
    """The folding optimizer's plan for the network of `spec` at the widths of `bits_path`, built (to its
    specialized HW graph) with BatchNorm and quantizer statistics calibrated on random frames: the
    figures `make build BITS=bits_path TARGET_FPS=target_fps` folds to, with that folding ("folding"); or
    {"error"} if no folding fits the board."""
    from compiler.flow import BuildConfig, run_build
    from compiler.buildfolder import load_graph
    from models.bits import with_bits
    from models.calibration import calibrate
    from models.train import save_checkpoint

    sized = with_bits(spec, bits_path)
    ckpt = Path(work_dir) / "calibrated.pt"
    save_checkpoint(ckpt, sized, calibrate(sized.build(), spec.input_shape, 2, signed=True),
                    {"calibrated_on": "uniform random frames (for the estimate)"})
    config = BuildConfig(model=spec.name, board=board.name, bits=bits_path, ckpt=ckpt, out_dir=Path(work_dir) / "build",
                         target_fps=target_fps, clock_mhz=clock_mhz, cost_model=cost_model)
    run_build(config, stop_after="specialize_layers")
    graph = load_graph(config.out_dir, "specialize_layers")
    try:
        folded, chosen = optimize(graph, board.part, clock_mhz, resource_budget(board), target_fps, cost_model)
    except FoldingError as error:
        log(f"  {bits_path.name}: {error}")
        return {"error": str(error)}
    log(f"  {bits_path.name}: {chosen['fps']:.0f} fps, {chosen['LUT']} LUT, {chosen['DSP']} DSP, "
        f"{chosen['BRAM36']} BRAM36 (the folding optimizer's estimate of the built graph)")
    return {**chosen, "folding": extract(folded)}


def plot(result, path):
    """The chosen width of every layer over the search (weights above, activations below)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = result["history"]
    steps = [h["batch"] for h in history]
    figure, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for ax, key, title in ((axes[0], "bitw", "weight bits"), (axes[1], "bita", "activation bits")):
        for layer in range(len(history[0][key])):
            # each layer a little apart, so that lines at one width stay visible
            ax.plot(steps, [h[key][layer] + 0.06 * (layer - 4) for h in history], label=f"{layer}")
        ax.set_ylabel(title)
        ax.set_yticks(result["candidates"][key])
    axes[0].legend(title="layer", ncol=5, fontsize="small")
    axes[1].set_xlabel("batch")
    axes[0].set_title(f"{result['model']} on {result['board']}: CD {result['cd']:g}, {result['target_fps']:g} fps")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _widths(text, name):
    try:
        widths = tuple(sorted({int(b) for b in str(text).split(",")}))
    except ValueError:
        widths = ()
    if not widths or not all(2 <= b <= 8 for b in widths):
        raise UserError(f"{name}={text}: expected candidate bit widths 2..8, comma-separated, e.g. 2,4,6,8")
    return widths


def _complexity_decay(text):
    try:
        cd = float(text)
    except ValueError:
        cd = -1.0
    if not cd >= 0:
        raise UserError(f"CD={text}: expected the complexity decay, a number >= 0 (loss per LUT-equivalent; "
                        f"default {DEFAULT_CD:g})")
    return cd


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dfa search", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg10")
    parser.add_argument("--board", default="pynq-z2")
    parser.add_argument("--target-fps", default=str(DEFAULT_TARGET_FPS))
    parser.add_argument("--cd", default=str(DEFAULT_CD), help="complexity decay: loss per LUT-equivalent")
    parser.add_argument("--data", help="RadioML 2018.01A HDF5 file (default: synthetic data)")
    parser.add_argument("--weight-bits", default=",".join(map(str, DEFAULT_WEIGHT_BITS)))
    parser.add_argument("--act-bits", default=",".join(map(str, DEFAULT_ACT_BITS)))
    parser.add_argument("--epochs", default="1")
    parser.add_argument("--batch-size", default="32")
    parser.add_argument("--max-batches", default="300", help="per epoch (0: the whole train split)")
    parser.add_argument("--cost-model", default=DEFAULT_COST_MODEL)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--out", help="folder of bits.json and search.png (default: search/MODEL-BOARD)")
    add_verbose_flag(parser)
    args = parser.parse_args(argv)

    def run():
        import models

        spec = models.get(args.model)
        try:
            board = boards.get(args.board)
        except KeyError as error:
            raise UserError(error.args[0]) from None
        target_fps = positive_number(args.target_fps, "TARGET_FPS")
        cd = _complexity_decay(args.cd)
        out = writable_dir(args.out or Path("search") / f"{spec.name}-{boards.canonical(board.name)}", "OUT")
        result = search(spec, board, target_fps, cd, args.data, _widths(args.weight_bits, "WEIGHT_BITS"),
                        _widths(args.act_bits, "ACT_BITS"), whole_number(args.epochs, "EPOCHS"),
                        whole_number(args.batch_size, "BATCH_SIZE", minimum=2),
                        whole_number(args.max_batches, "MAX_BATCHES", minimum=0) or None,
                        cost_model=args.cost_model, seed=whole_number(args.seed, "SEED", minimum=0))
        bits_path = out / "bits.json"
        bits_path.write_text(json.dumps(result, indent=1))
        result["estimate"] = network_estimate(spec, bits_path, board, target_fps, result["clock_mhz"],
                                              args.cost_model, out / "estimate")
        bits_path.write_text(json.dumps(result, indent=1))
        plot(result, out / "search.png")
        chosen = result["estimate"]
        figures = chosen["error"] if "error" in chosen else (
            f"{chosen['fps']:.0f} fps, {chosen['LUT']} LUT, {chosen['DSP']} DSP, {chosen['BRAM36']} BRAM36 "
            f"(the folding optimizer's, cost model '{args.cost_model}'; not a synthesis)")
        print(f"bitw {result['bitw']}\nbita {result['bita']}\naccuracy {result['accuracy']['value']:.4f} "
              f"({result['accuracy']['of']}, {result['accuracy']['frames']} test frames"
              f"{', synthetic data' if result['synthetic_data'] else ''})\n"
              f"estimate: {figures}\nwritten: {bits_path}, {out / 'search.png'}")

    return run_cli(run, args.verbose, "compiler.search")


if __name__ == "__main__":
    sys.exit(main())
