from dataclasses import replace

import pytest
import torch

import models
from models import prune, radioml, train
from tests.nets.common import untrained_tiny


@pytest.fixture
def model():
    torch.manual_seed(0)
    return models.get("tiny").build()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return radioml.synthesize(tmp_path_factory.mktemp("data") / "synthetic.hdf5", frames_per_pair=8)



def _weights(model, types=prune.PRUNABLE):
    """Each layer's current (masked) float weights."""
    return [layer.weight_orig * layer.weight_mask if hasattr(layer, "weight_mask") else layer.weight.detach().clone()
            for _, layer in prune.prunable_layers(model, types)]


def _kept(model, types=prune.PRUNABLE):
    return sum(int(layer.weight_mask.sum()) for _, layer in prune.prunable_layers(model, types))


def _total(model, types=prune.PRUNABLE):
    return sum(layer.weight.numel() for _, layer in prune.prunable_layers(model, types))


def test_bacalhau_rule_prunes_exactly_the_weights_below_epsilon(model):
    before = _weights(model)
    prune.prune_below(model, 0.05)
    for (_, layer), w in zip(prune.prunable_layers(model), before):
        assert torch.equal(layer.weight_mask.bool(), w.abs() >= 0.05)
    # A second iteration after (simulated) fine-tuning keeps the old masks and adds the new threshold.
    with torch.no_grad():
        for _, layer in prune.prunable_layers(model):
            layer.weight_orig.mul_(0.9)
    masks = [layer.weight_mask.clone() for _, layer in prune.prunable_layers(model)]
    trained = _weights(model)
    prune.prune_below(model, 0.1)
    for (_, layer), mask, w in zip(prune.prunable_layers(model), masks, trained):
        assert torch.equal(layer.weight_mask.bool(), mask.bool() & (w.abs() >= 0.1))


def test_bacalhau_schedule_is_the_seeds_three_iterations(model):
    schedule = prune.SCHEDULES["bacalhau"]
    assert [schedule.weight_decay(step) for step in range(3)] == [5e-5, 1e-4, 1e-5]
    assert schedule.max_steps == 3 and schedule.finetune_epochs == 20
    below = sum(int((w.abs() < 0.15).sum()) for w in _weights(model))
    schedule.prune_step(model, 0)
    assert _total(model) - _kept(model) == below


def test_aaronnet_step_prunes_20_percent_of_the_remaining_weights_globally(model):
    schedule, total = prune.SCHEDULES["aaronnet"], _total(model)
    schedule.prune_step(model, 0)
    kept = _kept(model)
    assert kept == total - round(0.2 * total)
    schedule.prune_step(model, 1)
    assert _kept(model) == kept - round(0.2 * kept)


def test_aaronnet_prunes_smallest_magnitudes_across_layers(model):
    before = torch.cat([w.flatten().abs() for w in _weights(model)])
    prune.SCHEDULES["aaronnet"].prune_step(model, 0)
    mask = torch.cat([layer.weight_mask.flatten() for _, layer in prune.prunable_layers(model)])
    assert before[mask == 0].max() <= before[mask == 1].min()


def test_imperial_step_prunes_conv_and_linear_groups_separately(model):
    conv, linear = _total(model, prune.CONV), _total(model, prune.LINEAR)
    prune.SCHEDULES["imperial"].prune_step(model, 0)
    assert _kept(model, prune.CONV) == conv - round(0.15 * conv)
    assert _kept(model, prune.LINEAR) == linear - round(0.15 * linear)


def test_sparsity_counts_weights_that_quantize_to_zero(model):
    report = prune.sparsity(model)
    rounding_zeros = report["zeros"]
    assert rounding_zeros > 0                           # 4-bit weights: small ones round to zero
    prune.SCHEDULES["aaronnet"].prune_step(model, 0)
    report = prune.sparsity(model)
    assert report["zeros"] >= _total(model) - _kept(model)
    for (_, layer), row in zip(prune.prunable_layers(model), report["layers"]):
        assert row["zeros"] == int((layer.quant_weight().value == 0).sum())
        assert row["zeros"] >= int((layer.weight_mask == 0).sum())
    assert report["weights"] == _total(model)


def test_permanent_copy_removes_the_masks_and_keeps_the_zeros(model):
    prune.SCHEDULES["aaronnet"].prune_step(model, 0)
    copy = prune.permanent_copy(model)
    assert not any(name.endswith(("weight_orig", "weight_mask")) for name in copy.state_dict())
    assert prune.sparsity(copy) == prune.sparsity(model)
    assert all(hasattr(layer, "weight_mask") for _, layer in prune.prunable_layers(model))


def test_distillation_against_itself_is_half_the_cross_entropy(model):
    x, labels = torch.randn(8, 2, 64), torch.arange(8)
    model.eval()
    scores = train.unwrap(model(x))
    loss = prune.distillation_loss(model)(scores, labels, x)
    assert loss.item() == pytest.approx(0.5 * torch.nn.functional.cross_entropy(scores, labels).item(), abs=1e-6)


def test_prune_checkpoint_writes_permanent_step_checkpoints(synthetic, tmp_path):
    spec = models.get("tiny")
    train.save_checkpoint(tmp_path / "tiny.pt", spec, untrained_tiny(), {})
    recipe = replace(train.QUICK, batch_size=16, max_batches=2)
    lines = []
    history = prune.prune_checkpoint("tiny", "aaronnet", steps=2, checkpoint=tmp_path / "tiny.pt",
                                     data_path=synthetic, recipe=recipe, out=tmp_path / "pruned.pt", log=lines.append)
    assert [h["step"] for h in history] == [1, 2]
    for path, step in [(tmp_path / "pruned.step1.pt", 1), (tmp_path / "pruned.step2.pt", 2), (tmp_path / "pruned.pt", 2)]:
        saved = torch.load(path, weights_only=True)
        assert not any(name.endswith(("weight_orig", "weight_mask")) for name in saved["state_dict"])
        assert saved["metrics"]["pruning"] == history[:step]
        assert prune.sparsity(train.load_checkpoint(path, "tiny"))["zeros"] == history[step - 1]["zeros"]
    assert history[1]["zeros"] >= round(0.36 * history[1]["weights"])     # 1 - 0.8^2 of the weights
    assert any(line.startswith("  total") for line in lines)


def test_bacalhau_has_three_steps_at_most(tmp_path):
    with pytest.raises(ValueError, match="'bacalhau' takes 1..3 steps, not 4"):
        prune.prune_checkpoint("tiny", "bacalhau", steps=4, checkpoint=tmp_path / "tiny.pt")


def test_pruning_needs_trained_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="make train MODEL=tiny"):
        prune.prune_checkpoint("tiny", "aaronnet", checkpoint=tmp_path / "missing.pt")
