"""The two towers and the in-batch softmax loss against what TFRS would compute."""

from __future__ import annotations

import numpy as np
import pytest
from floats import EPS32, assert_close_in_ulps

from harness.data.synthetic import synthetic_movielens

pytestmark = pytest.mark.slow


def _scores(n: int, scale: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, n)) * scale).astype(np.float32)


@pytest.mark.parametrize("n, scale", [(2, 1.0), (7, 1.0), (64, 3.0), (33, 200.0)])
def test_in_batch_softmax_equals_retrieval_cross_entropy_and_its_gradient(n, scale):
    # Retrieval's default: CategoricalCrossentropy(from_logits=True) on an identity
    # label matrix. Large scales check the max-subtraction (no overflow).
    from harness.model.towers import in_batch_softmax
    from harness.tfcompat import keras, tf

    scores = tf.constant(_scores(n, scale))
    upstream = tf.constant(np.random.default_rng(1).uniform(0.5, 2.0, n).astype(np.float32))
    reference = keras.losses.CategoricalCrossentropy(
        from_logits=True, reduction=keras.losses.Reduction.NONE)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(scores)
        ours = in_batch_softmax(scores)
        theirs = reference(tf.eye(n), scores)
        ours_total = tf.reduce_sum(ours * upstream)
        theirs_total = tf.reduce_sum(theirs * upstream)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tape.gradient(ours_total, scores).numpy(),
                               tape.gradient(theirs_total, scores).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_retrieval_task_loss_is_unchanged_by_in_batch_softmax_loss():
    from harness.model.towers import InBatchSoftmaxLoss
    from harness.tfcompat import tf, tfrs

    rng = np.random.default_rng(2)
    queries = tf.constant(rng.standard_normal((50, 8)).astype(np.float32))
    candidates = tf.constant(rng.standard_normal((50, 8)).astype(np.float32))
    ours = tfrs.tasks.Retrieval(loss=InBatchSoftmaxLoss())(queries, candidates)
    theirs = tfrs.tasks.Retrieval()(queries, candidates)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)


def test_training_many_models_registers_no_gradient_per_model():
    # tf.custom_gradient registers a gradient function in a process-wide registry each
    # time it is traced; traced once per model it kept every model's graph alive
    # (~10 MB a cell, 2 GB over the default grid).
    from tensorflow.python.framework import ops

    from harness.model.training import TrainOptions
    from harness.run.cell import run_cell

    data = synthetic_movielens(np.random.default_rng(0), n_users=40, n_items=60,
                               n_interactions=800)
    options = TrainOptions(epochs=1, batch_size=128)
    run_cell(data, "random", "timestamp", 0, options)
    registered = len(ops._gradient_registry.list())
    for seed in (1, 2):
        run_cell(data, "random", "timestamp", seed, options)
    assert len(ops._gradient_registry.list()) == registered


@pytest.mark.parametrize("config", ["all", "deep_timestamp"])
def test_catalogue_equals_the_per_batch_tower(config):
    # Three paths to the same embeddings: the whole catalogue, every row through
    # embed_candidates, and the training path (distinct candidates of a batch, gathered
    # back). Their Dense matmuls and sparse word means have different shapes, so they
    # agree to a few float32 ulps (floats.assert_close_in_ulps), not bit for bit, on a
    # CPU other than the one that wrote this test.
    from harness.model.towers import build_model
    from harness.model.training import TrainOptions
    from harness.run.cell import prepare_cell
    from harness.tfcompat import tf

    data = synthetic_movielens(np.random.default_rng(3), n_users=30, n_items=50,
                               n_interactions=600)
    cell = prepare_cell(data, "random", config, 0, TrainOptions(epochs=1))
    tower = build_model(cell.fitted, 0).candidate_tower
    catalogue = tower.catalogue().numpy()
    rows = tf.range(tower.num_candidates, dtype=tf.int64)
    assert_close_in_ulps(tower.embed_candidates(rows).numpy(), catalogue)
    batch = np.array([3, 3, 0, 7, 3], np.int64)
    assert_close_in_ulps(tower(batch).numpy(), catalogue[batch])
    # The tolerance is far below what a wrong row would move.
    assert np.abs(catalogue[3] - catalogue[7]).max() > 1e3 * EPS32 * np.abs(catalogue).max()
