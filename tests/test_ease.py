"""EASE^R: weights against a hand-computed inverse, scores against X_u B summed by hand
(popularity counts for a user with no history), ranks by the tie rule, λ chosen on
constructed validation sets, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

import harness.model.ease as ease_module
from harness.evaluation.metrics import metrics_from_ranks, popularity_ranks
from harness.evaluation.metrics import ranks_ties_against as ranks_from_scores
from harness.model.ease import (
    MAX_SCORES_PER_BLOCK,
    cold_users,
    ease_ranks,
    ease_scores,
    ease_weights,
    fit_ease,
    gram_matrix,
    training_matrix,
)
from harness.model.easegrid import DEFAULT_L2_GRID, select_l2

EPS64 = float(np.finfo(np.float64).eps)

# 4 users x 3 items. Gram XᵀX = [[3, 2, 1], [2, 2, 1], [1, 1, 2]]; with λ = 1,
# G = [[4, 2, 1], [2, 3, 1], [1, 1, 3]], det G = 21 and G⁻¹ = adj(G) / 21 with
# adj(G) = [[8, -5, -1], [-5, 11, -2], [-1, -2, 8]]. B[i, j] = -P[i, j] / P[j, j]:
# column 0 over 8, column 1 over 11, column 2 over 8.
HAND_X = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 1]])
HAND_B = np.array([[0, 5 / 11, 1 / 8], [5 / 8, 0, 1 / 4], [1 / 8, 2 / 11, 0]])


def codes_of(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(user codes, item codes) of a 0/1 matrix's ones, in a shuffled row order."""
    users, items = np.nonzero(matrix)
    order = np.random.default_rng(0).permutation(users.size)
    return users[order], items[order]


def random_interactions(seed: int, num_users: int, num_items: int, n: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """[n] user and item codes with repeats; popular items by a Zipf-like law."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, num_items + 1)
    items = rng.choice(num_items, n, p=popularity / popularity.sum())
    return rng.integers(0, num_users, n), items


# ---------------------------------------------------------------------------------------
# Weights.

def test_weights_match_the_hand_computed_inverse():
    model = fit_ease(*codes_of(HAND_X), num_users=4, num_items=3, l2=1.0)
    # The Cholesky inverse of a matrix of condition number kappa (here 4.3) is within
    # about n * kappa * eps of the exact one (Higham, ch. 14): 3e-15 relative. 1e-12
    # leaves room for any LAPACK; a wrong formula (B transposed, rows normalised
    # instead of columns, the diagonal kept) is off by at least 0.06.
    assert np.linalg.cond(gram_matrix(model.history) + np.eye(3)) < 5
    np.testing.assert_allclose(model.weights, HAND_B, rtol=1e-12, atol=1e-15)
    assert model.l2 == 1.0
    assert (model.num_users, model.num_items) == (4, 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("l2", [0.5, 10.0, 300.0])
def test_weights_satisfy_the_constrained_optimality_condition(seed, l2):
    # min ||X - XB||² + λ||B||² s.t. diag(B) = 0 has, off the diagonal,
    # (XᵀX + λI) B = XᵀX: an independent check of the closed form.
    users, items = random_interactions(seed, 40, 12, 200)
    history = training_matrix(users, items, num_users=40, num_items=12)
    gram = gram_matrix(history)
    weights = ease_weights(gram, l2)
    regularised = gram + l2 * np.eye(12)
    residual = regularised @ weights - gram
    off_diagonal = ~np.eye(12, dtype=bool)
    # Inverse error ~ n kappa eps relative to |B|, then a product of n terms.
    tolerance = 10 * 12 * np.linalg.cond(regularised) * EPS64 * (
        np.abs(regularised) @ np.abs(weights))
    assert np.all(np.abs(residual)[off_diagonal] <= tolerance[off_diagonal])
    assert np.all(np.diag(weights) == 0.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_diagonal_is_exactly_zero_and_fitting_is_deterministic_and_pure(seed):
    users, items = random_interactions(seed, 30, 25, 300)
    users.setflags(write=False)  # writing into an input now raises
    items.setflags(write=False)
    first = fit_ease(users, items, num_users=30, num_items=25, l2=3.0)
    second = fit_ease(users, items, num_users=30, num_items=25, l2=3.0)
    assert np.all(np.diag(first.weights) == 0.0)
    np.testing.assert_array_equal(first.weights, second.weights)  # same path twice


def test_repeated_interactions_count_once_and_unseen_items_score_nothing():
    users, items = codes_of(HAND_X)
    doubled = fit_ease(np.r_[users, users], np.r_[items, items], num_users=4, num_items=4,
                       l2=1.0)
    # Item 3 is in the catalogue but never in training: its column and row of B are 0.
    np.testing.assert_allclose(doubled.weights[:3, :3], HAND_B, rtol=1e-12, atol=1e-15)
    assert np.all(doubled.weights[3] == 0.0) and np.all(doubled.weights[:, 3] == 0.0)
    assert set(doubled.history.data) == {1.0}


# ---------------------------------------------------------------------------------------
# Scores.

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_are_x_u_b_summed_by_hand(seed):
    num_users, num_items = 25, 40
    users, items = random_interactions(seed, num_users - 2, num_items, 300)  # 23, 24 cold
    model = fit_ease(users, items, num_users=num_users, num_items=num_items, l2=5.0)
    batch = np.random.default_rng(seed).integers(0, num_users, 60)
    scores = ease_scores(model, batch)
    assert scores.shape == (60, num_items) and scores.dtype == np.float64
    for row, user in enumerate(batch):
        history = sorted(set(items[users == user].tolist()))  # X is binary
        expected = np.zeros(num_items)
        for item in history:
            expected += model.weights[item]
        # Two summation orders of len(history) terms: each within len(history) * eps/2
        # of the exact sum of |terms| (Higham, eq. 3.5), so within twice that of each
        # other.
        bound = 2 * (len(history) + 1) * EPS64 / 2 * np.abs(model.weights[history]).sum(0)
        if history:
            assert np.all(np.abs(scores[row] - expected) <= bound), (user, history)
        else:  # no history: popularity, every training interaction counted
            assert np.all(scores[row] == np.bincount(items, minlength=num_items)), user


def test_scores_of_the_hand_example():
    model = fit_ease(*codes_of(HAND_X), num_users=5, num_items=3, l2=1.0)
    # User 0 has items 0 and 1: rows 0 + 1 of B; user 4 has none and scores each item
    # by its training count, HAND_X's column sums.
    np.testing.assert_allclose(ease_scores(model, [0, 4]),
                               [HAND_B[0] + HAND_B[1], [3, 2, 2]], rtol=1e-12, atol=1e-15)
    assert cold_users(model, [0, 4, 3]).tolist() == [False, True, False]


# ---------------------------------------------------------------------------------------
# Ranks and the tie rule.

def test_ties_count_against_the_true_item():
    scores = np.array([[3.0, 1.0, 3.0, 2.0]] * 4)
    # Every other item scoring at least as high: item 0 ties with 2 -> 1; 1 is below all
    # -> 3; 2 ties with 0 -> 1; 3 is below 0 and 2 -> 2.
    np.testing.assert_array_equal(ranks_from_scores(scores, [0, 1, 2, 3]), [1, 3, 1, 2])
    np.testing.assert_array_equal(ranks_from_scores(np.zeros((3, 5)), [0, 2, 4]), [4, 4, 4])


@pytest.mark.parametrize("seed", [0, 1])
def test_distinct_scores_rank_by_the_strictly_higher_count(seed):
    rng = np.random.default_rng(seed)
    scores = rng.permutation(50 * 30).reshape(50, 30).astype(np.float64)  # all distinct
    true_items = rng.integers(0, 30, 50)
    brute_force = np.array([np.sum(row > row[item]) for row, item in zip(scores, true_items,
                                                                          strict=True)])
    np.testing.assert_array_equal(ranks_from_scores(scores, true_items), brute_force)


def test_a_user_without_history_gets_popularitys_ranks_and_a_user_with_history_eases():
    num_items = 150
    users, items = random_interactions(0, 20, num_items, 600)
    model = fit_ease(users, items, num_users=22, num_items=num_items, l2=10.0)  # 20, 21 cold
    counts = np.bincount(items, minlength=num_items).astype(np.float64)
    query_users = np.r_[np.full(num_items, 20), np.full(num_items, 3), [21, 21]]
    true_items = np.r_[np.arange(num_items), np.arange(num_items), [0, 1]]
    # Left out (as exclude_seen would): items 0 and 5 from query 7, item 2 from the last.
    seen = (np.array([7, 7, query_users.size - 1]), np.array([0, 5, 2]))
    for pairs in (None, seen):
        ranks = ease_ranks(model, query_users, true_items, block_size=64, seen=pairs)
        cold = query_users != 3
        np.testing.assert_array_equal(
            ranks[cold], popularity_ranks(counts, true_items, pairs)[cold])
        # The same ranks as the popularity baseline's, not the last place of a zero row.
        assert np.count_nonzero(ranks[cold] < num_items - 1) > num_items // 2
        # The scores ease_scores computes for user 3: its sparse row times B.
        warm_scores = np.asarray(model.history[[3]] @ model.weights)[0]
        np.testing.assert_array_equal(
            ranks[~cold], ranks_from_scores(np.tile(warm_scores, (num_items, 1)),
                                            np.arange(num_items)))
    metrics = metrics_from_ranks(ranks[:num_items], query_users[:num_items], "test")
    assert metrics["test/top_100_categorical_accuracy"] == np.mean(
        popularity_ranks(counts, np.arange(num_items)) < 100) > 0


def test_a_user_without_history_under_a_constant_popularity_earns_nothing():
    # Every item trained on once: popularity cannot tell items apart, and neither can the
    # fallback: the true item ranks last, as a constant scorer's must.
    model = fit_ease([0, 0, 1, 1], [0, 1, 2, 3], num_users=3, num_items=4, l2=1.0)
    np.testing.assert_array_equal(ease_ranks(model, [2, 2, 2, 2], [0, 1, 2, 3]), 3)


def test_non_finite_scores_are_refused():
    with pytest.raises(ValueError, match="not all finite"):
        ranks_from_scores(np.array([[1.0, np.nan, 0.0]]), [0])


@pytest.mark.parametrize("block_size", [1, 3, 64, None])
def test_ranks_in_blocks_equal_ranks_of_the_whole_score_matrix(block_size):
    num_users, num_items = 30, 40
    users, items = random_interactions(1, num_users - 1, num_items, 400)
    model = fit_ease(users, items, num_users=num_users, num_items=num_items, l2=2.0)
    rng = np.random.default_rng(2)
    query_users = rng.integers(0, num_users, 200)  # repeats, unsorted, one cold user
    true_items = rng.integers(0, num_items, 200)
    np.testing.assert_array_equal(
        ease_ranks(model, query_users, true_items, block_size),
        ranks_from_scores(ease_scores(model, query_users), true_items))


def test_ranking_twenty_thousand_queries_keeps_each_block_of_scores_small(monkeypatch):
    num_users, num_items = 943, 1664
    users, items = random_interactions(0, num_users, num_items, 5_000)
    model = fit_ease(users, items, num_users=num_users, num_items=num_items, l2=100.0)
    rows_scored = []

    def counting_scores(model, users):
        rows_scored.append(len(users))
        return real_scores(model, users)

    real_scores = ease_module.ease_scores
    monkeypatch.setattr(ease_module, "ease_scores", counting_scores)
    rng = np.random.default_rng(1)
    ranks = ease_ranks(model, rng.integers(0, num_users, 20_000),
                       rng.integers(0, num_items, 20_000))
    assert ranks.shape == (20_000,) and ranks.min() >= 0 and ranks.max() < num_items
    assert max(rows_scored) * num_items <= MAX_SCORES_PER_BLOCK
    # Queries sorted by user: each user is scored in one block, or two at a boundary.
    assert sum(rows_scored) <= num_users + len(rows_scored)


# ---------------------------------------------------------------------------------------
# Choosing λ on a validation slice.

# Items P (popular), H, T and F. H co-occurs with P (5 users, always with F, which
# explains P) more often than with T (4 users). The validation user has only H in
# training and T in validation. Large λ ranks items by co-occurrence with H (P, F first,
# T third); small λ regresses each item on the others, F explains P away, and T comes
# first.
P, H, T, F = range(4)
BASKETS = [[H, T]] * 4 + [[P, H, F]] * 5 + [[P]] * 3 + [[H]]
FIT_USERS = np.repeat(np.arange(len(BASKETS)), [len(basket) for basket in BASKETS])
FIT_ITEMS = np.concatenate(BASKETS)
VALIDATION_USER = len(BASKETS) - 1


def select_on_baskets(grid, validation_users=(VALIDATION_USER,), validation_items=(T,)):
    return select_l2(FIT_USERS, FIT_ITEMS, np.array(validation_users),
                     np.array(validation_items), num_users=len(BASKETS) + 1,
                     num_items=4, l2_grid=grid, k=1)


def test_select_l2_picks_the_lambda_with_the_best_validation_accuracy():
    best, metrics = select_on_baskets((1000.0, 1.0, 30.0))  # neither first, last nor max
    accuracy = {l2: m["validation/top_1_categorical_accuracy"] for l2, m in metrics.items()}
    assert accuracy == {1000.0: 0.0, 1.0: 1.0, 30.0: 0.0}
    assert best == 1.0


def test_select_l2_breaks_ties_towards_the_smaller_lambda():
    """The least regularisation that reaches the best validation accuracy: on a plateau
    (a large λ ranks by co-occurrence alone, and every larger one ties) the choice is where
    the plateau starts, not the grid's last value."""
    best, _ = select_on_baskets((0.1, 1000.0, 1.0))  # 0.1 and 1 both rank T first
    assert best == 0.1
    # A validation user with no history is ranked by popularity under every λ: all tie.
    # H is the most popular item (10 rows), a hit at top 1; T (4 rows) is not.
    for item, hits in ((H, 1.0), (T, 0.0)):
        best, metrics = select_on_baskets((3.0, 30.0, 0.3), validation_users=(len(BASKETS),),
                                          validation_items=(item,))
        assert all(m["validation/top_1_categorical_accuracy"] == hits
                   for m in metrics.values())
        assert best == 0.3


def test_select_l2_reports_the_projects_metrics_for_every_lambda():
    num_users, num_items = 60, 150
    users, items = random_interactions(3, num_users, num_items, 2_000)
    fit, held = slice(400, None), slice(0, 400)
    grid = (1.0, 10.0, 100.0)
    best, metrics = select_l2(users[fit], items[fit], users[held], items[held],
                              num_users=num_users, num_items=num_items, l2_grid=grid)
    assert list(metrics) == list(grid)
    for l2 in grid:
        model = fit_ease(users[fit], items[fit], num_users=num_users, num_items=num_items,
                         l2=l2)
        ranks = ease_ranks(model, users[held], items[held])
        assert metrics[l2] == metrics_from_ranks(ranks, users[held], "validation")
    key = "validation/top_100_categorical_accuracy"
    assert len({m[key] for m in metrics.values()}) > 1  # the choice is not a formality
    assert metrics[best][key] == max(m[key] for m in metrics.values())


def test_default_grid_is_a_positive_log_grid():
    grid = np.array(DEFAULT_L2_GRID)
    assert np.all(grid > 0) and np.all(np.diff(np.log10(grid)) > 0)


# ---------------------------------------------------------------------------------------
# Bad input: one clear ValueError.

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"user_codes": [], "item_codes": []}, "zero training interactions"),
    ({"item_codes": [0, 1, 3]}, r"item codes must lie in \[0, num_items=3\), got values "
                                "from 0 to 3"),
    ({"item_codes": [0, -1, 2]}, r"item codes must lie in \[0, num_items=3\)"),
    ({"user_codes": [0, 1, 9]}, r"user codes must lie in \[0, num_users=4\)"),
    ({"item_codes": [0.0, 1.0, 2.0]}, "item codes must be a 1-D array of integer codes"),
    ({"item_codes": [0, 1]}, "3 user codes for 2 item codes"),
    ({"l2": 0}, "l2 must be a positive finite number, got 0"),
    ({"l2": -1.0}, "l2 must be a positive finite number"),
    ({"l2": float("nan")}, "l2 must be a positive finite number"),
    ({"l2": float("inf")}, "l2 must be a positive finite number"),
    ({"l2": "10"}, "l2 must be a positive finite number"),
    ({"num_items": 0}, "num_items must be a positive integer"),
])
def test_bad_fit_input_raises_a_clear_value_error(kwargs, message):
    arguments = {"user_codes": [0, 1, 2], "item_codes": [0, 1, 2], "num_users": 4,
                 "num_items": 3, "l2": 1.0, **kwargs}
    users, items = arguments.pop("user_codes"), arguments.pop("item_codes")
    with pytest.raises(ValueError, match=message):
        fit_ease(users, items, **arguments)


def test_bad_scoring_and_selection_input_raises_a_clear_value_error():
    model = fit_ease([0, 1], [0, 1], num_users=2, num_items=2, l2=1.0)
    with pytest.raises(ValueError, match=r"users must lie in \[0, num_users=2\)"):
        ease_scores(model, [2])
    with pytest.raises(ValueError, match=r"true items must lie in \[0, num_items=2\)"):
        ease_ranks(model, [0], [5])
    with pytest.raises(ValueError, match="2 users for 1 true items"):
        ease_ranks(model, [0, 1], [0])
    with pytest.raises(ValueError, match="l2 must be a positive finite number, got 0"):
        select_l2([0], [0], [1], [1], num_users=2, num_items=2, l2_grid=(1.0, 0))
    with pytest.raises(ValueError, match="l2_grid is empty"):
        select_l2([0], [0], [1], [1], num_users=2, num_items=2, l2_grid=())
    with pytest.raises(ValueError, match="zero validation interactions"):
        select_l2([0], [0], [], [], num_users=2, num_items=2)
    with pytest.raises(ValueError, match="zero training interactions"):
        select_l2([], [], [1], [1], num_users=2, num_items=2)
