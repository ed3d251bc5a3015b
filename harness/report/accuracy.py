"""The report's accuracy sections: accuracy per configuration and split, and whether each
feature helps (:mod:`harness.report.verdicts`).

Where a cell group recorded per-user hits in every seed, its accuracy carries a crossed
bootstrap interval over test users and seeds (over users alone when the group is the same
in every seed); otherwise the t interval over seeds, and a group the same in every seed
(a deterministic model on a fixed test set) shows its one value with no interval rather
than a ± 0 over seeds.
"""

from __future__ import annotations

import zlib

import numpy as np

from harness.evaluation.keys import accuracy_key
from harness.evaluation.resampling import DEFAULT_BOOTSTRAP, user_accuracy
from harness.evaluation.stats import summarize
from harness.record.grid import BASELINES
from harness.record.peruser import align
from harness.record.runs import CellGroup, Run
from harness.report.format import (
    ACCURACY_KS,
    MISSING,
    fmt_accuracy_users,
    fmt_mean_seeds,
    fmt_verdict,
    metric_label,
)
from harness.report.layout import group_for, row_configs, table_keys, table_title
from harness.report.tables import Table
from harness.report.verdicts import (
    HEADLINE,
    REFERENCE_CONFIG,
    REPORT_SEED,
    SEED_ONLY_METHOD,
    VerdictTable,
    per_user_coverage,
    verdict_tables,
)

USER_LEVEL_ACCURACY = (f"accuracy over test users and seeds [95% crossed bootstrap of users "
                       f"and seeds, {DEFAULT_BOOTSTRAP:,} resamples; over users alone for a "
                       f"group that is the same in every seed]")
SEED_ONLY_ACCURACY = ("mean over seeds ± 95% t CI half-width; seed-only: this run has no "
                      "per-user data, and a group the same in every seed shows one value, "
                      "its interval n/a")


def _accuracy_cell(group: CellGroup, k: int) -> str:
    """One group's accuracy at top k: user × seed when every ok seed has per-user hits."""
    records = [group.seeds[s].per_user for s in group.ok_seeds]
    if records and all(r is not None and k in r.hits for r in records):
        _, hits, queries = align(records, k)
        key = "/".join((*group.key, str(k))).encode()
        rng = np.random.default_rng([REPORT_SEED, zlib.crc32(key)])
        return fmt_accuracy_users(user_accuracy(hits, queries, rng))
    return fmt_mean_seeds(summarize(group.metric(accuracy_key(k))))


def row_label(run: Run, config: str) -> str:
    """A configuration's row label: its name, and what it ranks users with no training
    history by where every ok cell of it records one (``provenance.config.cold_fallback``,
    EASE^R's popularity)."""
    fallbacks = set()
    for (_, name, _, _), group in run.cells.items():
        for result in group.seeds.values():
            described = result.provenance.get("config")
            if name == config and result.status == "ok":
                fallbacks.add(described.get("cold_fallback") if isinstance(described, dict)
                              else None)
    fallback = fallbacks.pop() if len(fallbacks) == 1 else None
    return f"{config} ({fallback} for cold users)" if fallback else config


def accuracy_section(run: Run) -> list[str | Table]:
    """Accuracy and its interval per configuration and split, per top-k."""
    coverage = per_user_coverage(run)
    what = {"all": USER_LEVEL_ACCURACY, "none": SEED_ONLY_ACCURACY,
            "some": f"{USER_LEVEL_ACCURACY} where a group has per-user data in every seed; "
                    f"otherwise {SEED_ONLY_ACCURACY}"}[coverage]
    out = [
        "## Accuracy",
        "",
        f"Test accuracy: {what}. n counts the seeds that succeeded. The baselines "
        "(popularity: training counts; ease: EASE^R with its L2 weight chosen on the "
        "split's validation slice) ignore preprocessing, so their rows are the same under "
        "every fit_on; both rank tied scores against the true item.",
        "",
    ]
    caption = ("accuracy over test users and seeds, 95% bootstrap interval" if coverage == "all"
               else "mean ± 95% CI half-width over seeds (seed-only: no per-user data)"
               if coverage == "none" else "user × seed interval where recorded, else seed-only")
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
                    cells.append(_accuracy_cell(group, k) if group else MISSING)
                rows.append([row_label(run, config), *cells])
            out += [
                f"### {metric_label(metric).capitalize()}, {table_title(protocol, fit_on)}",
                "",
                Table(f"accuracy_top{k}_fit_on_{fit_on}",
                      f"{metric_label(metric).capitalize()}: {caption}",
                      ["configuration", *run.splits], rows, fit_on=fit_on, protocol=protocol),
                "",
            ]
    return out


def feature_help_section(run: Run) -> list[str | Table]:
    """Each configuration's verdict against :data:`REFERENCE_CONFIG`, per table, with its
    family and correction named."""
    tables = verdict_tables(run)
    warm = any(t.warm_only for t in tables)
    out = [
        "## Does the feature help?",
        "",
        f"Δ {metric_label(HEADLINE)} of each configuration minus `{REFERENCE_CONFIG}`, paired "
        "over the seeds both completed: Δ [95% interval], the mark, the raw p and the p "
        "adjusted for the table's family; ▲/▼ when the adjusted p is below 0.05, · "
        "otherwise. Each table names its family, its correction and how its intervals and "
        "tests count the test users and seeds.",
        "",
    ]
    if per_user_coverage(run) == "none":
        out += [f"Every table here is {SEED_ONLY_METHOD}.", ""]
    if warm:
        out += ["Each verdict for all test users is followed by the same verdict for warm "
                "users alone (users with training interactions, ranked as the headline "
                "metrics are): the difference between the two is what cold start adds.", ""]
    for table in tables:
        if not table.warm_only:
            out += [f"### {table_title(table.protocol, table.fit_on)}", ""]
        out += [_render(table), ""]
    return out


def _render(table: VerdictTable) -> Table | str:
    """The verdict table as rows of formatted cells."""
    rows = []
    for config in table.configs:
        cells = []
        for split in table.splits:
            verdict = table.verdicts.get((config, split))
            if verdict is None:
                cells.append(MISSING)
                continue
            sample = (f"{verdict.seeds} seeds × {verdict.users} users" if verdict.users
                      else f"n={verdict.seeds} seeds")
            cells.append(fmt_verdict(verdict.mean, verdict.ci_low, verdict.ci_high,
                                     verdict.mark(), verdict.p_value, verdict.adjusted,
                                     sample))
        if any(cell != MISSING for cell in cells):
            rows.append([config, *cells])
    if not rows:
        return f"No `{REFERENCE_CONFIG}` cells to compare with."
    who = " of warm users only" if table.warm_only else ""
    suffix = "_warm_users" if table.warm_only else ""
    return Table(f"feature_help{suffix}_fit_on_{table.fit_on}",
                 f"Δ top-100 test accuracy{who} against {REFERENCE_CONFIG}; "
                 f"{table.description()}",
                 ["configuration", *table.splits], rows, fit_on=table.fit_on,
                 protocol=table.protocol)


__all__ = ["HEADLINE", "REFERENCE_CONFIG", "accuracy_section", "feature_help_section"]
