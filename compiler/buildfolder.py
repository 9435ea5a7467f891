"""A build folder's bookkeeping, so that what the folder holds is what it claims to hold.

- build.lock: one build at a time. The lock is an flock on the file, which the kernel releases when
  its holder dies, however it dies; the file names the holder (PID, start time) for the next one.
- status.json: running (step, PID, start time), failed (step, error), interrupted (step, signal),
  complete, or stopped after a step; written by `set_status` only.
- steps/state.json: for every completed step its key (a hash of its inputs) and the content hash of
  every file it wrote. A step counts as done only while both still hold: a changed input, or a file
  changed or deleted since, runs it again.
- stale/: when a step runs again, the files of every later step are moved here first (and their
  records dropped), and afterwards those of its own earlier files it did not write again. Files
  changed since they were written (a user's edits) stay where they are. stale/ holds what the last
  build moved aside.
Content hashes are cached by (size, mtime, ctime), so unchanged files are not read again.
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from compiler.fileio import TEMP_SUFFIX, write_json
from models.errors import UserError

LOCK_FILE, STATUS_FILE, STATE_FILE, STALE_DIR = "build.lock", "status.json", "steps/state.json", "stale"


class BuildFolderError(UserError):
    """The build folder cannot be used as asked: another build holds it, or it lacks what is needed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def graph_path(out_dir, index, step, suffix=""):
    """Where the graph of step number `index`, `step`, is saved: steps/NN_<step><suffix>.onnx."""
    return Path(out_dir) / "steps" / f"{index:02d}_{step}{suffix}.onnx"


def load_graph(out_dir, step, suffix=""):
    """The graph that step `step` saved in build folder `out_dir`, as the folder's record names it."""
    return BuildFolder(out_dir).graph(step, suffix)


def _signature(path):
    """What changes whenever a file's content may have: size, mtime, ctime (None if it does not exist)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


class FileHashes:
    """Content hashes of files, cached by path and signature: a file is read again only if it changed."""

    def __init__(self, root, cache):
        self.root = Path(root).absolute()
        self.cache = cache              # name -> [size, mtime_ns, ctime_ns, hash]
        self.used = set()

    def _name(self, path):
        """Paths inside the folder are cached relative to it, so the cache survives moving the folder."""
        path = Path(path).absolute()
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def __call__(self, path):
        """The content hash of the file at `path`, or None if there is none."""
        signature = _signature(path)
        if signature is None:
            return None
        name = self._name(path)
        self.used.add(name)
        cached = self.cache.get(name)
        if cached is None or cached[:3] != signature:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            self.cache[name] = [*signature, digest.hexdigest()[:16]]
        return self.cache[name][3]


class BuildFolder:
    """The records of one build folder (see the module docstring). Reading it takes no lock;
    `locked()` is for whoever changes it. `editable`: files users edit, which are never moved aside."""

    def __init__(self, path, editable=()):
        self.path = Path(path)
        self.editable = set(editable)
        state_file = self.path / STATE_FILE
        try:
            state = json.loads(state_file.read_text()) if state_file.exists() else {}
        except json.JSONDecodeError:
            raise BuildFolderError(f"{state_file} is not valid JSON, so nothing in {self.path} can be trusted: "
                                   "delete the folder and build again") from None
        self.steps = state.get("steps", {})     # name -> {key, seconds, files: {path: hash}}
        for record in self.steps.values():
            if "files" not in record:           # a record of an older format, which did not list files:
                record.clear()                  # unfinished, so that the step runs again
                record["files"] = {}
        self.notes = state.get("notes", {})     # facts a step keeps for later runs (folding provenance)
        self.hash = FileHashes(self.path, state.get("file_hashes", {}))
        self.running = None                     # the step that runs
        self._stale_emptied = False

    # -------------------------------------------------------------------------------------- lock

    @contextmanager
    def locked(self):
        """Hold the folder's lock for the block; yields what a previous holder that did not release it
        (a killed build) left ({pid, started}), or None. Another build holding it: BuildFolderError."""
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _lock_holder(fd)
                raise BuildFolderError(
                    f"{self.path} is in use by another build (PID {holder.get('pid', '?')}, started "
                    f"{holder.get('started', '?')}): wait for it to end, or build into another folder (OUT=)") from None
            previous = _lock_holder(fd) or None
            me = json.dumps({"pid": os.getpid(), "started": timestamp()}).encode()
            os.pwrite(fd, me, 0)
            os.ftruncate(fd, len(me))
            if previous:
                self._remove_temporaries()
            try:
                yield previous
            finally:
                os.ftruncate(fd, 0)         # released on purpose: the next build finds nobody to take over from
        finally:
            os.close(fd)                    # closing the file releases the flock

    def _remove_temporaries(self):
        """Half-written files of a killed build (their unique names end in TEMP_SUFFIX)."""
        for path in list(self.path.rglob(f".*{TEMP_SUFFIX}")):
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    # ------------------------------------------------------------------------------------ status

    def set_status(self, status, **details):
        write_json({"status": status, **details}, self.path / STATUS_FILE)

    # ----------------------------------------------------------------------------------- records

    def save(self):
        recorded = {name for record in self.steps.values() for name in record["files"]}
        cache = {name: value for name, value in self.hash.cache.items() if name in recorded | self.hash.used}
        write_json({"steps": self.steps, "notes": self.notes, "file_hashes": cache}, self.path / STATE_FILE)

    def why_run(self, step, key):
        """None if `step` is done with `key` and its files are as it wrote them, else why it must run
        ("" if it has no record)."""
        record = self.steps.get(step)
        if record is None:
            return ""
        if "key" not in record:
            return "its last run did not finish"
        if record["key"] != key:
            return "its inputs changed"
        changed = []
        for name, digest in record["files"].items():
            current = self.hash(self.path / name)
            if current != digest:
                changed.append(f"{name} {'is missing' if current is None else 'changed since it was written'}")
        if changed:
            return ", ".join(changed[:3]) + (f" and {len(changed) - 3} more files changed" if len(changed) > 3 else "")
        return None

    def begin(self, step, earlier, later_outputs):
        """Before `step` runs: every file of the steps after it goes into stale/, recorded or not (a
        folder of an older version records no files), and their records are dropped; `later_outputs`:
        what those steps write (paths or glob patterns). Its own files stay until it has run (it may
        read them), its record marked unfinished. Returns the files moved."""
        later = set(self.files(later_outputs))
        for name in [name for name in self.steps if name not in earlier and name != step]:
            later |= set(self.steps.pop(name)["files"])
        kept = {name for record in self.steps.values() for name in record["files"]} | self.editable
        moved = self._move_to_stale(name for name in sorted(later - kept) if (self.path / name).is_file())
        self.steps[step] = {"files": self.steps.get(step, {}).get("files", {})}
        self.running = step
        self.save()
        return moved

    def finish(self, step, key, seconds, written):
        """Record `step` as done: its key and the hashes of the files it wrote (paths relative to the
        folder). Its files of an earlier run that it did not write again go into stale/; returns those."""
        previous = self.steps[step]["files"]
        files = {name: self.hash(self.path / name) for name in sorted(written)}
        moved = self._set_aside({name: digest for name, digest in previous.items() if name not in files})
        self.steps[step] = {"key": key, "seconds": seconds, "files": files}
        self.running = None
        self.save()
        return moved

    def adopt(self, step, name):
        """A later step rewrote `name`, a file of completed `step` (the applied folding gains its FIFO
        depths): record the new content as `step`'s, so that `step` does not count as changed."""
        self.steps[step]["files"][name] = self.hash(self.path / name)
        self.save()

    def abandon(self):
        """The running step failed or was interrupted: its files of an earlier run go into stale/, and its
        record stays unfinished, so that it runs again. Returns the step's name (None if none was running)."""
        step = self.running
        if step is None:
            return None
        self._set_aside(self.steps[step]["files"])
        self.steps[step] = {"files": {}}
        self.running = None
        self.save()
        return step

    def files(self, outputs):
        """The files under `outputs` (files, folders or glob patterns relative to the folder), relative to it."""
        found = set()
        for output in outputs:
            for path in self.path.glob(output):
                found |= {path} if path.is_file() else {f for f in path.rglob("*") if f.is_file()}
        return sorted(str(f.relative_to(self.path)) for f in found)

    def snapshot(self, outputs):
        """{file: signature} under `outputs`: compared after a step, it tells which files the step wrote."""
        return {name: _signature(self.path / name) for name in self.files(outputs)}

    def written_since(self, snapshot, outputs):
        return {name for name in self.files(outputs) if snapshot.get(name) != _signature(self.path / name)}

    def _set_aside(self, files):
        """Move the files that still hold what was recorded ({path: hash}) into stale/, but not editable ones:
        a file changed since is someone's edit."""
        return self._move_to_stale(name for name, digest in files.items()
                                   if name not in self.editable and self.hash(self.path / name) == digest)

    def _move_to_stale(self, names):
        moved = []
        for name in names:
            if not self._stale_emptied:         # stale/ holds what this build moved aside, nothing older
                shutil.rmtree(self.path / STALE_DIR, ignore_errors=True)
                self._stale_emptied = True
            target = self.path / STALE_DIR / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path / name, target)
            _remove_empty_folders((self.path / name).parent, self.path)
            moved.append(name)
        return moved

    # ------------------------------------------------------------------------------------ graphs

    def graph(self, step, suffix=""):
        """The graph a completed step saved, after checking it is the file the step wrote."""
        from qonnx.core.modelwrapper import ModelWrapper

        record = self.steps.get(step, {})
        pattern = re.compile(rf"steps/\d+_{re.escape(step + suffix)}\.onnx")
        name = next((name for name in record.get("files", {}) if pattern.fullmatch(name)), None)
        if "key" not in record or name is None:
            raise BuildFolderError(f"{self.path} holds no graph of a completed '{step}' step: build it first "
                                   "(make build)")
        if self.hash(self.path / name) != record["files"][name]:
            raise BuildFolderError(f"{self.path / name} changed since the build wrote it: build again (make build) "
                                   "to redo it")
        return ModelWrapper(str(self.path / name))


def _lock_holder(fd):
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except json.JSONDecodeError:
        return {}


def _remove_empty_folders(folder, root):
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def timestamp():
    return time.strftime("%Y-%m-%d %H:%M:%S")


def _terminate(signum, frame):
    raise Terminated()


@contextmanager
def sigterm_interrupts():
    """Within the block, SIGTERM raises Terminated, so that a terminated build records it like Ctrl-C.
    (Only the main thread can set signal handlers; elsewhere the block runs without.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
