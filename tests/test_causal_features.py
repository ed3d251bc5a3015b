"""Causal features and the user's history (harness.data.history): exact agreement with a
brute-force reference that loops, the same-second rule, the buckets, the order control,
and the leak test: a signal planted only in future rows changes no feature and no
history-aware scorer's output."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data import history
from harness.data.history import (
    NONE,
    SECONDS_PER_DAY,
    PastIndex,
    causal_features,
    daily_counts,
    item_past,
    last_items,
    log2_buckets,
    refresh_time,
    sampled_items,
    user_past,
)
from harness.evaluation.segments import ALL, EXCLUDE_SEEN
from harness.model.ease import fit_ease
from harness.model.history_scorers import history_ranks, item_cosine, padded_matrix, past_matrix

DAY0 = 874_713_600  # a 00:00 UTC (1997-09-20), so the table spans whole refresh days


def _table(seed: int, n: int = 400, num_users: int = 12, num_items: int = 30):
    """A small table with many same-second rows (times on a coarse grid) over a few days,
    in no particular row order."""
    rng = np.random.default_rng(seed)
    users = rng.integers(num_users, size=n)
    items = rng.integers(num_items, size=n)
    times = DAY0 + 3_600 * rng.integers(0, 24 * 5, size=n) + rng.integers(0, 2, size=n)
    return users, items, times.astype(np.int64), num_users, num_items


def _reference(users, items, times, n_last):
    """Per row, by a loop over every other row: recency, activity, item popularity and age
    at the daily refresh, the last items (most recent first; same-second earlier rows by
    table position, later = more recent)."""
    recency, activity, popularity, age, last = [], [], [], [], []
    for i in range(users.size):
        past = [j for j in range(users.size) if users[j] == users[i] and times[j] < times[i]]
        activity.append(len(past))
        recency.append(times[i] - max(times[j] for j in past) if past else NONE)
        ordered = sorted(past, key=lambda j: (times[j], j), reverse=True)[:n_last]
        last.append([items[j] for j in ordered] + [NONE] * (n_last - len(ordered)))
        refresh = times[i] - times[i] % SECONDS_PER_DAY
        before = [j for j in range(users.size) if items[j] == items[i] and times[j] < refresh]
        popularity.append(len(before))
        age.append(refresh - min(times[j] for j in before) if before else NONE)
    return (np.array(recency), np.array(activity), np.array(popularity), np.array(age),
            np.array(last))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_features_agree_with_the_brute_force_reference(seed, monkeypatch):
    monkeypatch.setattr(history, "CHUNK_QUERIES", 37)  # last_items' chunks, 400 rows
    users, items, times, num_users, num_items = _table(seed)
    recency, activity, popularity, age, last = _reference(users, items, times, 7)
    features = causal_features(users, items, times, num_users, num_items)
    np.testing.assert_array_equal(features.user_recency, recency)
    np.testing.assert_array_equal(features.user_activity, activity)
    np.testing.assert_array_equal(features.item_popularity, popularity)
    np.testing.assert_array_equal(features.item_age, age)
    index = PastIndex.of(users, times, items, num_users)
    np.testing.assert_array_equal(last_items(index, users, times, 7), last)
    # Every earlier item of the user, as a binary row.
    matrix = past_matrix(index, users, times, num_items).toarray()
    expected = np.zeros_like(matrix)
    for i in range(users.size):
        expected[i, items[(users == users[i]) & (times < times[i])]] = 1.0
    np.testing.assert_array_equal(matrix, expected)


def test_rows_in_the_same_second_are_not_history():
    # User 0: two rows at t, then one at t + 5; user 1 one row at t.
    t = DAY0 + 100
    users, items, times = np.array([0, 0, 1, 0]), np.array([3, 4, 3, 5]), np.array(
        [t, t, t, t + 5])
    features = causal_features(users, items, times, 2, 6)
    np.testing.assert_array_equal(features.user_activity, [0, 0, 0, 2])
    np.testing.assert_array_equal(features.user_recency, [NONE, NONE, NONE, 5])
    index = PastIndex.of(users, times, items, 2)
    # Same-second earlier rows: the later row in the table is the more recent.
    np.testing.assert_array_equal(last_items(index, users, times, 3),
                                  [[NONE] * 3, [NONE] * 3, [NONE] * 3, [4, 3, NONE]])


def test_item_features_wait_for_the_daily_refresh():
    # Item 0 rated at 10:00 on day 0, queried at 23:00 on day 0 and at 00:00 of day 1.
    times = np.array([DAY0 + 36_000, DAY0 + 82_800, DAY0 + SECONDS_PER_DAY])
    index = PastIndex.of(np.zeros(3, int), times, np.zeros(3, int), 1)
    popularity, age = item_past(index, np.zeros(3, int), times)
    np.testing.assert_array_equal(popularity, [0, 0, 2])
    np.testing.assert_array_equal(age, [NONE, NONE, SECONDS_PER_DAY - 36_000])
    assert refresh_time(DAY0 + 82_800) == DAY0


def test_log2_buckets_are_exact_at_the_powers_of_two():
    values = np.array([NONE, 0, 1, 2, 3, 4, 7, 8, 2**40])
    np.testing.assert_array_equal(log2_buckets(values), [0, 0, 1, 2, 2, 3, 3, 4, 31])


def test_daily_counts_count_rows_before_each_midnight():
    items = np.array([0, 1, 1, 0, 2])
    times = DAY0 + np.array([0, 10, SECONDS_PER_DAY - 1, SECONDS_PER_DAY, 3 * SECONDS_PER_DAY])
    days = DAY0 // SECONDS_PER_DAY + np.array([0, 1, 2, 4])
    got = [counts.copy() for _, counts in daily_counts(items, times, 3, days)]
    np.testing.assert_array_equal(got, [[0, 0, 0], [1, 2, 0], [2, 2, 0], [2, 2, 1]])


def test_the_order_control_draws_distinct_past_rows_in_a_random_order():
    # One user with 50 rows, one a second, item = its position in time.
    length, times = 8, DAY0 + np.arange(50)
    index = PastIndex.of(np.zeros(50, int), times, np.arange(50), 1)
    queries = np.full(400, DAY0 + 30)  # 30 past rows: items 0..29
    sampled = sampled_items(index, np.zeros(400, int), queries, np.random.default_rng(0),
                            length)
    assert (sampled >= 0).all() and (sampled < 30).all()
    assert all(np.unique(row).size == length for row in sampled)  # without replacement
    counts = np.bincount(sampled.ravel(), minlength=30)  # uniform: 400 * 8 / 30 each
    assert counts.min() > 60 and counts.max() < 160
    assert not (np.diff(sampled, axis=1) < 0).all(axis=1).mean() > 0.5  # not time order
    # With no more past rows than slots: the same items as the last ones, order permuted.
    few = sampled_items(index, np.zeros(3, int), np.full(3, DAY0 + 5),
                        np.random.default_rng(1), length)
    last = last_items(index, np.zeros(3, int), np.full(3, DAY0 + 5), length)
    for got, want in zip(few, last, strict=True):
        assert sorted(got[:5]) == sorted(want[:5]) and (got[5:] == NONE).all()
    again = sampled_items(index, np.zeros(400, int), queries, np.random.default_rng(0), length)
    np.testing.assert_array_equal(sampled, again)  # seeded


# The leak test. The cut T is a midnight inside the table; "the future" is every row at or
# after T. The perturbed table changes every future row's item and plants, at exactly T,
# each query's true item as its user's "next interaction": the label-derived signal a leak
# would carry. Queries: every row before T, and every user asked at exactly T.


def _perturbed(users, items, times, cut, truth_users, truth_items, num_items):
    future = times >= cut
    changed = items.copy()
    changed[future] = (items[future] * 7 + 3) % num_items
    return (np.r_[users, truth_users], np.r_[changed, truth_items],
            np.r_[times, np.full(truth_users.size, cut)])


def _everything(users, items, times, num_users, num_items, query, cut, train):
    """Every causal output for the queries (users, times, true items) over a table."""
    q_users, q_times, q_items = query
    by_user = PastIndex.of(users, times, items, num_users)
    by_item = PastIndex.of(items, times, items, num_items)
    out = dict(zip(("recency", "activity"), user_past(by_user, q_users, q_times), strict=True))
    out.update(zip(("popularity", "age"), item_past(by_item, q_items, q_times), strict=True))
    out["last"] = last_items(by_user, q_users, q_times, 5)
    out["sampled"] = sampled_items(by_user, q_users, q_times, np.random.default_rng(0), 5)
    seen = past_matrix(by_user, q_users, q_times, num_items)
    out["seen"] = seen.toarray()
    knn = item_cosine(users[train], items[train], num_users=num_users, num_items=num_items)
    ease = fit_ease(users[train], items[train], num_users=num_users, num_items=num_items,
                    l2=10.0).weights
    common = dict(true_items=q_items, timestamps=q_times, pool_items=items,
                  pool_timestamps=times, num_items=num_items, seen=seen)
    for name, weights, rows in (("popularity", None, None),
                                ("itemknn", knn, padded_matrix(out["last"], num_items)),
                                ("shuffled", knn, padded_matrix(out["sampled"], num_items)),
                                ("ease", ease, seen)):
        result = history_ranks(weights, rows, **common)
        out[f"{name}/{ALL}"], out[f"{name}/{EXCLUDE_SEEN}"] = (
            result.ranks[ALL], result.ranks[EXCLUDE_SEEN])
        out[f"{name}/fallback"] = result.fallback
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_a_signal_planted_in_future_rows_changes_nothing(seed):
    users, items, times, num_users, num_items = _table(seed)
    cut = DAY0 + 3 * SECONDS_PER_DAY
    train = np.flatnonzero(times < cut)  # fitted matrices: the past only, in both tables
    asked = np.arange(num_users)
    at_cut = (asked, np.full(num_users, cut), (asked * 5 + 1) % num_items)
    query = tuple(np.r_[column[train], extra] for column, extra in
                  zip((users, times, items), at_cut, strict=True))
    original = _everything(users, items, times, num_users, num_items, query, cut, train)
    changed = _perturbed(users, items, times, cut, at_cut[0], at_cut[2], num_items)
    leaked = _everything(*changed, num_users, num_items, query, cut, train)
    for name, value in original.items():
        np.testing.assert_array_equal(leaked[name], value, err_msg=name)
    # The check has something to see: users with a past at T, and scorers that hit.
    assert (original["activity"][-num_users:] > 0).all()
    assert (original["itemknn/all"] < num_items - 1).any()


def test_the_perturbation_reaches_a_query_that_reads_the_future():
    """The planted rows do change what a query *at or after* them reads: the comparison
    above could not pass by the perturbation being invisible."""
    users, items, times, num_users, num_items = _table(0)
    cut = DAY0 + 3 * SECONDS_PER_DAY
    asked = np.arange(num_users)
    truth = (asked * 5 + 1) % num_items
    changed = _perturbed(users, items, times, cut, asked, truth, num_items)
    later = np.full(num_users, cut + 1)
    before = last_items(PastIndex.of(users, times, items, num_users), asked, later, 1)
    after = last_items(PastIndex.of(changed[0], changed[2], changed[1], num_users), asked,
                       later, 1)
    np.testing.assert_array_equal(after[:, 0], truth)
    assert (before[:, 0] != truth).any()
