"""Markdown tables, number formats and the report's diagnostic sections.

Every value is formatted here, as a string, so that the output is byte-for-byte
reproducible (tabulate's own number parsing is off).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tabulate import tabulate

from harness.evaluation.stats import MedianIQR, PairedDifference, Summary, median_iqr, summarize
from harness.results.runs import Run
from harness.run.machine import describe

MISSING = "—"
ACCURACY_KS = (100, 50, 10)


def metric_label(name: str) -> str:
    """ "test/top_100_categorical_accuracy" -> "top-100 test accuracy"; others unchanged."""
    prefix, _, rest = name.partition("/")
    if rest.startswith("top_") and rest.endswith("_categorical_accuracy"):
        return f"top-{rest[4 : -len('_categorical_accuracy')]} {prefix} accuracy"
    return name


def escape(text: object) -> str:
    """One line of text that cannot break a Markdown table row."""
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table of already formatted cells."""
    return tabulate(
        [[escape(cell) for cell in row] for row in rows],
        headers=[escape(h) for h in headers],
        tablefmt="github",
        disable_numparse=True,
    )


def is_number(value: object) -> bool:
    """A real number, not NaN (a JSON null, string or boolean is not)."""
    return (isinstance(value, (int, float, np.floating, np.integer))
            and not isinstance(value, bool) and not math.isnan(value))


def _signed(value: float, digits: int = 4) -> str:
    """ "+0.0210"; a value that rounds to zero prints as +0.0000, never -0.0000."""
    return f"{round(value, digits) + 0.0:+.{digits}f}"


def fmt_float(value: float | None, digits: int = 4, sign: bool = False) -> str:
    if not is_number(value):
        return MISSING
    return _signed(value, digits) if sign else f"{round(value, digits) + 0.0:.{digits}f}"


def fmt_p(p_value: float) -> str:
    if not is_number(p_value):
        return "p=n/a"
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def fmt_mean_ci(summary: Summary) -> str:
    """ "0.2213 ± 0.0041 (n=5)": mean ± confidence half-width; no ± when n < 2."""
    if summary.n == 0:
        return MISSING
    if not is_number(summary.ci_half_width):
        return f"{summary.mean:.4f} (n={summary.n})"
    return f"{summary.mean:.4f} ± {summary.ci_half_width:.4f} (n={summary.n})"


def fmt_mean_std(summary: Summary) -> str:
    """ "0.2213 ± 0.0041": mean ± standard deviation."""
    if summary.n == 0:
        return MISSING
    return f"{summary.mean:.4f} ± {summary.std:.4f}"


def significance_mark(mean: float, p_value: float, alpha: float) -> str:
    """▲ (significant gain), ▼ (significant loss) or · (not significant)."""
    if is_number(p_value) and p_value < alpha and mean != 0.0:
        return "▲" if mean > 0 else "▼"
    return "·"


def fmt_delta(difference: PairedDifference, alpha: float) -> str:
    """ "+0.0210 [+0.0185, +0.0235] ▲ p<0.001 (n=3)"."""
    if difference.n == 0:
        return MISSING
    if difference.n < 2:
        return f"{_signed(difference.mean)} (n=1)"
    mark = significance_mark(difference.mean, difference.p_value, alpha)
    return (
        f"{_signed(difference.mean)} [{_signed(difference.ci_low)}, "
        f"{_signed(difference.ci_high)}] "
        f"{mark} {fmt_p(difference.p_value)} (n={difference.n})"
    )


def fmt_rate(value: float | None) -> str:
    """A throughput: thousands separators for large values, 3 significant digits else."""
    if not is_number(value):
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def fmt_median_iqr(summary: MedianIQR) -> str:
    """ "12,345 (IQR 678; n=3)"."""
    if summary.n == 0:
        return MISSING
    return f"{fmt_rate(summary.median)} (IQR {fmt_rate(summary.iqr)}; n={summary.n})"


def fmt_ratio(new: float | None, base: float | None) -> str:
    if not (is_number(new) and is_number(base)) or base == 0:
        return MISSING
    return f"{new / base:.2f}×"


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


def leakage_section(run: Run) -> list[str]:
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
        markdown_table(
            ["split", "fit_on run", "seeds", *[label for _, label, _ in LEAKAGE_COLUMNS]], rows
        ),
        "",
    ]


def throughput_section(run: Run) -> list[str]:
    """Markdown lines: median (IQR) examples/s and queries/s per (split, config, fit_on)."""
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
        markdown_table(
            ["split", "configuration", "fit_on", "train examples/s", "inference queries/s"], rows
        ),
        "",
    ]


def problems_section(run: Run) -> list[str]:
    """Markdown lines: failed cells with their errors, and expected cells with no result."""
    failures = [
        [*key, str(result.cell.seed), result.error or MISSING]
        for key, group in run.cells.items()
        for result in group.failures
    ]
    missing: dict[tuple[str, str, str], list[str]] = {}
    for cell in run.missing:
        missing.setdefault(cell.group_key, []).append(str(cell.seed))
    grid_note = (
        "the grid declared in the JSON"
        if run.grid.declared
        else "the grid inferred from the cells present"
    )
    return [
        "## Failures",
        "",
        markdown_table(["split", "configuration", "fit_on", "seed", "error"], failures)
        if failures
        else "None.",
        "",
        "## Missing cells",
        "",
        f"Cells of {grid_note} with no result.",
        "",
        markdown_table(
            ["split", "configuration", "fit_on", "seeds"],
            [[*key, ", ".join(seeds)] for key, seeds in missing.items()],
        )
        if missing
        else "None.",
        "",
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


def _is_scaling(entry: dict) -> bool:
    extra = _extra(entry)
    return extra.get("kind") == "scaling" and all(is_number(extra.get(k)) for k in SCALING_KEYS)


def speedup_section(run: Run) -> list[str]:
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
            markdown_table(["", "tutorial", "harness", "speed-up", "target"], rows),
            "",
        ]
    return lines


def scaling_section(run: Run) -> list[str]:
    """Markdown lines: the synthetic scaling sweep (``--scaling``), if it ran."""
    from harness.report.scaling import scaling_table

    points = [_extra(e) for e in run.other if _is_scaling(e)]
    if not points:
        return []
    return ["## Scaling (synthetic data, 1 epoch, `baseline`)", "", scaling_table(points), ""]


def other_section(run: Run) -> list[str]:
    """Markdown lines: benchmark entries that are not cells (none when there are none)."""
    others = [e for e in run.other if not (_is_speedup(e) or _is_scaling(e))]
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
        markdown_table(["name", "median seconds", "extra_info"], rows),
        "",
    ]


__all__ = [
    "ACCURACY_KS",
    "LEAKAGE_COLUMNS",
    "MISSING",
    "escape",
    "fmt_delta",
    "fmt_float",
    "fmt_mean_ci",
    "fmt_mean_std",
    "fmt_median_iqr",
    "fmt_p",
    "fmt_rate",
    "fmt_ratio",
    "is_number",
    "leakage_section",
    "markdown_table",
    "metric_label",
    "other_section",
    "problems_section",
    "scaling_section",
    "speedup_section",
    "significance_mark",
    "throughput_section",
]
