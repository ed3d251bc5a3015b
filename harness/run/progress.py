"""Progress of a long command: one tqdm bar with the house settings, and log lines that
do not tear it.

Every long command (the grid, ``tune``, ``budget``, the MovieLens-25M-shaped measurement)
builds its bar here, so that they all write to stderr (stdout stays the command's
result), estimate the time left, and stay quiet when there is nothing to do.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

# The least seconds between two redraws: a log, or a terminal over SSH, is not flooded.
MIN_INTERVAL = 1.0


def progress(total: int, desc: str, unit: str = "it", unit_scale: bool = False) -> tqdm:
    """A progress bar on stderr over ``total`` units of work that will run.

    Args:
        total: the units that will run (work already done, or left out, is not counted);
            0 disables the bar.
        desc: what is running, shown before the bar (e.g. ``"tune"``).
        unit: the name of one unit (e.g. ``"trial"``, ``"epoch"``).
        unit_scale: show counts as 2.50M rather than 2500000 (for rows, bytes).

    Returns:
        A ``tqdm`` bar: call ``update(n)`` as work finishes and ``close()`` at the end
        (or use it as a context manager). Its line shows done/total, the rate and the
        time left.
    """
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=sys.stderr,
                disable=total == 0, dynamic_ncols=True, mininterval=MIN_INTERVAL, leave=True)


def say(message: str) -> None:
    """Prints one line on stderr above any open bar (a plain print would tear it)."""
    tqdm.write(message, file=sys.stderr)
    sys.stderr.flush()


__all__ = ["MIN_INTERVAL", "progress", "say"]
