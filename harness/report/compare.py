"""``python -m harness compare BASE.json NEW.json [MORE.json ...]``: regressions between runs.

Accuracy regresses when a top-k test accuracy (or ``--metric``) of a (split, config,
fit_on) drops significantly (Welch p < ``--alpha``) by more than ``--min-drop``; speed
regresses when a median throughput falls below ``(1 - --max-slowdown)`` x the baseline's;
a cell that succeeded in the baseline and fails in a new run also counts. Speed is
judged only between runs recorded on the same machine (CPU, instruction sets, caches,
cores: :func:`harness.run.machine.same_machine`); across machines, or where a run does not
record its machine, throughput is shown as not comparable and never judged. Exit status:
0 no regression, 1 a regression, 2 (``UserError``) unreadable or incomparable runs. With
more than two files the table has one column per TensorFlow version, and every later file
is judged against the first.

Accuracy is compared only between runs of one suite version (``harness.__version__``,
whose minor version is bumped whenever a change can move a number): runs of different
versions are refused (exit 2, naming the versions) unless ``--allow-version-mismatch``
is given. A file written before runs recorded the version counts as "unknown", which
matches only "unknown": old files still compare with each other.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.evaluation.keys import accuracy_key
from harness.evaluation.stats import median_iqr, summarize, welch
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
from harness.results.runs import CellGroup, Run, incompatibilities, load_run
from harness.run.machine import describe, same_machine
from harness.run.schema import group_label

DEFAULT_METRIC = accuracy_key(100)
_ACCURACY = re.compile(r"^test/top_\d+_categorical_accuracy$")
THROUGHPUTS = (("train", "train examples/s"), ("inference", "inference queries/s"))


@dataclass(frozen=True)
class Thresholds:
    """When a difference is a regression.

    Attributes:
        alpha: Welch p-value below which an accuracy change is significant.
        min_drop: smallest absolute accuracy drop that counts.
        max_slowdown: largest tolerated fractional fall of a median throughput.
    """

    alpha: float = 0.01
    min_drop: float = 0.01
    max_slowdown: float = 0.25

    def __post_init__(self):
        if not 0.0 < self.alpha < 1.0:
            raise UserError(f"--alpha must be between 0 and 1, got {self.alpha}")
        if not self.min_drop >= 0.0:
            raise UserError(f"--min-drop must be non-negative, got {self.min_drop}")
        if not 0.0 <= self.max_slowdown < 1.0:
            raise UserError(f"--max-slowdown must be in [0, 1), got {self.max_slowdown}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the compare options to ``parser`` (a ``python -m harness`` sub-command)."""
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="pytest-benchmark JSON files: BASE NEW [MORE ...]; the first is "
        "the baseline every other one is judged against",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.01,
        help="Welch p-value below which a change is significant (0.01)",
    )
    parser.add_argument(
        "--min-drop",
        type=float,
        default=0.01,
        help="smallest absolute accuracy drop that is a regression (0.01)",
    )
    parser.add_argument(
        "--max-slowdown",
        type=float,
        default=0.25,
        help="a median throughput below (1 - this) x base is a regression (0.25)",
    )
    parser.add_argument(
        "--metric",
        default=DEFAULT_METRIC,
        help=f"metric shown in the tables and also judged ({DEFAULT_METRIC})",
    )
    parser.add_argument("--out", help="also write the Markdown to this file (atomically)")
    parser.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="compare runs made by different ctxbench versions (refused otherwise: a "
        "new minor version may move the numbers); the output says it was given",
    )


def differences(base: Run, new: Run) -> list[str]:
    """Why two runs cannot be compared: one phrase per difference (empty when comparable)."""
    found = incompatibilities(
        base, new, ("splits", "configs", "fit_on", "epochs", "quick", "data_sha256", "ranking"))
    if not found and set(base.cells) != set(new.cells):
        only = sorted({"/".join(k) for k in set(base.cells) ^ set(new.cells)})
        found.append(f"cells differ ({', '.join(only[:4])}{' ...' if len(only) > 4 else ''})")
    return found


def speed_comparable(base: Run, new: Run) -> bool:
    """Whether both runs recorded the same machine, so their speeds may be compared."""
    return same_machine(base.provenance.get("machine"), new.provenance.get("machine"))


def _machines_note(base: Run, others: list[Run]) -> str:
    """Why some throughputs are not compared: each run's machine, or that it is unknown."""
    names = ", ".join(
        f"{run.path.name}: {describe(run.provenance.get('machine')) or 'machine not recorded'}"
        for run in [base, *others])
    return (f"Not compared: a speed holds only for the machine it was measured on, and "
            f"these runs do not share one that they recorded ({names}).")


def judged_metrics(base: Run, metric: str) -> list[str]:
    """The top-k test accuracies present in ``base``, plus ``metric``."""
    names = {m for g in base.cells.values() for s in g.seeds.values() for m in s.metrics}
    return sorted(
        {m for m in names if _ACCURACY.match(m)} | {metric}, key=lambda m: (m != metric, m)
    )


def _median(group: CellGroup, kind: str) -> float:
    return median_iqr(group.throughput(kind)).median


def regressions(base: Run, new: Run, thresholds: Thresholds, metric: str) -> list[str]:
    """One line per regression of ``new`` against ``base`` (empty when none)."""
    found = []
    for key, base_group in base.cells.items():
        new_group = new.cells[key]
        name = group_label(key)
        for accuracy in judged_metrics(base, metric):
            test = welch(new_group.metric(accuracy), base_group.metric(accuracy))
            if (
                is_number(test.p_value)
                and test.p_value < thresholds.alpha
                and -test.difference > thresholds.min_drop
            ):
                found.append(
                    f"{name}: {metric_label(accuracy)} fell {test.mean_b:.4f} -> "
                    f"{test.mean_a:.4f} (Δ {test.difference:+.4f}, Welch "
                    f"{fmt_p(test.p_value)})"
                )
        for kind, label in THROUGHPUTS if speed_comparable(base, new) else ():
            before, after = _median(base_group, kind), _median(new_group, kind)
            if (
                is_number(before)
                and is_number(after)
                and (after < (1.0 - thresholds.max_slowdown) * before)
            ):
                found.append(
                    f"{name}: median {label} fell {fmt_rate(before)} -> "
                    f"{fmt_rate(after)} ({fmt_ratio(after, before)}, limit "
                    f"{1.0 - thresholds.max_slowdown:.2f}×)"
                )
        newly_failed = [
            r
            for r in new_group.failures
            if r.cell.seed in base_group.seeds and base_group.seeds[r.cell.seed].status == "ok"
        ]
        if newly_failed:
            found.append(
                f"{name}: seed(s) {', '.join(str(r.cell.seed) for r in newly_failed)} "
                f"failed ({newly_failed[0].error})"
            )
    return found


def _significance(difference: float, p_value: float, thresholds: Thresholds) -> str:
    if not (is_number(p_value) and p_value < thresholds.alpha) or difference == 0.0:
        return "no"
    if difference > 0:
        return "yes ▲"
    return "yes ▼ regression" if -difference > thresholds.min_drop else "yes ▼ (< min-drop)"


def render_pair(base: Run, new: Run, thresholds: Thresholds, metric: str) -> str:
    """Markdown of one baseline-vs-new comparison (tables only, no verdict)."""
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
                _significance(test.difference, test.p_value, thresholds),
            ]
        )
        row = list(key)
        for kind, _ in THROUGHPUTS:
            before, after = _median(base_group, kind), _median(new_group, kind)
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
            values = [_median(g, kind) for g, t in zip(groups, timed, strict=True) if t]
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


def version_mismatch(runs: list[Run]) -> str | None:
    """One line naming each run's suite version when they are not all the same (None when
    they are; "unknown", a file that does not record it, matches only "unknown")."""
    if len({run.suite_version for run in runs}) < 2:
        return None
    return "suite versions differ (" + ", ".join(
        f"{run.path.name}: {run.suite_version}" for run in runs) + ")"


def compare(
    paths: list[Path], thresholds: Thresholds, metric: str = DEFAULT_METRIC,
    allow_version_mismatch: bool = False,
) -> tuple[str, int]:
    """Compares runs: returns (Markdown, exit status 0 or 1).

    Args:
        paths: BASE, NEW and optionally more benchmark JSON files.
        thresholds: what counts as a regression.
        metric: the metric shown in the tables (also judged).
        allow_version_mismatch: compare runs of different suite versions (noted in the
            Markdown) instead of refusing them.

    Raises:
        UserError: fewer than two files, an unreadable file, runs that cannot be
            compared (what differs is named), runs of different suite versions without
            ``allow_version_mismatch``, or a metric absent from the baseline.
    """
    if len(paths) < 2:
        raise UserError("compare needs at least two files: BASE.json NEW.json [MORE.json ...]")
    runs = [load_run(path) for path in paths]
    base = runs[0]
    for run in runs[1:]:
        found = differences(base, run)
        if found:
            raise UserError(f"{base.path} and {run.path} are not comparable "
                            f"({base.path.name} != {run.path.name}): " + "; ".join(found))
    mismatch = version_mismatch(runs)
    if mismatch and not allow_version_mismatch:
        raise UserError(f"{mismatch}: accuracy is compared only between runs of one ctxbench "
                        f"version; re-run the older one, or pass --allow-version-mismatch")
    present = {m for g in base.cells.values() for s in g.seeds.values() for m in s.metrics}
    if base.cells and metric not in present:
        raise UserError(
            f"--metric {metric!r} is not in {base.path}; valid: "
            f"{', '.join(sorted(present)) or 'none (every cell failed)'}"
        )
    if len(runs) == 2:
        lines = [
            f"# Compare {base.path.name} (TF {base.tf_version}) -> {runs[1].path.name} "
            f"(TF {runs[1].tf_version})",
            "",
            render_pair(base, runs[1], thresholds, metric),
        ]
    else:
        lines = [
            f"# Compare {len(runs)} runs against {base.path.name}",
            "",
            render_versions(runs, metric),
        ]
    if mismatch:
        lines += [f"Compared although the {mismatch}: --allow-version-mismatch was given.", ""]
    status = 0
    for run in runs[1:]:
        found = regressions(base, run, thresholds, metric)
        status = max(status, 1 if found else 0)
        lines += [f"## Verdict: {run.path.name} vs {base.path.name}", ""]
        lines += [f"- REGRESSION {line}" for line in found] or [
            f"No regression (alpha {thresholds.alpha}, min-drop {thresholds.min_drop}, "
            f"max-slowdown {thresholds.max_slowdown})."
        ]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n", status


def main(args: argparse.Namespace) -> int:
    """Runs ``compare`` from parsed arguments; prints Markdown, returns the exit status."""
    from harness.run.records import write_bytes_atomic

    thresholds = Thresholds(
        alpha=args.alpha, min_drop=args.min_drop, max_slowdown=args.max_slowdown
    )
    markdown, status = compare([Path(p) for p in args.files], thresholds, args.metric,
                               args.allow_version_mismatch)
    if args.out:
        write_bytes_atomic(Path(args.out), markdown.encode("utf-8"))
    sys.stdout.write(markdown)
    return status


__all__ = [
    "DEFAULT_METRIC",
    "speed_comparable",
    "Thresholds",
    "add_arguments",
    "compare",
    "differences",
    "judged_metrics",
    "main",
    "regressions",
    "render_pair",
    "render_versions",
    "version_columns",
    "version_mismatch",
]
