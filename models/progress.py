"""Progress of long loops, for whoever displays it: a loop counts its work with `bar`, and nothing is
shown unless a display is installed (a build's terminal, compiler/console.py), so library code,
tests and pipes run silent."""
import contextlib

_displays = []


class _Silent:
    def advance(self, n=1):
        pass


@contextlib.contextmanager
def bar(total, unit):
    """A counter of `total` `unit`s (None: not known in advance); call .advance() as each is done."""
    if not _displays:
        yield _Silent()
        return
    with _displays[-1].bar(total, unit) as counter:
        yield counter


@contextlib.contextmanager
def displayed_by(display):
    """Bars opened meanwhile are shown by `display` (an object with a bar(total, unit) context)."""
    _displays.append(display)
    try:
        yield display
    finally:
        _displays.remove(display)
