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
