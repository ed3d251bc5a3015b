"""History-aware non-learned scorers (harness.model.history_scorers): agreement with a
brute-force reference that loops over queries, the tie rule (a constant scorer earns
nothing), the popularity fallback and its count, the exclude_seen ranking (the true item
never left out), and EASE^R with training-side history being the suite's EASE^R on a
global time cut."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.history import (
    NONE,
    ONLINE,
    SECONDS_PER_DAY,
    TRAIN_SIDE,
    PastIndex,
    last_items,
    refresh_time,
)
from harness.evaluation.segments import ALL, EXCLUDE_SEEN, History
from harness.model.ease import ease_ranks, fit_ease
from harness.model.history_scorers import (
    history_pool,
    history_ranks,
    item_cosine,
    padded_matrix,
    past_matrix,
)

DAY0 = 874_713_600  # a 00:00 UTC


def _table(seed: int, n: int = 300, num_users: int = 15, num_items: int = 25):
    """Rows over four days, some in the same second, repeats allowed; the last three
    users' rows all fall on the last day (users new at a cut before it)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(num_users, size=n)
    times = DAY0 + 1_800 * rng.integers(0, 48 * 4, size=n)
    late = users >= num_users - 3
    times[late] = DAY0 + 3 * SECONDS_PER_DAY + 1_800 * rng.integers(0, 48, size=late.sum())
    return users, rng.integers(num_items, size=n), times, num_users, num_items


def _reference_ranks(weights, history, seen, truth, times, pool_items, pool_times, num_items):
    """Per query, by a loop: the score row (popularity so far by counting, or the history
    row times the weights, a one-row sparse product: the same sum in the same order as
    the tested code's block, so that near-ties resolve alike), then every other candidate
    scoring at least as high, less the left-out ones (the true item always stays)."""
    ranks = {ALL: [], EXCLUDE_SEEN: []}
    fallback = []
    for q in range(truth.size):
        refresh = times[q] - times[q] % SECONDS_PER_DAY
        counts = np.array([np.sum((pool_items == i) & (pool_times < refresh))
                           for i in range(num_items)], float)
        empty = weights is None or history[[q]].nnz == 0
        fallback.append(weights is not None and empty)
        scores = counts if empty else (history[[q]] @ weights)[0]
        others = np.arange(num_items) != truth[q]
        outrank = others & (scores >= scores[truth[q]])
        ranks[ALL].append(int(outrank.sum()))
        ranks[EXCLUDE_SEEN].append(int((outrank & (seen[q] == 0)).sum()))
    return {k: np.array(v) for k, v in ranks.items()}, np.array(fallback)


@pytest.mark.parametrize("scorer", ["popularity", "itemknn", "ease"])
@pytest.mark.parametrize("protocol", [ONLINE, TRAIN_SIDE])
def test_ranks_agree_with_the_brute_force_reference(scorer, protocol):
    users, items, times, num_users, num_items = _table(3)
    cut = DAY0 + 2 * SECONDS_PER_DAY + 7_200  # not a midnight: day 2's queries see both
    train, test = np.flatnonzero(times < cut), np.flatnonzero(times >= cut)
    pool = history_pool(protocol, users.size, train)
    index = PastIndex.of(users[pool], times[pool], items[pool], num_users)
    q_users, q_times, truth = users[test], times[test], items[test]
    seen = past_matrix(index, q_users, q_times, num_items)
    weights, history = None, None
    if scorer == "itemknn":
        weights = item_cosine(users[train], items[train], num_users=num_users,
                              num_items=num_items)
        history = padded_matrix(last_items(index, q_users, q_times, 4), num_items)
    elif scorer == "ease":
        weights = fit_ease(users[train], items[train], num_users=num_users,
                           num_items=num_items, l2=5.0).weights
        history = seen
    got = history_ranks(weights, history, truth, q_times, items[pool], times[pool], num_items,
                        seen=seen, block_size=7)
    want, fallback = _reference_ranks(
        weights, history, seen.toarray(), truth,
        q_times, items[pool], times[pool], num_items)
    np.testing.assert_array_equal(got.ranks[ALL], want[ALL])
    np.testing.assert_array_equal(got.ranks[EXCLUDE_SEEN], want[EXCLUDE_SEEN])
    np.testing.assert_array_equal(got.fallback, fallback)
    assert got.fallback_queries == fallback.sum()
    if scorer != "popularity":
        assert 0 < got.fallback_queries < truth.size  # both kinds of query are here
    assert (got.ranks[EXCLUDE_SEEN] < got.ranks[ALL]).any()  # something was left out


def test_a_constant_scorer_earns_nothing():
    """Ties count against the true item: equal scores everywhere rank it last."""
    num_items, n = 300, 50
    rng = np.random.default_rng(0)
    truth = rng.integers(num_items, size=n)
    times = np.full(n, DAY0 + 10)
    history = padded_matrix(rng.integers(num_items, size=(n, 3)), num_items)
    for weights in (np.ones((num_items, num_items)), np.zeros((num_items, num_items))):
        result = history_ranks(weights, history, truth, times, np.array([], np.int64),
                               np.array([], np.int64), num_items)
        assert np.mean(result.ranks[ALL] < 100) == 0.0
        np.testing.assert_array_equal(result.ranks[ALL], num_items - 1)
    # Popularity so far with nothing counted yet: all zero, all tied.
    result = history_ranks(None, None, truth, times, np.array([0]), np.array([DAY0 + 5]),
                           num_items)  # counted from the next refresh on
    np.testing.assert_array_equal(result.ranks[ALL], num_items - 1)


def test_a_query_with_no_history_falls_back_to_popularity_so_far():
    # Item 2 is most popular before day 1; the query of user 1 at day 1 has no history.
    pool_items = np.array([2, 2, 2, 1, 0])
    pool_times = np.array([DAY0, DAY0 + 1, DAY0 + 2, DAY0 + 3, DAY0 + SECONDS_PER_DAY + 5])
    weights = np.zeros((3, 3))
    weights[0, 1] = 1.0  # history {0} scores item 1 above the rest
    history = padded_matrix(np.array([[0], [NONE]]), 3)
    result = history_ranks(weights, history, np.array([1, 2]),
                           np.array([DAY0 + SECONDS_PER_DAY + 10] * 2), pool_items,
                           pool_times, 3)
    np.testing.assert_array_equal(result.fallback, [False, True])
    assert result.fallback_queries == 1
    np.testing.assert_array_equal(result.ranks[ALL], [0, 0])  # item 2 by popularity


def test_exclude_seen_never_leaves_out_the_true_item():
    # History {0, 1} (a repeat: the true item 1 was seen before). Item 0 scores 3, the
    # true item 1 scores 2, item 2 scores 0.
    weights = np.zeros((3, 3))
    weights[1, 0], weights[0, 1] = 3.0, 2.0
    history = padded_matrix(np.array([[0, 1]]), 3)
    result = history_ranks(weights, history, np.array([1]), np.array([DAY0]),
                           np.array([0]), np.array([DAY0 - 10]), 3, seen=history)
    assert result.ranks[ALL][0] == 1  # item 0 outranks it
    assert result.ranks[EXCLUDE_SEEN][0] == 0  # item 0 left out; item 1 itself stays


def test_training_side_ease_is_the_suites_ease_on_a_global_cut():
    """Under a global cut at a midnight every training row precedes every test query's
    refresh: training-side history is each user's training row, and popularity so far is
    training popularity, so both rankings are ``ease_ranks``' exactly."""
    users, items, times, num_users, num_items = _table(5)
    cut = DAY0 + 3 * SECONDS_PER_DAY
    train, test = np.flatnonzero(times < cut), np.flatnonzero(times >= cut)
    model = fit_ease(users[train], items[train], num_users=num_users, num_items=num_items,
                     l2=20.0)
    index = PastIndex.of(users[train], times[train], items[train], num_users)
    seen = past_matrix(index, users[test], times[test], num_items)
    got = history_ranks(model.weights, seen, items[test], times[test], items[train],
                        times[train], num_items, seen=seen)
    pairs = History.of(users[train], items[train], num_users, num_items).seen_pairs(
        users[test], items[test])
    np.testing.assert_array_equal(got.ranks[ALL], ease_ranks(model, users[test], items[test]))
    np.testing.assert_array_equal(got.ranks[EXCLUDE_SEEN],
                                  ease_ranks(model, users[test], items[test], seen=pairs))
    assert (refresh_time(times[test]) >= cut).all()


def test_item_cosine_is_co_occurrence_over_the_norms():
    users, items = np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 0, 1, 2, 0])
    got = item_cosine(users, items, num_users=3, num_items=4)
    x = np.zeros((3, 4))
    x[users, items] = 1
    c = x.T @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.nan_to_num(c / np.sqrt(np.outer(np.diag(c), np.diag(c))))
    np.fill_diagonal(want, 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[0, 1] == pytest.approx(2 / np.sqrt(6)) and not got[3].any()


def test_padded_matrix_counts_an_item_once_and_skips_padding():
    matrix = padded_matrix(np.array([[3, 3, NONE], [NONE, NONE, NONE], [0, 1, 2]]), 4)
    np.testing.assert_array_equal(matrix.toarray(),
                                  [[0, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 0]])


def test_history_pool_by_protocol():
    train = np.array([0, 2])
    np.testing.assert_array_equal(history_pool(ONLINE, 4, train), [0, 1, 2, 3])
    np.testing.assert_array_equal(history_pool(TRAIN_SIDE, 4, train), [0, 2])
    with pytest.raises(ValueError, match="online, train"):
        history_pool("future", 4, train)
