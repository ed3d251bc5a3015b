"""The split functions: pure functions over interaction arrays returning index arrays.

Every one has the signature ``fn(user_ids, timestamps, *, test_fraction, seed)`` and
returns a :class:`Split` of sorted int64 row indices. Inputs are never modified and
randomness comes only from ``seed`` (a fresh ``np.random.Generator`` per call). The
registry of named splits, their validation slices and the warm-only restriction are in
:mod:`splits.strategies`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The test side's share of the interactions, unless asked otherwise (the grid's, the
# tuning's and ``python -m harness splits``'s default).
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    """Row indices of one train/test split.

    Attributes:
        train: [n_train] int64, sorted row indices of the training interactions.
        test: [n_test] int64, sorted row indices of the test interactions.
    """

    train: np.ndarray
    test: np.ndarray


def _as_split(is_test: np.ndarray) -> Split:
    return Split(train=np.flatnonzero(~is_test).astype(np.int64),
                 test=np.flatnonzero(is_test).astype(np.int64))


def _time_order(timestamps: np.ndarray) -> np.ndarray:
    """Row order by time; equal timestamps keep row order (a stable, documented tie rule)."""
    return np.argsort(timestamps, kind="stable")


def random_split(user_ids, timestamps, *, test_fraction=TEST_FRACTION, seed=0) -> Split:
    """Uniformly random rows to test, ``round(n * test_fraction)`` of them.

    The TFRS tutorial's protocol. It ignores time, so training sees the future.
    """
    n = len(timestamps)
    n_test = int(round(n * test_fraction))
    permutation = np.random.default_rng(seed).permutation(n)
    is_test = np.zeros(n, dtype=bool)
    is_test[permutation[:n_test]] = True
    return _as_split(is_test)


def temporal_split(user_ids, timestamps, *, test_fraction=TEST_FRACTION, seed=0) -> Split:
    """One global time cut: the latest ``test_fraction`` of interactions go to test.

    Tie rule: the cut time is the timestamp of the first test row in time order, and
    every interaction at or after it goes to test. Interactions sharing the cut second
    therefore never straddle it, so the test side can be slightly larger than asked and
    no test interaction is earlier than any training one.
    """
    n = len(timestamps)
    n_test = int(round(n * test_fraction))
    if n_test == 0:
        return _as_split(np.zeros(n, dtype=bool))
    cut_time = timestamps[_time_order(timestamps)[n - n_test]]
    return _as_split(timestamps >= cut_time)


def _per_user_last(user_ids, timestamps, n_test_of_count) -> Split:
    """Marks, for each user, the last ``n_test_of_count(count)`` interactions in time.

    Within a user, equal timestamps are ordered by row index (later row = later).
    """
    n = len(timestamps)
    # Sort by user, then time, then row: lexsort keys go last-to-first.
    order = np.lexsort((np.arange(n), timestamps, user_ids))
    sorted_users = user_ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    counts = np.diff(np.r_[starts, n])
    n_test = n_test_of_count(counts)
    # Position of each sorted row within its user's run, counted from the end.
    from_end = np.repeat(starts + counts, counts) - np.arange(n) - 1
    is_test = np.zeros(n, dtype=bool)
    is_test[order] = from_end < np.repeat(n_test, counts)
    return _as_split(is_test)


def user_temporal_split(user_ids, timestamps, *, test_fraction=TEST_FRACTION, seed=0) -> Split:
    """Each user's latest ``round(test_fraction * count)`` interactions go to test.

    Every user with at least two interactions keeps one or more in train and puts one or
    more in test; a user with one interaction stays in train. Time is ordered within a
    user only: one user's test can be earlier than another user's training.
    """
    def n_test(counts):
        wanted = np.rint(test_fraction * counts).astype(np.int64)
        return np.where(counts >= 2, np.clip(wanted, 1, counts - 1), 0)

    return _per_user_last(user_ids, timestamps, n_test)


def leave_last_out_split(user_ids, timestamps, *, test_fraction=TEST_FRACTION, seed=0) -> Split:
    """Each user's last interaction goes to test (users with one interaction: train)."""
    return _per_user_last(user_ids, timestamps, lambda counts: (counts >= 2).astype(np.int64))
