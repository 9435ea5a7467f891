"""Atomic file output: a reader never sees a half-written file or folder, even if the build is killed."""
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def write_json(data, path):
    """Write `data` as JSON (indent 2, keys in the order given) to `path` via a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_model(model, path):
    """Save a qonnx ModelWrapper via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    model.save(str(tmp))
    os.replace(tmp, path)


@contextmanager
def replace_dir(path):
    """Yield a fresh temporary folder that replaces `path` only if the block completes."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
