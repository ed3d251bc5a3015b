"""Progress of a long command: one tqdm bar with the house settings, and log lines that
do not tear it.

Every long command (the grid, ``tune``, ``budget``, the MovieLens-25M-shaped measurement)
builds its bar here, so that they all write to stderr (stdout stays the command's
result), estimate the time left, count only the work that will run, and stay quiet when
there is nothing to do. The grid's :class:`Progress` writes only inside ``terminal()``, a
context in which stderr reaches the user: under pytest, its output capture suspended and
its current line (the dots of ``-q``) ended first.
"""

from __future__ import annotations

import contextlib
import sys

from tqdm import tqdm

# The least seconds between two redraws: a log, or a terminal over SSH, is not flooded.
MIN_INTERVAL = 1.0


def progress(total: int, desc: str, unit: str = "it", unit_scale: bool = False,
             every_update: bool = False) -> tqdm:
    """A progress bar on stderr over ``total`` units of work that will run.

    Args:
        total: the units that will run (work already done, or left out, is not counted);
            0 disables the bar.
        desc: what is running, shown before the bar (e.g. ``"tune"``).
        unit: the name of one unit (e.g. ``"trial"``, ``"epoch"``).
        unit_scale: show counts as 2.50M rather than 2500000 (for rows, bytes).
        every_update: draw on every update and only then (no redraw by tqdm's monitor
            thread), for a caller that must write only inside a context of its own.

    Returns:
        A ``tqdm`` bar: call ``update(n)`` as work finishes and ``close()`` at the end
        (or use it as a context manager). Its line shows done/total, the rate and the
        time left.
    """
    timing = {"mininterval": 0, "miniters": 1} if every_update else {
        "mininterval": MIN_INTERVAL}
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=sys.stderr,
                disable=total == 0, dynamic_ncols=True, leave=True, **timing)


def say(message: str) -> None:
    """Prints one line on stderr above any open bar (a plain print would tear it)."""
    tqdm.write(message, file=sys.stderr)
    sys.stderr.flush()


class Progress:
    """The progress of one grid session's cells.

    Args:
        terminal: a context manager factory inside which stderr reaches the user.
    """

    def __init__(self, terminal=contextlib.nullcontext):
        self.terminal = terminal
        self._bar = None

    def start(self, line: str, total: int) -> None:
        """Says ``line``, then shows a bar of ``total`` cells (none when there are none)."""
        with self.terminal():
            print(line, file=sys.stderr, flush=True)
            if total:
                self._bar = progress(total, "ctxbench", unit="cell", every_update=True)

    def cell(self, line: str) -> None:
        """A cell ended: its line above the bar, one more cell on the bar."""
        with self.terminal():
            if self._bar is None:
                print(line, file=sys.stderr, flush=True)
                return
            self._bar.write(line, file=sys.stderr)
            self._bar.update(1)

    def say(self, line: str) -> None:
        """A line to the user, the bar closed first (at its last count)."""
        with self.terminal():
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            print(line, file=sys.stderr, flush=True)


__all__ = ["MIN_INTERVAL", "Progress", "progress", "say"]
