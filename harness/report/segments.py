"""The report's segment section: accuracy per training-history segment under both
rankings, and what leaving the seen titles out costs."""

from __future__ import annotations

import numpy as np

from harness.evaluation.segments import (
    ALL,
    EXCLUDE_SEEN,
    RANKINGS,
    segment_accuracy_key,
    segment_names,
    share_key,
)
from harness.evaluation.stats import summarize
from harness.record.runs import CellGroup, Run
from harness.report.format import MISSING, fmt_float, fmt_mean_ci, fmt_ratio
from harness.report.tables import Table

RANKING_LABELS = {ALL: "all titles", EXCLUDE_SEEN: "seen left out"}
K = 100


def run_bands(run: Run) -> tuple[int, ...] | None:
    """The segment bands the run's cells recorded (None: no cell recorded segments)."""
    for group in run.cells.values():
        for result in group.seeds.values():
            bands = result.provenance.get("segment_bands")
            if isinstance(bands, list) and bands:
                return tuple(int(b) for b in bands)
    return None


def _share(groups: list[CellGroup], segment: str) -> float:
    """The segment's mean share of the test set over the groups' seeds (the same split,
    so the same share for every configuration; seeded splits vary by seed)."""
    values = np.concatenate([g.metric(share_key(segment)) for g in groups] or [np.zeros(0)])
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def segments_section(run: Run, tables: list[tuple[str, str]], rows_configs: list[str],
                     group_for) -> list[str | Table]:
    """Top-100 test accuracy per segment for every split, configuration and ranking.

    Args:
        run: the merged run.
        tables: (protocol, fit_on) of each table set (fit_on=train only: segments count
            a split's training side).
        rows_configs: configurations in report order.
        group_for: the report's ``group_for(run, split, config, fit_on, protocol)``.
    """
    bands = run_bands(run)
    if bands is None:
        return []
    names = segment_names(bands)
    out = [
        "## Segments: cold start and drift",
        "",
        f"Top-{K} test accuracy per segment of each split's test set (mean ± 95% CI over "
        "seeds). A test interaction's user is cold without training interactions, else "
        "in a band of training activity; its item is cold without training interactions. "
        "The header gives each segment's share of the test set; segments empty on a split "
        "are left out. Each configuration is ranked two ways from the same embeddings: "
        "among all titles (the tutorial's ranking) and with the user's training titles "
        "left out (the true title always stays; a cold user has none to leave out). An "
        "unseen user's id embedding is zero in every configuration.",
        "",
    ]
    for protocol, fit_on in tables:
        if fit_on != "train":
            continue
        for split in run.splits:
            groups = {c: group_for(run, split, c, fit_on, protocol) for c in rows_configs}
            groups = {c: g for c, g in groups.items() if g is not None}
            if not groups:
                continue
            shares = {s: _share(list(groups.values()), s) for s in names}
            present = [s for s in names if shares[s] > 0]
            rows = []
            for config, group in groups.items():
                for ranking in RANKINGS:
                    cells = [fmt_mean_ci(summarize(group.metric(
                        segment_accuracy_key(K, ranking, s)))) for s in present]
                    if any(cell != MISSING for cell in cells):
                        rows.append([config, RANKING_LABELS[ranking], *cells])
            if not rows:
                continue
            headers = ["configuration", "ranking",
                       *[f"{s} ({100 * shares[s]:.1f}%)" for s in present]]
            out += [f"### {split}, {protocol} protocol", "",
                    Table(f"segments_{split}", f"Top-{K} test accuracy per segment, {split}",
                          headers, rows, fit_on=fit_on, protocol=protocol), ""]
    out += _cost(run)
    return out


def _cost(run: Run) -> list[str | Table]:
    """Median seconds to rank a cell's test set each way, per split, side by side."""
    rows = []
    for split in run.splits:
        seconds = {ranking: [] for ranking in RANKINGS}
        queries = []
        for key, group in run.cells.items():
            if key[0] != split:
                continue
            for result in group.seeds.values():
                found = {r: result.timings.get(f"rank_seconds_{r}") for r in RANKINGS}
                if result.model != "two_tower" or not all(
                        isinstance(v, (int, float)) for v in found.values()):
                    continue
                for ranking, value in found.items():
                    seconds[ranking].append(value)
                queries.append(result.leakage.get("n_test", np.nan))
        if not queries:
            continue
        medians = {r: float(np.median(v)) for r, v in seconds.items()}
        rows.append([split, str(len(queries)), fmt_float(float(np.median(queries)), 0),
                     fmt_float(1000 * medians[ALL], 2), fmt_float(1000 * medians[EXCLUDE_SEEN], 2),
                     fmt_ratio(medians[EXCLUDE_SEEN], medians[ALL])])
    if not rows:
        return []
    return [
        "### What leaving the seen titles out costs",
        "",
        "Median milliseconds to rank a two-tower cell's test set exactly (one pass over "
        "the catalogue, no score matrix), measured side by side in each cell from the same "
        "embeddings; the last column is the exclusion's time over the plain ranking's.",
        "",
        Table("segments_ranking_cost", "Exact ranking time with and without the seen titles",
              ["split", "cells", "test queries", "all titles (ms)", "seen left out (ms)",
               "time ratio"], rows),
        "",
    ]


__all__ = ["RANKING_LABELS", "run_bands", "segments_section"]
