"""The Markdown tables of a comparison: base against new, or one column per TF version.

Two runs get the accuracy of each cell group side by side with Welch's test, and the
median throughputs with their ratio; more runs get one column per TensorFlow version.
Throughputs appear only for runs recorded on the base run's machine; the others are named
in a note instead (see :func:`harness.report.regressions.speed_comparable`).
"""

from __future__ import annotations

from harness.evaluation.stats import summarize, welch
from harness.record.machine import describe
from harness.record.runs import Run
from harness.report.format import (
    GROUP_COLUMNS,
    fmt_float,
    fmt_mean_std,
    fmt_p,
    fmt_rate,
    fmt_ratio,
    is_number,
    markdown_table,
    metric_label,
)
from harness.report.regressions import (
    THROUGHPUTS,
    Thresholds,
    median_throughput,
    significance,
    speed_comparable,
)


def _machines_note(base: Run, others: list[Run]) -> str:
    """Why some throughputs are not compared: each run's machine, or that it is unknown."""
    names = ", ".join(
        f"{run.path.name}: {describe(run.provenance.get('machine')) or 'machine not recorded'}"
        for run in [base, *others])
    return (f"Not compared: a speed holds only for the machine it was measured on, and "
            f"these runs do not share one that they recorded ({names}).")


def render_pair(base: Run, new: Run, thresholds: Thresholds, metric: str) -> str:
    """Markdown of one base-vs-new comparison (tables only, no verdict)."""
    accuracy, speed = [], []
    for key, base_group in base.cells.items():
        new_group = new.cells[key]
        test = welch(new_group.metric(metric), base_group.metric(metric))
        accuracy.append(
            [
                *key,
                f"{fmt_mean_std(summarize(base_group.metric(metric)))} (n={test.n_b})",
                f"{fmt_mean_std(summarize(new_group.metric(metric)))} (n={test.n_a})",
                fmt_float(test.difference, 4, sign=True),
                fmt_p(test.p_value),
                significance(test.difference, test.p_value, thresholds),
            ]
        )
        row = list(key)
        for kind, _ in THROUGHPUTS:
            before = median_throughput(base_group, kind)
            after = median_throughput(new_group, kind)
            row += [fmt_rate(before), fmt_rate(after), fmt_ratio(after, before)]
        speed.append(row)
    label = metric_label(metric)
    return "\n".join(
        [
            f"## {label.capitalize()}",
            "",
            f"Mean ± sd over the successful seeds; Δ = new - base; Welch's t-test; a regression "
            f"needs p < {thresholds.alpha} and a drop over {thresholds.min_drop}.",
            "",
            markdown_table(
                [
                    *GROUP_COLUMNS,
                    f"base {label}",
                    f"new {label}",
                    "Δ",
                    "Welch p",
                    "significant",
                ],
                accuracy,
            ),
            "",
            "## Throughput",
            "",
            f"Medians over seeds; ratio = new / base; a regression is a ratio under "
            f"{1.0 - thresholds.max_slowdown:.2f}.",
            "",
            _machines_note(base, [new]) if not speed_comparable(base, new) else markdown_table(
                [
                    *GROUP_COLUMNS,
                    "base train examples/s",
                    "new train examples/s",
                    "ratio",
                    "base inference queries/s",
                    "new inference queries/s",
                    "ratio",
                ],
                speed,
            ),
            "",
        ]
    )


def version_columns(runs: list[Run]) -> list[str]:
    """ "TF <version>" per run, with numpy's version where the runs differ in it (numpy
    moves with TensorFlow's pins and can explain a speed change by itself); the file
    name is added where two runs share a label."""
    numpys = [(run.provenance.get("versions") or {}).get("numpy") for run in runs]
    labels = [
        f"TF {run.tf_version}" + (f" (numpy {n})" if len(set(numpys)) > 1 and n else "")
        for run, n in zip(runs, numpys, strict=True)
    ]
    return [
        label if labels.count(label) == 1 else f"{label} ({run.path.name})"
        for label, run in zip(labels, runs, strict=True)
    ]


def render_versions(runs: list[Run], metric: str) -> str:
    """Markdown with one column per TensorFlow version: accuracy and throughput."""
    columns = version_columns(runs)
    # Speeds only from runs recorded on the first run's machine; a run that recorded no
    # machine cannot be shown to be on it.
    timed = [run is runs[0] or speed_comparable(runs[0], run) for run in runs]
    if sum(timed) < 2:
        timed = [False] * len(runs)
    accuracy, speed = [], []
    for key in runs[0].cells:
        groups = [run.cells[key] for run in runs]
        accuracy.append([*key, *[fmt_mean_std(summarize(g.metric(metric))) for g in groups]])
        for kind, label in THROUGHPUTS:
            values = [median_throughput(g, kind) for g, t in zip(groups, timed, strict=True)
                      if t]
            if any(is_number(v) for v in values):
                speed.append([*key, label, *[fmt_rate(v) for v in values]])
    label = metric_label(metric)
    untimed = [run for run, t in zip(runs, timed, strict=True) if not t]
    return "\n".join(
        [
            f"## {label.capitalize()} by TensorFlow version",
            "",
            "Mean ± sd over seeds.",
            "",
            markdown_table([*GROUP_COLUMNS, *columns], accuracy),
            "",
            "## Throughput by TensorFlow version",
            "",
            "Medians over seeds.",
            "",
            *([markdown_table([*GROUP_COLUMNS, "measure",
                               *[c for c, t in zip(columns, timed, strict=True) if t]],
                              speed), ""] if any(timed) else []),
            *([_machines_note(runs[0], [r for r in untimed if r is not runs[0]]), ""]
              if untimed else []),
        ]
    )


__all__ = ["render_pair", "render_versions", "version_columns"]
