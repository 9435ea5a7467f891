import argparse
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

import models
from models import radioml, train

# A few batches of the tiny model per epoch: enough to exercise the recipe, not to learn much.
SHORT = replace(train.QUICK, epochs=6, batch_size=16, max_batches=2)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return radioml.synthesize(tmp_path_factory.mktemp("data") / "synthetic.hdf5")


@pytest.fixture(scope="module")
def trained(synthetic, tmp_path_factory):
    """The registry model "tiny" trained with SHORT, with its checkpoint and log lines."""
    checkpoint = tmp_path_factory.mktemp("train") / "tiny.pt"
    lines = []
    metrics = train.train("tiny", data_path=synthetic, recipe=SHORT, log=lines.append, out=checkpoint)
    return checkpoint, metrics, lines


def _parse_recipe(argv):
    parser = argparse.ArgumentParser()
    train.add_recipe_arguments(parser)
    return train.recipe_from_args(parser.parse_args(argv))


def test_seed_recipe_is_the_challenge_baseline():
    assert (train.SEED.epochs, train.SEED.batch_size, train.SEED.lr, train.SEED.restart_epochs) == (20, 1024, 0.01, 5)
    assert train.SEED.max_batches is None


def test_cli_recipe_defaults_to_seed_on_real_data_and_quick_on_synthetic():
    assert _parse_recipe([]) == train.QUICK
    assert _parse_recipe(["--data", "GOLD_XYZ_OSC.0001_1024.hdf5"]) == train.SEED
    assert _parse_recipe(["--recipe", "seed", "--epochs", "3", "--max-batches", "7"]) == \
        replace(train.SEED, epochs=3, max_batches=7)
    assert _parse_recipe(["--max-batches", "0"]).max_batches is None


def test_optimizer_is_adam_with_cosine_warm_restarts():
    model = models.get("tiny").build()
    optimizer, scheduler = train.optimizer_and_scheduler(model, train.SEED, weight_decay=1e-4)
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.param_groups[0]["lr"] == 0.01 and optimizer.param_groups[0]["weight_decay"] == 1e-4
    assert isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingWarmRestarts)
    assert (scheduler.T_0, scheduler.T_mult) == (5, 1)


def test_learning_rate_restarts_every_five_epochs(trained):
    _, metrics, _ = trained
    lrs = [h["lr"] for h in metrics["history"]]
    expected = [0.01 * (1 + math.cos(math.pi * (e % 5) / 5)) / 2 for e in range(6)]
    assert lrs == pytest.approx(expected)
    assert lrs[5] == pytest.approx(0.01)


def test_best_epoch_is_kept(trained, synthetic):
    checkpoint, metrics, _ = trained
    accuracies = [h["test_accuracy"] for h in metrics["history"]]
    assert metrics["epoch"] == 1 + int(np.argmax(accuracies))
    assert metrics["overall"] == max(accuracies)
    model = train.load_checkpoint(checkpoint, "tiny")
    assert train.evaluate(model, synthetic, 64)["overall"] == metrics["overall"]


def test_checkpoint_contents_and_log(trained):
    checkpoint, metrics, lines = trained
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["model"] == "tiny" and tuple(saved["input_shape"]) == (2, 64)
    assert saved["metrics"] == metrics and metrics["frames"] == 24 * 26 * 2
    assert metrics["recipe"]["batch_size"] == 16 and metrics["train_frames"] == 32
    assert set(metrics["per_snr"]) == set(radioml.SNRS)
    assert "recipe 'quick'" in lines[0]
    assert any(line.startswith("epoch 6/6: lr") for line in lines)
    assert not list(checkpoint.parent.glob("*.tmp"))


def test_trained_model_predicts_like_its_metrics(trained, synthetic):
    checkpoint, metrics, _ = trained
    model = train.load_checkpoint(checkpoint, "tiny")
    assert not model.training
    x, y, _ = radioml.load(synthetic, "test", length=64)
    pred = train.predict(model, x)
    assert (pred == y).mean() == pytest.approx(metrics["overall"])
    assert len(np.unique(pred)) == metrics["predicted_classes"]


def test_checkpoint_of_other_model_is_refused(trained):
    checkpoint, _, _ = trained
    with pytest.raises(ValueError, match="holds model 'tiny', not 'vgg10'"):
        train.load_checkpoint(checkpoint, "vgg10")


def test_weight_decay_comes_from_the_spec(synthetic):
    spec = replace(models.get("tiny"), extra={"weight_decay": 1e-4})
    metrics = train.train(spec, data_path=synthetic, recipe=replace(SHORT, epochs=1, max_batches=1), log=lambda _: None)
    assert metrics["weight_decay"] == 1e-4 and metrics["train_frames"] == 16


def test_models_of_other_datasets_are_refused(synthetic):
    spec = replace(models.get("tiny"), dataset="cifar10")
    with pytest.raises(ValueError, match="takes cifar10 input .* train it on cifar10 data elsewhere"):
        train.train(spec, data_path=synthetic)


def test_fpga_parts_of_a_model_are_refused_with_the_full_model_named():
    spec = replace(models.get("tiny"), extra={"full_model": "tiny-full", "submodule": "branch"})
    with pytest.raises(ValueError, match="train, prune and evaluate 'tiny-full'"):
        train.require_trainable(spec)
    assert train.untrainable_reason(models.get("tiny")) is None
