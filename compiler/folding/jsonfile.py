"""Atomic JSON output: a reader never sees a half-written file, even if the build is killed."""
import json
import os
import tempfile
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
