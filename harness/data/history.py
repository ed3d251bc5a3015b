"""The past of each interaction: causal features and the user's recent items, computed
from earlier rows only (numpy only, vectorised: sorts and ``searchsorted``, no loop over
rows).

**Strictly from the past.** A value for a row at time t reads only rows whose timestamp
is strictly before t: rows in the same second are not each other's history (timestamps
are whole seconds, and nothing orders the rows of one second). Among a user's earlier
rows, those sharing one second are ordered by their position in the table (the
canonical table orders a second's rows by user, then movie): the later row counts as
the more recent one.

Features of a row (user u, item i, time t):

- user recency: t minus the time of u's latest row before t, in seconds; ``NONE`` when
  u has no row before t (a first interaction);
- user activity so far: how many rows u has before t;
- item popularity and age so far, candidate side, **as of the last refresh**: the
  catalogue is refreshed daily at 00:00 UTC (timestamps are Unix seconds, so day d
  starts at ``d * SECONDS_PER_DAY``), and a query at t sees it as of
  ``refresh_time(t)``, the start of t's UTC day. An item's popularity is its number of
  rows before the refresh, its age the refresh time minus its first row's time (``NONE``
  when it had no row before the refresh). :func:`daily_counts` gives the whole
  catalogue's counts one refresh day at a time, so ranking a day's queries reads one
  [num_items] vector (a [days, num_items] matrix would not fit at MovieLens-25M's shape);
- the user's last N items (:func:`last_items`, most recent first) and the order control
  (:func:`sampled_items`: N of the past rows drawn uniformly at random, listed in a
  random order).

Which rows count as history is the caller's: a :class:`PastIndex` is built over the
rows a protocol lets in (every row: "history: online", what a serving system knows; the
training rows only: "history: training side only"), and queried with any rows.
:func:`log2_buckets` turns recency, activity, popularity and age into log-scale buckets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NONE = -1  # a recency or an age with no earlier row; a padded history slot
SECONDS_PER_DAY = 86_400  # the catalogue refresh period (UTC days)
DEFAULT_HISTORY_LENGTH = 20  # N, the user's last items a query carries
DEFAULT_BUCKETS = 32  # log2 buckets: the last one holds everything from 2**30 on
CHUNK_QUERIES = 1 << 18  # queries whose [chunk, N] positions exist at a time
# Which rows are a test query's history: every earlier row of the split ("history:
# online", what a serving system knows) or its training side only ("history: training
# side only"). The caller builds its PastIndex over those rows.
ONLINE, TRAIN_SIDE = "online", "train"
HISTORY_PROTOCOLS = (ONLINE, TRAIN_SIDE)


def refresh_time(timestamps) -> np.ndarray:
    """[n] int64 the start (00:00 UTC, in Unix seconds) of each timestamp's day: the last
    catalogue refresh a query at that time sees."""
    timestamps = np.asarray(timestamps, np.int64)
    return timestamps - np.mod(timestamps, SECONDS_PER_DAY)


def log2_buckets(values, num_buckets: int = DEFAULT_BUCKETS) -> np.ndarray:
    """[n] int64 log-scale buckets: 0 for a value below 1 (``NONE``, or no earlier row),
    else ``1 + floor(log2(value))`` (1: 1, 2: 2-3, 3: 4-7, ...), at most
    ``num_buckets - 1``. Exact for integers (no floating-point log)."""
    values = np.asarray(values, np.int64)
    exponent = np.frexp(np.maximum(values, 1).astype(np.float64))[1]  # floor(log2) + 1
    return np.where(values < 1, 0, np.minimum(exponent, num_buckets - 1)).astype(np.int64)


@dataclass(frozen=True)
class PastIndex:
    """Rows grouped (by user, or by item) and sorted by time within each group, so that
    "a group's rows before t" is one ``searchsorted``: positions ``[starts, stops)``.

    Attributes:
        keys: [m] int64 ``group * stride + (timestamp - origin)``, ascending; rows with
            the same key keep table order.
        timestamps: [m] int64 the rows' timestamps, in that order.
        values: [m] int64 each row's value (its item), in that order.
        group_starts: [num_groups + 1] where each group's rows start.
        origin: the earliest row's refresh time (every key's time part is >= 0).
        stride: one more than the largest time part.
    """

    keys: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    group_starts: np.ndarray
    origin: int
    stride: int

    @classmethod
    def of(cls, groups, timestamps, values, num_groups: int) -> PastIndex:
        """The index of rows (``groups[i]``, ``timestamps[i]``, ``values[i]``), in table
        order.

        Raises:
            ValueError: mismatched lengths, a group outside [0, num_groups), or a time
                span and group count whose keys would not fit in int64.
        """
        groups = np.asarray(groups, np.int64)
        timestamps = np.asarray(timestamps, np.int64)
        values = np.asarray(values, np.int64)
        if not groups.shape == timestamps.shape == values.shape or groups.ndim != 1:
            raise ValueError(f"groups {groups.shape}, timestamps {timestamps.shape} and "
                             f"values {values.shape} must be equal 1-D shapes")
        if groups.size and not 0 <= groups.min() <= groups.max() < num_groups:
            raise ValueError(f"groups must lie in [0, {num_groups})")
        origin = int(refresh_time(timestamps.min())) if timestamps.size else 0
        stride = int(timestamps.max()) - origin + 1 if timestamps.size else 1
        if (num_groups + 1) * stride >= 2**62:
            raise ValueError(f"{num_groups} groups over {stride} seconds overflow int64 keys")
        keys = groups * stride + (timestamps - origin)
        order = np.argsort(keys, kind="stable")
        group_starts = np.zeros(num_groups + 1, np.int64)
        np.cumsum(np.bincount(groups, minlength=num_groups), out=group_starts[1:])
        return cls(keys=keys[order], timestamps=timestamps[order], values=values[order],
                   group_starts=group_starts, origin=origin, stride=stride)

    @property
    def num_groups(self) -> int:
        return self.group_starts.size - 1

    def before(self, groups, timestamps) -> tuple[np.ndarray, np.ndarray]:
        """[n] (starts, stops): the rows of group ``groups[i]`` with a timestamp strictly
        before ``timestamps[i]`` are positions ``starts[i]:stops[i]``, oldest first."""
        groups = np.asarray(groups, np.int64)
        relative = np.clip(np.asarray(timestamps, np.int64) - self.origin, 0, self.stride)
        needles = groups * self.stride + relative
        # Sorted needles: numpy's search starts from the previous one's result, which at
        # millions of queries is twenty times faster than searching each afresh.
        order = np.argsort(needles)
        stops = np.empty(needles.size, np.int64)
        stops[order] = np.searchsorted(self.keys, needles[order], side="left")
        return self.group_starts[groups], stops


@dataclass(frozen=True)
class CausalFeatures:
    """Each row's causal features (see the module docstring); [n] int64 each.

    Attributes:
        user_recency: seconds since the user's latest earlier row, or ``NONE``.
        user_activity: the user's earlier rows.
        item_popularity: the item's rows before the query's refresh.
        item_age: seconds from the item's first row to the query's refresh, or ``NONE``.
    """

    user_recency: np.ndarray
    user_activity: np.ndarray
    item_popularity: np.ndarray
    item_age: np.ndarray

    def buckets(self, num_buckets: int = DEFAULT_BUCKETS) -> dict[str, np.ndarray]:
        """name -> [n] int64 :func:`log2_buckets` of each feature."""
        return {name: log2_buckets(getattr(self, name), num_buckets) for name in
                ("user_recency", "user_activity", "item_popularity", "item_age")}


def user_past(index: PastIndex, users, timestamps) -> tuple[np.ndarray, np.ndarray]:
    """[n] (recency, activity) of queries (``users[i]`` at ``timestamps[i]``) over the
    rows ``index`` holds (grouped by user)."""
    starts, stops = index.before(users, timestamps)
    activity = stops - starts
    previous = index.timestamps[np.maximum(stops - 1, 0)] if index.timestamps.size else 0
    recency = np.where(activity > 0, np.asarray(timestamps, np.int64) - previous, NONE)
    return recency.astype(np.int64), activity


def item_past(index: PastIndex, items, timestamps) -> tuple[np.ndarray, np.ndarray]:
    """[n] (popularity, age) of ``items[i]`` as of the refresh before ``timestamps[i]``,
    over the rows ``index`` holds (grouped by item)."""
    refreshed = refresh_time(timestamps)
    starts, stops = index.before(items, refreshed)
    popularity = stops - starts
    first = index.timestamps[np.minimum(starts, max(index.timestamps.size - 1, 0))]
    age = np.where(popularity > 0, refreshed - first, NONE)
    return popularity, age.astype(np.int64)


def causal_features(users, items, timestamps, num_users: int, num_items: int
                    ) -> CausalFeatures:
    """Every row's causal features over the whole table ("history: online").

    Args:
        users: [n] int user codes in [0, num_users).
        items: [n] int item codes in [0, num_items).
        timestamps: [n] int Unix seconds.
    """
    by_user = PastIndex.of(users, timestamps, items, num_users)
    by_item = PastIndex.of(items, timestamps, items, num_items)
    recency, activity = user_past(by_user, users, timestamps)
    popularity, age = item_past(by_item, items, timestamps)
    return CausalFeatures(recency, activity, popularity, age)


def last_items(index: PastIndex, users, timestamps,
               length: int = DEFAULT_HISTORY_LENGTH) -> np.ndarray:
    """[n, length] int32 the items of each query's last ``length`` earlier rows, most
    recent first, padded with ``NONE``.

    Args:
        index: the rows that count as history, grouped by user (``values`` the items).
        users, timestamps: [n] each query's user and time.
    """
    starts, stops = index.before(users, timestamps)
    out = np.empty((starts.size, length), np.int32)
    for chunk in range(0, starts.size, CHUNK_QUERIES):  # bounded [chunk, length] temporaries
        rows = slice(chunk, chunk + CHUNK_QUERIES)
        positions = stops[rows, None] - 1 - np.arange(length)[None, :]
        out[rows] = _gather(index.values, positions, positions >= starts[rows, None])
    return out


def sampled_items(index: PastIndex, users, timestamps, rng: np.random.Generator,
                  length: int = DEFAULT_HISTORY_LENGTH) -> np.ndarray:
    """The order control of :func:`last_items`: [n, length] int32 the items of
    ``min(length, L)`` of each query's L earlier rows drawn uniformly without
    replacement, in a random order, padded with ``NONE``. With L <= length that is the
    same items as :func:`last_items`, order permuted; beyond, a random subset of the
    whole past instead of its latest part.

    Robert Floyd's sampling, one step per slot (a loop over ``length``, not over rows):
    step s draws t in [0, j] for j = L - length + s and takes t, or j if t is taken.
    """
    starts, stops = index.before(users, timestamps)
    past = stops - starts
    offsets = np.full((past.size, length), NONE, np.int64)
    for slot in range(length):
        j = past - length + slot
        active = j >= 0
        draw = np.floor(rng.random(past.size) * (j + 1)).astype(np.int64)
        taken = (offsets[:, :slot] == draw[:, None]).any(axis=1)
        offsets[:, slot] = np.where(active, np.where(taken, j, draw), NONE)
    # A random order, padding last: sort by a random key, padding's key above them all.
    keys = np.where(offsets >= 0, rng.random(offsets.shape), 2.0)
    offsets = np.take_along_axis(offsets, np.argsort(keys, axis=1), axis=1)
    valid = offsets >= 0
    return _gather(index.values, starts[:, None] + offsets, valid)


def distinct_before(index: PastIndex, groups, timestamps, num_values: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each query's distinct values among its group's rows in ``index`` strictly before
    its time (a user's history at that moment: what ``exclude_seen`` leaves out under a
    history protocol, the row EASE^R scores), as (starts, stops, values): query i's are
    ``values[starts[i]:stops[i]]``, ascending; every value lies in [0, num_values)."""
    starts, stops = index.before(groups, timestamps)
    lengths = stops - starts
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    query = np.repeat(np.arange(lengths.size), lengths)
    keys = np.unique(query * num_values + index.values[np.repeat(starts, lengths) + offsets])
    query, values = np.divmod(keys, num_values)
    bounds = np.searchsorted(query, np.arange(lengths.size + 1))
    return bounds[:-1], bounds[1:], values


def _gather(values: np.ndarray, positions: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """values[positions] where valid, else ``NONE``; int32."""
    safe = np.where(valid, positions, 0)
    taken = values[safe] if values.size else np.zeros(safe.shape, np.int64)
    return np.where(valid, taken, NONE).astype(np.int32)


def daily_counts(items, timestamps, num_items: int, days):
    """Each item's number of rows before each refresh, one refresh day at a time.

    Args:
        items, timestamps: [m] the rows that count (a protocol's history rows).
        days: refresh days (``refresh_time(t) // SECONDS_PER_DAY``), ascending, distinct.

    Yields:
        (day, [num_items] float64 counts of rows with a timestamp before the day's
        00:00 UTC): one running vector updated in place between days, so one exists
        at a time (copy it to keep it).
    """
    items = np.asarray(items, np.int64)
    timestamps = np.asarray(timestamps, np.int64)
    order = np.argsort(timestamps, kind="stable")
    items, timestamps = items[order], timestamps[order]
    days = np.asarray(days, np.int64)
    if np.any(np.diff(days) <= 0):
        raise ValueError("refresh days must be distinct and ascending")
    stops = np.searchsorted(timestamps, days * SECONDS_PER_DAY, side="left")
    counts = np.zeros(num_items, np.float64)
    done = 0
    for day, stop in zip(days.tolist(), stops.tolist(), strict=True):
        counts += np.bincount(items[done:stop], minlength=num_items)
        done = stop
        yield day, counts


__all__ = ["DEFAULT_BUCKETS", "DEFAULT_HISTORY_LENGTH", "HISTORY_PROTOCOLS", "NONE", "ONLINE",
           "SECONDS_PER_DAY", "TRAIN_SIDE",
           "CausalFeatures", "PastIndex", "causal_features", "daily_counts", "distinct_before",
           "item_past",
           "last_items", "log2_buckets", "refresh_time", "sampled_items", "user_past"]
