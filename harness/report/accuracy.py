"""The report's accuracy sections: accuracy over seeds, and whether each feature helps.

"Does the feature help?" pairs each configuration with :data:`REFERENCE_CONFIG` over the
seeds both completed, for all test users and, where the run records the segments, for
warm users alone.
"""

from __future__ import annotations

from harness.evaluation.keys import accuracy_key
from harness.evaluation.segments import segment_accuracy_key
from harness.evaluation.stats import paired_difference, summarize
from harness.record.grid import BASELINES
from harness.record.runs import Run
from harness.report.format import ACCURACY_KS, MISSING, fmt_delta, fmt_mean_ci, metric_label
from harness.report.layout import group_for, row_configs, table_keys, table_title
from harness.report.segments import run_bands
from harness.report.tables import Table

# The configuration every other one is paired against: user and title ids only.
REFERENCE_CONFIG = "baseline"
HEADLINE = accuracy_key(100)
ALPHA = 0.05


def accuracy_section(run: Run) -> list[str | Table]:
    """Mean accuracy ± 95% CI half-width per configuration and split, per top-k."""
    out = [
        "## Accuracy",
        "",
        "Mean test accuracy over seeds ± half-width of its 95% t confidence interval; n "
        "counts the seeds that succeeded. The baselines (popularity: training counts; "
        "ease: EASE^R with its L2 weight chosen on the split's validation slice) ignore "
        "preprocessing, so their rows are the same under every fit_on; both rank tied "
        "scores against the true item.",
        "",
    ]
    for protocol, fit_on in table_keys(run):
        for k in ACCURACY_KS:
            metric = accuracy_key(k)
            rows = []
            for config in row_configs(run):
                if config not in BASELINES and run.cells.keys().isdisjoint(
                        {(s, config, fit_on, protocol) for s in run.splits}):
                    continue
                cells = []
                for split in run.splits:
                    group = group_for(run, split, config, fit_on, protocol)
                    cells.append(fmt_mean_ci(summarize(group.metric(metric))) if group else MISSING)
                rows.append([config, *cells])
            out += [
                f"### {metric_label(metric).capitalize()}, {table_title(protocol, fit_on)}",
                "",
                Table(f"accuracy_top{k}_fit_on_{fit_on}",
                      f"{metric_label(metric).capitalize()}: mean ± 95% CI half-width over "
                      f"seeds", ["configuration", *run.splits], rows, fit_on=fit_on,
                      protocol=protocol),
                "",
            ]
    return out


def feature_help_section(run: Run) -> list[str | Table]:
    """Each configuration's paired difference from :data:`REFERENCE_CONFIG`, with its
    verdict."""
    warm = run_bands(run) is not None
    out = [
        "## Does the feature help?",
        "",
        f"Δ {metric_label(HEADLINE)} of each configuration minus `{REFERENCE_CONFIG}`, paired "
        f"over the seeds both completed: mean [95% CI], ▲/▼ when the paired t-test gives "
        f"p < {ALPHA}, · otherwise.",
        "",
    ]
    if warm:
        out += ["Each verdict for all test users is followed by the same verdict for warm "
                "users alone (users with training interactions, ranked as the headline "
                "metrics are): the difference between the two is what cold start adds.", ""]
    for protocol, fit_on in table_keys(run):
        out += [f"### {table_title(protocol, fit_on)}", "",
                _verdicts(run, protocol, fit_on, HEADLINE, "", "")]
        if warm:
            metric = segment_accuracy_key(100, run.rankings[0], "user_warm")
            out += ["", _verdicts(run, protocol, fit_on, metric, "_warm_users",
                                  " of warm users only")]
        out += [""]
    return out


def _verdicts(run: Run, protocol: str, fit_on: str, metric: str, suffix: str,
              who: str) -> Table | str:
    """The paired verdict table of one metric (``who`` says whose test interactions)."""
    rows = []
    for config in row_configs(run):
        if config == REFERENCE_CONFIG:
            continue
        cells = []
        for split in run.splits:
            group = group_for(run, split, config, fit_on, protocol)
            reference = run.cells.get((split, REFERENCE_CONFIG, fit_on, protocol))
            if group is None or reference is None:
                cells.append(MISSING)
                continue
            seeds = sorted(set(group.ok_seeds) & set(reference.ok_seeds))
            difference = paired_difference(
                group.metric(metric, seeds), reference.metric(metric, seeds)
            )
            cells.append(fmt_delta(difference, ALPHA))
        if any(cell != MISSING for cell in cells):
            rows.append([config, *cells])
    return (
        Table(f"feature_help{suffix}_fit_on_{fit_on}",
              f"Δ top-100 test accuracy{who} against {REFERENCE_CONFIG}, paired over seeds",
              ["configuration", *run.splits], rows, fit_on=fit_on, protocol=protocol)
        if rows
        else f"No `{REFERENCE_CONFIG}` cells to compare with."
    )


__all__ = ["ALPHA", "HEADLINE", "REFERENCE_CONFIG", "accuracy_section", "feature_help_section"]
