from pathlib import Path

import h5py
import numpy as np
import pytest

from models import radioml

FPP = 16    # frames per (modulation, SNR) pair in the synthetic test file


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return radioml.synthesize(tmp_path_factory.mktemp("radioml") / "synthetic.hdf5", frames_per_pair=FPP)


def _global_shuffle(seed, items):
    """np.random.seed + np.random.shuffle on a list, as the challenge notebook does (state restored)."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        items = list(items)
        np.random.shuffle(items)
        return items
    finally:
        np.random.set_state(state)


# --- official split -----------------------------------------------------------------------------

def test_classes_and_snrs():
    assert len(radioml.CLASSES) == 24 and radioml.CLASSES[:3] == ("OOK", "4ASK", "8ASK")
    assert radioml.CLASSES[-3:] == ("FM", "GMSK", "OQPSK")
    assert radioml.SNRS == tuple(range(-20, 32, 2)) and len(radioml.SNRS) == 26


def test_official_split_totals():
    train, test = radioml.split_indices(4096)
    assert len(test) == 255_840 and len(train) == 2_300_064
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(24 * 26 * 4096))   # a partition


def test_official_split_matches_global_numpy_stream():
    _, test = radioml.split_indices(4096)
    assert list(test[:410]) == _global_shuffle(2018, range(4096))[:410]


def test_split_shuffles_every_pair_from_one_stream():
    """Every pair, not only the first, continues the same seed-2018 stream (list shuffles)."""
    state = np.random.get_state()
    try:
        np.random.seed(2018)
        expected_test = []
        for pair in range(24 * 26):
            items = list(range(pair * FPP, (pair + 1) * FPP))
            np.random.shuffle(items)
            expected_test += items[:2]
    finally:
        np.random.set_state(state)
    train, test = radioml.split_indices(FPP)
    assert list(test) == expected_test
    assert len(train) == 24 * 26 * (FPP - 2)


# --- loader on the synthetic file ---------------------------------------------------------------

def test_synthetic_layout(synthetic):
    with h5py.File(synthetic, "r") as f:
        assert f["X"].shape == (24 * 26 * FPP, 1024, 2) and f["X"].dtype == np.float32
        assert f["Y"].shape == (24 * 26 * FPP, 24) and f["Z"].shape == (24 * 26 * FPP, 1)
        labels, snr = f["Y"][:].argmax(axis=1), f["Z"][:, 0]
    assert np.array_equal(labels, np.repeat(np.arange(24), 26 * FPP))
    assert np.array_equal(snr, np.tile(np.repeat(radioml.SNRS, FPP), 24))


def test_load_splits(synthetic):
    x, y, snr = radioml.load(synthetic, "test")
    assert x.shape == (24 * 26 * 2, 2, 1024) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(np.bincount(y), np.full(24, 26 * 2))
    assert np.all(np.diff(y) >= 0)                       # file order: modulation-major
    assert sorted(set(snr.tolist())) == list(radioml.SNRS)
    x_all, y_all, snr_all = radioml.load(synthetic, "all")
    _, test = radioml.split_indices(FPP)
    rows = np.sort(test)
    assert np.array_equal(x, x_all[rows]) and np.array_equal(y, y_all[rows]) and np.array_equal(snr, snr_all[rows])
    assert len(radioml.load(synthetic, "train")[1]) == 24 * 26 * (FPP - 2)


def test_load_filters_limits_and_crops(synthetic):
    x, y, snr = radioml.load(synthetic, "train", snr_min=10)
    assert snr.min() == 10 and len(y) == 24 * 11 * (FPP - 2)
    x_small, y_small, snr_small = radioml.load(synthetic, "train", snr_min=10, limit=100, length=64, seed=3)
    assert x_small.shape == (100, 2, 64) and snr_small.min() >= 10
    assert len(set(y_small.tolist())) > 12               # a random subset, not the first modulations
    # Every limited frame is the cropped version of one of the filtered frames.
    full = {frame.tobytes() for frame in x[:, :, :64]}
    assert all(frame.tobytes() in full for frame in x_small)
    again = radioml.load(synthetic, "train", snr_min=10, limit=100, length=64, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(again, (x_small, y_small, snr_small)))
    other = radioml.load(synthetic, "train", snr_min=10, limit=100, length=64, seed=4)
    assert not np.array_equal(other[0], x_small)


def test_load_sparse_rows_match_dense_read(synthetic):
    """A subset so small that rows are read one by one gives the same frames as a whole read."""
    x_all, y_all, _ = radioml.load(synthetic, "all", length=32)
    x, y, _ = radioml.load(synthetic, "all", limit=5, length=32, seed=1)
    matches = [np.flatnonzero((x_all == frame).all(axis=(1, 2))) for frame in x]
    assert all(len(m) == 1 and y_all[m[0]] == label for m, label in zip(matches, y))


def test_synthesize_is_deterministic(tmp_path, synthetic):
    again = radioml.synthesize(tmp_path / "again.hdf5", frames_per_pair=FPP)
    with h5py.File(synthetic, "r") as a, h5py.File(again, "r") as b:
        assert np.array_equal(a["X"][:50], b["X"][:50])
    other = radioml.synthesize(tmp_path / "other.hdf5", frames_per_pair=1, seed=1)
    with h5py.File(other, "r") as f:
        assert f["X"].shape == (24 * 26, 1024, 2)
    assert not list(tmp_path.glob("*.tmp"))             # temp files renamed away


def test_synthetic_power_and_snr(synthetic):
    x, _, snr = radioml.load(synthetic, "all")
    power = (x.astype(np.float64) ** 2).sum(axis=1).mean(axis=1)
    for level in (-10, 0, 30):
        expected = 1 + 10 ** (-level / 10)
        assert power[snr == level].mean() == pytest.approx(expected, rel=0.1)


def _features(x):
    """Amplitude, phase-step, spectrum and higher-order moment statistics per frame."""
    z = x[:, 0].astype(np.float64) + 1j * x[:, 1]
    z /= np.sqrt(np.mean(np.abs(z) ** 2, axis=1, keepdims=True))
    amp = np.abs(z)
    step = np.angle(z[:, 1:] * np.conj(z[:, :-1]))
    spectrum = np.abs(np.fft.fft(z)) ** 2
    spectrum /= spectrum.sum(axis=1, keepdims=True)
    symbols = z[:, ::8]
    return np.stack([amp.std(1), (amp ** 4).mean(1), step.std(1), np.abs(step).mean(1), spectrum.max(1),
                     np.abs(np.mean(z ** 2, 1)), np.abs(np.mean(z ** 4, 1)),
                     (np.abs(symbols) ** 2).std(1), np.abs(np.mean(symbols ** 4, 1))], axis=1)


def test_synthetic_classes_are_distinguishable(synthetic):
    """Nearest class centroid on simple statistics at high SNR beats chance (1/24) by far."""
    x, y, _ = radioml.load(synthetic, "all", snr_min=10)
    features = _features(x)
    fit = np.random.default_rng(0).permutation(len(y)) < len(y) // 2
    mean, std = features[fit].mean(0), features[fit].std(0)
    features = (features - mean) / std
    centroids = np.stack([features[fit & (y == c)].mean(0) for c in range(24)])
    held_out = features[~fit]
    pred = ((held_out[:, None] - centroids[None]) ** 2).sum(-1).argmin(1)
    assert (pred == y[~fit]).mean() > 0.3


# --- errors ---------------------------------------------------------------------------------------

def test_missing_file_says_how_to_get_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="deepsig.*omit DATA"):
        radioml.load(tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5")


def _write(path, n, **overrides):
    arrays = {"X": np.zeros((n, 16, 2), np.float32), "Y": np.eye(24)[np.zeros(n, int)], "Z": np.zeros((n, 1))}
    arrays.update(overrides)
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            if value is not None:
                f.create_dataset(name, data=value)
    return path


def test_frame_count_not_divisible_names_file(tmp_path):
    path = _write(tmp_path / "odd.hdf5", 1000)
    with pytest.raises(ValueError, match=r"odd\.hdf5 has 1000 frames.*624"):
        radioml.load(path)


def test_missing_dataset_names_file(tmp_path):
    path = _write(tmp_path / "noy.hdf5", 624, Y=None)
    with pytest.raises(ValueError, match=r"noy\.hdf5 has no dataset Y"):
        radioml.load(path)


def test_wrong_shape_and_wrong_order_name_file(tmp_path):
    path = _write(tmp_path / "mono.hdf5", 624, X=np.zeros((624, 16, 1), np.float32))
    with pytest.raises(ValueError, match=r"mono\.hdf5 has X \(624, 16, 1\)"):
        radioml.load(path)
    path = _write(tmp_path / "order.hdf5", 624)             # all labels 0, all SNRs 0
    with pytest.raises(ValueError, match=r"order\.hdf5 rows are not in RadioML order"):
        radioml.load(path)


def test_bad_arguments(synthetic):
    with pytest.raises(ValueError, match="split must be"):
        radioml.load(synthetic, "validation")
    with pytest.raises(ValueError, match="length 2048 is outside 1..1024"):
        radioml.load(synthetic, length=2048)


def test_ensure_synthetic_writes_once(tmp_path):
    path = radioml.ensure_synthetic(tmp_path / "data" / "syn.hdf5")
    stamp = path.stat().st_mtime_ns
    assert radioml.ensure_synthetic(path) == path and path.stat().st_mtime_ns == stamp
    path.write_bytes(b"truncated")
    radioml.ensure_synthetic(path)
    assert radioml.load(path, limit=3)[0].shape == (3, 2, 1024)
    repo_root = Path(radioml.__file__).resolve().parent.parent
    assert radioml.DEFAULT_SYNTHETIC == repo_root / "data" / "synthetic_radioml.hdf5"


@pytest.mark.parametrize("snr_min, limit", [(None, None), (-6, 100)])
def test_stream_reads_the_frames_of_the_in_memory_loader(synthetic, snr_min, limit):
    x, y, snr = radioml.load(synthetic, "train", snr_min=snr_min, limit=limit, length=64, seed=3)
    stream = radioml.FrameStream(synthetic, "train", snr_min=snr_min, limit=limit, length=64, seed=3, chunk_frames=40)
    assert len(stream) == len(y)
    order = np.random.default_rng(0).permutation(len(stream))
    for batches, expected in [(stream.batches(16), slice(None)), (stream.batches(16, order), order)]:
        xs, ys, snrs = map(np.concatenate, zip(*batches))
        np.testing.assert_array_equal(xs, x[expected])
        np.testing.assert_array_equal(ys, y[expected])
        np.testing.assert_array_equal(snrs, snr[expected])


def test_stream_applies_the_snr_filter_of_training(synthetic):
    stream = radioml.FrameStream(synthetic, "train", snr_min=-6)
    assert stream.snr.min() == -6 and stream.length == 1024
    assert len(stream) == 24 * 19 * 14          # 19 SNRs from -6 dB; 14 of 16 frames per pair are train
