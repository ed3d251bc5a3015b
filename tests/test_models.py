"""The two towers and the in-batch softmax loss against what TFRS would compute."""

from __future__ import annotations

import numpy as np
import pytest
from floats import EPS32, assert_close_in_ulps

from harness.data.synthetic import synthetic_movielens

pytestmark = pytest.mark.slow


def _batch(n: int, dim: int, scale: float, catalogue: int, seed: int = 0):
    """Queries, the true candidates' embeddings, their ids (few distinct: many
    accidental hits) and each candidate's sampling probability."""
    rng = np.random.default_rng(seed)
    queries = (rng.standard_normal((n, dim)) * scale).astype(np.float32)
    table = (rng.standard_normal((catalogue, dim)) * scale).astype(np.float32)
    rows = rng.integers(0, catalogue, n)
    probability = rng.dirichlet(np.ones(catalogue) * 0.3).astype(np.float32)
    return queries, table[rows], rows, probability


@pytest.mark.parametrize("logq", [False, True])
@pytest.mark.parametrize("hits", [False, True])
@pytest.mark.parametrize("n, dim, scale, catalogue", [
    (2, 4, 1.0, 2),        # smallest batch; the two rows may share a candidate
    (48, 8, 1.0, 10),      # random, many duplicates of each candidate
    (64, 8, 30.0, 5),      # huge logits (~|900| * 8): the max-subtraction, no overflow
    (40, 8, 1.0, 1),       # every row the same candidate: all others accidental hits
    (1500, 16, 1.0, 300),  # several tiles of query rows (TILE_SCORES // 1500 rows each)
])
def test_in_batch_softmax_equals_retrievals_loss_and_gradients(n, dim, scale, catalogue,
                                                               logq, hits):
    # The reference is tfrs.tasks.Retrieval itself: the [batch, batch] scores, its
    # SamplingProbablityCorrection and RemoveAccidentalHits (logit + MIN_FLOAT), then
    # CategoricalCrossentropy(from_logits=True, SUM) on the identity labels.
    from harness.model.loss import TILE_SCORES, in_batch_softmax
    from harness.tfcompat import tf, tfrs

    queries, candidates, rows, probability = _batch(n, dim, scale, catalogue)
    queries, candidates = tf.constant(queries), tf.constant(candidates)
    offset = -np.log(np.clip(probability[rows], 1e-6, 1.0)).astype(np.float32)
    upstream = 1.7  # the loss's gradients scale with the upstream gradient
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([queries, candidates])
        ours = upstream * in_batch_softmax(
            queries, candidates, tf.constant(offset) if logq else None,
            tf.constant(rows, tf.int64) if hits else None)
        theirs = upstream * tfrs.tasks.Retrieval(remove_accidental_hits=hits)(
            queries, candidates,
            candidate_sampling_probability=tf.gather(probability, rows) if logq else None,
            candidate_ids=tf.constant(rows) if hits else None)
    # The loss is a sum of n per-row terms added in another order: a few float32 ulps
    # of the total.
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5, abs=1e-5)
    for ours_grad, theirs_grad in zip(tape.gradient(ours, [queries, candidates]),
                                      tape.gradient(theirs, [queries, candidates]),
                                      strict=True):
        # Each gradient entry is the upstream times a sum of embedding values weighted
        # by softmax - onehot (absolute weights summing to at most 2): either path's
        # rounding is a few ulps of 2 * upstream * the largest embedding value per term
        # summed, whatever the entry's own size (it can cancel to ~0: a batch of one
        # candidate). 64 such ulps allow another summation order (another CPU's oneDNN
        # blocking); a wrong term (an unmasked hit, a missed offset, the label on the
        # wrong column) moves an entry by a softmax weight times an embedding value.
        largest = max(float(np.abs(queries.numpy()).max()),
                      float(np.abs(candidates.numpy()).max()))
        tolerance = 64 * EPS32 * 2 * upstream * largest
        np.testing.assert_allclose(ours_grad.numpy(), theirs_grad.numpy(), rtol=0,
                                   atol=tolerance)
    plain = float(upstream * tfrs.tasks.Retrieval()(queries, candidates))
    # The option changes the loss, so its wiring is not a no-op (logQ with one candidate
    # in the catalogue is one: its probability is 1).
    if (hits or logq and catalogue > 1) and n > 2:
        assert abs(float(theirs) - plain) > 10 * 1e-5 * abs(plain)  # 10x the loss check
    if n == 1500:
        assert TILE_SCORES // n < n  # this case does run several tiles


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
    from harness.run.prepare import prepare_cell
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
