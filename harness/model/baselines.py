"""The non-learned retrievers (:class:`harness.model.retriever.Retriever`): popularity and
EASE^R, fitted on a split's training side and ranked by the rule for scorers that tie
(:func:`harness.evaluation.metrics.ranks_ties_against`). No TensorFlow.

EASE^R runs as it would be deployed: a user with no training history, for whom it has
nothing to go on, gets popularity's order (:mod:`harness.model.ease`); its description in
the record says so and counts the test queries and users that got it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.splitdata import validation_split
from harness.evaluation.keys import accuracy_key
from harness.evaluation.metrics import popularity_ranks, popularity_scores
from harness.model.ease import Ease, cold_users, ease_ranks, fit_ease
from harness.model.easegrid import DEFAULT_L2_GRID, grid_edge, select_l2
from harness.model.retriever import Ranker, Retriever

_VALIDATION_KEY = accuracy_key(100, "validation")  # what EASE's L2 weight is chosen by
COLD_FALLBACK = "popularity"  # what EASE ranks a user with no training history by


class Popularity(Retriever):
    """Every query gets one global order: candidates by training interaction count."""

    def fit(self, cell, strategy=None, validate=None) -> np.ndarray:
        """[num_candidates] float64 training counts."""
        data = cell.data
        return popularity_scores(data.title_codes[cell.train_rows], data.candidate_titles.size)

    def ranker(self, cell, fitted: np.ndarray, side: str, cap: int | None = None) -> Ranker:
        true_items = cell.data.title_codes[cell.rows(side)]

        def rank(left_out) -> np.ndarray:
            return popularity_ranks(fitted, true_items,
                                    None if left_out is None else left_out.pairs)

        return rank

    def describe(self, cell, fitted=None) -> dict:
        return {"name": self.name}


@dataclass(frozen=True)
class FittedEase:
    """EASE^R fitted on the training side with the L2 weight chosen on its validation
    slice.

    Attributes:
        model: the fitted model (``model.l2`` the chosen weight).
        validation: the chosen weight's validation top-100 accuracy.
        l2_grid: the weights it was chosen from.
    """

    model: Ease
    validation: float
    l2_grid: tuple[float, ...]


class EaseRetriever(Retriever):
    """EASE^R (:mod:`harness.model.ease`): λ chosen from ``l2_grid`` on the split's own
    validation slice, fitted on the whole training side (test rows choose nothing); a user
    with no training history is ranked by popularity.

    Attributes:
        l2_grid: the λ values tried.
    """

    l2_grid: tuple[float, ...] = DEFAULT_L2_GRID

    def fit(self, cell, strategy=None, validate=None) -> FittedEase:
        data, split = cell.data, cell.split
        users, items = data.user_codes, data.title_codes
        num_users, num_items = int(users.max()) + 1, data.candidate_titles.size
        validation = validation_split(data, cell.split_name, split, cell.seed)
        l2, by_l2 = select_l2(users[validation.train], items[validation.train],
                              users[validation.test], items[validation.test],
                              num_users=num_users, num_items=num_items,
                              l2_grid=self.l2_grid)
        rows = cell.train_rows
        model = fit_ease(users[rows], items[rows], num_users=num_users, num_items=num_items,
                         l2=l2)
        return FittedEase(model, by_l2[l2][_VALIDATION_KEY], tuple(self.l2_grid))

    def ranker(self, cell, fitted: FittedEase, side: str, cap: int | None = None) -> Ranker:
        rows = cell.rows(side)
        users, true_items = cell.data.user_codes[rows], cell.data.title_codes[rows]

        def rank(left_out) -> np.ndarray:
            return ease_ranks(fitted.model, users, true_items,
                              seen=None if left_out is None else left_out.pairs)

        return rank

    def describe(self, cell, fitted: FittedEase | None = None) -> dict:
        """The name; once fitted, λ, its validation score, where it sits if at an edge of
        its grid (``l2_at_edge``), the cold-user fallback and the test queries
        (``cold_queries``) and users (``cold_users``) ranked by it."""
        if fitted is None:
            return {"name": self.name, "cold_fallback": COLD_FALLBACK}
        model = fitted.model
        users = cell.data.user_codes[cell.rows("test")]
        cold = cold_users(model, users)
        edge = grid_edge(model.l2, fitted.l2_grid)
        return {"name": self.name, "l2": model.l2, _VALIDATION_KEY: fitted.validation,
                **({"l2_at_edge": edge} if edge else {}), "cold_fallback": COLD_FALLBACK,
                "cold_queries": int(cold.sum()), "cold_users": int(np.unique(users[cold]).size)}


__all__ = ["COLD_FALLBACK", "EaseRetriever", "FittedEase", "Popularity"]
