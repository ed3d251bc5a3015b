"""What counts as a regression of a new run against a base run, and the verdict's lines.

Accuracy regresses when a top-k test accuracy (or the shown metric) of a (split, config,
fit_on) drops significantly (Welch p < ``alpha``) by more than ``min_drop``; speed
regresses when a median throughput falls below ``(1 - max_slowdown)`` x the base run's;
a cell that succeeded in the base run and fails in the new one also counts. Speed is
judged only between cells recorded on the same machine (CPU, instruction sets, caches,
cores: :func:`harness.record.machine.same_machine`; a cell run on a cluster's worker names
its own); across machines, or where a run does not record its machine, throughput is never
judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import UserError
from harness.evaluation.stats import median_iqr, welch
from harness.record.cell import group_label
from harness.record.machine import same_machine
from harness.record.runs import CellGroup, Run
from harness.report.format import fmt_p, fmt_rate, fmt_ratio, is_number, metric_label

_ACCURACY = re.compile(r"^test/top_\d+_categorical_accuracy$")
# (CellGroup.throughput kind, label) of each speed that is shown and judged.
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


def _machines(run: Run, key=None) -> list:
    """The machines a run's cells (one group's, with ``key``) were measured on: each
    cell's own where it names one (a cluster's worker), else the run's."""
    default = run.provenance.get("machine")
    groups = run.cells.values() if key is None else [run.cells[key]]
    return [default, *(result.provenance.get("machine", default)
                       for group in groups for result in group.seeds.values())]


def speed_comparable(base: Run, new: Run, key=None) -> bool:
    """Whether every cell of both runs (of the group ``key``, if given) was measured on
    one machine, so their speeds may be compared (a cluster's workers may differ)."""
    machines = _machines(base, key) + _machines(new, key)
    return all(same_machine(machines[0], machine) for machine in machines)


def judged_metrics(base: Run, metric: str) -> list[str]:
    """The top-k test accuracies present in ``base``, plus ``metric``."""
    names = {m for g in base.cells.values() for s in g.seeds.values() for m in s.metrics}
    return sorted(
        {m for m in names if _ACCURACY.match(m)} | {metric}, key=lambda m: (m != metric, m)
    )


def median_throughput(group: CellGroup, kind: str) -> float:
    """The median over seeds of one throughput (a :data:`THROUGHPUTS` kind)."""
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
        for kind, label in THROUGHPUTS if speed_comparable(base, new, key) else ():
            before = median_throughput(base_group, kind)
            after = median_throughput(new_group, kind)
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


def significance(difference: float, p_value: float, thresholds: Thresholds) -> str:
    """The table's "significant" cell: no, yes ▲, or yes ▼ (a regression past min-drop)."""
    if not (is_number(p_value) and p_value < thresholds.alpha) or difference == 0.0:
        return "no"
    if difference > 0:
        return "yes ▲"
    return "yes ▼ regression" if -difference > thresholds.min_drop else "yes ▼ (< min-drop)"


__all__ = [
    "THROUGHPUTS",
    "Thresholds",
    "judged_metrics",
    "median_throughput",
    "regressions",
    "significance",
    "speed_comparable",
]
