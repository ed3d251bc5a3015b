"""TFRS's training options (logQ correction, accidental hits, embedding size) and early
stopping on the validation slice, against what TFRS itself computes.

The loss and its gradients with each option, against ``tfrs.tasks.Retrieval``'s, are
tested in test_models.py; here, that the model passes the options on."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.synthetic import synthetic_movielens
from harness.errors import UserError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data():
    return synthetic_movielens(np.random.default_rng(5), n_users=120, n_items=150,
                               n_interactions=4_000)


@pytest.mark.parametrize("logq, hits", [(True, False), (False, True), (True, True)])
def test_the_model_passes_its_options_to_the_task(data, logq, hits):
    from harness.model.towers import build_model
    from harness.model.training import TrainOptions, sampling_probability
    from harness.run.prepare import prepare_cell
    from harness.tfcompat import tf, tfrs

    cell = prepare_cell(data, "random", "baseline", 0, TrainOptions())
    features = {name: values[:64] for name, values in cell.train_features.items()}
    probability = sampling_probability(cell.train_features["candidate"],
                                       cell.fitted.candidate_titles.size)
    model = build_model(cell.fitted, 0, sampling_probability=probability if logq else None,
                        remove_accidental_hits=hits)
    rows = tf.constant(features["candidate"])
    expected = tfrs.tasks.Retrieval(remove_accidental_hits=hits)(
        model.query_tower(features), model.candidate_tower(rows),
        candidate_sampling_probability=tf.gather(probability, rows) if logq else None,
        candidate_ids=rows if hits else None)
    assert float(model.compute_loss(features, training=True)) == pytest.approx(
        float(expected), rel=1e-5)


def test_sampling_probability_is_each_candidates_training_share():
    from harness.model.training import sampling_probability

    np.testing.assert_allclose(sampling_probability(np.array([0, 0, 2, 2, 2, 3]), 5),
                               np.array([2, 1, 3, 1, 0 + 1], np.float32) / 6)


def test_early_stopping_keeps_the_best_epoch_scored_on_validation_only(data):
    from harness.model.training import TrainOptions
    from harness.model.twotower import validation_score
    from harness.run.cell import fit_cell
    from harness.run.prepare import prepare_cell

    # A learning rate high enough that validation rises, then falls: it stops early.
    options = TrainOptions(epochs=20, batch_size=256, patience=2, learning_rate=1.0)
    cell = prepare_cell(data, "temporal", "baseline", 0, options)
    # The slice is carved from the training side: the model trains on the rest.
    assert cell.train_rows.size < cell.split.train.size
    assert np.isin(cell.train_rows, cell.split.train).all()
    trained = fit_cell(cell)
    scores, best = trained.validation_scores, trained.best_epoch
    assert len(trained.losses) == len(scores) and best == int(np.argmax(scores)) + 1
    assert len(scores) < options.epochs  # it stopped: `patience` epochs without improvement
    assert len(scores) == best + options.patience
    # The weights kept are the best epoch's, not the last's: the same computation on them
    # gives the best score again (exactly: the same path twice).
    assert scores[-1] < scores[best - 1]
    assert validation_score(cell, trained.model) == scores[best - 1]


def test_early_stopping_is_recorded_in_the_result(data):
    from harness.model.training import TrainOptions
    from harness.run.cell import run_cell

    options = TrainOptions(epochs=4, batch_size=256, patience=1, logq=True, embedding_dim=16)
    result = run_cell(data, "random", "baseline", 0, options, env={"test": True})
    assert result.provenance["options"]["logq"] is True
    assert result.provenance["options"]["patience"] == 1
    assert result.provenance["config"]["embedding_dim"] == 16
    assert 1 <= result.sizes["best_epoch"] <= 4
    assert result.metrics["validation/top_100_categorical_accuracy"] == max(
        result.sizes["epoch_validation_scores"])


@pytest.mark.parametrize("changes, message", [
    ({"patience": 0}, "patience must be a positive integer"),
    ({"embedding_dim": 0}, "embedding_dim must be a positive integer"),
    ({"validation_fraction": 1.0}, "validation_fraction must be in"),
])
def test_impossible_options_are_refused(changes, message):
    from harness.model.training import TrainOptions

    with pytest.raises(UserError, match=message):
        TrainOptions(**changes)


def test_early_stopping_without_a_validation_function_is_refused(data):
    from harness.model.training import TrainOptions, train
    from harness.run.prepare import prepare_cell

    cell = prepare_cell(data, "random", "baseline", 0, TrainOptions())
    with pytest.raises(ValueError, match="early stopping needs a validate function"):
        train(cell.fitted, cell.train_features, TrainOptions(patience=2), 0)
