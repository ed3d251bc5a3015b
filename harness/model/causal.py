"""Query-tower features from the user's past, strictly from earlier rows, and which rows
count as that past on each side of a split (numpy only; the model reads what this
computes, :mod:`harness.model.towers`).

A configuration's :class:`PastOptions` (``FeatureConfig.past``) picks the features, all
computed by :mod:`harness.data.history` from rows with a timestamp strictly before the
query's (rows in the same second are not each other's past):

- ``user_recency``: log2 buckets of the seconds since the user's previous row (bucket 0:
  none, a first interaction);
- ``user_activity``: log2 buckets of the user's rows so far (bucket 0: none);
- ``history_length`` N: the user's last N titles, most recent first, padded with
  ``history.NONE``; the query tower pools them as the mean of their embeddings over the
  slots that hold a title (none: a zero vector). With ``history_order`` ``"sampled"``
  (the order control, ``history.sampled_items``) they are N titles drawn at random from
  the whole past instead, in a random order: what is left of a last-N gain then is not
  the order the ratings were collected in.

**Which rows are the past** (:func:`history_rows`), per side of a prepared cell:

- training rows: the rows trained on only. A model never reads a test row (nor the
  early-stopping validation slice) as an input while it trains, which on the random
  split, where test rows sit between training rows in time, is what keeps test
  interactions out of training inputs;
- test rows, ``history_protocol`` ``"online"`` ("history: online"): every row of the
  split, training and test, earlier than the query: what a serving system knows at that
  moment, the weights staying those trained on the training side. A user cold at
  training time has a past from their second test interaction on;
- test rows, ``"train"`` ("history: training side only"): the split's training side
  only, which measures how much the online part carries;
- the validation slice: as the test rows, with the split's training side in the place
  of the whole split (online) or the rows trained on (training side only).

Under ``exclude_seen`` a test query leaves out its user's history at that moment (every
earlier title its protocol lets in, :func:`seen_at_query_time`), as the history-aware
scorers do, instead of the user's training titles.

The candidate side's ``item_popularity`` and ``item_age`` (:func:`candidate_past`) read
the same rows, grouped by title, as of the catalogue's daily refresh (00:00 UTC): a
training row's candidate carries its title's values as of the row's refresh; at
evaluation the catalogue is embedded once per refresh day (:func:`catalogue_past`) and
each query is ranked against its own day's catalogue. A training batch's other rows serve
as negatives with their own rows' values (the in-batch softmax's approximation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from harness.data.history import (
    DEFAULT_BUCKETS,
    DEFAULT_HISTORY_LENGTH,
    HISTORY_PROTOCOLS,
    ONLINE,
    TRAIN_SIDE,
    PastIndex,
    distinct_before,
    item_past,
    last_items,
    log2_buckets,
    sampled_items,
    user_past,
)
from harness.data.sources import MovieLens
from splits import Split

HISTORY = "history"  # the [n, N] feature of the last titles
LAST, SAMPLED = "last", "sampled"  # history_order: the latest N, or the order control
HISTORY_ORDERS = (LAST, SAMPLED)
CANDIDATE_PAST = ("item_popularity", "item_age")  # the candidate tower's features of the past


@dataclass(frozen=True)
class PastOptions:
    """Which features of the user's past the query tower gets (see the module docstring).

    Attributes:
        user_recency: an embedding of the log2 bucket of the time since the user's
            previous row.
        user_activity: an embedding of the log2 bucket of the user's rows so far.
        history_length: N, the user's last titles pooled into the query (0: none). Their
            embedding table is the query tower's own, not the candidate tower's title
            table: the TFRS sequential-retrieval design (tensorflow/recommenders#119,
            one ``Embedding`` for past watches, another for the candidate) and YouTube's
            candidate generation (watch vector as an input, the softmax's video vectors
            apart), and it leaves the candidate tower exactly the baseline's.
        history_protocol: which rows are a test query's past: ``"online"`` or
            ``"train"`` (``HISTORY_PROTOCOLS``).
        history_order: ``"last"``, the latest N titles, or ``"sampled"``, N drawn at
            random from the whole past (the order control).
        buckets: the number of log2 buckets (the last holds everything from
            ``2 ** (buckets - 2)`` on).
        item_popularity, item_age: the candidate tower's embeddings of the log2 bucket
            of its title's rows before the query's daily refresh, and of the seconds from
            its first row to that refresh (:func:`candidate_past`): the catalogue is
            embedded once per refresh day and each query ranked against its day's.
    """

    user_recency: bool = False
    user_activity: bool = False
    history_length: int = 0
    history_protocol: str = ONLINE
    buckets: int = DEFAULT_BUCKETS
    history_order: str = LAST
    item_popularity: bool = False
    item_age: bool = False

    def __post_init__(self):
        if self.history_order not in HISTORY_ORDERS:
            raise ValueError(f"history_order must be one of {', '.join(HISTORY_ORDERS)}, "
                             f"got {self.history_order!r}")
        if self.history_protocol not in HISTORY_PROTOCOLS:
            raise ValueError(f"history_protocol must be one of {', '.join(HISTORY_PROTOCOLS)}"
                             f", got {self.history_protocol!r}")
        if not isinstance(self.history_length, int) or self.history_length < 0:
            raise ValueError(f"history_length must be an integer >= 0, got "
                             f"{self.history_length!r}")
        if not (self.user_recency or self.user_activity or self.history_length
                or self.candidate_bucketed()):
            raise ValueError("PastOptions needs at least one feature")
        if self.buckets < 2:
            raise ValueError(f"buckets must be at least 2, got {self.buckets!r}")

    def bucketed(self) -> tuple[str, ...]:
        """The bucketed features it sets, in the query tower's order."""
        return tuple(name for name in ("user_recency", "user_activity") if getattr(self, name))

    def candidate_bucketed(self) -> tuple[str, ...]:
        """The candidate tower's bucketed features it sets, in the tower's order."""
        return tuple(name for name in CANDIDATE_PAST if getattr(self, name))

    def to_dict(self) -> dict:
        """Every option, less the candidate ones where unset: a configuration described
        before they existed (and the tuned file's fingerprint of it) stays as it was."""
        return {key: value for key, value in asdict(self).items()
                if key not in CANDIDATE_PAST or value}


def history_rows(protocol: str, side: str, split: Split, train_rows: np.ndarray
                 ) -> np.ndarray:
    """[m] int64 ascending: the rows that count as the past of a side's queries, for a
    configuration and for the history-aware scorers alike.

    Args:
        protocol: ``"online"`` or ``"train"`` (a configuration's ``history_protocol``).
        side: "train", "validation" or "test" (``harness.model.retriever.SIDES``).
        split: the cell's split.
        train_rows: the rows trained on (the split's training side, less the validation
            slice when the options stop early).
    """
    if protocol not in HISTORY_PROTOCOLS:
        raise ValueError(f"history protocol must be one of {', '.join(HISTORY_PROTOCOLS)}, "
                         f"got {protocol!r}")
    online = protocol == ONLINE
    if side == "train":
        return train_rows
    if side == "validation":
        return split.train if online else train_rows
    if side == "test":
        return np.union1d(split.train, split.test) if online else split.train
    raise ValueError(f"side must be train, validation or test, got {side!r}")


def past_features(past: PastOptions, data: MovieLens, rows: np.ndarray,
                  past_rows: np.ndarray, seed=0) -> dict[str, np.ndarray]:
    """The past's features of ``rows`` from the rows ``past_rows`` only.

    Args:
        past: the features to compute.
        data: the table.
        rows: [n] the queries' rows.
        past_rows: [m] the rows that count as their past (:func:`history_rows`), ascending
            (rows of one second are then ordered by table position, as
            ``history.PastIndex`` says).
        seed: the seed (an int or a sequence of ints, ``numpy.random.default_rng``'s) of
            the order control's draw (``history_order`` ``"sampled"``); the two towers
            pass (cell seed, side).

    Returns:
        name -> [n]: ``user_recency`` and ``user_activity`` int64 buckets, and
        ``history`` [n, history_length] int32 title rows, most recent first, ``NONE``
        padded; only those ``past`` sets.
    """
    users, timestamps = data.user_codes, data.ratings["timestamp"]
    index = PastIndex.of(users[past_rows], timestamps[past_rows], data.title_codes[past_rows],
                         num_groups=int(users.max()) + 1)
    features = {}
    if past.bucketed():
        recency, activity = user_past(index, users[rows], timestamps[rows])
        values = {"user_recency": recency, "user_activity": activity}
        features = {name: log2_buckets(values[name], past.buckets) for name in past.bucketed()}
    if past.history_length and past.history_order == SAMPLED:
        features[HISTORY] = sampled_items(index, users[rows], timestamps[rows],
                                          np.random.default_rng(seed), past.history_length)
    elif past.history_length:
        features[HISTORY] = last_items(index, users[rows], timestamps[rows],
                                       past.history_length)
    return features


def seen_at_query_time(data: MovieLens, rows: np.ndarray, past_rows: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``exclude_seen`` leaves out of a query's ranking under a history protocol:
    the distinct titles of its user's rows among ``past_rows`` strictly before its time
    (the history-aware scorers' rule, ``history.distinct_before``), as (starts, stops,
    items): ``harness.evaluation.ranking.count_higher``'s form."""
    users, times, titles = data.user_codes, data.ratings["timestamp"], data.title_codes
    index = PastIndex.of(users[past_rows], times[past_rows], titles[past_rows],
                         num_groups=int(users.max()) + 1)
    return distinct_before(index, users[rows], times[rows], data.candidate_titles.size)


def item_index(data: MovieLens, past_rows: np.ndarray) -> PastIndex:
    """The rows ``past_rows`` grouped by title, for :func:`candidate_past` and
    :func:`catalogue_past`."""
    items = data.title_codes[past_rows]
    return PastIndex.of(items, data.ratings["timestamp"][past_rows], items,
                        num_groups=data.candidate_titles.size)


def candidate_past(past: PastOptions, data: MovieLens, rows: np.ndarray,
                   index: PastIndex) -> dict[str, np.ndarray]:
    """name -> [n] int64 log2 buckets of each row's title's popularity and age as of the
    row's refresh (the start of its UTC day), over the rows ``index`` holds
    (:func:`item_index` of the side's :func:`history_rows`); only those ``past`` sets."""
    return _item_buckets(past, *item_past(index, data.title_codes[rows],
                                          data.ratings["timestamp"][rows]))


def catalogue_past(past: PastOptions, index: PastIndex, refresh: int
                   ) -> dict[str, np.ndarray]:
    """name -> [num_candidates] int64 the same buckets for every title of the catalogue as
    of the refresh at ``refresh`` (Unix seconds, a day's 00:00 UTC)."""
    items = np.arange(index.group_starts.size - 1)
    return _item_buckets(past, *item_past(index, items, np.full(items.size, refresh, np.int64)))


def _item_buckets(past: PastOptions, popularity: np.ndarray, age: np.ndarray
                  ) -> dict[str, np.ndarray]:
    values = {"item_popularity": popularity, "item_age": age}
    return {name: log2_buckets(values[name], past.buckets) for name in past.candidate_bucketed()}


# The causal configurations: (name, description, options), each the tutorial's baseline
# plus features of the past. Registered by harness.model.features and run only when named.
CAUSAL_CONFIGS = (
    ("recency_activity", "baseline + log2 buckets of the user's time since the previous "
     "interaction and interactions so far (history: online)",
     PastOptions(user_recency=True, user_activity=True)),
    ("history", f"baseline + the mean embedding of the user's last {DEFAULT_HISTORY_LENGTH}"
     " titles (history: online)", PastOptions(history_length=DEFAULT_HISTORY_LENGTH)),
    ("history_shuffled", f"history, order shuffled (the order control): {DEFAULT_HISTORY_LENGTH}"
     " titles drawn at random from the user's whole past, in a random order (history: "
     "online)", PastOptions(history_length=DEFAULT_HISTORY_LENGTH, history_order=SAMPLED)),
    ("causal", "recency_activity + history (history: online)",
     PastOptions(user_recency=True, user_activity=True,
                 history_length=DEFAULT_HISTORY_LENGTH)),
    ("item_past", "baseline + log2 buckets of each candidate title's interactions so far and "
     "age, as of the daily refresh (history: online)",
     PastOptions(item_popularity=True, item_age=True)),
    ("causal_trainside", "causal, a test query's past from the training side only "
     "(history: training side only)",
     PastOptions(user_recency=True, user_activity=True,
                 history_length=DEFAULT_HISTORY_LENGTH, history_protocol=TRAIN_SIDE)),
)

# Every feature of the past at once (with the release year: harness.model.features).
CAUSAL_ALL = PastOptions(user_recency=True, user_activity=True,
                         history_length=DEFAULT_HISTORY_LENGTH, item_popularity=True,
                         item_age=True)


__all__ = ["CANDIDATE_PAST", "CAUSAL_ALL", "CAUSAL_CONFIGS", "HISTORY", "HISTORY_ORDERS",
           "HISTORY_PROTOCOLS", "LAST", "ONLINE", "SAMPLED", "TRAIN_SIDE", "PastOptions",
           "candidate_past", "catalogue_past", "history_rows", "item_index", "past_features",
           "seen_at_query_time"]
