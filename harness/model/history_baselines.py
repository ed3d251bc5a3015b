"""The history-aware scorers as retrievers (:class:`harness.model.retriever.Retriever`):
the baselines a causal configuration is judged against, seeing the history it sees
(:mod:`harness.model.history_scorers` computes; this module wires a cell to it). No
TensorFlow.

Each is one :class:`harness.model.history_specs.HistorySpec` (which scorer, which rows
are history, how many of the last items, in which order) registered by name
(:data:`harness.model.history_specs.HISTORY_BASELINES`) and run only when named, as the
causal configurations are. A side's history rows are those
:func:`harness.model.causal.history_rows` gives a configuration with the same protocol,
so a scorer and a model under one protocol read the same past:

- test queries, ``online`` ("history: online"): every row of the split earlier than the
  query, earlier test rows included; ``train`` ("history: training side only"): the
  split's training side;
- training queries: the training rows.

Fitted matrices read the training rows only. A query with no history is ranked by
popularity so far (the counts of its protocol's history rows before the query's daily
refresh); the record says so and counts those queries. Under ``exclude_seen`` a query
leaves out everything in its user's history at that moment (every earlier item its
protocol lets in), never its true item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.history import PastIndex, last_items, sampled_items
from harness.evaluation.segments import ALL, EXCLUDE_SEEN
from harness.model.baselines import EaseRetriever
from harness.model.causal import LAST, history_rows
from harness.model.history_scorers import (
    history_ranks,
    item_cosine,
    padded_matrix,
    past_matrix,
)
from harness.model.history_specs import (
    EASE_HISTORY,
    FALLBACK,
    ITEM_KNN,
    POPULARITY_SO_FAR,
    SPECS,
)
from harness.model.retriever import SIDES, Ranker, Retriever


@dataclass(frozen=True)
class _Side:
    """A side's queries and the history they read."""

    users: np.ndarray
    timestamps: np.ndarray
    true_items: np.ndarray
    index: PastIndex  # the history rows by user
    pool_items: np.ndarray  # the history rows' items and times (popularity so far)
    pool_timestamps: np.ndarray


class HistoryRetriever(Retriever):
    """A history-aware scorer run as a retriever; its spec is
    ``harness.model.history_specs.SPECS[name]``."""

    def __init__(self, entry):
        super().__init__(entry)
        self.spec = SPECS[entry.name]
        self._ease = EaseRetriever(entry) if self.spec.kind == EASE_HISTORY else None

    def fit(self, cell, strategy=None, validate=None):
        """The item-item matrix: item-kNN's cosine, or EASE^R's B (λ chosen on the
        split's validation slice, as the suite's EASE^R chooses it); None for popularity
        so far."""
        if self.spec.kind == POPULARITY_SO_FAR:
            return None
        if self._ease is not None:
            return self._ease.fit(cell)
        data, rows = cell.data, cell.train_rows
        return item_cosine(data.user_codes[rows], data.title_codes[rows],
                           num_users=int(data.user_codes.max()) + 1,
                           num_items=data.candidate_titles.size)

    def _side(self, cell, side: str) -> _Side:
        data = cell.data
        users, times, items = (data.user_codes, data.ratings["timestamp"],
                               data.title_codes)
        rows = cell.rows(side)
        pool = history_rows(self.spec.protocol, side, cell.split, cell.train_rows)
        index = PastIndex.of(users[pool], times[pool], items[pool],
                             num_groups=int(users.max()) + 1)
        return _Side(users[rows], times[rows], items[rows], index, items[pool], times[pool])

    def ranker(self, cell, fitted, side: str, cap: int | None = None) -> Ranker:
        queries = self._side(cell, side)
        num_items = cell.data.candidate_titles.size
        spec = self.spec
        weights = history = None
        if spec.kind != POPULARITY_SO_FAR:
            weights = fitted if spec.kind == ITEM_KNN else fitted.model.weights
            history = self._history(cell, side, queries, num_items)
        done: dict[str, np.ndarray] = {}

        def rank(left_out) -> np.ndarray:
            ranking = ALL if left_out is None else EXCLUDE_SEEN
            if ranking not in done:  # one call ranks both when asked for the second
                seen = None
                if left_out is not None:  # every earlier item: EASE^R's row already
                    seen = history if spec.length is None else past_matrix(
                        queries.index, queries.users, queries.timestamps, num_items)
                done.update(history_ranks(weights, history, queries.true_items,
                                          queries.timestamps, queries.pool_items,
                                          queries.pool_timestamps, num_items, seen).ranks)
            return done[ranking]

        return rank

    def _history(self, cell, side: str, queries: _Side, num_items: int):
        """[n, num_items] binary CSR: each query's history row (every earlier item, or N
        of them: the last, or drawn at random by the order control)."""
        spec, index = self.spec, queries.index
        if spec.length is None:
            return past_matrix(index, queries.users, queries.timestamps, num_items)
        if spec.order == LAST:
            items = last_items(index, queries.users, queries.timestamps, spec.length)
        else:  # the order control's draw: one per (seed, side) of a cell
            rng = np.random.default_rng((cell.seed, SIDES.index(side)))
            items = sampled_items(index, queries.users, queries.timestamps, rng, spec.length)
        return padded_matrix(items, num_items)

    def describe(self, cell, fitted=None) -> dict:
        """The name and the spec; once fitted, EASE^R's λ, and the test queries (and
        users) with no history, ranked by popularity so far."""
        described = {"name": self.name, **self.spec.to_dict()}
        if self.spec.kind != POPULARITY_SO_FAR:
            described["cold_fallback"] = FALLBACK
        if fitted is None:
            return described
        if self._ease is not None:
            described["l2"] = fitted.model.l2
        if self.spec.kind != POPULARITY_SO_FAR:
            queries = self._side(cell, "test")
            starts, stops = queries.index.before(queries.users, queries.timestamps)
            empty = stops == starts
            described |= {"cold_queries": int(empty.sum()),
                          "cold_users": int(np.unique(queries.users[empty]).size)}
        return described


__all__ = ["HistoryRetriever"]
