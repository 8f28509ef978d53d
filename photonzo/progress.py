"""Progress bars for long work (tqdm), or nothing when they are turned off.

On a terminal the bar redraws itself in place. When stderr is not a terminal (a log file, a pipe,
a batch job) there is no place to redraw: the bar is written as plain lines instead, at most one
every ``LOG_INTERVAL`` seconds (and the last one at the end), never a stream of carriage returns.
"""

from __future__ import annotations

import sys

LOG_INTERVAL = 30.0  # seconds between the lines of a bar written to a log


class _Lines:
    """A log's view of a tqdm bar: each refresh a line of its own, no carriage returns and no
    repeated line (tqdm writes ``\\r`` + the bar + padding; closing repeats the last state)."""

    def __init__(self, stream):
        self.stream, self.last = stream, None

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):  # encoding, isatty, ... of the stream
        return getattr(self.stream, name)


def _on_a_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _is_notebook(tqdm) -> bool:
    """tqdm.auto's choice is the notebook widget (in Jupyter): it draws itself, never into stderr."""
    return any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__)


def progress_bar(
    iterable=None,
    *,
    enabled: bool = True,
    desc: str,
    unit: str = "step",
    total: int | None = None,
    initial: int = 0,
):
    """A tqdm bar over ``iterable`` (or a manual one of ``total``) when ``enabled``; otherwise the
    iterable itself, or None for a manual bar, so that callers loop the same way either way.
    Written to a terminal it redraws in place; to anything else, as lines (see the module docstring)."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    options = {"total": total, "initial": initial, "desc": desc, "unit": unit}
    if _is_notebook(tqdm) or _on_a_terminal(sys.stderr):
        return tqdm(iterable, dynamic_ncols=True, **options)
    return tqdm(
        iterable, file=_Lines(sys.stderr), mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL, **options
    )
