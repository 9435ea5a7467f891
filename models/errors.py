"""The one user-error type of every command line, the checks they share, and how they report errors.

A failure that is the input's fault (a wrong value, a missing or broken file) raises a UserError
whose message names the input and what was expected; a command prints it and exits with 1. Any
other exception is a bug: the command says so in one line, writes the traceback to a log file (and
to stderr with -v) and exits with 2. UserError lives here, in models/, the bottom of the data flow,
so that models/ and compiler/ (whose errors derive from it) share it.
"""
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path


class UserError(ValueError):
    """A failure that is the input's fault. A ValueError, so that callers which caught the ValueErrors
    these checks raised before still catch them."""


class MissingFileError(UserError, FileNotFoundError):
    """A file the user named, or one a command needs them to make first, does not exist."""


class InternalError(Exception):
    """A bug whose traceback is already written to `log_file`."""

    def __init__(self, message, log_file):
        super().__init__(message)
        self.log_file = log_file


def positive_number(value, name, maximum=None, unit=""):
    """`value` (a number or its text) as a float, checked to be finite, > 0 and at most `maximum`."""
    legal = f"a number > 0{f' and at most {maximum:g}' if maximum is not None else ''}{unit}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name}={value!r} is not a number: give {legal}") from None
    if not (math.isfinite(number) and number > 0 and (maximum is None or number <= maximum)):
        raise UserError(f"{name}={value} is out of range: give {legal}")
    return number


def whole_number(value, name, minimum=1):
    """`value` (an integer or its text, not a bool) as an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise UserError(f"{name}={value!r} is not a whole number: give {minimum} or more")
    if int(value) < minimum:
        raise UserError(f"{name}={value} is out of range: give {minimum} or more")
    return int(value)


def writable_file(path, name):
    """`path` as a Path, after checking that a file can be written there (its folder is created):
    done before long work, so that the work is not lost for want of a place to put its result."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{name}={path} is a folder; expected a file path")
    writable_dir(path.parent, name, f"{name}={path}")
    return path


def writable_dir(path, name, shown=None):
    """`path` as a Path, created if missing, after checking that files can be written into it."""
    path = Path(path)
    shown = shown or f"{name}={path}"
    if path.exists() and not path.is_dir():
        raise UserError(f"{shown}: {path} is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise UserError(f"{shown}: cannot write into {path} ({error.strerror})") from None
    return path


def add_verbose_flag(parser):
    parser.add_argument("-v", "--verbose", action="store_true", help="print an internal error's traceback (and a build's library output)")


def run_cli(command, verbose=False, prog=None):
    """Run command() and return the exit code: its own (None: 0); 1 for a UserError (its message on
    stderr); 130 for Ctrl-C; 141 if stdout's reader closed the pipe; 2 for any other exception, a bug: one line says so and where its traceback
    is (the build's log for an InternalError, else a new temporary file), and with `verbose` stderr has
    it too."""
    try:
        return command() or 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                 # the reader went away (`| head`): as if killed by SIGPIPE
        sys.stdout = None                   # nothing more to flush into the closed pipe at exit
        return 141
    except Exception as error:
        text = traceback.format_exc()
        if isinstance(error, InternalError):
            log_file = error.log_file
        else:
            fd, log_file = tempfile.mkstemp(prefix=f"{prog or Path(sys.argv[0]).stem}-traceback-", suffix=".txt")
            with os.fdopen(fd, "w") as f:
                f.write(text)
            error = f"{type(error).__name__}: {error}"
        print(f"internal error (a bug, not a problem with the input): {error}; the traceback is in {log_file}"
              + ("" if verbose else " (-v, or make V=1, prints it)"), file=sys.stderr)
        if verbose:
            print(text, file=sys.stderr, end="")
        return 2
