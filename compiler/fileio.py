"""Atomic file output: a reader never sees a half-written file or folder, even if the build is killed.

Temporary names are unique (`.<name>.<random>.tmp` beside the target), so two writers never share one.
"""
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"


@contextmanager
def _replacing(path, mode=0o644):
    """Yield a new temporary file beside `path` that replaces `path` when the block completes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)         # mkstemp makes it readable by its owner only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(data, path):
    """Write `data` as JSON (indent 2, keys in the order given) to `path` via a rename."""
    with _replacing(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def write_file(path, data, mode=0o644):
    """Write text or bytes to `path` via a rename."""
    with _replacing(path, mode) as tmp:
        tmp.write_bytes(data) if isinstance(data, bytes) else tmp.write_text(data)


def save_model(model, path):
    """Save a qonnx ModelWrapper via a temporary file and a rename."""
    with _replacing(path) as tmp:
        model.save(str(tmp))


@contextmanager
def replace_dir(path):
    """Yield a fresh temporary folder that replaces `path` only if the block completes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.chmod(0o755)                # mkdtemp makes it accessible to its owner only
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)


@contextmanager
def scratch_dir(parent, name):
    """Yield a fresh temporary folder in `parent` for work files nobody keeps; removed afterwards (and,
    after a killed build, by the next one: its name ends in TEMP_SUFFIX)."""
    Path(parent).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.", suffix=TEMP_SUFFIX))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def user_cache_dir(kind):
    """Where compiled simulators and synthesis results of `kind` are kept across builds, by content
    hash: $DFA_CACHE_DIR/<kind>, else ~/.cache/dataflow-accel/<kind> ($XDG_CACHE_HOME honoured)."""
    root = os.environ.get("DFA_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "dataflow-accel"
    return Path(root) / kind
