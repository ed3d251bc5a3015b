"""Splits and validation slices are tested by invariants over seeds, sizes and fractions;
diagnostics by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from splits import (
    SPLITS,
    Split,
    SplitError,
    UnknownNameError,
    get_split,
    leakage_diagnostics,
    make_split,
    make_validation,
    temporal_split,
    validation_diagnostics,
)

SEEDS = (0, 1, 7)
FRACTIONS = (0.1, 0.2, 0.5)
SIZES = (12, 60, 500)
# The splits that cover every row (a warm-only split drops cold test rows and needs
# items: tests/test_segments.py).
NAMES = tuple(name for name in SPLITS.names() if SPLITS[name].warm_of is None)


def interactions(n: int, seed: int, string_ids: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """[n] user ids and [n] timestamps in shuffled row order.

    Two users have one interaction, two have two, and the rest have three or more.
    Timestamps come from about n/3 distinct values, so many are tied, within a user and
    across users.
    """
    rng = np.random.default_rng(10_000 + 97 * n + seed)
    n_many = max(1, (n - 6) // 6)
    many = np.r_[np.repeat(np.arange(n_many), 3),
                 rng.integers(0, n_many, n - 6 - 3 * n_many)] + 4
    users = np.r_[0, 1, 2, 2, 3, 3, many][rng.permutation(n)]
    timestamps = rng.integers(1_000, 1_000 + n // 3 + 2, n).astype(np.int64)
    if string_ids:
        return np.array([f"user{u}" for u in users]), timestamps
    return users.astype(np.int64), timestamps


def _cases():
    for size in SIZES:
        for seed in SEEDS:
            for fraction in FRACTIONS:
                yield pytest.param(size, seed, fraction, id=f"n{size}-seed{seed}-f{fraction}")


CASES = list(_cases())


@pytest.fixture(params=[False, True], ids=["int_ids", "str_ids"])
def string_ids(request):
    return request.param


def _users(user_ids):
    """user -> row indices, in row order."""
    return {u: np.flatnonzero(user_ids == u) for u in np.unique(user_ids)}


# ---------------------------------------------------------------------------------------
# Invariants every registered split keeps.

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("size", "seed", "fraction"), CASES)
def test_every_split_is_a_sorted_disjoint_cover(name, size, seed, fraction, string_ids):
    users, times = interactions(size, seed, string_ids)
    split = make_split(name, users, times, test_fraction=fraction, seed=seed)

    for side in (split.train, split.test):
        assert side.dtype == np.int64
        assert side.ndim == 1
        assert np.all(np.diff(side) > 0), "indices must be sorted and unique"
        assert side.size > 0
    assert np.intersect1d(split.train, split.test).size == 0
    np.testing.assert_array_equal(np.sort(np.r_[split.train, split.test]), np.arange(size))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("size", "seed", "fraction"), CASES)
def test_every_split_is_deterministic_pure_and_ignores_global_rng(name, size, seed, fraction):
    users, times = interactions(size, seed)
    users_copy, times_copy = users.copy(), times.copy()

    np.random.seed(123)
    state_before = np.random.get_state()
    first = make_split(name, users, times, test_fraction=fraction, seed=seed)
    state_after = np.random.get_state()
    assert state_before[0] == state_after[0]
    np.testing.assert_array_equal(state_before[1], state_after[1])
    assert state_before[2:] == state_after[2:], "the split touched the global numpy RNG"

    np.random.seed(999)  # a different global state must not change the result
    users.setflags(write=False)  # writing into an input now raises
    times.setflags(write=False)
    second = make_split(name, users, times, test_fraction=fraction, seed=seed)
    np.testing.assert_array_equal(first.train, second.train)
    np.testing.assert_array_equal(first.test, second.test)
    np.testing.assert_array_equal(users, users_copy)
    np.testing.assert_array_equal(times, times_copy)


@pytest.mark.parametrize("name", NAMES)
def test_seed_and_fraction_matter_exactly_when_the_registry_says_so(name):
    strategy = get_split(name)
    users, times = interactions(500, 0)

    def test_rows(**kwargs):
        return strategy(users, times, **{"test_fraction": 0.2, "seed": 0, **kwargs}).test

    assert (not np.array_equal(test_rows(), test_rows(seed=1))) == strategy.seeded
    assert (not np.array_equal(test_rows(), test_rows(test_fraction=0.5))
            ) == strategy.uses_test_fraction


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("size", "seed", "fraction"), CASES)
def test_time_order_the_registry_promises_holds(name, size, seed, fraction):
    users, times = interactions(size, seed)
    strategy = get_split(name)
    split = strategy(users, times, test_fraction=fraction, seed=seed)
    if strategy.time_ordered == "global":
        assert times[split.train].max() <= times[split.test].min()
    elif strategy.time_ordered == "per_user":
        for rows in _users(users).values():
            train, test = np.intersect1d(rows, split.train), np.intersect1d(rows, split.test)
            if train.size and test.size:
                assert times[train].max() <= times[test].min()
    else:
        assert strategy.time_ordered == "none"


# ---------------------------------------------------------------------------------------
# random

@pytest.mark.parametrize(("size", "seed", "fraction"), CASES)
def test_random_split_size_is_rounded_fraction(size, seed, fraction):
    users, times = interactions(size, seed)
    split = make_split("random", users, times, test_fraction=fraction, seed=seed)
    assert split.test.size == round(size * fraction)


@pytest.mark.parametrize("fraction", FRACTIONS)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_split_differs_between_seeds(seed, fraction):
    users, times = interactions(200, 0)
    split = make_split("random", users, times, test_fraction=fraction, seed=seed)
    other = make_split("random", users, times, test_fraction=fraction, seed=seed + 1)
    assert not np.array_equal(split.test, other.test)


def test_random_split_sees_the_future_on_random_data():
    users, times = interactions(500, 0)
    split = make_split("random", users, times, test_fraction=0.2, seed=0)
    assert leakage_diagnostics(split, users, users, times)["future_leak_rate"] > 0


# ---------------------------------------------------------------------------------------
# temporal

@pytest.mark.parametrize(("size", "seed", "fraction"), CASES)
def test_temporal_split_cuts_once_in_time_and_keeps_ties_together(size, seed, fraction):
    users, times = interactions(size, seed)
    split = make_split("temporal", users, times, test_fraction=fraction, seed=seed)
    cut = times[split.test].min()
    # Tie rule: every interaction at the cut second is in test, so the order is strict.
    assert times[split.train].max() < cut
    np.testing.assert_array_equal(split.test, np.flatnonzero(times >= cut))
    wanted = round(size * fraction)
    assert split.test.size >= wanted
    # ...and the cut is the latest that gives enough: moving it one tie group later
    # would leave fewer test rows than asked.
    assert np.count_nonzero(times > cut) < wanted


def test_temporal_ties_at_the_cut_all_go_to_test():
    # 10 rows, 2 wanted in test, but 4 share the cut second: all 4 go to test.
    times = np.array([1, 2, 3, 4, 5, 6, 9, 9, 9, 9])
    split = temporal_split(np.zeros(10), times, test_fraction=0.2)
    np.testing.assert_array_equal(split.test, [6, 7, 8, 9])


# ---------------------------------------------------------------------------------------
# user_temporal and leave_last_out

@pytest.mark.parametrize(("size", "seed", "fraction"), CASES)
def test_user_temporal_split_takes_each_users_latest(size, seed, fraction, string_ids):
    users, times = interactions(size, seed, string_ids)
    split = make_split("user_temporal", users, times, test_fraction=fraction, seed=seed)
    is_test = np.isin(np.arange(size), split.test)
    for user, rows in _users(users).items():
        count = rows.size
        test, train = rows[is_test[rows]], rows[~is_test[rows]]
        if count == 1:
            assert test.size == 0, f"user {user} with one interaction must stay in train"
            continue
        assert train.size > 0 and test.size > 0, f"user {user} must be on both sides"
        assert test.size == min(max(round(fraction * count), 1), count - 1)
        assert times[train].max() <= times[test].min()
        # Within a user, equal timestamps are ordered by row: a later row is later.
        for row in test:
            assert not np.any((times[train] == times[row]) & (train > row))


@pytest.mark.parametrize(("size", "seed"), [(s, seed) for s in SIZES for seed in SEEDS])
def test_leave_last_out_tests_each_users_latest_interaction(size, seed, string_ids):
    users, times = interactions(size, seed, string_ids)
    split = make_split("leave_last_out", users, times, test_fraction=0.2, seed=seed)
    tested = set(split.test.tolist())
    for user, rows in _users(users).items():
        in_test = [row for row in rows if row in tested]
        if rows.size == 1:
            assert in_test == []
            continue
        assert len(in_test) == 1, f"user {user} must have exactly one test row"
        latest = rows[times[rows] == times[rows].max()].max()  # ties: the later row
        assert in_test[0] == latest


def test_per_user_splits_on_a_hand_built_example():
    users = np.array(["a", "b", "a", "a", "c", "a", "b"])
    times = np.array([30, 5, 10, 30, 1, 20, 7])
    # a: rows 2 (t10), 5 (t20), 0 (t30), 3 (t30, later row) -> last two are 0 and 3.
    # b: rows 1 (t5), 6 (t7); c: one interaction, train only.
    split = make_split("user_temporal", users, times, test_fraction=0.5)
    np.testing.assert_array_equal(split.test, [0, 3, 6])
    split = make_split("leave_last_out", users, times)
    np.testing.assert_array_equal(split.test, [3, 6])


# ---------------------------------------------------------------------------------------
# Bad requests.

def test_unknown_split_name_lists_every_valid_name():
    with pytest.raises(UnknownNameError) as caught:
        get_split("chronological")
    message = str(caught.value)
    assert "'chronological'" in message
    for name in NAMES:
        assert name in message
    with pytest.raises(UnknownNameError):
        make_split("chronological", np.zeros(4), np.arange(4))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fraction", [0, 1, 0.0, 1.0, -0.1, 1.5, math.nan, "0.2", None])
def test_test_fraction_outside_open_unit_interval_raises(name, fraction):
    users, times = interactions(60, 0)
    with pytest.raises(SplitError, match="test_fraction"):
        make_split(name, users, times, test_fraction=fraction)


@pytest.mark.parametrize(("name", "users", "times", "fraction", "empty"), [
    ("random", [1, 2, 3], [1, 2, 3], 0.1, "test"),  # round(0.3) == 0 test rows
    ("random", [1, 2, 3], [1, 2, 3], 0.9, "train"),  # round(2.7) == 3 test rows
    ("temporal", [1, 2, 3, 4], [5, 5, 5, 5], 0.5, "train"),  # one tie group: all test
    ("temporal", [1, 2, 3], [1, 2, 3], 0.1, "test"),
    ("user_temporal", [1, 2, 3], [1, 2, 3], 0.5, "test"),  # only one-interaction users
    ("leave_last_out", [1, 2, 3], [1, 2, 3], 0.5, "test"),
] + [(name, [], [], 0.2, "train") for name in NAMES])
def test_a_split_leaving_an_empty_side_raises(name, users, times, fraction, empty):
    with pytest.raises(SplitError, match=f"{name}.*empty {empty}"):
        make_split(name, np.array(users), np.array(times, dtype=np.int64),
                   test_fraction=fraction)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("users", "times"), [
    (np.zeros(5), np.arange(4)),
    (np.zeros(4), np.arange(5)),
    (np.zeros((2, 2)), np.arange(4)),
    (np.zeros(4), np.arange(4).reshape(2, 2)),
])
def test_mismatched_or_non_1d_arrays_raise(name, users, times):
    with pytest.raises(SplitError, match="shapes"):
        make_split(name, users, times)


# ---------------------------------------------------------------------------------------
# Diagnostics, computed by hand on six rows.

USERS6 = np.array(["a", "a", "b", "b", "c", "a"])
ITEMS6 = np.array(["x", "y", "x", "z", "w", "z"])
TIMES6 = np.array([10, 20, 30, 40, 15, 50])


def test_leakage_diagnostics_of_a_leaky_split_by_hand():
    split = Split(train=np.array([0, 1, 2]), test=np.array([3, 4, 5]))
    # train times 10, 20, 30 (latest 30); test times 40, 15, 50 (earliest 15).
    # test earlier than 30: only 15 -> 1/3.  train later than 15: 20 and 30 -> 2/3.
    # train users {a, b}, test users b, c, a -> c unseen: 1 user, 1 of 3 test rows.
    # train items {x, y}, test items z, w, z -> z, w unseen: 2 items, all 3 test rows.
    assert leakage_diagnostics(split, USERS6, ITEMS6, TIMES6) == {
        "n_train": 3.0, "n_test": 3.0, "test_fraction": 0.5,
        "future_leak_rate": 1 / 3, "train_after_test_start_rate": 2 / 3,
        "test_users_unseen": 1.0, "test_items_unseen": 2.0,
        "cold_user_test_rate": 1 / 3, "cold_item_test_rate": 1.0,
    }


def test_leakage_diagnostics_of_the_temporal_split_by_hand():
    split = make_split("temporal", USERS6, TIMES6, test_fraction=0.5)
    # In time: 10 (row 0), 15 (4), 20 (1) | 30 (2), 40 (3), 50 (5).
    np.testing.assert_array_equal(split.train, [0, 1, 4])
    np.testing.assert_array_equal(split.test, [2, 3, 5])
    # train users {a, c}, test users b, b, a -> b unseen: 1 user, 2 of 3 test rows.
    # train items {x, y, w}, test items x, z, z -> z unseen: 1 item, 2 of 3 test rows.
    assert leakage_diagnostics(split, USERS6, ITEMS6, TIMES6) == {
        "n_train": 3.0, "n_test": 3.0, "test_fraction": 0.5,
        "future_leak_rate": 0.0, "train_after_test_start_rate": 0.0,
        "test_users_unseen": 1.0, "test_items_unseen": 1.0,
        "cold_user_test_rate": 2 / 3, "cold_item_test_rate": 2 / 3,
    }


def test_leakage_diagnostics_count_only_strictly_earlier_or_later():
    # Train and test share the second 20: that is neither leak nor train-after-start.
    times = np.array([10, 20, 20, 30])
    users = np.array(["a", "a", "b", "b"])
    split = Split(train=np.array([0, 1]), test=np.array([2, 3]))
    diagnostics = leakage_diagnostics(split, users, users, times)
    assert diagnostics["future_leak_rate"] == 0.0
    assert diagnostics["train_after_test_start_rate"] == 0.0
    assert diagnostics["test_users_unseen"] == 1.0
    assert diagnostics["cold_user_test_rate"] == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_temporal_never_leaks_and_random_does_on_random_data(seed):
    users, times = interactions(500, seed)
    items = np.random.default_rng(seed).integers(0, 40, users.size)
    temporal = leakage_diagnostics(make_split("temporal", users, times, seed=seed),
                                   users, items, times)
    random = leakage_diagnostics(make_split("random", users, times, seed=seed),
                                 users, items, times)
    assert temporal["future_leak_rate"] == 0.0
    assert temporal["train_after_test_start_rate"] == 0.0
    assert random["future_leak_rate"] > 0.0
    assert random["train_after_test_start_rate"] > 0.0
    for diagnostics in (temporal, random):
        assert all(type(value) is float for value in diagnostics.values())


# ---------------------------------------------------------------------------------------
# Validation slices: each split's own rule applied to its training side.

VALIDATION_FRACTIONS = (0.1, 0.3)


def _validation_cases():
    # n=12 is left to the hand-built and bad-request tests: a 50% temporal test set
    # leaves four or five training rows there, too few to slice 10% off.
    for size in SIZES[1:]:
        for seed in SEEDS:
            for fraction in FRACTIONS:
                for validation_fraction in VALIDATION_FRACTIONS:
                    yield pytest.param(size, seed, fraction, validation_fraction,
                                       id=f"n{size}-seed{seed}-f{fraction}-v{validation_fraction}")


VALIDATION_CASES = list(_validation_cases())
VALIDATION_ARGS = ("size", "seed", "fraction", "validation_fraction")


def split_and_validation(name, size, seed, fraction, validation_fraction, string_ids=False):
    users, times = interactions(size, seed, string_ids)
    split = make_split(name, users, times, test_fraction=fraction, seed=seed)
    validation = make_validation(name, users, times, split,
                                 validation_fraction=validation_fraction, seed=seed)
    return users, times, split, validation


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_every_validation_slice_partitions_the_training_side(
        name, size, seed, fraction, validation_fraction, string_ids):
    _, _, split, validation = split_and_validation(name, size, seed, fraction,
                                                   validation_fraction, string_ids)
    for side in (validation.train, validation.test):
        assert side.dtype == np.int64
        assert side.ndim == 1
        assert np.all(np.diff(side) > 0), "indices must be sorted and unique"
        assert side.size > 0
    assert np.all(np.isin(validation.test, split.train)), "validation must come from train"
    assert np.intersect1d(validation.test, validation.train).size == 0
    assert np.intersect1d(validation.test, split.test).size == 0
    assert np.intersect1d(validation.train, split.test).size == 0
    np.testing.assert_array_equal(np.sort(np.r_[validation.train, validation.test]),
                                  split.train)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_every_validation_slice_is_deterministic_pure_and_ignores_global_rng(
        name, size, seed, fraction, validation_fraction):
    users, times = interactions(size, seed)
    split = make_split(name, users, times, test_fraction=fraction, seed=seed)
    copies = [array.copy() for array in (users, times, split.train, split.test)]

    np.random.seed(123)
    state_before = np.random.get_state()
    first = make_validation(name, users, times, split,
                            validation_fraction=validation_fraction, seed=seed)
    state_after = np.random.get_state()
    assert state_before[0] == state_after[0]
    np.testing.assert_array_equal(state_before[1], state_after[1])
    assert state_before[2:] == state_after[2:], "the slice touched the global numpy RNG"

    np.random.seed(999)
    for array in (users, times, split.train, split.test):
        array.setflags(write=False)  # writing into an input now raises
    second = make_validation(name, users, times, split,
                             validation_fraction=validation_fraction, seed=seed)
    np.testing.assert_array_equal(first.train, second.train)
    np.testing.assert_array_equal(first.test, second.test)
    for array, copy in zip((users, times, split.train, split.test), copies, strict=True):
        np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("name", NAMES)
def test_validation_seed_and_fraction_matter_exactly_when_the_registry_says_so(name):
    strategy = get_split(name)
    users, times = interactions(500, 0)
    split = strategy(users, times, test_fraction=0.2, seed=0)

    def validation_rows(**kwargs):
        return strategy.validation(users, times, split, **{"validation_fraction": 0.1,
                                                           "seed": 0, **kwargs}).test

    assert (not np.array_equal(validation_rows(), validation_rows(seed=1))) == strategy.seeded
    assert (not np.array_equal(validation_rows(), validation_rows(validation_fraction=0.3))
            ) == strategy.uses_test_fraction


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_validation_never_reads_test_rows(name, size, seed, fraction, validation_fraction):
    users, times, split, validation = split_and_validation(name, size, seed, fraction,
                                                           validation_fraction)
    # Test rows moved to the distant past and to one new user: nothing changes.
    times, users = times.copy(), users.copy()
    times[split.test] = 0
    users[split.test] = -1
    again = make_validation(name, users, times, split,
                            validation_fraction=validation_fraction, seed=seed)
    np.testing.assert_array_equal(again.train, validation.train)
    np.testing.assert_array_equal(again.test, validation.test)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_validation_keeps_the_time_order_the_registry_promises(
        name, size, seed, fraction, validation_fraction):
    users, times, split, validation = split_and_validation(name, size, seed, fraction,
                                                           validation_fraction)
    fit, held = validation.train, validation.test
    strategy = get_split(name)
    if strategy.time_ordered == "global":
        # fit < validation (ties at the cut go to validation) <= test.
        assert times[fit].max() < times[held].min()
        assert times[held].max() <= times[split.test].min()
    elif strategy.time_ordered == "per_user":
        for rows in _users(users).values():
            sides = [np.intersect1d(rows, side) for side in (fit, held, split.test)]
            for earlier, later in itertools.combinations(sides, 2):
                if earlier.size and later.size:
                    assert times[earlier].max() <= times[later].min()
    else:
        assert strategy.time_ordered == "none"


@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_random_validation_is_the_rounded_fraction_of_train_and_its_own_draw(
        size, seed, fraction, validation_fraction):
    users, times, split, validation = split_and_validation("random", size, seed, fraction,
                                                           validation_fraction)
    assert validation.test.size == round(split.train.size * validation_fraction)
    # Not the test split's random stream replayed over the training rows.
    replayed = make_split("random", users[split.train], times[split.train],
                          test_fraction=validation_fraction, seed=seed)
    assert not np.array_equal(split.train[replayed.test], validation.test)


@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_temporal_validation_is_the_latest_training_slice_with_ties_at_the_cut(
        size, seed, fraction, validation_fraction):
    users, times, split, validation = split_and_validation("temporal", size, seed, fraction,
                                                           validation_fraction)
    train_times = times[split.train]
    cut = times[validation.test].min()
    np.testing.assert_array_equal(validation.test, split.train[train_times >= cut])
    wanted = round(split.train.size * validation_fraction)
    assert validation.test.size >= wanted
    assert np.count_nonzero(train_times > cut) < wanted  # the latest cut that gives enough


@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_user_temporal_validation_takes_each_users_latest_training_rows(
        size, seed, fraction, validation_fraction, string_ids):
    users, times, split, validation = split_and_validation(
        "user_temporal", size, seed, fraction, validation_fraction, string_ids)
    in_validation = np.isin(np.arange(size), validation.test)
    for user, rows in _users(users[split.train]).items():
        rows = split.train[rows]  # this user's training rows, in row order
        count = rows.size
        held, fit = rows[in_validation[rows]], rows[~in_validation[rows]]
        if count == 1:
            assert held.size == 0, f"user {user} with one training row must keep it"
            continue
        assert held.size == min(max(round(validation_fraction * count), 1), count - 1)
        assert times[fit].max() <= times[held].min()
        for row in held:  # equal timestamps: a later row is later
            assert not np.any((times[fit] == times[row]) & (fit > row))


@pytest.mark.parametrize(VALIDATION_ARGS, VALIDATION_CASES)
def test_leave_last_out_validation_is_each_users_last_training_row(
        size, seed, fraction, validation_fraction, string_ids):
    users, times, split, validation = split_and_validation(
        "leave_last_out", size, seed, fraction, validation_fraction, string_ids)
    held = set(validation.test.tolist())
    for user, rows in _users(users[split.train]).items():
        rows = split.train[rows]
        in_validation = [row for row in rows if row in held]
        if rows.size == 1:
            assert in_validation == [], f"user {user} with one training row must keep it"
            continue
        latest = rows[times[rows] == times[rows].max()].max()  # ties: the later row
        assert in_validation == [latest]


def test_validation_slices_on_a_hand_built_example():
    users = np.array(["a", "b", "a", "a", "c", "a", "b", "b", "c", "a"])
    times = np.array([30, 5, 10, 30, 1, 20, 7, 9, 2, 40])
    # a: rows 2 (t10), 5 (t20), 0 (t30), 3 (t30, later row), 9 (t40);
    # b: rows 1 (t5), 6 (t7), 7 (t9); c: rows 4 (t1), 8 (t2).
    split = make_split("leave_last_out", users, times)
    np.testing.assert_array_equal(split.test, [7, 8, 9])
    validation = make_validation("leave_last_out", users, times, split)
    # Each user's last training row: a -> 3 (ties with 0 at t30: the later row), b -> 6;
    # c keeps its single training row 4.
    np.testing.assert_array_equal(validation.test, [3, 6])
    np.testing.assert_array_equal(validation.train, [0, 1, 2, 4, 5])

    split = make_split("user_temporal", users, times, test_fraction=0.2)
    # a: round(0.2 * 5) = 1 -> row 9; b: round(0.6) = 1 -> row 7; c: round(0.4) = 0, at
    # least 1 -> row 8.
    np.testing.assert_array_equal(split.test, [7, 8, 9])
    validation = make_validation("user_temporal", users, times, split,
                                 validation_fraction=0.5)
    # Training: a has 2, 5, 0, 3 -> round(0.5 * 4) = 2 latest: 0 and 3; b has 1, 6 ->
    # 1 of 2: row 6; c has only row 4: kept.
    np.testing.assert_array_equal(validation.test, [0, 3, 6])
    np.testing.assert_array_equal(validation.train, [1, 2, 4, 5])


def test_temporal_validation_ties_at_the_cut_all_go_to_validation():
    # 12 rows, the latest 2 to test (t 20, 21). Training: 10 rows, 3 wanted in
    # validation, but 4 share the cut second 9: all 4 go to validation.
    times = np.array([1, 9, 2, 3, 9, 4, 20, 9, 5, 21, 6, 9])
    split = temporal_split(np.zeros(12), times, test_fraction=2 / 12)
    np.testing.assert_array_equal(split.test, [6, 9])
    validation = make_validation("temporal", np.zeros(12), times, split,
                                 validation_fraction=0.3)
    np.testing.assert_array_equal(validation.test, [1, 4, 7, 11])
    np.testing.assert_array_equal(validation.train, [0, 2, 3, 5, 8, 10])


def test_random_validation_on_a_hand_built_example_is_a_seeded_subset_of_train():
    times = np.arange(20)
    split = Split(train=np.arange(0, 20, 2), test=np.arange(1, 20, 2))
    by_seed = {seed: make_validation("random", np.zeros(20), times, split,
                                     validation_fraction=0.3, seed=seed).test
               for seed in range(5)}
    for held in by_seed.values():
        assert held.size == 3 and np.all(held % 2 == 0)
    assert len({tuple(held) for held in by_seed.values()}) > 1


def test_unknown_split_name_for_a_validation_slice_lists_every_valid_name():
    split = Split(train=np.arange(3), test=np.array([3]))
    with pytest.raises(UnknownNameError) as caught:
        make_validation("chronological", np.zeros(4), np.arange(4), split)
    assert "'chronological'" in str(caught.value)
    for name in NAMES:
        assert name in str(caught.value)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, math.nan, "0.1", None])
def test_validation_fraction_outside_open_unit_interval_raises(name, fraction):
    users, times = interactions(60, 0)
    split = make_split(name, users, times)
    with pytest.raises(SplitError, match="validation_fraction must be in"):
        make_validation(name, users, times, split, validation_fraction=fraction)


@pytest.mark.parametrize("train", [
    np.array([3, 1, 2]),  # unsorted
    np.array([1, 1, 2]),  # repeated
    np.array([0, 1, 9]),  # outside the 6 rows
    np.array([-1, 0, 1]),
    np.array([0.0, 1.0, 2.0]),  # not integers
    np.array([[0, 1], [2, 3]]),
])
def test_validation_of_a_malformed_split_raises(train):
    with pytest.raises(SplitError, match="split.train must be sorted unique row indices"):
        make_validation("random", np.zeros(6), np.arange(6), Split(train=train,
                                                                   test=np.array([5])))


@pytest.mark.parametrize(("name", "users", "times", "validation_fraction", "empty"), [
    ("random", [1, 1, 1, 1], [1, 2, 3, 4], 0.1, "validation"),  # round(0.1 * 3) == 0
    ("temporal", [1, 1, 1, 1], [5, 5, 5, 9], 0.1, "validation"),
    ("temporal", [1, 1, 1, 1], [5, 5, 5, 9], 0.5, "train"),  # training is one tie group
    ("user_temporal", [1, 1, 2, 2], [1, 2, 1, 2], 0.5, "validation"),  # 1 training row each
    ("leave_last_out", [1, 1, 2, 2], [1, 2, 1, 2], 0.5, "validation"),
])
def test_a_validation_slice_leaving_an_empty_side_raises(name, users, times,
                                                         validation_fraction, empty):
    users, times = np.array(users), np.array(times)
    split = make_split(name, users, times, test_fraction=0.25)
    with pytest.raises(SplitError, match=f"validation slice of split '{name}'.*empty {empty}"):
        make_validation(name, users, times, split, validation_fraction=validation_fraction)


def test_validation_diagnostics_rename_the_test_role_by_hand():
    # Rows 0, 1, 4 are the original training side (temporal, 50%, as above).
    split = Split(train=np.array([0, 1, 4]), test=np.array([2, 3, 5]))
    validation = make_validation("temporal", USERS6, TIMES6, split, validation_fraction=0.4)
    # Training in time: 10 (row 0), 15 (4), 20 (1): round(1.2) = 1 -> row 1 (a, y, t20).
    np.testing.assert_array_equal(validation.train, [0, 4])
    np.testing.assert_array_equal(validation.test, [1])
    # fit users {a, c}, items {x, w}: user a seen, item y unseen.
    assert validation_diagnostics(validation, USERS6, ITEMS6, TIMES6) == {
        "n_train": 2.0, "n_validation": 1.0, "validation_fraction": 1 / 3,
        "future_leak_rate": 0.0, "train_after_validation_start_rate": 0.0,
        "validation_users_unseen": 0.0, "validation_items_unseen": 1.0,
        "cold_user_validation_rate": 0.0, "cold_item_validation_rate": 1.0,
    }
