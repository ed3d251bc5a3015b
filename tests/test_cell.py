"""Cells, features and models on a small slice of the real data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import harness
from harness.data.sources import load_movielens, subsample_users
from harness.errors import TrainingError, UserError
from harness.model.features import CONFIGS, fit_features, get_config
from harness.model.registry import POPULARITY
from harness.model.training import TrainOptions
from harness.record.cell import Cell
from harness.record.cellentry import entry_info
from harness.record.redaction import to_jsonable
from harness.run.cell import run_cell
from harness.run.prepare import prepare_cell
from splits import SplitError, UnknownNameError

pytestmark = pytest.mark.realdata

FAST = TrainOptions(epochs=1, batch_size=512)


@pytest.fixture(scope="module")
def small():
    """5% of users (about 5k ratings) of the real MovieLens-100k."""
    return subsample_users(load_movielens(source="recbole"), 0.05, seed=1)


def _top100(result) -> float:
    return result.metrics["test/top_100_categorical_accuracy"]


def test_same_cell_twice_gives_identical_metrics(small):
    first = run_cell(small, "random", "timestamp", 3, FAST)
    second = run_cell(small, "random", "timestamp", 3, FAST)
    assert first.metrics == second.metrics
    assert first.sizes["epoch_losses"] == second.sizes["epoch_losses"]


def test_seed_changes_initialisation_and_shuffling(small):
    # temporal is not seeded, so any difference comes from initialisation and shuffling.
    first = run_cell(small, "temporal", "baseline", 0, FAST)
    second = run_cell(small, "temporal", "baseline", 1, FAST)
    assert first.leakage == second.leakage
    assert first.sizes["epoch_losses"] != second.sizes["epoch_losses"]


def test_record_carries_metrics_leakage_and_provenance(small):
    result = run_cell(small, "temporal", "genres", 0, FAST)
    for k in (1, 5, 10, 50, 100):
        for prefix in ("test", "train"):
            assert f"{prefix}/top_{k}_categorical_accuracy" in result.metrics
            assert f"{prefix}/recall_at_{k}" in result.metrics
            assert f"{prefix}/ndcg_at_{k}" in result.metrics
    accuracies = [result.metrics[f"test/top_{k}_categorical_accuracy"]
                  for k in (1, 5, 10, 50, 100)]
    assert accuracies == sorted(accuracies)
    assert result.leakage["future_leak_rate"] == 0.0
    provenance = result.provenance
    assert provenance["config"] == get_config("genres").to_dict()
    assert provenance["fit_on"] == "train" and provenance["epochs"] == 1
    assert provenance["data_sha256"] == small.sha256
    assert set(provenance["versions"]) == {"python", "tensorflow", "tf_keras",
                                           "tensorflow_recommenders", "numpy"}
    assert provenance["utc_time"].endswith("+00:00")
    assert provenance["suite_version"] == harness.__version__ != "unknown"
    assert result.timings["examples_per_second"] > 0
    assert result.cell == Cell("temporal", "genres", "train", 0) and result.epochs == 1
    assert to_jsonable(entry_info(result, "train", 1.0))["metrics"] == result.metrics


def test_every_registered_configuration_trains(small):
    for name in CONFIGS:
        result = run_cell(small, "random", name, 0, FAST)
        assert 0.0 < _top100(result) <= 1.0, name


def test_popularity_is_scored_by_the_same_evaluator(small):
    result = run_cell(small, "temporal", POPULARITY, 0, FAST)
    assert result.model == POPULARITY
    assert 0.0 < _top100(result) < 1.0
    assert set(result.metrics) == set(run_cell(small, "temporal", "baseline", 0,
                                               FAST).metrics)


def test_fit_on_train_excludes_the_test_period(small):
    train_cell = prepare_cell(small, "temporal", "timestamp", 0, FAST)
    all_cell = prepare_cell(small, "temporal", "timestamp", 0,
                            dataclasses.replace(FAST, fit_on="all"))
    timestamps = small.ratings["timestamp"]
    test_times = timestamps[train_cell.split.test]
    # Fitted on train, the last bucket edge is the last training time, before the test.
    assert train_cell.fitted.timestamp_boundaries[-1] < test_times.min()
    assert all_cell.fitted.timestamp_boundaries[-1] == timestamps.max()
    # Users first seen in the test period are out of vocabulary (id 0) only on train.
    assert (train_cell.test_features["user_id"] == 0).any()
    assert not (all_cell.test_features["user_id"] == 0).any()
    assert train_cell.fitted.fit_on == "train" and all_cell.fitted.fit_on == "all"


def test_preprocessing_matches_the_keras_layers(small):
    from harness.tfcompat import keras

    cell = prepare_cell(small, "random", "timestamp", 0, dataclasses.replace(FAST,
                                                                              fit_on="all"))
    rows = cell.split.test
    ratings = small.ratings
    lookup = keras.layers.StringLookup(vocabulary=cell.fitted.vocabularies["user_id"],
                                       mask_token=None)
    np.testing.assert_array_equal(cell.test_features["user_id"],
                                  lookup(ratings["user_id"][rows]).numpy())
    boundaries = cell.fitted.timestamp_boundaries.tolist()
    discretize = keras.layers.Discretization(bin_boundaries=boundaries)
    keras_buckets = discretize(ratings["timestamp"][rows].astype(np.float64)).numpy()
    # Keras compares in float32 (about 64 s of resolution at these timestamps); ours is
    # exact, so a row within float32 rounding of an edge may sit one bucket over.
    difference = np.abs(cell.test_features["timestamp_bucket"] - keras_buckets)
    assert difference.max() <= 1 and np.mean(difference > 0) < 0.01
    normalize = keras.layers.Normalization(axis=None)
    normalize.adapt(ratings["timestamp"].astype(np.float64))
    np.testing.assert_allclose(cell.test_features["timestamp_normalized"],
                               normalize(ratings["timestamp"][rows].astype(np.float64)
                                         ).numpy(), atol=1e-4)


def test_duplicate_titles_are_one_candidate():
    data = load_movielens(source="recbole")
    fitted = fit_features(get_config("baseline"), data, np.arange(data.num_ratings), "all")
    assert fitted.candidate_titles.size == 1664
    assert fitted.title_tokens.shape[0] == 1664


def test_nan_loss_is_a_clear_error_naming_the_cell(small):
    with pytest.raises(TrainingError, match=r"random/baseline/seed0: loss became nan"):
        run_cell(small, "random", "baseline", 0, dataclasses.replace(FAST,
                                                                     learning_rate=1e38))


def test_unknown_names_and_bad_options(small):
    with pytest.raises(UnknownNameError, match="valid: all, baseline"):
        run_cell(small, "random", "nope", 0, FAST)
    with pytest.raises(UnknownNameError, match="valid: leave_last_out, random"):
        run_cell(small, "nope", "baseline", 0, FAST)
    with pytest.raises(UserError, match="seed"):
        run_cell(small, "random", "baseline", -1, FAST)
    with pytest.raises(UserError, match="epochs"):
        TrainOptions(epochs=0)
    with pytest.raises(UserError, match="fit_on"):
        TrainOptions(fit_on="test")


def test_a_split_with_an_empty_side_is_a_clear_error(small):
    # Every rating at one second: the temporal cut puts them all in test.
    ratings = {**small.ratings, "timestamp": np.full(small.num_ratings, 880_000_000)}
    same_time = dataclasses.replace(small, ratings=ratings)
    with pytest.raises(SplitError, match="empty train side"):
        run_cell(same_time, "temporal", "baseline", 0, FAST)


@pytest.mark.parametrize("split", ["random"])
def test_the_ease_baseline_chooses_its_l2_on_validation_rows_only(small, split):
    # Blind to test: every test rating's title replaced by another's leaves the chosen
    # L2 and its validation score unchanged, while the test metrics do change.
    first = run_cell(small, split, "ease", 0, FAST)
    assert first.model == "ease" and first.cell.config == "ease"
    test_rows = prepare_cell(small, split, "ease", 0, FAST).split.test
    titles = small.ratings["movie_title"].copy()
    titles[test_rows] = np.random.default_rng(0).permutation(titles[test_rows])
    shuffled = dataclasses.replace(small, ratings={**small.ratings, "movie_title": titles})
    second = run_cell(shuffled, split, "ease", 0, FAST)
    chosen = first.provenance["config"]
    assert chosen == second.provenance["config"] and chosen["l2"] > 0
    assert set(chosen) - {"l2_at_edge"} == {"name", "l2", "validation/top_100_categorical_accuracy",
                                            "cold_fallback", "cold_queries", "cold_users"}
    assert 0.0 < _top100(first) < 1.0
    assert first.metrics != second.metrics
