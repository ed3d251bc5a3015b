"""The tutorial reference runs; the harness's exact top-k against TFRS's FactorizedTopK."""

from __future__ import annotations

import math

import numpy as np
import pytest
from floats import dot_error_bound

from harness.data.synthetic import synthetic_movielens
from harness.evaluation.keys import DEFAULT_KS
from splits import make_split

TINY = {"n_users": 80, "n_items": 300, "n_interactions": 4_000}


def _accuracies(metrics: dict[str, float]) -> list[float]:
    return [metrics[f"test/top_{k}_categorical_accuracy"] for k in DEFAULT_KS]


@pytest.mark.slow
@pytest.mark.parametrize("use_timestamps", [False, True])
def test_reference_trains_and_evaluates_on_tiny_data(use_timestamps):
    from harness.model.tutorial import run_reference

    data = synthetic_movielens(np.random.default_rng(0), **TINY)
    split = make_split("random", data.ratings["user_id"], data.ratings["timestamp"], seed=0)
    result = run_reference(data, split.train, split.test, seed=0,
                           use_timestamps=use_timestamps, epochs=1,
                           warm_evals=2 if use_timestamps else 0)
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
    if use_timestamps:  # asked for two more, warm evaluations
        assert result.warm_queries_per_second == pytest.approx(
            split.test.size / result.warm_eval_seconds)
    else:
        assert result.warm_eval_seconds is None and result.warm_queries_per_second is None


@pytest.mark.realdata
@pytest.mark.slow
def test_reference_runs_on_a_movielens_subsample():
    from harness.data.sources import load_movielens, subsample_users
    from harness.model.tutorial import run_reference

    data = subsample_users(load_movielens(), 0.05)
    split = make_split("random", data.ratings["user_id"], data.ratings["timestamp"], seed=0)
    accuracies = _accuracies(run_reference(data, split.train, split.test, seed=0,
                                           epochs=1).metrics)
    assert all(0.0 <= a <= 1.0 for a in accuracies)
    assert accuracies == sorted(accuracies)


@pytest.fixture(scope="module")
def trained_cell():
    """A harness cell on 1200 candidates (so top-100 is a real cut), trained one epoch."""
    from harness.evaluation.retrieval import embed
    from harness.model.training import TrainOptions
    from harness.model.twotower import candidate_embeddings
    from harness.run.cell import fit_cell
    from harness.run.prepare import prepare_cell

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


def _factorized_top_k_ranks(queries, candidates, true_rows):
    """FactorizedTopK's rule: candidates' matmul scores against ``reduce_sum`` true scores.

    Returns:
        (ranks, outranks_itself): the ranks under that rule, and whether each true
        candidate's own matmul score exceeds its ``reduce_sum`` score.
    """
    from harness.tfcompat import tf

    queries, candidates = tf.constant(queries), tf.constant(candidates)
    true_scores = tf.reduce_sum(queries * tf.gather(candidates, true_rows), axis=1,
                                keepdims=True)
    scores = tf.linalg.matmul(queries, candidates, transpose_b=True)
    ranks = tf.reduce_sum(tf.cast(scores > true_scores, tf.int64), axis=1).numpy()
    own_scores = tf.gather(scores, true_rows, axis=1, batch_dims=1)
    return ranks, (own_scores > true_scores[:, 0]).numpy()


@pytest.mark.slow
@pytest.mark.parametrize("index", ["streaming_dataset", "brute_force"])
def test_factorized_top_k_differs_from_exact_ranks_only_where_it_outranks_itself(
        trained_cell, index):
    """FactorizedTopK scores the true candidate twice, two ways that round differently.

    Its true score is ``reduce_sum(query * candidate)``; the same candidate also sits
    among the top-k scores, computed by a matmul. Where the matmul's rounding comes out
    one unit in the last place higher, the true candidate outranks itself and the
    query loses a rank. The harness's ranks compare like with like (the float64 ranks
    exactly, here); FactorizedTopK's are those ranks plus exactly that self-count.
    """
    from harness.evaluation.metrics import metrics_from_ranks, true_candidate_ranks
    from harness.tfcompat import tf, tfrs

    cell, queries, candidates = trained_cell
    true_rows = cell.test_features["candidate"]
    users = cell.data.ratings["user_id"][cell.split.test]
    rows = np.arange(len(true_rows))
    ranks = true_candidate_ranks(queries, candidates, true_rows)
    scores = queries.astype(np.float64) @ candidates.T.astype(np.float64)
    exact = (scores > scores[rows, true_rows][:, None]).sum(axis=1)
    # Where another candidate scores within float32 rounding of the true one, the
    # order of the two depends on the summation order, which differs between the numba
    # kernel, TensorFlow's matmul and float64, and between CPUs: a near-tie. Elsewhere
    # every path must agree exactly.
    near = np.abs(scores - scores[rows, true_rows][:, None]) <= dot_error_bound(
        queries, candidates)
    near[rows, true_rows] = False
    clear = ~near.any(axis=1)
    assert clear.mean() > 0.95, "near-ties should be rare, else this checks little"
    np.testing.assert_array_equal(ranks[clear], exact[clear])

    if index == "streaming_dataset":
        candidates_index = tf.data.Dataset.from_tensor_slices(candidates).batch(128)
    else:
        candidates_index = tfrs.layers.factorized_top_k.BruteForce(k=max(DEFAULT_KS))
        candidates_index.index(tf.constant(candidates))
    theirs = _factorized_top_k(candidates_index, queries, candidates, true_rows)
    # Their rule, reproduced: the metric is understood to the last query, but for the
    # near-ties, each of which can move one top-k accuracy by one query.
    tfrs_ranks, outranks_itself = _factorized_top_k_ranks(queries, candidates, true_rows)
    np.testing.assert_allclose(_accuracies(metrics_from_ranks(tfrs_ranks, users, "test")),
                               theirs, rtol=0, atol=(~clear).sum() / len(clear) + 1e-6)

    self_count = (tfrs_ranks - ranks)[clear]
    assert set(np.unique(self_count)) <= {0, 1}
    np.testing.assert_array_equal(self_count, outranks_itself[clear])
    assert self_count.mean() > 0.05  # common, not a corner case
    ours = _accuracies(metrics_from_ranks(ranks, users, "test"))
    assert ours[-1] > 2 * 100 / 1_200  # a model that learned something
    # Theirs is a float32 mean (a few float32 ulps of error, ~1e-7 near 1: 0.68583333
    # for 1646/2400 reads back as 0.6858333349); one query is 1/2400 = 4e-4, so the
    # tolerance cannot hide a query their rule ranked in and ours out.
    assert all(o >= t - 1e-6 for o, t in zip(ours, theirs, strict=True))
