"""A grid's progress on stderr: one line per cell that ended, and a bar with time left.

The bar (tqdm) counts the cells that will run this session (not those resumed, left out
by ``-k``, or that the dataset cannot feed), so it ends at total/total. Every write
happens inside ``terminal()``, a context in which stderr reaches the user: under pytest,
its output capture suspended and its current line (the dots of ``-q``) ended first.
"""

from __future__ import annotations

import contextlib
import sys


class Progress:
    """The progress of one session's cells.

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
                from tqdm import tqdm

                # Every update drawn at once and only on an update (no monitor thread
                # writing outside ``terminal()``).
                self._bar = tqdm(total=total, desc="ctxbench", unit="cell", file=sys.stderr,
                                 mininterval=0, miniters=1, leave=True)

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


__all__ = ["Progress"]
