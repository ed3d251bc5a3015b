"""The verdicts of "does the feature help?": each configuration's difference from
:data:`REFERENCE_CONFIG` per split, its interval and test, corrected within its family.

A verdict table holds one (protocol, fit_on) and one metric; its cells fall into two
families, each corrected on its own (:mod:`harness.evaluation.correction`, Holm unless
asked otherwise): the feature configurations' cells (the question the table asks) and
the baselines' cells (a different question: does the learned reference beat a scorer
that learns nothing?). Marks ▲/▼ follow the adjusted p.

A cell is user × seed (:mod:`harness.evaluation.resampling`: the verdict must hold over
test users, by a sign-flip test, and over seeds, by a paired t-test; its interval is the
hull of a crossed bootstrap of users and seeds and the seeds' t interval) when both
configurations recorded per-user
hits in every seed they share, and seed-only (a paired t-test and t interval over seeds,
:func:`harness.evaluation.stats.paired_difference`) otherwise: every file written before
per-user records. Each cell's generator is seeded from its own key, so a report is the
same bytes whatever else it holds.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from harness.evaluation.correction import CORRECTION_NAMES, HOLM, adjust
from harness.evaluation.keys import accuracy_key
from harness.evaluation.resampling import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_RESAMPLES,
    paired_user_difference,
)
from harness.evaluation.segments import segment_accuracy_key
from harness.evaluation.stats import paired_difference
from harness.record.grid import BASELINES
from harness.record.peruser import align
from harness.record.runs import CellGroup, Run
from harness.report.layout import group_for, row_configs, table_keys
from harness.report.segments import run_bands

# The configuration every other one is paired against: user and title ids only.
REFERENCE_CONFIG = "baseline"
HEADLINE_K = 100
HEADLINE = accuracy_key(HEADLINE_K)
ALPHA = 0.05
REPORT_SEED = 29  # the root of every cell's generator
FEATURES, BASELINE_FAMILY = "feature", "baseline"
USER_LEVEL_METHOD = (f"user × seed: a verdict must hold over test users (paired sign-flip "
                     f"randomization test, {DEFAULT_RESAMPLES:,} flips, a user's seeds flip "
                     f"together) and over seeds (paired t-test), p the larger of the two; "
                     f"95% interval: the hull of a crossed bootstrap of users and seeds "
                     f"({DEFAULT_BOOTSTRAP:,} resamples) and the seeds' t interval")
SEED_ONLY_METHOD = ("seed-only: this run has no per-user data (paired t-test and 95% t "
                    "interval over seeds; test users are not counted as a source of "
                    "uncertainty)")


@dataclass(frozen=True)
class Verdict:
    """One cell: configuration minus reference on one split.

    Attributes:
        config, split: the cell.
        family: :data:`FEATURES` or :data:`BASELINE_FAMILY`.
        mean, ci_low, ci_high: the difference and its 95% interval.
        p_value, adjusted: raw and family-adjusted two-sided p (NaN without a test).
        seeds: seeds paired; users: test users (None for a seed-only verdict).
    """

    config: str
    split: str
    family: str
    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    adjusted: float
    seeds: int
    users: int | None

    def mark(self, adjusted: bool = True) -> str:
        """▲ / ▼ when the (adjusted, or raw) p is below :data:`ALPHA`, · otherwise."""
        p_value = self.adjusted if adjusted else self.p_value
        if not math.isnan(p_value) and p_value < ALPHA and self.mean != 0.0:
            return "▲" if self.mean > 0 else "▼"
        return "·"


@dataclass(frozen=True)
class VerdictTable:
    """The verdicts of one (protocol, fit_on) and one metric.

    Attributes:
        protocol, fit_on: the table.
        warm_only: the verdicts of warm users alone (else every test user).
        configs, splits: rows and columns, in report order.
        verdicts: (config, split) -> :class:`Verdict`, the cells that have one.
        correction: the key of :data:`~harness.evaluation.correction.CORRECTIONS`.
    """

    protocol: str
    fit_on: str
    warm_only: bool
    configs: list[str]
    splits: list[str]
    verdicts: dict[tuple[str, str], Verdict]
    correction: str = HOLM

    def family(self, name: str) -> list[Verdict]:
        return [v for v in self.verdicts.values() if v.family == name]

    @property
    def user_level(self) -> str:
        """"all", "none" or "some": how many cells are user × seed."""
        levels = {v.users is not None for v in self.verdicts.values()}
        return "all" if levels == {True} else "some" if levels == {True, False} else "none"

    def description(self) -> str:
        """The families, the correction and the method, in one sentence."""
        features = len(self.family(FEATURES))
        baselines = len(self.family(BASELINE_FAMILY))
        text = (f"family: the {features} (configuration, split) cells of the feature "
                f"configurations in this table")
        if baselines:
            text += f" (the {baselines} cells of the baselines are a family of their own)"
        text += f"; correction: {CORRECTION_NAMES[self.correction]}; ▲/▼ by adjusted p < {ALPHA}"
        method = {"all": USER_LEVEL_METHOD, "none": SEED_ONLY_METHOD,
                  "some": f"{USER_LEVEL_METHOD} where both cells have per-user data, "
                          f"otherwise seed-only (marked 'seeds')"}[self.user_level]
        return f"{text}; {method}"


def per_user_coverage(run: Run) -> str:
    """"all", "none" or "some": how many of the run's finished cells carry per-user hits."""
    found = {result.per_user is not None for group in run.cells.values()
             for result in group.seeds.values() if result.status == "ok"}
    return "all" if found == {True} else "some" if found == {True, False} else "none"


def _generator(*key: str) -> np.random.Generator:
    return np.random.default_rng([REPORT_SEED, zlib.crc32("/".join(key).encode())])


def pair_verdict(group: CellGroup, reference: CellGroup, metric: str, warm_only: bool,
                 family: str, key: tuple[str, ...]) -> Verdict | None:
    """``group`` minus ``reference`` over the seeds both completed (user × seed when both
    have per-user hits, else seed-only; module docstring), its p not yet adjusted; None
    without a seed in common. ``key`` seeds the cell's generator."""
    seeds = sorted(set(group.ok_seeds) & set(reference.ok_seeds))
    if not seeds:
        return None
    records = [[g.seeds[s].per_user for s in seeds] for g in (group, reference)]
    if all(r is not None for side in records for r in side):
        new_users, new_hits, queries = align(records[0], HEADLINE_K, warm_only)
        base_users, base_hits, base_queries = align(records[1], HEADLINE_K, warm_only)
        if np.array_equal(new_users, base_users) and np.array_equal(queries, base_queries):
            queried = queries.sum(axis=0) > 0
            d = paired_user_difference(new_hits[:, queried], base_hits[:, queried],
                                       queries[:, queried], _generator(*key))
            if not math.isnan(d.mean):
                return Verdict(group.config, group.split, family, d.mean, d.ci_low,
                               d.ci_high, d.p_value, math.nan, len(seeds), d.users)
    d = paired_difference(group.metric(metric, seeds), reference.metric(metric, seeds))
    if d.n == 0:
        return None
    return Verdict(group.config, group.split, family, d.mean, d.ci_low, d.ci_high,
                   d.p_value, math.nan, d.n, None)


def verdict_table(run: Run, protocol: str, fit_on: str, warm_only: bool = False,
                  correction: str = HOLM) -> VerdictTable:
    """Every configuration's verdict against :data:`REFERENCE_CONFIG`, corrected per family."""
    metric = (segment_accuracy_key(HEADLINE_K, run.rankings[0], "user_warm") if warm_only
              else HEADLINE)
    configs = [c for c in row_configs(run) if c != REFERENCE_CONFIG]
    found: dict[tuple[str, str], Verdict] = {}
    for config in configs:
        for split in run.splits:
            group = group_for(run, split, config, fit_on, protocol)
            reference = run.cells.get((split, REFERENCE_CONFIG, fit_on, protocol))
            if group is None or reference is None:
                continue
            family = BASELINE_FAMILY if config in BASELINES else FEATURES
            verdict = pair_verdict(group, reference, metric, warm_only, family,
                               (protocol, fit_on, str(warm_only), config, split))
            if verdict is not None:
                found[(config, split)] = verdict
    for family in (FEATURES, BASELINE_FAMILY):
        keys = [k for k, v in found.items() if v.family == family]
        found.update(zip(keys, with_adjusted([found[k] for k in keys], correction),
                         strict=True))
    return VerdictTable(protocol, fit_on, warm_only, configs, list(run.splits), found,
                        correction)


def with_adjusted(verdicts: list[Verdict], correction: str = HOLM) -> list[Verdict]:
    """The verdicts of one family, each with its p adjusted within it."""
    adjusted = adjust([v.p_value for v in verdicts], correction) if verdicts else []
    return [Verdict(**{**v.__dict__, "adjusted": float(p)})
            for v, p in zip(verdicts, adjusted, strict=True)]


_LAST: list = []  # (run, tables) of the last run: the two sections that read them share one


def verdict_tables(run: Run) -> list[VerdictTable]:
    """Every verdict table of the run, in report order: per (protocol, fit_on), all test
    users, then warm users alone where the run records the segments. Computed once per
    run (the verdicts section and the findings both read them)."""
    if _LAST and _LAST[0] is run:
        return _LAST[1]
    warm = (False, True) if run_bands(run) is not None else (False,)
    tables = [verdict_table(run, protocol, fit_on, warm_only)
              for protocol, fit_on in table_keys(run) for warm_only in warm]
    _LAST[:] = [run, tables]
    return tables


__all__ = ["ALPHA", "BASELINE_FAMILY", "FEATURES", "HEADLINE", "HEADLINE_K",
           "REFERENCE_CONFIG", "SEED_ONLY_METHOD", "USER_LEVEL_METHOD", "Verdict",
           "VerdictTable", "pair_verdict", "per_user_coverage", "verdict_table",
           "verdict_tables", "with_adjusted"]
