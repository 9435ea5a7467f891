import json

import numpy as np
import pytest

import models
from models import evaluate, radioml, train
from tests.nets.common import untrained_tiny


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """An untrained tiny model's checkpoint evaluated on a synthetic file: (report, output folder, data)."""
    tmp = tmp_path_factory.mktemp("eval")
    data = radioml.synthesize(tmp / "synthetic.hdf5")
    spec = models.get("tiny")
    train.save_checkpoint(tmp / "tiny.pt", spec, untrained_tiny(), {})
    evaluate.main(["--model", "tiny", "--ckpt", str(tmp / "tiny.pt"), "--data", str(data), "--out", str(tmp / "out")])
    return json.loads((tmp / "out" / "eval.json").read_text()), tmp / "out", data, tmp / "tiny.pt"


def test_per_snr_accuracies_weighted_by_frames_give_the_overall(evaluated):
    report = evaluated[0]
    assert report["frames"] == 24 * 26 * 2 == sum(report["frames_per_snr"].values())
    assert sorted(int(s) for s in report["per_snr"]) == list(radioml.SNRS)
    weighted = sum(report["per_snr"][s] * report["frames_per_snr"][s] for s in report["per_snr"])
    assert weighted / report["frames"] == pytest.approx(report["overall"])


def test_confusion_matrix_and_per_class_agree_with_the_overall(evaluated):
    report = evaluated[0]
    confusion = np.array(report["confusion"])
    assert confusion.shape == (24, 24) and confusion.sum() == report["frames"]
    assert np.trace(confusion) / report["frames"] == pytest.approx(report["overall"])
    assert report["classes"] == list(radioml.CLASSES)
    per_class = [report["per_class"][name] for name in report["classes"]]
    assert per_class == pytest.approx(np.diag(confusion) / confusion.sum(axis=1))
    assert report["predicted_classes"] == int((confusion.sum(axis=0) > 0).sum())


def test_overall_matches_predictions_on_the_in_memory_test_split(evaluated):
    report, _, data, checkpoint = evaluated
    x, y, _ = radioml.load(data, "test", length=64)
    pred = train.predict(train.load_checkpoint(checkpoint, "tiny"), x)
    assert report["overall"] == pytest.approx((pred == y).mean())
    assert report["model"] == "tiny" and report["checkpoint"] == str(checkpoint)


def test_plot_is_written_as_png(evaluated):
    out = evaluated[1]
    assert (out / "accuracy_vs_snr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("*.tmp"))


def test_accuracy_report_of_known_predictions():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predictions = np.array([0, 1, 1, 1, 0, 2])
    snr = np.array([-20, 30, -20, 30, -20, 30])
    report = train.accuracy_report(labels, predictions, snr)
    assert report["overall"] == pytest.approx(4 / 6)
    assert report["per_snr"] == {-20: pytest.approx(2 / 3), 30: pytest.approx(2 / 3)}
    assert report["per_class"] == {"OOK": 0.5, "4ASK": 1.0, "8ASK": 0.5}
    assert report["confusion"][0][:3] == [1, 1, 0] and report["confusion"][2][:3] == [1, 0, 1]


def test_missing_checkpoint_names_how_to_get_one(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"make train MODEL=tiny .*CKPT="):
        evaluate.evaluate_checkpoint("tiny", tmp_path / "missing.pt")

