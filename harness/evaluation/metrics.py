"""Exact retrieval evaluation over the whole catalogue (numpy and the numba kernel; the
TensorFlow side, towers and top-k retrieval, is :mod:`harness.evaluation.retrieval`).

The rank of a query's true candidate is the number of candidates scoring strictly
higher: the rule of ``tfrs.metrics.FactorizedTopK`` (``tf.math.in_top_k`` on the true
score against the top scores: ties count in the true candidate's favour). Every k
comes from one rank per query, computed in one pass by :mod:`harness.evaluation.ranking`.
"""

from __future__ import annotations

import numpy as np

from harness.evaluation.keys import DEFAULT_KS, accuracy_key, mrr_key, ndcg_key, recall_key
from harness.evaluation.ranking import count_higher


def true_candidate_ranks(queries, candidates, true_candidates, cap: int | None = None,
                         seen=None) -> np.ndarray:
    """0-based rank of each query's true candidate among all candidates, up to ``cap``.

    Args:
        queries: [num_queries, dim] float32 query embeddings (array or tensor).
        candidates: [num_candidates, dim] float32 candidate embeddings.
        true_candidates: [num_queries] int, row of each query's true candidate.
        cap: ranks stop here (metrics up to cut-off k need ranks only below k);
            None for exact ranks however large.
        seen: None, or each query's candidates left out of its ranking
            (:func:`harness.evaluation.ranking.count_higher`'s ``seen``).

    Returns:
        [num_queries] int64 ranks; rank r < cap means r candidates scored strictly
        higher, rank == cap at least cap.

    Ties count in the true candidate's favour (FactorizedTopK's rule), so a query that
    scores every candidate alike would rank first: a zero query embedding, or a
    catalogue whose embeddings are all the same (a collapsed model). Such a query
    earns nothing instead: its rank is the last one (``cap``, or the catalogue size).
    """
    queries, candidates = np.asarray(queries), np.asarray(candidates)
    ranks = count_higher(queries, candidates, np.asarray(true_candidates), cap, seen)
    constant = ~queries.any(axis=1)
    if len(candidates) > 1 and (candidates == candidates[0]).all():
        constant[:] = True
    ranks[constant] = len(candidates) - 1 if cap is None else min(cap, len(candidates) - 1)
    return ranks


def metrics_from_ranks(ranks: np.ndarray, users: np.ndarray, prefix: str,
                       ks=DEFAULT_KS) -> dict[str, float]:
    """Retrieval metrics from true-candidate ranks.

    Args:
        ranks: [n] 0-based rank of each interaction's true candidate; ranks of
            ``max(ks)`` or more may be capped there (they count as misses everywhere).
        users: [n] user of each interaction (for user-averaged recall).
        prefix: key prefix, e.g. "test" or "train".
        ks: cut-offs.

    Returns:
        Flat dict, for each k: ``{prefix}/top_{k}_categorical_accuracy`` (fraction of
        interactions whose candidate ranks in the top k: FactorizedTopK's metric),
        ``{prefix}/recall_at_{k}`` (the same hit rate averaged per user first, then over
        users: for a context-free query it is the set-based Recall@k),
        ``{prefix}/ndcg_at_{k}`` (1 / log2(rank + 2) inside the top k, one relevant
        item per interaction); and ``{prefix}/mrr_at_{max(ks)}`` (mean reciprocal rank,
        1 / (rank + 1) inside the top max(ks), 0 beyond).
    """
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        raise ValueError(f"cannot compute {prefix} metrics of zero interactions")
    users = np.asarray(users)
    if users.dtype.kind in "iu" and users.min() >= 0:
        user_index = users  # already codes (the harness's users): no sort needed
    else:
        _, user_index = np.unique(users, return_inverse=True)
    per_user_count = np.bincount(user_index)
    present = per_user_count > 0
    gain = 1.0 / np.log2(ranks + 2.0)
    metrics = {}
    for k in ks:
        hit = ranks < k
        hits = np.count_nonzero(hit)
        metrics[accuracy_key(k, prefix)] = float(hits / ranks.size)
        per_user_hits = np.bincount(user_index, weights=hit, minlength=per_user_count.size)
        metrics[recall_key(k, prefix)] = float(np.mean(
            per_user_hits[present] / per_user_count[present]))
        # gain[hit].sum(), not np.dot: a BLAS call wakes OpenBLAS threads that go on
        # spinning after it and slow whatever runs next on a machine of few cores.
        metrics[ndcg_key(k, prefix)] = float(gain[hit].sum()) / ranks.size
    cutoff = max(ks)
    reciprocal = 1.0 / (ranks + 1.0)
    metrics[mrr_key(cutoff, prefix)] = float(reciprocal[ranks < cutoff].sum()) / ranks.size
    return metrics


def popularity_scores(train_candidates: np.ndarray, num_candidates: int) -> np.ndarray:
    """The non-learned reference: candidates scored by training interaction count.

    Returns:
        [num_candidates] float64 counts (equal counts tie: see :func:`popularity_ranks`).
    """
    return np.bincount(train_candidates, minlength=num_candidates).astype(np.float64)


def popularity_ranks(scores: np.ndarray, true_candidates: np.ndarray, seen=None
                     ) -> np.ndarray:
    """[n] rank of each true candidate under one global ordering ``scores``, ties against it.

    Every other candidate scoring at least as high outranks it (the rule of
    :func:`ranks_ties_against`, computed once over the sorted scores): a scorer that
    ties cannot earn a hit from the tie, and an all-equal one earns nothing.

    Args:
        seen: None, or (query, candidate) pairs each query leaves out of its ranking
            (:meth:`harness.evaluation.segments.History.seen_pairs`).
    """
    true_candidates = np.asarray(true_candidates)
    ordered = np.sort(scores)
    at_least = scores.size - np.searchsorted(ordered, scores[true_candidates], side="left")
    ranks = (at_least - 1).astype(np.int64)
    if seen is not None:
        query, items = seen
        ranks -= taken_back(scores[items] >= scores[true_candidates[query]], query, ranks.size)
    return ranks


def taken_back(outranks: np.ndarray, query: np.ndarray, num_queries: int) -> np.ndarray:
    """[num_queries] how many left-out (query, candidate) pairs ``outranks`` marks as
    outranking their query's true candidate: what leaving them out takes off its rank."""
    return np.bincount(query[outranks], minlength=num_queries).astype(np.int64)


def ranks_ties_against(scores: np.ndarray, true_items: np.ndarray) -> np.ndarray:
    """0-based rank of each row's true item: every other item scoring at least as high.

    The rule for scorers that tie (popularity counts, EASE for a user with no training
    history, whose scores are all 0): a row of equal scores ranks its true item last,
    so a constant scorer earns nothing. Where scores differ it is the usual count of
    candidates scoring strictly higher.

    Args:
        scores: [n, num_items] finite scores.
        true_items: [n] int item of each row, in [0, num_items).

    Returns:
        [n] int64 ranks.

    Raises:
        ValueError: a score that is not finite (NaN compares false with everything and
            would rank first), or mismatched shapes.
    """
    scores, true_items = np.asarray(scores), np.asarray(true_items)
    if scores.ndim != 2 or true_items.shape != (scores.shape[0],):
        raise ValueError(f"scores {scores.shape} must be [n, num_items] for "
                         f"{true_items.shape} true items")
    if true_items.size and not 0 <= true_items.min() <= true_items.max() < scores.shape[1]:
        raise ValueError(f"true items must lie in [0, {scores.shape[1]})")
    if not np.isfinite(scores).all():
        raise ValueError("scores are not all finite")
    true_scores = scores[np.arange(scores.shape[0]), true_items]
    # >= counts the true item itself once.
    return np.count_nonzero(scores >= true_scores[:, None], axis=1).astype(np.int64) - 1


__all__ = ["metrics_from_ranks", "popularity_ranks", "popularity_scores",
           "ranks_ties_against", "taken_back", "true_candidate_ranks"]
