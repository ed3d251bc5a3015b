"""Test interactions by their user's and item's training history, and the seen-items
ranking protocol.

A split's test interactions mix two different difficulties: a user or item the model
never trained on (cold start) and a period it never saw (drift). Each test interaction
is tagged here by its split's training side:

- its user: ``user_cold`` (no training interaction), else one activity band
  (``user_1_19``, ``user_20_99``, ``user_100_plus`` with the default edges), and
  ``user_warm`` for every user with training interactions;
- its item: ``item_cold`` or ``item_warm``;
- ``all``: every test interaction.

Every metric is then reported per segment, with the segment's share of the test set.

Two rankings (``RANKINGS``) are scored from the same embeddings: ``all``, the
tutorial's (every catalogue title competes), and ``exclude_seen``, the full-ranking
protocol of RecBole, LensKit and RecTools, where a query's ranking leaves out the titles
its user interacted with in training; the true title is never left out. A cold user has
nothing to leave out, so the two agree on ``user_cold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.errors import UserError
from harness.evaluation.keys import DEFAULT_KS, accuracy_key

DEFAULT_BANDS = (20, 100)  # warm users: 1-19, 20-99 and 100+ training interactions
ALL, EXCLUDE_SEEN = "all", "exclude_seen"
RANKINGS = (ALL, EXCLUDE_SEEN)


@dataclass(frozen=True)
class Evaluation:
    """How a run ranks and segments its test interactions.

    Attributes:
        ranking: the ranking of the headline ``test/*`` metrics (``RANKINGS``); every
            cell also scores the other one, per segment.
        bands: the warm users' activity band edges (:func:`check_bands`).
    """

    ranking: str = ALL
    bands: tuple[int, ...] = DEFAULT_BANDS

    def __post_init__(self):
        if self.ranking not in RANKINGS:
            raise UserError(f"ranking must be one of {', '.join(RANKINGS)}, got "
                            f"{self.ranking!r}")
        object.__setattr__(self, "bands", check_bands(self.bands))

    def to_dict(self) -> dict:
        return {"ranking": self.ranking, "segment_bands": list(self.bands)}


def check_bands(bands) -> tuple[int, ...]:
    """The activity bands' edges as a tuple, checked.

    Args:
        bands: lower edges of the warm bands after the first (which starts at 1): e.g.
            (20, 100) makes 1-19, 20-99, 100+.

    Raises:
        UserError: empty, not integers, not above 1, or not strictly increasing.
    """
    bands = tuple(bands)
    if not bands:
        raise UserError("segment bands must list at least one edge, e.g. 20,100")
    if not all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in bands):
        raise UserError(f"segment bands must be integers, got {list(bands)}")
    if bands[0] < 2 or any(b <= a for a, b in zip(bands, bands[1:], strict=False)):
        raise UserError(f"segment bands must be strictly increasing edges above 1 (a warm "
                        f"user has at least 1 training interaction), got {list(bands)}")
    return tuple(int(b) for b in bands)


def parse_bands(text: str) -> tuple[int, ...]:
    """``"20,100"`` -> (20, 100), checked by :func:`check_bands`."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"segment bands must be comma-separated integers, got {text!r}") from None
    return check_bands(values)


def user_band_names(bands: tuple[int, ...]) -> list[str]:
    """Names of the warm users' activity bands: ``user_1_19``, ..., ``user_100_plus``."""
    lower = (1, *bands)
    upper = [b - 1 for b in bands]
    return [f"user_{lo}_{hi}" for lo, hi in zip(lower, upper, strict=False)] + [
        f"user_{lower[-1]}_plus"]


def segment_names(bands: tuple[int, ...] = DEFAULT_BANDS) -> list[str]:
    """Every segment, in report order."""
    return ["all", "user_cold", "user_warm", *user_band_names(bands), "item_cold",
            "item_warm"]


def share_key(segment: str) -> str:
    """The segment's share of the test interactions."""
    return f"test.{segment}/share"


def segment_prefix(ranking: str, segment: str) -> str:
    """Metric prefix of a (ranking, segment): ``test.exclude_seen.user_warm``."""
    return f"test.{ranking}.{segment}"


def segment_accuracy_key(k: int, ranking: str, segment: str) -> str:
    return accuracy_key(k, segment_prefix(ranking, segment))


@dataclass(frozen=True)
class History:
    """One split's training side as per-user and per-item histories.

    Attributes:
        user_counts: [num_users] training interactions of each user.
        item_counts: [num_items] training interactions of each item.
        indptr, items: each user's distinct training items, sorted (CSR: user u's are
            ``items[indptr[u]:indptr[u + 1]]``); a repeated interaction counts once.
    """

    user_counts: np.ndarray
    item_counts: np.ndarray
    indptr: np.ndarray
    items: np.ndarray

    @classmethod
    def of(cls, users: np.ndarray, items: np.ndarray, num_users: int, num_items: int
           ) -> History:
        """The histories of training interactions (``users[i]``, ``items[i]``)."""
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        pairs = np.unique(users * num_items + items)  # sorted by user, then item
        pair_users = pairs // num_items
        indptr = np.zeros(num_users + 1, np.int64)
        np.cumsum(np.bincount(pair_users, minlength=num_users), out=indptr[1:])
        return cls(user_counts=np.bincount(users, minlength=num_users),
                   item_counts=np.bincount(items, minlength=num_items),
                   indptr=indptr, items=pairs % num_items)

    def seen_bounds(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[n] start and stop in :attr:`items` of each query's user's training items."""
        users = np.asarray(users, np.int64)
        return self.indptr[users], self.indptr[users + 1]

    def seen_pairs(self, users: np.ndarray, true_items: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(query, item) for every training item of each query's user other than its
        true item: what ``exclude_seen`` leaves out of that query's ranking."""
        starts, stops = self.seen_bounds(users)
        lengths = stops - starts
        query = np.repeat(np.arange(lengths.size), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        items = self.items[np.repeat(starts, lengths) + offsets]
        keep = items != np.asarray(true_items)[query]
        return query[keep], items[keep]


def segment_masks(history: History, users: np.ndarray, items: np.ndarray,
                  bands: tuple[int, ...] = DEFAULT_BANDS) -> dict[str, np.ndarray]:
    """segment -> [n] bool, which test interactions (``users``, ``items``) it holds."""
    activity = history.user_counts[np.asarray(users)]
    item_seen = history.item_counts[np.asarray(items)] > 0
    edges = (1, *bands, np.iinfo(np.int64).max)
    masks = {"all": np.ones(activity.size, bool), "user_cold": activity == 0,
             "user_warm": activity > 0}
    for name, lo, hi in zip(user_band_names(bands), edges, edges[1:], strict=False):
        masks[name] = (activity >= lo) & (activity < hi)
    masks["item_cold"], masks["item_warm"] = ~item_seen, item_seen
    return masks


def segment_metrics(ranks: dict[str, np.ndarray], masks: dict[str, np.ndarray],
                    ks=DEFAULT_KS) -> dict[str, float]:
    """Flat metrics of every (ranking, segment): the segment's share of the test set and,
    when it is not empty, top-k accuracy at each k (an empty segment has no accuracy:
    absent, read back as NaN).

    Args:
        ranks: ranking name -> [n] 0-based rank of each test interaction's true item.
        masks: :func:`segment_masks`.
    """
    metrics = {}
    for segment, mask in masks.items():
        count = int(np.count_nonzero(mask))
        metrics[share_key(segment)] = count / mask.size if mask.size else 0.0
        if not count:
            continue
        for ranking, values in ranks.items():
            chosen = values[mask]
            for k in ks:
                metrics[segment_accuracy_key(k, ranking, segment)] = float(
                    np.count_nonzero(chosen < k) / count)
    return metrics


DEFAULT_EVALUATION = Evaluation()  # the tutorial's ranking, the default bands

__all__ = ["ALL", "DEFAULT_BANDS", "DEFAULT_EVALUATION", "EXCLUDE_SEEN", "Evaluation", "History",
           "RANKINGS", "check_bands", "parse_bands", "segment_accuracy_key", "segment_masks",
           "segment_metrics", "segment_names", "segment_prefix", "share_key", "user_band_names"]
