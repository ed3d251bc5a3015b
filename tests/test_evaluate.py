"""Metrics from ranks, worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.evaluation.metrics import metrics_from_ranks

RANKS = np.array([0, 3, 150, 99, 100])
USERS = np.array([0, 0, 7, 9, 9])  # codes with gaps: users 1-6 and 8 have no rows
KS = (1, 5, 100)


def test_metrics_worked_by_hand():
    metrics = metrics_from_ranks(RANKS, USERS, "test", KS)
    expected = {
        "test/top_1_categorical_accuracy": 1 / 5,
        "test/top_5_categorical_accuracy": 2 / 5,
        "test/top_100_categorical_accuracy": 3 / 5,
        # per user first (0: 2 rows, 7: 1, 9: 2), then over the three users
        "test/recall_at_1": (1 / 2 + 0 + 0) / 3,
        "test/recall_at_5": (2 / 2 + 0 + 0) / 3,
        "test/recall_at_100": (2 / 2 + 0 + 1 / 2) / 3,
        "test/ndcg_at_1": 1 / 5,
        "test/ndcg_at_5": (1 + 1 / math.log2(5)) / 5,
        "test/ndcg_at_100": (1 + 1 / math.log2(5) + 1 / math.log2(101)) / 5,
        "test/mrr_at_100": (1 + 1 / 4 + 1 / 100) / 5,
    }
    assert metrics.keys() == expected.keys()
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, rel=1e-12), key
        assert type(metrics[key]) is float, key  # plain floats for JSON


def test_ranks_capped_at_the_largest_cut_off_give_the_same_metrics():
    capped = np.minimum(RANKS, max(KS))
    assert metrics_from_ranks(capped, USERS, "test", KS) == metrics_from_ranks(
        RANKS, USERS, "test", KS)


def test_any_user_labels_give_the_same_metrics_as_codes():
    labels = np.array(["u0", "u0", "u7", "u9", "u9"])
    assert metrics_from_ranks(RANKS, labels, "x", KS) == pytest.approx(
        {key.replace("test/", "x/"): value
         for key, value in metrics_from_ranks(RANKS, USERS, "test", KS).items()})


def test_no_interactions_is_an_error():
    with pytest.raises(ValueError, match="zero interactions"):
        metrics_from_ranks(np.zeros(0, np.int64), np.zeros(0, np.int64), "test")


@pytest.mark.parametrize("collapse", ["zero_queries", "identical_candidates"])
def test_a_model_that_scores_every_candidate_alike_earns_nothing(collapse):
    # Ties count in the true candidate's favour, so a collapsed model (every score
    # equal) would otherwise rank every true candidate first: accuracy 1.
    from harness.evaluation.metrics import true_candidate_ranks

    rng = np.random.default_rng(0)
    queries = rng.standard_normal((50, 8)).astype(np.float32)
    candidates = rng.standard_normal((30, 8)).astype(np.float32)
    if collapse == "zero_queries":
        queries[:] = 0.0
    else:
        candidates[:] = candidates[0]
    true_rows = rng.integers(0, 30, 50)
    for cap in (None, 10, 100):
        ks = tuple(k for k in (1, 5, 10, 29) if cap is None or k <= cap)  # ranks valid < cap
        ranks = true_candidate_ranks(queries, candidates, true_rows, cap)
        metrics = metrics_from_ranks(ranks, np.arange(50) % 7, "test", ks)
        assert all(metrics[f"test/top_{k}_categorical_accuracy"] == 0.0 for k in ks), cap


def test_only_constant_queries_lose_their_ties():
    from harness.evaluation.metrics import true_candidate_ranks

    rng = np.random.default_rng(1)
    queries = rng.standard_normal((6, 4)).astype(np.float32)
    candidates = rng.standard_normal((9, 4)).astype(np.float32)
    true_rows = rng.integers(0, 9, 6)
    before = true_candidate_ranks(queries, candidates, true_rows)
    queries[2] = 0.0
    after = true_candidate_ranks(queries, candidates, true_rows)
    assert after[2] == 8
    np.testing.assert_array_equal(np.delete(after, 2), np.delete(before, 2))
