"""How training and evaluation cost grow with interactions and catalogue size.

One scaling point (:func:`harness.run.cell.prepare_scaling_cell`) is a synthetic table
of a given number of interactions and items, a random 80/20 split, one epoch of the
``baseline`` model, and exact evaluation of the test queries against the whole
catalogue. :func:`scaling_table` renders the points with the fitted log-log slopes
(1 = linear growth).
"""

from __future__ import annotations

import numpy as np
from tabulate import tabulate


def loglog_slope(x, y) -> float:
    """Least-squares slope of log(y) against log(x); nan with fewer than two x values."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.unique(x).size < 2:
        return float("nan")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


_COLUMNS = (("n_interactions", "interactions", "{:,.0f}"), ("n_items", "items", "{:,.0f}"),
            ("train_seconds", "train s", "{:.2f}"),
            ("examples_per_second", "examples/s", "{:,.0f}"),
            ("eval_seconds", "eval s", "{:.2f}"),
            ("queries_per_second", "queries/s", "{:,.0f}"),
            ("peak_rss_mib", "peak RSS MiB", "{:,.0f}"))


def _slopes(entries: list[dict], vary: str, fixed: str, cost: str) -> list[str]:
    lines = []
    for value in sorted({e[fixed] for e in entries}):
        group = sorted((e for e in entries if e[fixed] == value), key=lambda e: e[vary])
        slope = loglog_slope([e[vary] for e in group], [e[cost] for e in group])
        if not np.isfinite(slope):
            continue
        line = (f"- log-log slope of {cost} vs {vary} at {fixed} = {value:,}: {slope:.2f} "
                f"over {len(group)} points")
        if len(group) > 2:
            # Fixed costs (graph tracing, about a second) flatten the small end.
            top = loglog_slope([e[vary] for e in group[-2:]], [e[cost] for e in group[-2:]])
            line += f", {top:.2f} between the two largest"
        lines.append(line)
    return lines


def scaling_table(entries: list[dict]) -> str:
    """Scaling points as a Markdown table, then the fitted log-log slopes.

    Args:
        entries: dicts with ``n_interactions``, ``n_items``, ``train_seconds``,
            ``examples_per_second``, ``eval_seconds``, ``queries_per_second`` and
            optionally ``peak_rss_mib``.

    Returns:
        Markdown: a GitHub table sorted by items then interactions, and one line per
        group of points that share a catalogue size (train seconds vs interactions: 1 is
        linear) or an interaction count (eval seconds vs items), fitted over the group
        and, for three or more points, between its two largest.
    """
    headers, rows = scaling_rows(entries)
    table = tabulate(rows, headers=headers, tablefmt="github",
                     colalign=["right"] * len(headers), disable_numparse=True)
    slopes = scaling_slopes(entries)
    return table + ("\n\n" + "\n".join(slopes) if slopes else "") + "\n"


def scaling_rows(entries: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(headers, formatted rows) of the points, sorted by items then interactions."""
    entries = sorted(entries, key=lambda e: (e["n_items"], e["n_interactions"]))
    columns = [c for c in _COLUMNS if all(c[0] in e for e in entries)]
    rows = [[fmt.format(e[key]) for key, _, fmt in columns] for e in entries]
    return [title for _, title, _ in columns], rows


def scaling_slopes(entries: list[dict]) -> list[str]:
    """Markdown list lines: the fitted log-log slopes (see :func:`scaling_table`)."""
    return (_slopes(entries, "n_interactions", "n_items", "train_seconds")
            + _slopes(entries, "n_items", "n_interactions", "eval_seconds"))


__all__ = ["loglog_slope", "scaling_rows", "scaling_slopes", "scaling_table"]
