"""The popularity baseline's scores and ranks, worked by hand and against brute force.

The baseline scores each candidate by its training interaction count; equal counts tie,
and ties count against the true candidate (``harness.evaluation.metrics.popularity_ranks``):
its rank is the number of other candidates with a count at least as high. A tie never
earns a hit: when every count is equal every true candidate ranks last and top-k
accuracy is 0, not 1 as the "strictly higher" rule would give.
"""

from __future__ import annotations

import numpy as np
import pytest

# Five candidates. Training interactions: candidate 1 four times, candidates 0, 2 and 4
# twice each (a three-way tie), candidate 3 never.
TRAIN_CANDIDATES = np.array([1, 4, 0, 1, 2, 1, 4, 2, 0, 1])
NUM_CANDIDATES = 5
EXPECTED_SCORES = np.array([2.0, 4.0, 2.0, 0.0, 2.0])
# 1 (count 4) first; each of the tied 0, 2, 4 is outranked by 1 and the two others;
# 3 (count 0) by all four.
EXPECTED_RANK_OF_CANDIDATE = np.array([3, 0, 3, 4, 3])


def brute_force_ranks(counts: np.ndarray, true_candidates: np.ndarray) -> np.ndarray:
    """Rank by the definition: the other candidates with a count at least as high.

    Args:
        counts: [num_candidates] integer training counts.
        true_candidates: [n] rows of the true candidates.

    Returns:
        [n] int64 ranks.
    """
    ranks = []
    for true in true_candidates:
        ranks.append(int((counts >= counts[true]).sum()) - 1)
    return np.array(ranks, dtype=np.int64)


def test_scores_and_ranks_worked_by_hand():
    from harness.evaluation.metrics import popularity_ranks, popularity_scores

    scores = popularity_scores(TRAIN_CANDIDATES, NUM_CANDIDATES)
    assert scores.dtype == np.float64 and scores.shape == (NUM_CANDIDATES,)
    np.testing.assert_array_equal(scores, EXPECTED_SCORES)  # counts: exact

    true_candidates = np.array([3, 0, 1, 4, 2, 2, 0, 3])  # repeats, every candidate
    ranks = popularity_ranks(scores, true_candidates)
    assert ranks.dtype == np.int64
    np.testing.assert_array_equal(ranks, [4, 3, 0, 3, 3, 3, 3, 4])
    np.testing.assert_array_equal(ranks, EXPECTED_RANK_OF_CANDIDATE[true_candidates])


def test_candidates_never_rated_in_training_all_rank_last():
    from harness.evaluation.metrics import popularity_ranks, popularity_scores

    # Only row 2 was seen; rows 0, 1, 3 (count 0) tie behind it, each last.
    scores = popularity_scores(np.array([2, 2]), 4)
    np.testing.assert_array_equal(popularity_ranks(scores, np.arange(4)), [3, 3, 0, 3])


@pytest.mark.parametrize("seed", range(5))
def test_ranks_match_the_brute_force_rule_on_random_counts(seed):
    from harness.evaluation.metrics import popularity_ranks, popularity_scores

    rng = np.random.default_rng(seed)
    num_candidates = int(rng.integers(20, 300))
    # Few interactions per candidate, so most counts are shared by many candidates.
    train = rng.integers(0, num_candidates, size=int(rng.integers(0, 3 * num_candidates)))
    true_candidates = rng.integers(0, num_candidates, size=500)
    counts = np.bincount(train, minlength=num_candidates)
    assert np.unique(counts).size < num_candidates  # ties present

    scores = popularity_scores(train, num_candidates)
    np.testing.assert_array_equal(popularity_ranks(scores, true_candidates),
                                  brute_force_ranks(counts, true_candidates))
    # The same rule as the per-query one EASE uses, on a broadcast global order.
    from harness.evaluation.metrics import ranks_ties_against

    np.testing.assert_array_equal(
        popularity_ranks(scores, true_candidates),
        ranks_ties_against(np.broadcast_to(scores, (500, num_candidates)), true_candidates))


@pytest.mark.parametrize("k", [1, 5, 10])
def test_all_equal_popularity_earns_nothing(k):
    from harness.evaluation.metrics import metrics_from_ranks, popularity_ranks, popularity_scores

    num_candidates = 50
    train = np.repeat(np.arange(num_candidates), 3)  # every count equal
    scores = popularity_scores(train, num_candidates)
    true_candidates = np.random.default_rng(k).permutation(num_candidates)
    ranks = popularity_ranks(scores, true_candidates)
    np.testing.assert_array_equal(ranks, num_candidates - 1)  # every one last
    metrics = metrics_from_ranks(ranks, np.zeros(num_candidates, np.int64), "test", (k,))
    assert metrics[f"test/top_{k}_categorical_accuracy"] == 0.0


def test_popularity_cell_counts_training_rows_only():
    """The cell's scores come from the training split's interactions, ranked on test."""
    from harness.data.synthetic import synthetic_movielens
    from harness.evaluation.metrics import metrics_from_ranks
    from harness.model.training import TrainOptions
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell
    from harness.run.prepare import prepare_cell
    from harness.run.result import result_of

    data = synthetic_movielens(np.random.default_rng(0), n_users=40, n_items=30,
                               n_interactions=600)
    cell = prepare_cell(data, "temporal", "popularity", 0, TrainOptions())
    counts = np.bincount(data.title_codes[cell.split.train],
                         minlength=data.candidate_titles.size)
    test_ranks = brute_force_ranks(counts, data.title_codes[cell.split.test])
    expected = metrics_from_ranks(test_ranks, data.user_codes[cell.split.test], "test")
    # A non-empty env: ``{}`` would make the record look the environment up (git, CPU).
    fitted = fit_cell(cell)
    metrics = result_of(cell, fitted, *evaluate_cell(cell, fitted), env={"test": True}).metrics
    for key, value in expected.items():
        # Same ranks through the same metric code: equal exactly.
        assert metrics[key] == value, key
