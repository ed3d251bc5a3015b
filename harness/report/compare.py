"""``python -m harness compare BASE.json NEW.json [MORE.json ...]``: regressions between runs.

Every later file is judged against the first, the base run (what counts as a regression:
:mod:`harness.report.regressions`; the tables: :mod:`harness.report.comparison`). Exit
status: 0 no regression, 1 a regression, 2 (``UserError``) unreadable or incomparable
runs. With more than two files the table has one column per TensorFlow version.

Accuracy is compared only between runs of one suite version (``harness.__version__``,
whose minor version is bumped whenever a change can move a number): runs of different
versions are refused (exit 2, naming the versions) unless ``--allow-version-mismatch``
is given. A file that does not record the version counts as "unknown", which matches
only "unknown": such files still compare with each other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import UserError
from harness.evaluation.keys import accuracy_key
from harness.record.merge import incompatibilities
from harness.record.reader import load_run
from harness.record.runs import Run
from harness.report.comparison import render_pair, render_versions
from harness.report.regressions import Thresholds, regressions
from harness.report.verdicts import per_user_coverage

DEFAULT_METRIC = accuracy_key(100)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the compare options to ``parser`` (a ``python -m harness`` sub-command)."""
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="pytest-benchmark JSON files: BASE NEW [MORE ...]; the first is "
        "the base run every other one is judged against",
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
            ``allow_version_mismatch``, or a metric absent from the base run.
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
    without = [run.path.name for run in runs if per_user_coverage(run) != "all"]
    if without and len(without) < len(runs):
        lines += [f"Not compared: user-level intervals ({', '.join(without)} "
                  f"{'has' if len(without) == 1 else 'have'} no per-user data); accuracy is "
                  f"compared over seeds, as between any two runs.", ""]
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
    from harness.record.files import write_bytes_atomic

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
    "add_arguments",
    "compare",
    "differences",
    "main",
    "version_mismatch",
]
