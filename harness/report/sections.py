"""The report's sections built from a run: leakage, throughput, failures, speed-up,
scaling and other benchmarks (numbers formatted by :mod:`harness.report.format`).

Each section returns Markdown lines with its tables as :class:`Table` values among them
(rendered with their captions by :mod:`harness.report.report`)."""

from __future__ import annotations

import numpy as np

from harness.evaluation.stats import median_iqr, summarize
from harness.report.format import (
    GROUP_COLUMNS,
    MISSING,
    fmt_float,
    fmt_median_iqr,
    fmt_rate,
    is_number,
)
from harness.report.tables import Table
from harness.results.runs import Run
from harness.run.machine import describe
from harness.run.schema import TUTORIAL

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


SPEEDUP_ROWS = (
    ("training, examples/s", "examples_per_second", "train_speedup"),
    ("evaluation, queries/s (first call)", "queries_per_second", "eval_speedup"),
    ("evaluation, queries/s (warm: median of later calls)", "warm_queries_per_second",
     "warm_eval_speedup"),
)


SCALING_KEYS = ("n_interactions", "n_items", "train_seconds", "examples_per_second",
                "eval_seconds", "queries_per_second")


def _extra(entry: dict) -> dict:
    return entry.get("extra_info") if isinstance(entry.get("extra_info"), dict) else {}


def _is_speedup(entry: dict) -> bool:
    extra = _extra(entry)
    return extra.get("kind") == "speedup" and all(
        is_number(extra.get(key)) for _, _, key in SPEEDUP_ROWS[:2])


def _is_serving(entry: dict) -> bool:
    extra = _extra(entry)
    return (extra.get("kind") == "serving" and is_number(extra.get("n_items"))
            and isinstance(extra.get("retrievers"), dict))


def _is_scaling(entry: dict) -> bool:
    extra = _extra(entry)
    return extra.get("kind") == "scaling" and all(is_number(extra.get(k)) for k in SCALING_KEYS)


def _is_dataset_scale(entry: dict) -> bool:
    return _extra(entry).get("kind") == "dataset_scale"


def speedup_section(run: Run) -> list[str | Table]:
    """Markdown lines: the side-by-side tutorial-reference benchmark, if it ran."""
    lines = []
    for entry in filter(_is_speedup, run.other):
        extra = _extra(entry)
        rows = []
        for label, rate, ratio in SPEEDUP_ROWS:
            targets = extra.get("targets")
            target = targets.get(ratio) if isinstance(targets, dict) else None
            rows.append([label, fmt_rate(extra.get(f"reference_{rate}")),
                         fmt_rate(extra.get(f"harness_{rate}")),
                         f"{extra[ratio]:.1f}x" if is_number(extra.get(ratio)) else MISSING,
                         f"{target:g}x" if is_number(target) else MISSING])
        rows.append(["test top-100 accuracy", fmt_float(extra.get("reference_top_100")),
                     fmt_float(extra.get("harness_top_100")), MISSING, MISSING])
        lines += [
            "## Speed-up over the tutorial's code",
            "",
            f"The tutorial's model, training loop and `model.evaluate` "
            f"(`harness/model/tutorial.py`) against the harness, same process, same "
            f"rows: {extra.get('split')} split seed {extra.get('seed')}, "
            f"`{extra.get('config')}`, {extra.get('epochs')} epochs, fit_on="
            f"{extra.get('fit_on')}. Measured side by side, never quoted.",
            "",
            f"Machine: {describe(run.provenance.get('machine')) or run.provenance.get('cpu')}"
            f". The ratio holds for this machine only: the tutorial's code is bound by "
            f"per-step overhead, the harness by arithmetic and memory traffic, so the "
            f"ratio grows with wider vector units and larger caches.",
            "",
            Table("speedup", f"Speed-up of the harness over the tutorial's code "
                  f"({extra.get('split')} split, seed {extra.get('seed')} only, "
                  f"{extra.get('config')}, {extra.get('epochs')} epochs)",
                  ["", "tutorial", "harness", "speed-up", "target"], rows,
                  fit_on=extra["fit_on"] if isinstance(extra.get("fit_on"), str) else None,
                  protocol=TUTORIAL),  # the tutorial's hyperparameters, whatever the grid ran
            "",
            *_rounds_lines(extra),
            *_softmax_share_lines(extra),
        ]
    return lines


_ROUND_KEYS = ("train_speedup", "eval_speedup", "reference_train_seconds",
               "harness_train_seconds")


def _rounds_lines(extra: dict) -> list[str]:
    """Each round's ratios, when the ratios above are medians of interleaved rounds."""
    rounds = extra.get("rounds")
    if not (isinstance(rounds, list) and rounds and all(
            isinstance(r, dict) and all(is_number(r.get(k)) for k in _ROUND_KEYS)
            for r in rounds)):
        return []

    def spread(key: str, unit: str = "x", digits: int = 1) -> str:
        values = sorted(r[key] for r in rounds)
        return f"{values[0]:.{digits}f}{unit}–{values[-1]:.{digits}f}{unit}"

    ratios = ", ".join(f"{r['train_speedup']:.1f}x" for r in rounds)
    return [f"Each speed-up is the median of {len(rounds)} interleaved rounds (tutorial, "
            f"harness, tutorial, ...; a fresh model on each side every round). Training "
            f"per round: {ratios} (the tutorial's {extra.get('epochs')} epochs "
            f"{spread('reference_train_seconds', unit=' s')}, the harness's "
            f"{spread('harness_train_seconds', unit=' s', digits=2)}); evaluation (first "
            f"call) {spread('eval_speedup')}.", ""]


def _softmax_share_lines(extra: dict) -> list[str]:
    """The harness's training step split: the in-batch softmax against the rest."""
    softmax, step = extra.get("softmax_seconds_per_step"), extra.get("harness_seconds_per_step")
    if not (is_number(softmax) and is_number(step) and step > 0):
        return []
    return [f"Where the harness's training step goes (batch {extra.get('batch_size')}): "
            f"{step * 1e3:.1f} ms a step (the timed training over its "
            f"{extra.get('harness_steps')} steps, tracing included), of which the in-batch "
            f"softmax (score matmul, loss, its gradient and the two gradient matmuls, "
            f"timed alone on random embeddings) takes {softmax * 1e3:.1f} ms "
            f"({softmax / step:.0%}); the rest (tower gathers, title-word pooling, Adagrad "
            f"updates) does not grow with the batch.", ""]


def scaling_section(run: Run) -> list[str | Table]:
    """Markdown lines: the synthetic scaling sweep (``--scaling``), if it ran."""
    from harness.report.scaling import scaling_rows, scaling_slopes

    points = [_extra(e) for e in run.other if _is_scaling(e)]
    lines = _dataset_scale_lines(run)
    if not points:
        return ["## Scaling", "", *lines] if lines else []
    headers, rows = scaling_rows(points)
    slopes = scaling_slopes(points)
    # Synthetic data: the run's data, seeds and epochs do not apply (its caption says so).
    table = Table("scaling", "Scaling sweep on synthetic data (1 epoch, baseline, random "
                  "80/20 split; the run's fields that follow do not describe the sweep)",
                  headers, rows,
                  colalign=["right"] * len(headers))
    return ["## Scaling (synthetic data, 1 epoch, `baseline`)", "", table, "",
            *([*slopes, ""] if slopes else []), *lines]


def _dataset_scale_lines(run: Run) -> list[str | Table]:
    """The MovieLens-25M-shaped load and cell (``--dataset-scale``), if it ran."""
    from harness.report.scaling import dataset_scale_rows

    points = [_extra(e) for e in run.other if _is_dataset_scale(e)]
    if not points:
        return []
    table = Table("dataset_scale", "A MovieLens-25M-shaped dataset (synthetic GroupLens "
                  "CSVs): load, random split, one epoch of baseline, exact evaluation",
                  ["measure", "value"], dataset_scale_rows(points[-1]),
                  colalign=["left", "right"])
    return ["### MovieLens-25M shape: load, split, one cell", "",
            "The `movielens-25m` loader on synthetic files of its shape, in a process of "
            "its own (peak RSS includes TensorFlow's ~0.9 GiB).", "", table, ""]


def serving_section(run: Run) -> list[str | Table]:
    """Markdown lines: the serving retrievers against catalogue size, if they ran."""
    from harness.report.scaling import SERVING_HEADERS, serving_rows

    points = [_extra(e) for e in run.other if _is_serving(e)]
    if not points:
        return []
    rows, notes = serving_rows(points)
    table = Table("serving", "Serving retrievers on synthetic clustered embeddings, top 100 "
                  "(the run's fields that follow do not describe the sweep)",
                  SERVING_HEADERS, rows)
    return ["## Serving (synthetic clustered embeddings, top 100)", "",
            "Each retriever over the same embeddings, timed in turns in one process "
            "(median of the timed searches); recall@100 against the exact top 100; "
            "index MiB: the catalogue as the retriever holds it (ScaNN: its serialised "
            "searcher); build RSS: resident memory the build added.", "",
            table, "", *([*notes, ""] if notes else [])]


def other_section(run: Run) -> list[str | Table]:
    """Markdown lines: benchmark entries that are not cells (none when there are none)."""
    others = [e for e in run.other if not (_is_speedup(e) or _is_scaling(e)
                                           or _is_serving(e) or _is_dataset_scale(e))]
    if not others:
        return []
    rows = []
    for entry in others:
        extra = entry.get("extra_info") if isinstance(entry.get("extra_info"), dict) else {}
        stats = entry.get("stats") if isinstance(entry.get("stats"), dict) else {}
        median = stats.get("median")
        simple = [
            f"{k}={v}"
            for k, v in sorted(extra.items())
            if isinstance(v, (str, int, float, bool)) or v is None
        ]
        rows.append(
            [
                entry.get("name", MISSING),
                fmt_float(median, 4) if isinstance(median, (int, float)) else MISSING,
                ", ".join(simple) or MISSING,
            ]
        )
    return [
        "## Other benchmarks",
        "",
        Table("other_benchmarks", "Other benchmarks", ["name", "median seconds", "extra_info"],
              rows),
        "",
    ]


__all__ = [
    "LEAKAGE_COLUMNS",
    "leakage_section",
    "other_section",
    "problems_section",
    "scaling_section",
    "serving_section",
    "speedup_section",
    "throughput_section",
]
