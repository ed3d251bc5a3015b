"""The history-aware scorers by name: what each sees and how it scores (no scipy:
the registry imports this module; :mod:`harness.model.history_baselines` runs them)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.data.history import DEFAULT_HISTORY_LENGTH, ONLINE, TRAIN_SIDE
from harness.model.causal import HISTORY_ORDERS, LAST, SAMPLED

POPULARITY_SO_FAR, ITEM_KNN, EASE_HISTORY = "popularity_so_far", "item_knn", "ease"
KINDS = (POPULARITY_SO_FAR, ITEM_KNN, EASE_HISTORY)
FALLBACK = "popularity so far"  # what a query with no history is ranked by


@dataclass(frozen=True)
class HistorySpec:
    """One history-aware scorer.

    Attributes:
        kind: popularity so far, item-kNN on the last items (the cosine of training
            co-occurrence summed over them), or EASE^R with the history as the user's
            row (``KINDS``).
        protocol: ``"online"`` or ``"train"``: which rows are a test query's history.
        length: item-kNN's N, the items its query row holds; None: every earlier item
            (EASE^R's row, the row it is fitted on). Unused by popularity so far.
        order: ``"last"``, the latest N, or ``"sampled"``, N drawn at random from the
            whole past (the order control, :func:`harness.data.history.sampled_items`).
    """

    kind: str
    protocol: str = ONLINE
    length: int | None = DEFAULT_HISTORY_LENGTH
    order: str = LAST

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.order not in HISTORY_ORDERS:
            raise ValueError(f"order must be one of {', '.join(HISTORY_ORDERS)}, got "
                             f"{self.order!r}")
        if self.kind == ITEM_KNN and not self.length:
            raise ValueError("item-kNN needs a history length")

    def to_dict(self) -> dict:
        values = {"kind": self.kind, "history_protocol": self.protocol}
        if self.kind == ITEM_KNN:
            values |= {"history_length": self.length, "history_order": self.order}
        elif self.kind == EASE_HISTORY:
            values["history_length"] = "all"
        return values


# (name, spec, description): registered by harness.model.registry, run when named.
HISTORY_BASELINES = (
    ("popularity_so_far", HistorySpec(POPULARITY_SO_FAR),
     "popularity so far: counts of every earlier row as of the daily refresh (history: "
     "online)"),
    ("item_knn", HistorySpec(ITEM_KNN),
     f"item-kNN on the user's last {DEFAULT_HISTORY_LENGTH} titles (history: online)"),
    ("item_knn_shuffled", HistorySpec(ITEM_KNN, order=SAMPLED),
     f"item_knn's order control: {DEFAULT_HISTORY_LENGTH} titles drawn at random from the "
     "user's whole past (history: online, order shuffled)"),
    ("ease_history", HistorySpec(EASE_HISTORY, length=None),
     "EASE^R with every earlier title as the user's row (history: online)"),
    ("item_knn_trainside", HistorySpec(ITEM_KNN, protocol=TRAIN_SIDE),
     f"item-kNN on the user's last {DEFAULT_HISTORY_LENGTH} training-side titles (history:"
     " training side only)"),
    ("ease_history_trainside", HistorySpec(EASE_HISTORY, protocol=TRAIN_SIDE, length=None),
     "EASE^R with every earlier training-side title as the user's row (history: training "
     "side only)"),
)
SPECS = {name: spec for name, spec, _ in HISTORY_BASELINES}


__all__ = ["EASE_HISTORY", "FALLBACK", "HISTORY_BASELINES", "ITEM_KNN", "KINDS",
           "POPULARITY_SO_FAR", "SPECS", "HistorySpec"]
