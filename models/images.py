"""Image data of the image classifiers: the standard MNIST and CIFAR-10 files, and seeded synthetic
frames that look like them for builds without data.

  MNIST     idx files as LeCun's site ships them (t10k-images-idx3-ubyte, train-..., also .gz); the
            labels are read from the matching *-labels-idx1-ubyte file beside it, if there is one.
  CIFAR-10  a batch of the python version (cifar-10-batches-py/data_batch_1..5, test_batch).

Frames are float32 (N, C, H, W), pixels / 255 in [0, 1], as torchvision's ToTensor gives them.
"""
import gzip
import pickle
from pathlib import Path

import numpy as np

try:
    from models.errors import MissingFileError, UserError
except ImportError:     # a copy beside the build's PYNQ driver, on a board without this project
    MissingFileError, UserError = FileNotFoundError, ValueError

SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
FORMATS = {"mnist": "an MNIST idx image file (e.g. t10k-images-idx3-ubyte[.gz])",
           "cifar10": "a CIFAR-10 python batch (cifar-10-batches-py/test_batch or data_batch_N)"}
IDX_IMAGES, IDX_LABELS = 2051, 2049      # the idx magic numbers of MNIST's image and label files


class ImageDataError(UserError):
    """A DATA file that is not the image data the model takes."""


def load(dataset, path, limit=None):
    """(frames float32 (N, C, H, W) in [0, 1], labels int64 (N,) or None) of the first `limit` frames
    of `path`, a file of `dataset` ("mnist" or "cifar10")."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"DATA={path}: file not found")
    raw = _read(path)
    if dataset == "mnist" and raw[:4] == IDX_IMAGES.to_bytes(4, "big"):
        images, labels = _mnist(path, raw)
    elif dataset == "cifar10" and raw[:1] == b"\x80":          # a pickle (protocol 2 or later)
        images, labels = _cifar10(path, raw)
    else:
        raise ImageDataError(f"DATA={path} is not {FORMATS[dataset]}, the {NAMES[dataset]} data this model takes")
    images, labels = images[:limit], None if labels is None else labels[:limit]
    return images.astype(np.float32) / 255, labels


def count(dataset, path):
    """How many frames `path` holds."""
    return len(load(dataset, path)[0])


def _read(path):
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise ImageDataError(f"DATA={path}: a damaged gzip file ({error})") from None
    return raw


def _idx(path, raw, magic, dims):
    """The uint8 array of an idx file with `dims` dimensions after the count."""
    header = 4 * (2 + dims)
    shape = [int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in range(1, 2 + dims)]
    if raw[:4] != magic.to_bytes(4, "big") or len(raw) != header + int(np.prod(shape)):
        raise ImageDataError(f"DATA={path}: a truncated or malformed idx file (header {shape}, "
                             f"{len(raw) - header} bytes of data)")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _mnist(path, raw):
    images = _idx(path, raw, IDX_IMAGES, 2)
    if images.shape[1:] != SHAPES["mnist"][1:]:
        raise ImageDataError(f"DATA={path}: images of {images.shape[1]}x{images.shape[2]} pixels, not MNIST's 28x28")
    labels_path = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    labels = None
    if labels_path != path and labels_path.is_file():
        labels = _idx(labels_path, _read(labels_path), IDX_LABELS, 0).astype(np.int64)
        if len(labels) != len(images):
            raise ImageDataError(f"{labels_path} holds {len(labels)} labels for the {len(images)} images of {path}")
    return images[:, None], labels


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch (a dict of bytes, lists and numpy arrays) and nothing else: a
    pickle can name any callable, and DATA is a file from elsewhere."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}      # how a pickle of protocol 2 written by Python 3 holds bytes

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a CIFAR-10 batch")
        return super().find_class(module, name)


def _cifar10(path, raw):
    import io

    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data, labels = np.asarray(batch[b"data"], dtype=np.uint8), np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as error:      # pickle raises many types for a file that is no batch
        raise ImageDataError(f"DATA={path} is not {FORMATS['cifar10']} ({type(error).__name__}: {error})") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ImageDataError(f"DATA={path}: a CIFAR-10 batch holds rows of 3072 pixels and one label each, "
                             f"not data {data.shape} and {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels     # rows are R, G, B planes of 32 x 32


# ---------------------------------------------------------------------------------------------
# Synthetic frames
# ---------------------------------------------------------------------------------------------

def synthetic(dataset, frames, seed=0):
    """`frames` seeded frames with the look of `dataset`, in 8-bit steps like real images: MNIST-like
    (one to three bright pen strokes on black) or CIFAR-like (smooth colour fields with texture).
    Nothing to learn from, but the pixel statistics a network's first layers see are realistic."""
    rng = np.random.default_rng(seed)
    images = _strokes(rng, frames) if dataset == "mnist" else _colour_fields(rng, frames)
    return (np.round(images * 255) / 255).astype(np.float32)


def _strokes(rng, frames, size=28, samples=40):
    """Quadratic Bezier pen strokes, about 2-3 pixels wide, in the central 20 x 20 pixels."""
    grid = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij"), axis=-1).reshape(-1, 2)
    t = np.linspace(0, 1, samples)[:, None]
    images = np.zeros((frames, size * size))
    for frame in range(frames):
        for _ in range(rng.integers(1, 4)):
            a, b, c = rng.uniform(4, size - 4, size=(3, 2))
            points = (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t ** 2 * c
            distance = np.sqrt(((grid[:, None] - points[None]) ** 2).sum(-1)).min(axis=1)
            width = rng.uniform(1.0, 1.6)
            images[frame] = np.maximum(images[frame], np.clip(1.5 - distance / width, 0, 1))
    return images.reshape(frames, 1, size, size)


def _colour_fields(rng, frames, size=32, cells=4):
    """Bilinear interpolation of a coarse random grid, mostly brightness (natural images' colour
    channels are strongly correlated) with some colour, plus fine noise."""
    shape = (frames, 1, cells + 1, cells + 1)
    coarse = 0.7 * rng.random(shape) + 0.3 * rng.random((frames, 3, *shape[2:]))
    position = np.linspace(0, cells, size)
    low = np.minimum(position.astype(int), cells - 1)
    weight = position - low
    rows = coarse[:, :, low] * (1 - weight)[:, None] + coarse[:, :, low + 1] * weight[:, None]
    fields = rows[..., low] * (1 - weight) + rows[..., low + 1] * weight
    return np.clip(fields + rng.normal(0, 0.05, fields.shape), 0, 1)


def frames_for(dataset, path, count, seed=0):
    """(frames, what they are): the first `count` frames of DATA `path`, or synthetic ones."""
    if path:
        return load(dataset, path, count)[0], f"the first {count} frames of {path}"
    return synthetic(dataset, count, seed), f"{count} synthetic {NAMES[dataset]}-like frames (no DATA given)"
