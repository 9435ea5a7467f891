"""RadioML 2018.01A data: the official train/test split, a row-selective HDF5 loader, and a small
synthetic file in the same layout for runs without the real 21 GB dataset.

File layout (GOLD_XYZ_OSC.0001_1024.hdf5, models.md §0): `X` (N, 1024, 2) float32 I/Q, `Y` one-hot
(N, 24), `Z` (N, 1) SNR in dB. Rows are stored modulation-major, then by SNR, with the same number
of frames for every (modulation, SNR) pair.
"""
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

try:
    from models.errors import MissingFileError, UserError
except ImportError:     # a copy beside the build's PYNQ driver, on a board without this project
    MissingFileError, UserError = FileNotFoundError, ValueError

# The corrected label order (the archive's classes.txt is wrong).
CLASSES = ("OOK", "4ASK", "8ASK", "BPSK", "QPSK", "8PSK", "16PSK", "32PSK", "16APSK", "32APSK",
           "64APSK", "128APSK", "16QAM", "32QAM", "64QAM", "128QAM", "256QAM", "AM-SSB-WC",
           "AM-SSB-SC", "AM-DSB-WC", "AM-DSB-SC", "FM", "GMSK", "OQPSK")
SNRS = tuple(range(-20, 31, 2))

SPLIT_SEED = 2018
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SYNTHETIC = REPO_ROOT / "data" / "synthetic_radioml.hdf5"
SYNTHETIC_VERSION = 1       # bump when synthesize() changes so ensure_synthetic() rewrites old files
READ_BLOCK = 4096           # rows per HDF5 read window (32 MB of 1024-sample frames)
CHUNK_FRAMES = 32768        # frames a FrameStream reads at once: 256 MB of 1024-sample float32 frames

_GET_DATA = ("get GOLD_XYZ_OSC.0001_1024.hdf5 (RadioML 2018.01A) from https://www.deepsig.ai/datasets "
             "and pass its path, or omit DATA to train and test on synthetic data")


class DataError(UserError):
    """A data file that is not RadioML 2018.01A data as the loader expects it."""


# ---------------------------------------------------------------------------------------------
# Official split
# ---------------------------------------------------------------------------------------------

def split_indices(frames_per_pair, n_mods=len(CLASSES), n_snrs=len(SNRS)):
    """(train_idx, test_idx) of the challenge split: one RandomState(2018) stream shuffles every
    (modulation, SNR) pair in file order; the first ceil(10 %) of each shuffled pair are test."""
    rng = np.random.RandomState(SPLIT_SEED)     # same stream as np.random.seed(2018), global state untouched
    n_test = -(-frames_per_pair // 10)
    train, test = [], []
    for pair in range(n_mods * n_snrs):         # pair = n_snrs * mod + snr_idx, the file order
        idx = np.arange(pair * frames_per_pair, (pair + 1) * frames_per_pair)
        rng.shuffle(idx)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.concatenate(train), np.concatenate(test)


# ---------------------------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------------------------

def load(path, split="test", snr_min=None, limit=None, length=None, seed=0):
    """Frames of one split as (X float32 (N, 2, L), y int64, snr int64), in file order, at once
    (FrameStream says which rows). Only the selected rows are read from the file."""
    stream = FrameStream(path, split, snr_min, limit, length, seed)
    with h5py.File(stream.path, "r") as f:
        return stream.read(f, np.arange(len(stream)))


class FrameStream:
    """The frames of one split of a RadioML file, read a chunk at a time so that memory stays bounded
    (the real train split is 18.8 GB as float32).

    The SNR filter is applied after the split so that the split stays the official one; `limit`
    then keeps a random subset (drawn with `seed`) so that short runs still see every class; `length`
    keeps the first samples of each frame."""

    def __init__(self, path, split, snr_min=None, limit=None, length=None, seed=0, chunk_frames=CHUNK_FRAMES):
        self.path = Path(path)
        if not self.path.is_file():
            raise MissingFileError(f"RadioML file {self.path} not found: {_GET_DATA}")
        try:
            with h5py.File(self.path, "r") as f:
                xs, _, snr = _checked_datasets(f, self.path)
                frame_length = xs.shape[1]
        except OSError as error:            # not HDF5, or truncated
            raise DataError(f"{self.path} is not a readable HDF5 file ({error}); expected RadioML 2018.01A "
                            "(GOLD_XYZ_OSC.0001_1024.hdf5)") from None
        rows = _split_rows(len(snr), split)
        if snr_min is not None:
            rows = rows[snr[rows] >= snr_min]
        if limit is not None and limit < len(rows):
            rows = np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
        self.length = frame_length if length is None else length
        if not 0 < self.length <= frame_length:
            raise DataError(f"length {self.length} is outside 1..{frame_length}, the frame length of {self.path}")
        self.rows, self.snr = rows, snr[rows]
        self.chunk_frames = chunk_frames

    def __len__(self):
        return len(self.rows)

    def read(self, f, wanted):
        """(x float32 (B, 2, L), y int64, snr int64) of the frames at positions `wanted` of the split, from
        the open file `f`; rows are read in file order."""
        ascending = np.sort(wanted)
        rows = self.rows[ascending]
        back = np.searchsorted(ascending, wanted)       # where each wanted frame is in the read
        x = _read_rows(f["X"], rows, slice(0, self.length))[back]
        y = _read_rows(f["Y"], rows).argmax(axis=1)[back].astype(np.int64)
        return np.ascontiguousarray(x.transpose(0, 2, 1), dtype=np.float32), y, self.snr[wanted]

    def batches(self, batch_size, order=None):
        """Batches of read() over the frames at positions `order` of the split (default: file order).
        Each HDF5 read covers whole batches."""
        order = np.arange(len(self)) if order is None else np.asarray(order)
        per_read = max(1, self.chunk_frames // batch_size) * batch_size
        with h5py.File(self.path, "r") as f:
            for start in range(0, len(order), per_read):
                x, y, snr = self.read(f, order[start:start + per_read])
                for b in range(0, len(x), batch_size):
                    yield x[b:b + batch_size], y[b:b + batch_size], snr[b:b + batch_size]


def average_pool(x, pool):
    """Frames (N, 2, L) averaged over `pool` consecutive samples: (N, 2, L // pool). A host step of
    models whose hardware part takes decimated frames (Imperial's); the driver does the same."""
    if pool == 1:
        return x
    return x[..., : x.shape[-1] // pool * pool].reshape(*x.shape[:-1], -1, pool).mean(axis=-1, dtype=np.float32)


def _checked_datasets(f, path):
    """X and Y datasets and the SNR column, after checking they follow the RadioML layout."""
    expected = "X (N, L, 2), Y (N, 24) one-hot, Z (N, 1) SNR, modulation-major then SNR -20..30 dB"
    missing = [k for k in "XYZ" if k not in f]
    if missing:
        raise DataError(f"{path} has no dataset {', '.join(missing)}; expected {expected}")
    xs, ys, zs = f["X"], f["Y"], f["Z"]
    n = xs.shape[0]
    if xs.ndim != 3 or xs.shape[2] != 2 or ys.shape != (n, len(CLASSES)) or zs.shape[0] != n:
        raise DataError(f"{path} has X {xs.shape}, Y {ys.shape}, Z {zs.shape}; expected {expected}")
    pairs = len(CLASSES) * len(SNRS)
    if n == 0 or n % pairs:
        raise DataError(f"{path} has {n} frames, not a positive multiple of {pairs} "
                        f"(24 modulations x 26 SNRs); expected {expected}")
    snr = zs[:].reshape(n).astype(np.int64)
    # The split relies on the row order, so check it on the first frame of every pair.
    fpp = n // pairs
    if (not np.array_equal(snr[::fpp], np.tile(SNRS, len(CLASSES)))
            or not np.array_equal(ys[::fpp].argmax(axis=1), np.repeat(np.arange(len(CLASSES)), len(SNRS)))):
        raise DataError(f"{path} rows are not in RadioML order; expected {expected}")
    return xs, ys, snr


def _split_rows(n, split):
    if split == "all":
        return np.arange(n)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}")
    train, test = split_indices(n // (len(CLASSES) * len(SNRS)))
    return np.sort(train if split == "train" else test)


def _read_rows(dset, rows, *tail):
    """dset[rows, *tail] for sorted rows. A window of the file with many selected rows is read as
    one slice (fast), one with few is read row by row (so a small subset never reads the whole file)."""
    out = np.empty((len(rows),) + np.empty(dset.shape[1:], bool)[tail].shape, dset.dtype)
    breaks = np.flatnonzero(np.diff(rows // READ_BLOCK)) + 1
    for pos in np.split(np.arange(len(rows)), breaks):
        if not len(pos):
            continue
        r = rows[pos]
        first, last = int(r[0]), int(r[-1]) + 1
        if 8 * len(r) >= last - first:
            out[pos] = dset[(slice(first, last),) + tail][r - first]
        else:
            out[pos] = dset[(r,) + tail]
    return out


# ---------------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------------

SPS = 8                     # samples per symbol
PAD = 16 * SPS              # margin cut off both ends, so FFT (circular) filtering cannot wrap into the frame


def _normalize(points):
    points = np.asarray(points, np.complex128)
    return points / np.sqrt(np.mean(np.abs(points) ** 2))


def _psk(m):
    return _normalize(np.exp(2j * np.pi * np.arange(m) / m))


def _apsk(rings):
    """Concentric PSK rings of (points, radius), each ring rotated by half its point spacing."""
    pts = [r * np.exp(2j * np.pi * (np.arange(k) + 0.5) / k) for k, r in rings]
    return _normalize(np.concatenate(pts))


def _qam(m):
    """Square QAM for even log2(m); cross QAM (a square with its corners cut off) for odd."""
    bits = int(np.log2(m))
    side = 2 ** (bits // 2) if bits % 2 == 0 else 6 * 2 ** ((bits - 5) // 2)    # 32QAM: 6x6, 128QAM: 12x12
    axis = np.arange(-side + 1, side, 2)
    grid = (axis[:, None] + 1j * axis[None, :]).ravel()
    corner = side // 6 if bits % 2 else 0           # cut-off corner squares: 1x1 (32QAM), 2x2 (128QAM)
    points = grid[np.minimum(np.abs(grid.real), np.abs(grid.imag)) <= side - 1 - 2 * corner]
    assert len(points) == m, (m, len(points))
    return _normalize(points)


CONSTELLATIONS = {
    "OOK": _normalize([0, 1]),
    "4ASK": _normalize(np.arange(-3, 4, 2)),
    "8ASK": _normalize(np.arange(-7, 8, 2)),
    "BPSK": _psk(2), "QPSK": _psk(4), "8PSK": _psk(8), "16PSK": _psk(16), "32PSK": _psk(32),
    # 16/32APSK ring sizes and radii as in DVB-S2; 64/128 use growing rings of the same kind.
    "16APSK": _apsk([(4, 1.0), (12, 2.7)]),
    "32APSK": _apsk([(4, 1.0), (12, 2.64), (16, 4.64)]),
    "64APSK": _apsk([(8, 1.0), (16, 2.0), (20, 2.9), (20, 3.8)]),
    "128APSK": _apsk([(8, 1.0), (16, 1.9), (24, 2.8), (32, 3.7), (48, 4.6)]),
    "16QAM": _qam(16), "32QAM": _qam(32), "64QAM": _qam(64), "128QAM": _qam(128), "256QAM": _qam(256),
}


def _cis(phase):
    """exp(1j * phase), via cos/sin, which numpy vectorizes (complex exp it does not)."""
    return np.cos(phase) + 1j * np.sin(phase)


def _fft_filter(x, response):
    return np.fft.ifft(np.fft.fft(x, axis=1) * response, axis=1)


def _rrc_response(total, rolloff):
    """Root-raised-cosine frequency response at SPS samples/symbol, one row per roll-off (n, 1)."""
    f = (np.abs(np.fft.fftfreq(total)) * SPS).astype(np.float32)     # in units of the symbol rate
    lo, hi = (1 - rolloff) / 2, (1 + rolloff) / 2
    taper = np.sqrt(0.5 * (1 + np.cos(np.pi / rolloff * (np.clip(f, lo, hi) - lo))))
    return np.where(f <= lo, 1.0, np.where(f <= hi, taper, 0.0))


def _pulse_shape(impulses, rng):
    rolloff = rng.uniform(0.2, 0.4, (len(impulses), 1)).astype(np.float32)
    return _fft_filter(impulses, _rrc_response(impulses.shape[1], rolloff))


def _linear(rng, name, n, total):
    points = CONSTELLATIONS[name]
    impulses = np.zeros((n, total), np.complex128)
    impulses[:, ::SPS] = points[rng.integers(len(points), size=(n, total // SPS))]
    return _pulse_shape(impulses, rng)


def _oqpsk(rng, n, total):
    """QPSK with the Q bits delayed by half a symbol."""
    bits = rng.choice([-1.0, 1.0], size=(2, n, total // SPS)) / np.sqrt(2)
    impulses = np.zeros((n, total), np.complex128)
    impulses[:, ::SPS] = bits[0]
    impulses[:, SPS // 2::SPS] += 1j * bits[1]
    return _pulse_shape(impulses, rng)


def _gmsk(rng, n, total, bt=0.3):
    """MSK (h = 0.5) with a Gaussian-filtered NRZ frequency pulse."""
    freq = np.repeat(rng.choice([-1.0, 1.0], size=(n, total // SPS)), SPS, axis=1)
    sigma = np.sqrt(np.log(2)) / (2 * np.pi * bt) * SPS      # Gaussian impulse response width, samples
    gauss = np.exp(-2 * (np.pi * sigma * np.fft.fftfreq(total)) ** 2)
    freq = _fft_filter(freq, gauss).real
    return _cis(np.pi / 2 / SPS * np.cumsum(freq, axis=1))


def _message(rng, n, total):
    """Random band-limited real message (audio stand-in), peak 1."""
    cutoff = rng.uniform(0.005, 0.03, (n, 1))               # cycles/sample
    m = _fft_filter(rng.standard_normal((n, total)), np.abs(np.fft.fftfreq(total)) <= cutoff).real
    return m / np.abs(m).max(axis=1, keepdims=True)


def _analog(rng, name, n, total):
    m = _message(rng, n, total)
    if name == "FM":
        deviation = rng.uniform(0.02, 0.08, (n, 1))          # peak deviation, cycles/sample
        return _cis(2 * np.pi * deviation * np.cumsum(m, axis=1))
    if name.startswith("AM-SSB"):                           # upper sideband: the analytic signal
        m = _fft_filter(m, 1 + np.sign(np.fft.fftfreq(total)))
    if name.endswith("-WC"):                                # with carrier; SC: suppressed carrier
        return 1 + rng.uniform(0.5, 0.9, (n, 1)) * m        # modulation depth 50-90 %
    return m


def _modulate(rng, name, n, total):
    if name in CONSTELLATIONS:
        return _linear(rng, name, n, total)
    if name == "OQPSK":
        return _oqpsk(rng, n, total)
    if name == "GMSK":
        return _gmsk(rng, n, total)
    return _analog(rng, name, n, total)


def _channel(rng, s, snr_db, length):
    """Random timing, carrier offset and phase, unit signal power, then complex AWGN at snr_db (n,).
    Returns float32 (n, length, 2) I/Q."""
    n = len(s)
    start = PAD + rng.integers(0, SPS, n)
    s = s[np.arange(n)[:, None], start[:, None] + np.arange(length)].astype(np.complex64)
    offset = rng.uniform(-1e-3, 1e-3, (n, 1)).astype(np.float32)   # cycles/sample
    phase = rng.uniform(0, 2 * np.pi, (n, 1)).astype(np.float32)
    gain = 1 / np.sqrt(np.mean(np.abs(s) ** 2, axis=1, keepdims=True))
    s *= gain * _cis(2 * np.pi * offset * np.arange(length, dtype=np.float32) + phase)
    noise_std = np.sqrt(10.0 ** (-np.asarray(snr_db, np.float32) / 10) / 2)[:, None, None]
    noise = rng.standard_normal((n, length, 2), dtype=np.float32)
    return np.stack([s.real, s.imag], axis=-1) + noise_std * noise


def synthesize(path, frames_per_pair=16, length=1024, seed=0):
    """Write a small RadioML-layout file of synthetic frames (real modulation math, AWGN at each SNR)."""
    rng = np.random.default_rng(seed)
    total = length + 2 * PAD
    total += -total % SPS            # whole symbols
    per_mod = len(SNRS) * frames_per_pair
    snr = np.repeat(SNRS, frames_per_pair)
    x = np.empty((len(CLASSES) * per_mod, length, 2), np.float32)
    for mod, name in enumerate(CLASSES):
        x[mod * per_mod:(mod + 1) * per_mod] = _channel(rng, _modulate(rng, name, per_mod, total), snr, length)
    y = np.repeat(np.eye(len(CLASSES), dtype=np.int64), per_mod, axis=0)
    z = np.tile(snr, len(CLASSES))[:, None].astype(np.int64)
    attrs = {"synthetic_version": SYNTHETIC_VERSION, "seed": seed}
    _write_atomic(Path(path), {"X": x, "Y": y, "Z": z}, attrs)
    return Path(path)


def _write_atomic(path, arrays, attrs):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            for name, value in arrays.items():
                f.create_dataset(name, data=value)
            f.attrs.update(attrs)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def ensure_synthetic(path=None):
    """Path of the default synthetic file (data/synthetic_radioml.hdf5), written if missing or stale."""
    path = Path(path) if path else DEFAULT_SYNTHETIC
    if not path.is_file() or _synthetic_version(path) != SYNTHETIC_VERSION:
        synthesize(path)
    return path


def _synthetic_version(path):
    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("synthetic_version")
    except OSError:                  # unreadable (e.g. truncated): rewrite it
        return None
