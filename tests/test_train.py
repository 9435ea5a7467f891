import numpy as np
import pytest
import torch

from models import radioml, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The registry model "tiny" trained briefly on a synthetic file, with its checkpoint."""
    tmp = tmp_path_factory.mktemp("train")
    data = radioml.synthesize(tmp / "synthetic.hdf5")
    lines = []
    metrics = train.train("tiny", data_path=data, epochs=4, batch_size=64, log=lines.append,
                          out=tmp / "tiny.pt")
    return data, tmp / "tiny.pt", metrics, lines


def test_trained_model_predicts_many_classes_above_chance(trained):
    data, checkpoint, metrics, _ = trained
    model = train.load_checkpoint(checkpoint, "tiny")
    assert not model.training
    x, y, _ = radioml.load(data, "test", length=64)
    pred = train.predict(model, x)
    assert len(np.unique(pred)) > 1                        # activations are not constant
    assert (pred == y).mean() > 2 / 24                     # chance is 1/24
    assert (pred == y).mean() == pytest.approx(metrics["accuracy"])


def test_checkpoint_contents(trained):
    _, checkpoint, metrics, lines = trained
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["model"] == "tiny" and tuple(saved["input_shape"]) == (2, 64)
    assert saved["metrics"] == metrics and metrics["test_frames"] == 24 * 26 * 2
    assert set(metrics["accuracy_by_snr"]) == set(radioml.SNRS)
    assert any(line.startswith("epoch 4/4: loss") for line in lines)
    assert not list(checkpoint.parent.glob("*.tmp"))


def test_checkpoint_of_other_model_is_refused(trained):
    _, checkpoint, _, _ = trained
    with pytest.raises(ValueError, match="holds model 'tiny', not 'vgg10'"):
        train.load_checkpoint(checkpoint, "vgg10")


def test_max_batches_bounds_training_frames(trained):
    data = trained[0]
    metrics = train.train("tiny", data_path=data, epochs=1, batch_size=16, max_batches=3, log=lambda _: None)
    assert metrics["train_frames"] == 48
