"""The non-learned retrievers (:class:`harness.model.retriever.Retriever`): popularity and
EASE^R, fitted on a split's training side and ranked by the rule for scorers that tie
(:func:`harness.evaluation.metrics.ranks_ties_against`). No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.splitdata import validation_split
from harness.evaluation.keys import accuracy_key
from harness.evaluation.metrics import popularity_ranks, popularity_scores
from harness.model.ease import Ease, ease_ranks, fit_ease, select_l2
from harness.model.retriever import Ranker, Retriever

_VALIDATION_KEY = accuracy_key(100, "validation")  # what EASE's L2 weight is chosen by


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
    """

    model: Ease
    validation: float


class EaseRetriever(Retriever):
    """EASE^R (:mod:`harness.model.ease`): λ chosen on the split's own validation slice,
    fitted on the whole training side (test rows choose nothing)."""

    def fit(self, cell, strategy=None, validate=None) -> FittedEase:
        data, split = cell.data, cell.split
        users, items = data.user_codes, data.title_codes
        num_users, num_items = int(users.max()) + 1, data.candidate_titles.size
        validation = validation_split(data, cell.split_name, split, cell.seed)
        l2, by_l2 = select_l2(users[validation.train], items[validation.train],
                              users[validation.test], items[validation.test],
                              num_users=num_users, num_items=num_items)
        rows = cell.train_rows
        model = fit_ease(users[rows], items[rows], num_users=num_users, num_items=num_items,
                         l2=l2)
        return FittedEase(model, by_l2[l2][_VALIDATION_KEY])

    def ranker(self, cell, fitted: FittedEase, side: str, cap: int | None = None) -> Ranker:
        rows = cell.rows(side)
        users, true_items = cell.data.user_codes[rows], cell.data.title_codes[rows]

        def rank(left_out) -> np.ndarray:
            return ease_ranks(fitted.model, users, true_items,
                              seen=None if left_out is None else left_out.pairs)

        return rank

    def describe(self, cell, fitted: FittedEase | None = None) -> dict:
        if fitted is None:
            return {"name": self.name}
        return {"name": self.name, "l2": fitted.model.l2, _VALIDATION_KEY: fitted.validation}


__all__ = ["EaseRetriever", "FittedEase", "Popularity"]
