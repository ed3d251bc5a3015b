"""A cell's evaluation, the same for every retriever: exact ranks of each side's true
items (:meth:`harness.model.retriever.Retriever.ranker`), under the headline ranking and
per segment under every ranking, into flat metrics and their timings, and the test
users' hits under the headline ranking (:class:`harness.record.peruser.PerUser`)."""

from __future__ import annotations

import time

import numpy as np

from harness.evaluation.keys import DEFAULT_KS
from harness.evaluation.metrics import metrics_from_ranks
from harness.evaluation.segments import (
    ALL,
    EXCLUDE_SEEN,
    RANKINGS,
    Evaluation,
    History,
    segment_masks,
    segment_metrics,
)
from harness.model.retriever import LeftOut
from harness.record.peruser import PER_USER_KS, PerUser
from harness.run.prepare import PreparedCell


def left_out(cell: PreparedCell, side: str, ranking: str) -> LeftOut | None:
    """What ``ranking`` leaves out of the rankings of a side's queries: their users'
    training titles under ``exclude_seen``, None under ``all``."""
    if ranking != EXCLUDE_SEEN:
        return None
    rows = cell.rows(side)
    return LeftOut(cell.history, cell.data.user_codes[rows], cell.data.title_codes[rows])


def score_segments(evaluation: Evaluation, history: History, users: np.ndarray,
                   true_rows: np.ndarray, rank, headline: np.ndarray, headline_seconds: float,
                   ks=DEFAULT_KS) -> tuple[dict[str, float], dict[str, float]]:
    """Every ranking's test metrics per segment, from the headline ranking's ranks and
    the other ranking's, computed here.

    Args:
        evaluation: the headline ranking and the bands.
        history: the split's training side.
        users, true_rows: [n] each test interaction's user and true candidate.
        rank: ranking name -> [n] ranks under that ranking.
        headline, headline_seconds: the headline ranking's ranks and what they took.

    Returns:
        (metrics, timings): :func:`segment_metrics`, and ``rank_seconds_<ranking>`` of
        each ranking (measured side by side: the cost of leaving the seen titles out).
    """
    ranks = {evaluation.ranking: headline}
    timings = {f"rank_seconds_{evaluation.ranking}": headline_seconds}
    for ranking in RANKINGS:
        if ranking not in ranks:
            start = time.perf_counter()
            ranks[ranking] = rank(ranking)
            timings[f"rank_seconds_{ranking}"] = time.perf_counter() - start
    masks = segment_masks(history, users, true_rows, evaluation.bands)
    return segment_metrics(ranks, masks, ks), timings


def evaluate_cell(cell: PreparedCell, fitted, ks=DEFAULT_KS,
                  prefixes: tuple[str, ...] = ("test", "train")
                  ) -> tuple[dict[str, float], dict[str, float]]:
    """Exact metrics on the test and (unless ``prefixes`` leaves it out) training side:
    :func:`evaluate_cell_per_user` without the per-user hits."""
    metrics, timings, _ = evaluate_cell_per_user(cell, fitted, ks, prefixes)
    return metrics, timings


def evaluate_cell_per_user(cell: PreparedCell, fitted, ks=DEFAULT_KS,
                           prefixes: tuple[str, ...] = ("test", "train")
                           ) -> tuple[dict[str, float], dict[str, float], PerUser | None]:
    """Exact metrics on the test and (unless ``prefixes`` leaves it out) training side,
    and the test users' hits.

    The test side is ranked by the cell's headline ranking (``test/*``) and, per
    segment, by every ranking (:func:`score_segments`); the training side by ``all``.

    Args:
        fitted: what the cell's retriever's ``fit`` returned.

    Returns:
        (metrics, timings, per_user): timings hold ``eval_seconds`` and
        ``queries_per_second`` of the test evaluation: what the retriever computes once
        for the side (for the two towers, embedding the catalogue and the test queries),
        ranking by the headline ranking and every headline metric; and each ranking's
        ``rank_seconds_<ranking>``. per_user: each test user's interactions and hits at
        :data:`~harness.record.peruser.PER_USER_KS` under the headline ranking, from
        the same ranks as the headline metrics (None without the test side).
    """
    users, titles = cell.data.user_codes, cell.data.title_codes
    metrics: dict[str, float] = {}
    timings: dict[str, float] = {}
    per_user = None
    for prefix in prefixes:
        rows = cell.rows(prefix)
        start = time.perf_counter()
        ranker = cell.retriever.ranker(cell, fitted, prefix, max(ks))

        def rank(ranking: str, ranker=ranker, prefix=prefix) -> np.ndarray:
            return ranker(left_out(cell, prefix, ranking))

        if prefix != "test":
            metrics.update(metrics_from_ranks(rank(ALL), users[rows], prefix, ks))
            continue
        rank_start = time.perf_counter()
        ranks = rank(cell.evaluation.ranking)
        rank_seconds = time.perf_counter() - rank_start
        metrics.update(metrics_from_ranks(ranks, users[rows], prefix, ks))
        timings["eval_seconds"] = time.perf_counter() - start
        timings["queries_per_second"] = len(rows) / timings["eval_seconds"]
        by_segment, rank_timings = score_segments(cell.evaluation, cell.history, users[rows],
                                                  titles[rows], rank, ranks, rank_seconds, ks)
        metrics.update(by_segment)
        timings.update(rank_timings)
        test_users = users[rows]
        per_user = PerUser.of(test_users, ranks, cell.history.user_counts[test_users] > 0,
                              [k for k in PER_USER_KS if k <= max(ks)])
    return metrics, timings, per_user


__all__ = ["evaluate_cell", "evaluate_cell_per_user", "left_out", "score_segments"]
