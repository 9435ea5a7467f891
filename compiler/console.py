"""What a build shows in the terminal: one line per step with its time, the step's messages indented
below it, and while a step runs a live status line (the step, a bar where the step counts its work
with models.progress.bar, the time so far, its latest message). The live line is drawn only on a
terminal; a pipe or a file gets the same lines without it. build.log keeps every message as it
happens (compiler/flow.py's file handler)."""
import contextlib
import logging
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field

from models import progress

STEP_WIDTH = 20
INDENT = " " * 11          # under the step name, past the "HH:MM:SS " time
BAR_WIDTH = 24
REDRAW_SECONDS = 0.2


@dataclass
class _Step:
    name: str
    started: float
    messages: list = field(default_factory=list)
    counters: list = field(default_factory=list)


class _Counter:
    def __init__(self, console, total, unit):
        self.console, self.total, self.unit, self.done = console, total, unit, 0

    def advance(self, n=1):
        with self.console.lock:
            self.done += n

    def describe(self):
        if not self.total:
            return f"{self.done} {self.unit}"
        filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total} {self.unit}"


def is_terminal(stream):
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


class Console(logging.StreamHandler):
    """A logging handler for the build's own messages; `running(step)` around each step."""

    def __init__(self, stream=None):
        super().__init__(stream or sys.stderr)
        self.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        self.live = is_terminal(self.stream)
        self.step = None
        self._drawn = False

    def emit(self, record):                     # called with self.lock held (logging.Handler.handle)
        if self.step is not None and record.levelno < logging.WARNING:
            self.step.messages.append(record.getMessage())
            return
        self._write(self.format(record))

    @contextlib.contextmanager
    def running(self, name, reason=""):
        """Around a step: its messages are held and printed below its line when it ends (or fails)."""
        with self.lock:
            self.step = _Step(name, time.time())
        stop = threading.Event()
        ticker = threading.Thread(target=self._redraw, args=(stop,), daemon=True) if self.live else None
        if ticker:
            ticker.start()
        outcome = "failed after "
        try:
            with progress.displayed_by(self):
                yield
            outcome = ""
        except KeyboardInterrupt:           # Ctrl-C or SIGTERM (compiler.buildfolder.sigterm_interrupts)
            outcome = "interrupted after "
            raise
        finally:
            stop.set()
            if ticker:
                ticker.join()
            with self.lock:
                step, self.step = self.step, None
                seconds = time.time() - step.started
                self._write(self._step_line(name, f"{outcome}{seconds:.1f} s" + (f"  ({reason})" if reason else "")))
                for message in step.messages:
                    self._write(INDENT + message)

    def skipped(self, name):
        with self.lock:
            self._write(self._step_line(name, "up to date"))

    @contextlib.contextmanager
    def bar(self, total, unit):
        counter = _Counter(self, total, unit)
        with self.lock:
            self.step.counters.append(counter)
        try:
            yield counter
        finally:
            with self.lock:
                self.step.counters.remove(counter)

    @staticmethod
    def _step_line(name, text):
        return f"{time.strftime('%H:%M:%S')} {name:<{STEP_WIDTH}} {text}"

    def _write(self, line):
        self._clear()
        self.stream.write(line + "\n")
        self._draw()
        self.flush()

    def _redraw(self, stop):
        while not stop.wait(REDRAW_SECONDS):
            with self.lock:
                self._clear()
                self._draw()
                self.flush()

    def _status(self):
        step = self.step
        parts = [f"  > {step.name}"]
        parts += [counter.describe() for counter in step.counters[-1:]]     # the innermost count
        parts.append(f"{time.time() - step.started:.0f} s")
        if step.messages:
            parts.append(step.messages[-1])
        return "  ".join(parts)

    def _draw(self):
        if self.live and self.step is not None:
            width = shutil.get_terminal_size((100, 24)).columns - 1
            self.stream.write(self._status()[:width])
            self._drawn = True

    def _clear(self):
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self._drawn = False
