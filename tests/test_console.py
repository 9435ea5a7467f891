"""The build's terminal view (compiler/console.py): one line per step with its time, the step's
messages below it, and a live status line with the step's bar on a terminal only."""
import io
import logging
import re
import time

import pytest

from compiler import console as console_module
from compiler.console import Console
from models import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def logger_to(stream, monkeypatch, live):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(console_module, "REDRAW_SECONDS", 0.01)
    console = Console(stream)
    assert console.live is live
    log = logging.getLogger(f"build.test_console.{id(stream)}")
    log.handlers[:] = [console]
    log.setLevel(logging.INFO)
    log.propagate = False
    return log, console


def test_a_pipe_gets_one_line_per_step_then_its_messages(monkeypatch):
    out = io.StringIO()
    log, console = logger_to(out, monkeypatch, live=False)
    log.info("building")
    with console.running("folding"):
        log.info("folding optimizer: 66 cycles")
        with progress.bar(3, "things") as bar:
            bar.advance()
    console.skipped("estimate")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(" building")
    assert re.fullmatch(r"\d\d:\d\d:\d\d folding +\d+\.\d s", lines[1])
    assert lines[2] == console_module.INDENT + "folding optimizer: 66 cycles"
    assert re.fullmatch(r"\d\d:\d\d:\d\d estimate +up to date", lines[3])
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_a_terminal_shows_the_steps_bar_while_it_runs(monkeypatch):
    out = Terminal()
    log, console = logger_to(out, monkeypatch, live=True)
    with console.running("synth"):
        log.info("synth: 2 layers")
        with progress.bar(4, "units") as bar:
            bar.advance(2)
            time.sleep(0.1)
    text = out.getvalue()
    assert "  > synth  [############............] 2/4 units" in text
    assert "synth: 2 layers" in text.split("2/4 units")[1].splitlines()[0]   # the latest message, live
    final = text.split("\r\x1b[2K")[-1]           # what stays once the live line is cleared
    assert re.match(r"\d\d:\d\d:\d\d synth +\d+\.\d s\n" + re.escape(console_module.INDENT) + "synth: 2 layers\n$", final)


def test_a_failed_step_says_so_and_keeps_its_messages(monkeypatch):
    out = io.StringIO()
    log, console = logger_to(out, monkeypatch, live=False)
    with pytest.raises(RuntimeError), console.running("cppsim"):
        log.info("compiling cppsim")
        raise RuntimeError("g++ failed")
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d cppsim +failed after \d+\.\d s", lines[0])
    assert lines[1].endswith("compiling cppsim")


def test_warnings_are_not_held_back(monkeypatch):
    out = io.StringIO()
    log, console = logger_to(out, monkeypatch, live=False)
    with console.running("train"):
        log.warning("no data: synthetic frames")
        assert "no data: synthetic frames" in out.getvalue()


def test_without_a_display_bars_do_nothing():
    with progress.bar(2, "frames") as bar:
        bar.advance()
