"""Non-learned scorers that see the user's history at query time: the baselines a
history-aware model is judged against (numpy and scipy; no TensorFlow).

Each ranks a query (a user at time t, its true item) against the whole catalogue by the
rule for scorers that tie (:func:`harness.evaluation.metrics.ranks_ties_against`: every
other item scoring at least as high outranks the true one, so a constant scorer earns
nothing). History comes from :mod:`harness.data.history`: only rows strictly before t,
from the rows a protocol lets in (``ONLINE``: every row, earlier test rows included, what
a serving system knows; ``TRAIN_SIDE``: the training rows only). Fitted matrices read
the training rows only, whatever the protocol.

- popularity so far: the catalogue's counts of history rows before the query's daily
  refresh (:func:`harness.data.history.daily_counts`);
- item-kNN: the query's history row (binary over its last N items) times the cosine
  similarity of items' training co-occurrence (users as the unit; the diagonal zeroed, no
  neighbourhood cut: every co-occurring item counts), i.e. the similarities summed over
  the N items (:func:`item_cosine`);
- EASE^R with the history as the user's row: binary over **every** earlier item the
  protocol lets in (the row EASE^R is fitted on), times B fitted on the training side
  (:func:`harness.model.ease.fit_ease`). Under ``TRAIN_SIDE`` on a global time cut
  every training row is before every test row, so this is the suite's EASE^R.

A query with no history (an empty row) is scored by popularity so far instead, and
:class:`HistoryRanks` counts those queries. The ``exclude_seen`` ranking leaves out
everything in the user's history at that moment (every earlier item the protocol lets
in, not only the last N), never the true item.

Scoring is batched: queries are taken in blocks in refresh-day order, a sparse history
block times the item-item matrix, one count vector per refresh day (advanced day by day);
loops run over blocks and days, never over rows.
These are plain functions, not registered retrievers: a later step wraps them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from harness.data.history import (
    HISTORY_PROTOCOLS,
    NONE,
    ONLINE,
    SECONDS_PER_DAY,
    TRAIN_SIDE,
    PastIndex,
    daily_counts,
    distinct_before,
    refresh_time,
)
from harness.evaluation.metrics import popularity_ranks, ranks_ties_against, taken_back
from harness.evaluation.segments import ALL, EXCLUDE_SEEN
from harness.model.ease import MAX_SCORES_PER_BLOCK, training_matrix


def history_pool(protocol: str, num_rows: int, train_rows: np.ndarray) -> np.ndarray:
    """[m] the table rows that count as history under ``protocol``
    (``harness.data.history.HISTORY_PROTOCOLS``).

    Raises:
        ValueError: an unknown protocol.
    """
    if protocol == ONLINE:
        return np.arange(num_rows, dtype=np.int64)
    if protocol == TRAIN_SIDE:
        return np.asarray(train_rows, np.int64)
    raise ValueError(f"history protocol must be one of {', '.join(HISTORY_PROTOCOLS)}, got "
                     f"{protocol!r}")


def padded_matrix(padded: np.ndarray, num_items: int) -> scipy.sparse.csr_array:
    """[n, num_items] float64 binary CSR of padded item lists ([n, N], ``NONE`` padding);
    an item listed twice counts once."""
    padded = np.asarray(padded)
    query, slot = np.nonzero(padded != NONE)
    return _binary(query, padded[query, slot].astype(np.int64), padded.shape[0], num_items)


def past_matrix(index: PastIndex, users, timestamps, num_items: int
                ) -> scipy.sparse.csr_array:
    """[n, num_items] float64 binary CSR: every item of each query's user's rows strictly
    before its time, over the rows ``index`` holds (grouped by user)
    (:func:`harness.data.history.distinct_before`)."""
    starts, stops, items = distinct_before(index, users, timestamps, num_items)
    indptr = np.append(starts, stops[-1] if stops.size else 0)
    return scipy.sparse.csr_array((np.ones(items.size), items, indptr),
                                  shape=(starts.size, num_items))


def _binary(query: np.ndarray, items: np.ndarray, n: int, num_items: int
            ) -> scipy.sparse.csr_array:
    matrix = scipy.sparse.csr_array((np.ones(query.size), (query, items)),
                                    shape=(n, num_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def item_cosine(train_users, train_items, *, num_users: int, num_items: int) -> np.ndarray:
    """[num_items, num_items] float64 (C order) cosine similarity of items' training co-occurrence:
    C[i, j] / sqrt(C[i, i] C[j, j]) over the binary user x item training matrix's
    C = XᵀX; 0 for an item with no training row, and on the diagonal."""
    cosine = _Cosine(train_users, train_items, num_users, num_items)
    return np.ascontiguousarray(cosine.rows(0, num_items))


def item_cosine_neighbours(train_users, train_items, *, num_users: int, num_items: int,
                           neighbours: int, block_size: int = 1024
                           ) -> scipy.sparse.csr_array:
    """[num_items, num_items] float64 CSR: :func:`item_cosine` with each item's row cut to
    its ``neighbours`` largest similarities (zeros dropped; a tie at the cut is broken by
    ``numpy.argpartition``), computed ``block_size`` items at a time so that memory grows
    with the catalogue times the block, not the catalogue's square (the MovieLens-25M
    shape's 62,423 titles: a dense similarity is 29 GiB)."""
    cosine = _Cosine(train_users, train_items, num_users, num_items)
    keep = min(neighbours, num_items)
    rows, columns, values = [], [], []
    for start in range(0, num_items, block_size):
        similarity = cosine.rows(start, min(start + block_size, num_items))
        top = np.argpartition(-similarity, keep - 1, axis=1)[:, :keep]
        top_values = np.take_along_axis(similarity, top, axis=1)
        local, slot = np.nonzero(top_values > 0)
        rows.append(start + local)
        columns.append(top[local, slot])
        values.append(top_values[local, slot])
    weights = scipy.sparse.csr_array(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(num_items, num_items))
    weights.sort_indices()
    return weights


class _Cosine:
    """The cosine of items' training co-occurrence, a block of rows at a time (the one
    computation both the dense matrix and its neighbour cut read)."""

    def __init__(self, train_users, train_items, num_users: int, num_items: int):
        self.history = training_matrix(train_users, train_items, num_users=num_users,
                                       num_items=num_items)
        self.by_item = self.history.T.tocsr()
        counts = np.diff(self.by_item.indptr).astype(np.float64)  # binary X: C[i, i]
        norms = np.sqrt(counts)
        self.scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """[stop - start, num_items] float64 rows of the cosine, the diagonal zeroed."""
        cooccurrence = (self.by_item[start:stop] @ self.history).toarray()
        similarity = cooccurrence * self.scale[start:stop, None] * self.scale[None, :]
        similarity[np.arange(stop - start), np.arange(start, stop)] = 0.0
        return similarity


@dataclass(frozen=True)
class HistoryRanks:
    """What a history-aware scorer gives a batch of queries.

    Attributes:
        ranks: ranking (``ALL``, and ``EXCLUDE_SEEN`` when asked) -> [n] int64 0-based
            rank of each query's true item.
        fallback: [n] bool, the queries with no history, scored by popularity so far
            (all False for popularity so far itself, which has no other score).
    """

    ranks: dict[str, np.ndarray]
    fallback: np.ndarray

    @property
    def fallback_queries(self) -> int:
        return int(np.count_nonzero(self.fallback))


def history_ranks(weights: np.ndarray | None, history: scipy.sparse.csr_array | None,
                  true_items, timestamps, pool_items, pool_timestamps, num_items: int,
                  seen: scipy.sparse.csr_array | None = None,
                  block_size: int | None = None) -> HistoryRanks:
    """Ranks of each query's true item under ``history @ weights``, popularity so far
    where a query's history is empty (or everywhere when ``weights`` is None).

    Args:
        weights: [num_items, num_items] item-item matrix (:func:`item_cosine`, EASE^R's
            B, dense; :func:`item_cosine_neighbours`, sparse), or None for popularity so
            far.
        history: [n, num_items] each query's history row (:func:`padded_matrix`,
            :func:`past_matrix`); unused when ``weights`` is None.
        true_items, timestamps: [n] each query's true item and time.
        pool_items, pool_timestamps: [m] the history rows popularity so far counts.
        seen: None, or [n, num_items] what ``exclude_seen`` leaves out of each query's
            ranking (its true item is never left out).
        block_size: queries scored at a time; default MAX_SCORES_PER_BLOCK // num_items.

    Returns:
        :class:`HistoryRanks`.
    """
    true_items = np.asarray(true_items, np.int64)
    n = true_items.size
    if block_size is None:
        block_size = max(1, MAX_SCORES_PER_BLOCK // num_items)
    if weights is not None and not scipy.sparse.issparse(weights):
        # C order: scipy's sparse @ dense copies any other layout
        weights = np.ascontiguousarray(weights, dtype=np.float64)
    days = refresh_time(timestamps) // SECONDS_PER_DAY
    order = np.argsort(days, kind="stable")  # blocks in day order: counts move forward
    ranks = {ALL: np.empty(n, np.int64)}
    if seen is not None:
        ranks[EXCLUDE_SEEN] = np.empty(n, np.int64)
    fallback = np.zeros(n, bool) if weights is None else np.diff(history.indptr) == 0
    counts = _Counts(daily_counts(pool_items, pool_timestamps, num_items, np.unique(days)))
    for block_start in range(0, n, block_size):
        queries = order[block_start:block_start + block_size]
        _rank_block(ranks, queries, days[queries], weights, history, counts, true_items,
                    fallback, seen)
    return HistoryRanks(ranks=ranks, fallback=fallback)


class _Counts:
    """:func:`harness.data.history.daily_counts` read by day, days asked in order."""

    def __init__(self, days_counted):
        self._days = days_counted
        self._day, self._counts = None, None

    def at(self, day: int) -> np.ndarray:
        while self._day != day:
            self._day, self._counts = next(self._days)
        return self._counts


def _rank_block(ranks, queries, days, weights, history, counts, true_items, fallback, seen):
    """Fills ``ranks[...][queries]`` for one block of queries (``days`` ascending); each
    of its refresh days is a run of the block, [start, stop)."""
    truth = true_items[queries]
    left_out = None if seen is None else _seen_pairs(seen, queries, truth)
    block_days, starts = np.unique(days, return_index=True)
    runs = zip(block_days.tolist(), starts.tolist(), [*starts[1:].tolist(), queries.size],
               strict=True)
    if weights is None:  # one global order per day: no score matrix needed
        for day, start, stop in runs:
            ranks[ALL][queries[start:stop]] = popularity_ranks(counts.at(day),
                                                               truth[start:stop])
            if left_out is not None:
                first, last = np.searchsorted(left_out[0], [start, stop])
                pairs = (left_out[0][first:last] - start, left_out[1][first:last])
                ranks[EXCLUDE_SEEN][queries[start:stop]] = popularity_ranks(
                    counts.at(day), truth[start:stop], pairs)
        return
    scores = history[queries] @ weights
    scores = (scores.toarray() if scipy.sparse.issparse(scores)
              else np.asarray(scores, dtype=np.float64))
    empty = fallback[queries]
    for day, start, stop in runs:
        rows = start + np.flatnonzero(empty[start:stop])
        scores[rows] = counts.at(day)
    ranks[ALL][queries] = ranks_ties_against(scores, truth)
    if left_out is not None:
        local, items = left_out
        outranks = scores[local, items] >= scores[local, truth[local]]
        ranks[EXCLUDE_SEEN][queries] = (ranks[ALL][queries]
                                        - taken_back(outranks, local, queries.size))


def _seen_pairs(seen: scipy.sparse.csr_array, queries: np.ndarray, truth: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(local query, item) of each left-out item of the block, its true item kept."""
    block = seen[queries]
    local = np.repeat(np.arange(queries.size), np.diff(block.indptr))
    items = block.indices.astype(np.int64)
    keep = items != truth[local]
    return local[keep], items[keep]


__all__ = ["HistoryRanks", "history_pool", "history_ranks", "item_cosine",
           "item_cosine_neighbours", "padded_matrix", "past_matrix"]
