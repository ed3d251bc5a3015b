"""The tutorial reference runs, and the harness's top-k metrics equal TFRS's FactorizedTopK."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.evaluate import DEFAULT_KS
from harness.synthetic import synthetic_movielens
from splits import make_split

TINY = {"n_users": 80, "n_items": 300, "n_interactions": 4_000}


def _accuracies(metrics: dict[str, float]) -> list[float]:
    return [metrics[f"test/top_{k}_categorical_accuracy"] for k in DEFAULT_KS]


@pytest.mark.slow
@pytest.mark.parametrize("use_timestamps", [False, True])
def test_reference_trains_and_evaluates_on_tiny_data(use_timestamps):
    from harness.tutorial_reference import run_reference

    data = synthetic_movielens(np.random.default_rng(0), **TINY)
    split = make_split("random", data.ratings["user_id"], data.ratings["timestamp"], seed=0)
    result = run_reference(data, split.train, split.test, seed=0,
                           use_timestamps=use_timestamps, epochs=1,
                           warm_eval=use_timestamps)
    accuracies = _accuracies(result.metrics)
    assert set(result.metrics) == {f"test/top_{k}_categorical_accuracy" for k in DEFAULT_KS}
    assert all(math.isfinite(a) and 0.0 <= a <= 1.0 for a in accuracies)
    assert accuracies == sorted(accuracies)
    # 300 candidates: the top 100 of a model that learned nothing would hold a third.
    assert accuracies[-1] > 0.4
    assert (result.n_train, result.n_test) == (split.train.size, split.test.size)
    assert result.train_seconds > 0 and result.eval_seconds > 0
    assert result.examples_per_second == pytest.approx(split.train.size
                                                       / result.train_seconds)
    assert result.queries_per_second == pytest.approx(split.test.size / result.eval_seconds)
    assert len(result.losses) == 1 and math.isfinite(result.losses[0])
    if use_timestamps:  # asked for a second, warm evaluation
        assert result.warm_queries_per_second == pytest.approx(
            split.test.size / result.warm_eval_seconds)
    else:
        assert result.warm_eval_seconds is None and result.warm_queries_per_second is None


@pytest.mark.realdata
@pytest.mark.slow
def test_reference_runs_on_a_movielens_subsample():
    from harness.data import load_movielens, subsample_users
    from harness.tutorial_reference import run_reference

    data = subsample_users(load_movielens(), 0.05)
    split = make_split("random", data.ratings["user_id"], data.ratings["timestamp"], seed=0)
    accuracies = _accuracies(run_reference(data, split.train, split.test, seed=0,
                                           epochs=1).metrics)
    assert all(0.0 <= a <= 1.0 for a in accuracies)
    assert accuracies == sorted(accuracies)


@pytest.fixture(scope="module")
def trained_cell():
    """A harness cell on 1200 candidates (so top-100 is a real cut), trained one epoch."""
    from harness.cell import candidate_embeddings, fit_cell, prepare_cell
    from harness.evaluate import embed
    from harness.training import TrainOptions

    data = synthetic_movielens(np.random.default_rng(1), n_users=200, n_items=1_200,
                               n_interactions=12_000)
    cell = prepare_cell(data, "random", "timestamp", 0, TrainOptions(epochs=1,
                                                                     batch_size=512))
    trained = fit_cell(cell)
    queries = embed(trained.model.query_tower, cell.test_features).numpy()
    candidates = candidate_embeddings(cell, trained).numpy()
    return cell, queries, candidates


def _factorized_top_k(candidates_index, queries, candidates, true_rows):
    from harness.tfcompat import tf, tfrs

    metric = tfrs.metrics.FactorizedTopK(candidates=candidates_index, ks=DEFAULT_KS)
    for start in range(0, len(queries), 1024):  # the tutorial's way: batch by batch
        stop = start + 1024
        metric.update_state(tf.constant(queries[start:stop]),
                            tf.gather(candidates, true_rows[start:stop]))
    return [float(value) for value in metric.result()]


@pytest.mark.slow
@pytest.mark.parametrize("index", ["streaming_dataset", "brute_force"])
def test_harness_top_k_equals_factorized_top_k(trained_cell, index):
    from harness.evaluate import metrics_from_ranks, true_candidate_ranks
    from harness.tfcompat import tf, tfrs

    cell, queries, candidates = trained_cell
    true_rows = cell.test_features["candidate"]
    ranks = true_candidate_ranks(queries, candidates, true_rows)
    users = cell.data.ratings["user_id"][cell.split.test]
    ours = _accuracies(metrics_from_ranks(ranks, users, "test"))

    if index == "streaming_dataset":
        candidates_index = tf.data.Dataset.from_tensor_slices(candidates).batch(128)
    else:
        candidates_index = tfrs.layers.factorized_top_k.BruteForce(k=max(DEFAULT_KS))
        candidates_index.index(tf.constant(candidates))
    theirs = _factorized_top_k(candidates_index, queries, candidates, true_rows)

    # A metric that ignored the model would sit near k / 1200; make sure these are not.
    assert ours[-1] > 2 * 100 / 1_200
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
