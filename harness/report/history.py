"""Context from the past alone: the causal configurations against the scorers that see
the same history, the order control, and what online history buys cold users.

Present only when a run holds a causal configuration (one with ``past`` options,
:mod:`harness.model.causal`) or a history-aware scorer
(:mod:`harness.model.history_specs`). Three tables per (protocol, fit_on):

- **Against the same information.** Each causal configuration, per split, minus the
  strongest non-learned scorer allowed the same history (highest mean test top-100 on
  that split among those the run holds: under "history: online" every scorer, under
  "history: training side only" popularity, EASE^R and the training-side scorers;
  choosing on the test set sets the bar in the scorers' favour), and minus popularity.
  Each column is one family, corrected (Holm) on its own; the comparison with the
  id-only model is the "Does the feature help?" table's.
- **Order control.** ``history`` minus ``history_shuffled``, and ``item_knn`` minus
  ``item_knn_shuffled``: the same past, its last N items against N drawn at random from
  it. One family.
- **Cold users.** Top-100 of users with no training row (the ``user_cold`` segment)
  under online and training-side history, learned and not.

Every difference is :func:`harness.report.verdicts.pair_verdict`'s (user × seed where the
cells have per-user hits).
"""

from __future__ import annotations

import numpy as np

from harness.data.history import ONLINE, TRAIN_SIDE
from harness.evaluation.correction import CORRECTION_NAMES, HOLM
from harness.evaluation.segments import segment_accuracy_key
from harness.model.features import CONFIGS
from harness.model.history_specs import SPECS
from harness.record.grid import BASELINES
from harness.record.runs import CellGroup, Run
from harness.report.format import MISSING, fmt_float, fmt_verdict
from harness.report.layout import group_for, row_configs, table_keys, table_title
from harness.report.tables import Table
from harness.report.verdicts import (
    HEADLINE,
    HEADLINE_K,
    USER_LEVEL_METHOD,
    Verdict,
    pair_verdict,
    with_adjusted,
)

POPULARITY = "popularity"
# (learned, learned order control) and (scorer, scorer order control)
ORDER_PAIRS = (("history", "history_shuffled"), ("item_knn", "item_knn_shuffled"))
# The cold-user table's columns: online against training-side history, learned and not.
COLD_COLUMNS = ("causal", "causal_trainside", "history", "item_knn", "item_knn_trainside",
                "ease_history", "ease_history_trainside", POPULARITY)
HISTORY_FAMILY = "history"
SHOWN = {ONLINE: "online", TRAIN_SIDE: "training side only"}  # how a table names each


def history_of(config: str) -> str | None:
    """Which rows a configuration's or scorer's queries read as history (``"online"`` or
    ``"train"``): the causal configurations' and history-aware scorers' own protocol,
    the training side for popularity and EASE^R, None for a learned configuration
    without ``past``."""
    if config in SPECS:
        return SPECS[config].protocol
    if config in BASELINES:
        return TRAIN_SIDE
    if config in CONFIGS and CONFIGS[config].past is not None:
        return CONFIGS[config].past.history_protocol
    return None


def same_information(config: str, scorers: list[str]) -> list[str]:
    """The scorers among ``scorers`` that see no more than ``config`` does."""
    allowed = (ONLINE, TRAIN_SIDE) if history_of(config) == ONLINE else (TRAIN_SIDE,)
    return [s for s in scorers if history_of(s) in allowed]


def _mean(group: CellGroup | None) -> float:
    if group is None or not group.ok_seeds:
        return float("nan")
    return float(np.mean(group.metric(HEADLINE)))


def _cell(verdict: Verdict | None) -> str:
    if verdict is None:
        return MISSING
    sample = (f"{verdict.seeds} seeds × {verdict.users} users" if verdict.users
              else f"n={verdict.seeds} seeds")
    return fmt_verdict(verdict.mean, verdict.ci_low, verdict.ci_high, verdict.mark(),
                       verdict.p_value, verdict.adjusted, sample)


def _family(pairs: dict, run: Run, protocol: str, fit_on: str, name: str
            ) -> dict[tuple[str, str], Verdict]:
    """(config, split) -> config minus its reference (``pairs[(config, split)]``), the
    family's p adjusted (Holm)."""
    found = {}
    for (config, split), reference in pairs.items():
        group = group_for(run, split, config, fit_on, protocol)
        base = group_for(run, split, reference, fit_on, protocol)
        if group is None or base is None:
            continue
        verdict = pair_verdict(group, base, HEADLINE, False, HISTORY_FAMILY,
                               (protocol, fit_on, name, config, reference, split))
        if verdict is not None:
            found[(config, split)] = verdict
    return dict(zip(found, with_adjusted(list(found.values()), HOLM), strict=True))


def history_section(run: Run) -> list[str | Table]:
    """The three tables per (protocol, fit_on) (module docstring); nothing for a run with
    neither a causal configuration nor a history-aware scorer."""
    configs = row_configs(run)
    causal = [c for c in configs if c not in BASELINES and history_of(c) is not None]
    scorers = [c for c in configs if c in BASELINES]
    if not causal and not any(c in SPECS for c in configs):
        return []
    correction = CORRECTION_NAMES[HOLM]
    out: list[str | Table] = [
        "## Context from the past alone", "",
        "Every feature here is computed from rows strictly before the query (rows in the "
        "same second are not history). *history: online*: a test query's past is every "
        "earlier row of the split, earlier test rows included (what a serving system "
        "knows), with the model's weights those trained on the training side; *history: "
        "training side only*: the split's training rows alone. The non-learned scorers "
        "see the same history; a query with no history is ranked by popularity so far "
        "(counts as of the day's 00:00 UTC refresh). The `_shuffled` rows are the order "
        "control: N titles drawn at random from the whole past instead of the last N.", "",
    ]
    for protocol, fit_on in table_keys(run):
        out += [f"### {table_title(protocol, fit_on)}", ""]
        out += _against_same_information(run, protocol, fit_on, causal, scorers, correction)
        out += _order_control(run, protocol, fit_on, correction)
        out += _cold_users(run, protocol, fit_on)
    return out


def _against_same_information(run, protocol, fit_on, causal, scorers, correction):
    if not causal or not scorers:
        return []
    strongest = {}
    for config in causal:
        for split in run.splits:
            allowed = same_information(config, scorers)
            means = {s: _mean(group_for(run, split, s, fit_on, protocol)) for s in allowed}
            means = {s: m for s, m in means.items() if not np.isnan(m)}
            if means:  # a tie goes to the scorer listed first
                strongest[(config, split)] = max(means, key=means.__getitem__)
    best = _family(strongest, run, protocol, fit_on, "strongest")
    popular = _family({key: POPULARITY for key in strongest}, run, protocol, fit_on,
                      POPULARITY)
    rows = []
    for (config, split), scorer in strongest.items():
        rows.append([config, SHOWN[history_of(config)], split,
                     fmt_float(_mean(group_for(run, split, config, fit_on, protocol))),
                     scorer, fmt_float(_mean(group_for(run, split, scorer, fit_on, protocol))),
                     _cell(best.get((config, split))), _cell(popular.get((config, split)))])
    if not rows:
        return []
    title = (f"Causal configurations against the strongest scorer with the same history "
             f"and against popularity, Δ top-{HEADLINE_K} test accuracy; the strongest "
             f"scorer is chosen by its mean test accuracy on the split; each Δ column is a "
             f"family of its own ({len(best)} and {len(popular)} cells), correction: "
             f"{correction}; ▲/▼ by adjusted p < 0.05; {USER_LEVEL_METHOD}")
    return [Table("history_same_information", title,
                  ["configuration", "history", "split", "top-100", "strongest same-history "
                   "scorer", "its top-100", "Δ vs that scorer", "Δ vs popularity"],
                  rows, fit_on=fit_on, protocol=protocol), "",
            f"- Against the strongest same-history scorer, after correction: {_marks(best)}; "
            f"against popularity: {_marks(popular)}.", ""]


def _marks(verdicts: dict[tuple[str, str], Verdict]) -> str:
    """"2 ▲, 1 ▼, 7 · of 10 cells": a family's marks (by adjusted p), counted."""
    marks = [v.mark() for v in verdicts.values()]
    return (f"{marks.count('▲')} ▲, {marks.count('▼')} ▼, {marks.count('·')} · of "
            f"{len(marks)} cells")


def _order_control(run, protocol, fit_on, correction):
    pairs = {(first, split): second for first, second in ORDER_PAIRS for split in run.splits}
    found = _family(pairs, run, protocol, fit_on, "order")
    if not found:
        return []
    rows = [[f"{first} − {second}", *(_cell(found.get((first, split)))
                                       for split in run.splits)]
            for first, second in ORDER_PAIRS if any(k[0] == first for k in found)]
    title = (f"Order control: the last N titles minus N drawn at random from the same past, "
             f"Δ top-{HEADLINE_K} test accuracy; family: these {len(found)} cells, "
             f"correction: {correction}; ▲/▼ by adjusted p < 0.05; {USER_LEVEL_METHOD}")
    return [Table("history_order_control", title, ["difference", *run.splits], rows,
                  fit_on=fit_on, protocol=protocol), "",
            f"- The last N against N drawn at random, after correction: {_marks(found)}.", ""]


def _cold_users(run, protocol, fit_on):
    key = segment_accuracy_key(HEADLINE_K, run.rankings[0], "user_cold")

    def cold(split: str, config: str) -> float:
        group = group_for(run, split, config, fit_on, protocol)
        values = [] if group is None else group.metric(key)
        values = [v for v in values if not np.isnan(v)]
        return float(np.mean(values)) if values else float("nan")

    columns = [c for c in COLD_COLUMNS if any(
        group_for(run, split, c, fit_on, protocol) is not None for split in run.splits)]
    rows = [[split, *(fmt_float(cold(split, c)) for c in columns)] for split in run.splits]
    rows = [row for row in rows if any(cell != MISSING for cell in row[1:])]
    if len(columns) < 2 or not rows:
        return []
    labels = [f"{c} ({SHOWN[history_of(c)]})" for c in columns]
    title = (f"Cold users (no training row): top-{HEADLINE_K} test accuracy under online "
             f"and training-side history, mean over seeds")
    return [Table("history_cold_users", title, ["split", *labels], rows, fit_on=fit_on,
                  protocol=protocol), ""]


__all__ = ["COLD_COLUMNS", "ORDER_PAIRS", "SHOWN", "history_of", "history_section",
           "same_information"]
