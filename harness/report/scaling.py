"""How training and evaluation cost grow with interactions and catalogue size.

One scaling point (:func:`harness.run.prepare.prepare_scaling_cell`) is a synthetic table
of a given number of interactions and items, a random 80/20 split, one epoch of the
``baseline`` model, and exact evaluation of the test queries against the whole
catalogue. :func:`scaling_table` renders the points with the fitted log-log slopes
(1 = linear growth). :func:`serving_rows` gives the serving points (retriever x
catalogue size), :func:`dataset_scale_rows` the MovieLens-25M-shaped measurement. Every
point is a typed record of :mod:`harness.record.kinds`.
"""

from __future__ import annotations

import numpy as np
from tabulate import tabulate

from harness.evaluation.serving import RETRIEVERS
from harness.record.kinds import DatasetScaleRecord, ScalingRecord, ServingRecord
from harness.report.format import MISSING, fmt_float, fmt_rate, is_number, markdown_table


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


def _slopes(entries: list[ScalingRecord], vary: str, fixed: str, cost: str) -> list[str]:
    """Fitted slopes of field ``cost`` against field ``vary`` at each value of ``fixed``."""
    def values(group: list[ScalingRecord], name: str) -> list[float]:
        return [getattr(e, name) for e in group]

    lines = []
    for value in sorted(set(values(entries, fixed))):
        group = sorted((e for e in entries if getattr(e, fixed) == value),
                       key=lambda e: getattr(e, vary))
        slope = loglog_slope(values(group, vary), values(group, cost))
        if not np.isfinite(slope):
            continue
        line = (f"- log-log slope of {cost} vs {vary} at {fixed} = {value:,}: {slope:.2f} "
                f"over {len(group)} points")
        if len(group) > 2:
            # Fixed costs (graph tracing, about a second) flatten the small end.
            top = loglog_slope(values(group[-2:], vary), values(group[-2:], cost))
            line += f", {top:.2f} between the two largest"
        lines.append(line)
    return lines


def scaling_table(entries: list[ScalingRecord]) -> str:
    """Scaling points as a Markdown table, then the fitted log-log slopes.

    Args:
        entries: the points (peak RSS shown where every point has it).

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


def scaling_rows(entries: list[ScalingRecord]) -> tuple[list[str], list[list[str]]]:
    """(headers, formatted rows) of the points, sorted by items then interactions."""
    entries = sorted(entries, key=lambda e: (e.n_items, e.n_interactions))
    columns = [c for c in _COLUMNS if all(getattr(e, c[0]) is not None for e in entries)]
    rows = [[fmt.format(getattr(e, key)) for key, _, fmt in columns] for e in entries]
    return [title for _, title, _ in columns], rows


def scaling_slopes(entries: list[ScalingRecord]) -> list[str]:
    """Markdown list lines: the fitted log-log slopes (see :func:`scaling_table`)."""
    return (_slopes(entries, "n_interactions", "n_items", "train_seconds")
            + _slopes(entries, "n_items", "n_interactions", "eval_seconds"))


def _mib(value) -> str:
    return f"{value / 2**20:,.1f}" if is_number(value) else MISSING


def _seconds(value) -> str:
    return f"{value:.3f}" if is_number(value) else MISSING


def _recall(retriever: dict, k) -> str:
    return fmt_float(retriever.get(f"recall_at_{k}"), 4)


SERVING_HEADERS = ["retriever", "items", "queries", "queries/s", "recall@100", "build s",
                   "index MiB", "build RSS MiB"]


def serving_rows(entries: list[ServingRecord]) -> tuple[list[list[str]], list[str]]:
    """Serving points as table rows, and the side-by-side ratio and ScaNN's settings.

    Args:
        entries: the points; each retriever's measures are read as recorded, a malformed
            one shows gaps.

    Returns:
        (rows, notes): one row per (catalogue size, retriever) (:data:`SERVING_HEADERS`),
        and one Markdown list line per size with the exact path's speed-up over
        TensorFlow's in the same process, ScaNN's configuration and its recall / speed
        curve, or why it was skipped.
    """
    rows, notes = [], []
    for entry in sorted(entries, key=lambda e: e.n_items):
        k = entry.k
        items = f"{entry.n_items:,.0f}"
        queries = entry.num_queries
        retrievers = {name: r for name, r in entry.retrievers.items()
                      if isinstance(r, dict)}  # a malformed file shows gaps, not a crash
        for name in [n for n in RETRIEVERS if n in retrievers]:
            r = retrievers[name]
            rows.append([name, items, f"{queries:,.0f}" if is_number(queries) else MISSING,
                         fmt_rate(r.get("queries_per_second")), _recall(r, k),
                         _seconds(r.get("build_seconds")), _mib(r.get("index_bytes")),
                         _mib(r.get("build_rss_bytes"))])
        ratio = entry.exact_speedup_over_tf
        if is_number(ratio):
            notes.append(f"- {items} items: exact one-pass {ratio:.1f}x the queries/s of "
                         "TF brute force, timed in turns in one process")
        scann = retrievers.get("scann")
        if scann is not None:
            config = scann.get("config") if isinstance(scann.get("config"), dict) else {}
            config = {key: value for key, value in config.items() if value is not None}
            line = f"- {items} items, ScaNN" + "".join(f"{',' if i else ''} {key} {value}"
                                                       for i, (key, value)
                                                       in enumerate(config.items()))
            points = scann.get("curve") if isinstance(scann.get("curve"), list) else []
            curve = [f"{p.get('leaves_to_search', MISSING)} leaves: recall {_recall(p, k)} at "
                     f"{fmt_rate(p.get('queries_per_second'))} queries/s"
                     for p in points if isinstance(p, dict)]
            notes.append(line + ("; " + "; ".join(curve) if curve else ""))
        elif entry.scann_skipped:
            notes.append(f"- {items} items: ScaNN skipped ({entry.scann_skipped})")
    return rows, notes


def serving_table(entries: list[ServingRecord]) -> str:
    """The serving points as Markdown (:func:`serving_rows`'s table, then its notes)."""
    rows, notes = serving_rows(entries)
    table = markdown_table(SERVING_HEADERS, rows)
    return table + ("\n\n" + "\n".join(notes) if notes else "") + "\n"


# A dataset's load and one cell at MovieLens-25M's shape: (title, field, format).
DATASET_SCALE_ROWS = (
    ("interactions", "n_interactions", "{:,.0f}"), ("users", "n_users", "{:,.0f}"),
    ("items (titles)", "n_items", "{:,.0f}"),
    ("load s", "load_seconds", "{:.1f}"), ("peak RSS after load, MiB", "load_peak_rss_mib",
                                           "{:,.0f}"),
    ("table bytes per interaction", "table_bytes_per_interaction", "{:.0f}"),
    ("split + features s", "prepare_seconds", "{:.1f}"),
    ("train s (1 epoch)", "train_seconds", "{:.1f}"),
    ("train examples/s", "examples_per_second", "{:,.0f}"),
    ("eval queries/s (exact, whole catalogue)", "queries_per_second", "{:,.0f}"),
    ("eval s, all test queries (from that rate)", "full_eval_seconds_estimate", "{:,.0f}"),
    ("cell s (split + train + eval)", "cell_seconds", "{:,.0f}"),
    ("peak RSS, MiB", "peak_rss_mib", "{:,.0f}"),
)


def dataset_scale_rows(point: DatasetScaleRecord) -> list[list[str]]:
    """(measure, value) rows of one dataset-scale measurement; absent measures left out."""
    return [[title, fmt.format(getattr(point, name))] for title, name, fmt in DATASET_SCALE_ROWS
            if is_number(getattr(point, name))]


__all__ = ["DATASET_SCALE_ROWS", "SERVING_HEADERS", "dataset_scale_rows", "loglog_slope",
           "scaling_rows", "scaling_slopes", "scaling_table", "serving_rows", "serving_table"]
