"""The report's diagnostic sections of the grid's cells: leakage per split, throughput
per cell, failed and missing cells (numbers formatted by :mod:`harness.report.format`).

Each section returns Markdown lines with its tables as :class:`Table` values among them
(rendered with their captions by :mod:`harness.report.report`); the measurements beside
the grid have theirs in :mod:`harness.report.measurements`."""

from __future__ import annotations

import numpy as np

from harness.evaluation.stats import median_iqr, summarize
from harness.record.runs import Run
from harness.report.format import (
    GROUP_COLUMNS,
    MISSING,
    fmt_float,
    fmt_median_iqr,
)
from harness.report.tables import Table

LEAKAGE_COLUMNS = (
    ("n_train", "n_train", 0),
    ("n_test", "n_test", 0),
    ("test_fraction", "test fraction", 4),
    ("future_leak_rate", "future leak rate", 4),
    ("train_after_test_start_rate", "train after test start", 4),
    ("test_users_unseen", "unseen test users", 1),
    ("test_items_unseen", "unseen test items", 1),
    ("cold_user_test_rate", "cold-user test rate", 4),
    ("cold_item_test_rate", "cold-item test rate", 4),
)


def leakage_section(run: Run) -> list[str | Table]:
    """Markdown lines: one row of leakage diagnostics per split (mean over seeds)."""
    rows = []
    for split in run.splits:
        by_seed = run.leakage.get(split, {})
        fit_ons = [f for f in run.fit_ons if any(k[0] == split and k[2] == f for k in run.cells)]
        row = [split, ", ".join(fit_ons), str(len(by_seed))]
        for key, _, digits in LEAKAGE_COLUMNS:
            values = np.asarray([d.get(key, np.nan) for d in by_seed.values()], dtype=float)
            row.append(fmt_float(summarize(values).mean, digits) if values.size else MISSING)
        rows.append(row)
    return [
        "## Leakage diagnostics",
        "",
        "One row per split, the mean over the seeds that report it (seeded splits differ "
        "by seed); fit_on lists the preprocessing settings that were run.",
        "",
        Table("leakage", "Leakage diagnostics per split (mean over seeds)",
              ["split", "fit_on run", "seeds", *[label for _, label, _ in LEAKAGE_COLUMNS]], rows),
        "",
    ]


def throughput_section(run: Run) -> list[str | Table]:
    """Markdown lines: median (IQR) examples/s and queries/s per (split, config, fit_on,
    protocol)."""
    rows = [
        [
            *key,
            fmt_median_iqr(median_iqr(group.throughput("train"))),
            fmt_median_iqr(median_iqr(group.throughput("inference"))),
        ]
        for key, group in run.cells.items()
    ]
    return [
        "## Throughput",
        "",
        "Median over the successful seeds (IQR): training examples/s from the train "
        "benchmark, inference queries/s from the inference benchmark.",
        "",
        Table("throughput", "Throughput per cell, median over seeds (IQR)",
              [*GROUP_COLUMNS, "train examples/s", "inference queries/s"], rows),
        "",
    ]


def problems_section(run: Run) -> list[str | Table]:
    """Markdown lines: failed cells with their errors, and expected cells with no result."""
    failures = [
        [*key, str(result.cell.seed), result.error or MISSING]
        for key, group in run.cells.items()
        for result in group.failures
    ]
    # Configurations the dataset cannot feed (harness.model.features.missing_features):
    # reported with their reason, not counted as missing.
    skipped = run.provenance.get("skipped_configs") or {}
    missing: dict[tuple[str, ...], list[str]] = {}
    for cell in run.missing:
        if cell.config not in skipped:
            missing.setdefault(cell.group_key, []).append(str(cell.seed))
    grid_note = (
        "the grid declared in the JSON"
        if run.grid.declared
        else "the grid inferred from the cells present"
    )
    return [
        "## Failures",
        "",
        Table("failures", "Failed cells", [*GROUP_COLUMNS, "seed", "error"], failures)
        if failures
        else "None.",
        "",
        "## Missing cells",
        "",
        f"Cells of {grid_note} with no result.",
        "",
        Table("missing_cells", "Missing cells", [*GROUP_COLUMNS, "seeds"],
              [[*key, ", ".join(seeds)] for key, seeds in missing.items()])
        if missing
        else "None.",
        "",
        *([f"Skipped: {reason}." for _, reason in sorted(skipped.items())] + [""]
          if skipped else []),
    ]


__all__ = ["LEAKAGE_COLUMNS", "leakage_section", "problems_section", "throughput_section"]
