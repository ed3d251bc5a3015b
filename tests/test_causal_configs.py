"""The causal feature configurations (harness.model.causal) in the pipeline: a training
row's features never read a test row; a test query's past is its protocol's earlier rows
(online: the split's, test rows included; training side only: the training side's),
checked against a loop; nothing at or after a row's second reaches its features; the
configurations train end to end; and they are opt-in: the default grid and every earlier
configuration's description (the committed tuned file's fingerprint) are unchanged."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from pasttable import whole_day_table

from harness.data.history import NONE, log2_buckets
from harness.model.causal import (
    CAUSAL_CONFIGS,
    HISTORY,
    ONLINE,
    TRAIN_SIDE,
    PastOptions,
    history_rows,
)
from harness.model.features import CONFIGS, DEFAULT_CONFIGS, FeatureConfig
from harness.model.training import TrainOptions
from harness.record.fingerprint import config_description
from harness.record.grid import DEFAULT_BASELINES
from harness.run.settings import GridSettings

ROOT = Path(__file__).resolve().parent.parent
FAST = TrainOptions(epochs=1, batch_size=512)
ENV = {"test": True}  # a non-empty env: {} would look the environment up (git, CPU)
CAUSAL = tuple(name for name, _, _ in CAUSAL_CONFIGS)
PAST = ("user_recency", "user_activity", HISTORY)
LENGTH = 20  # the registered configurations' history length


@pytest.fixture(scope="module")
def table():
    return whole_day_table()


def _prepared(data, config: str, options: TrainOptions = FAST):
    from harness.run.prepare import prepare_cell

    return prepare_cell(data, "random", config, 0, options)


def _retitled(data, rows: np.ndarray):
    """``data`` with the rated title of ``rows`` moved to the next catalogue title."""
    titles = data.candidate_titles
    moved = data.ratings["movie_title"].copy()
    moved[rows] = titles[(data.title_codes[rows] + 1) % titles.size]
    return dataclasses.replace(data, ratings={**data.ratings, "movie_title": moved})


def _reference(data, rows: np.ndarray, past_rows: np.ndarray):
    """Each row's (recency bucket, activity bucket, last titles) by a loop: the rows of
    ``past_rows`` of its user strictly before its second, most recent first (a second's
    rows by table position, the later first)."""
    users, times, titles = data.user_codes, data.ratings["timestamp"], data.title_codes
    recency, activity, last = [], [], []
    for row in rows:
        past = past_rows[(users[past_rows] == users[row]) & (times[past_rows] < times[row])]
        past = past[np.lexsort((-past, -times[past]))]
        activity.append(past.size)
        recency.append(times[row] - times[past[0]] if past.size else NONE)
        items = titles[past[:LENGTH]]
        last.append(np.pad(items, (0, LENGTH - items.size), constant_values=NONE))
    return {"user_recency": log2_buckets(recency), "user_activity": log2_buckets(activity),
            HISTORY: np.array(last)}


# The protocol: which rows are a query's past.

def test_a_training_rows_features_never_read_a_test_row(table):
    cell = _prepared(table, "causal")
    planted = _prepared(_retitled(table, cell.split.test), "causal")
    np.testing.assert_array_equal(planted.split.test, cell.split.test)
    for name in PAST:
        np.testing.assert_array_equal(planted.train_features[name], cell.train_features[name])
    # The planted titles do reach the test queries' online past.
    assert not np.array_equal(planted.test_features[HISTORY], cell.test_features[HISTORY])


def test_a_training_side_past_ignores_test_rows_at_evaluation_too(table):
    cell = _prepared(table, "causal_trainside")
    planted = _prepared(_retitled(table, cell.split.test), "causal_trainside")
    for side in ("train", "test"):
        for name in PAST:
            np.testing.assert_array_equal(planted.features(side)[name],
                                          cell.features(side)[name])


@pytest.mark.parametrize("patience", [None, 1])
@pytest.mark.parametrize("config", ["causal", "causal_trainside"])
def test_each_sides_past_is_its_protocols_earlier_rows(table, config, patience):
    """Without early stopping: training rows and test rows. With it, the validation
    slice too, which is a test set of the training side: its online past is the split's
    training side, its training-side past the rows trained on."""
    cell = _prepared(table, config, dataclasses.replace(FAST, patience=patience))
    split, trained = cell.split, cell.train_rows
    online = CONFIGS[config].past.history_protocol == ONLINE
    pasts = {"train": trained,
             "test": np.union1d(split.train, split.test) if online else split.train}
    if patience is not None:
        assert trained.size < split.train.size
        pasts["validation"] = split.train if online else trained
    for side, past_rows in pasts.items():
        expected = _reference(table, cell.rows(side), past_rows)
        for name in PAST:
            np.testing.assert_array_equal(cell.features(side)[name], expected[name],
                                          err_msg=f"{side} {name}")


def test_online_past_holds_earlier_test_rows_and_the_training_side_past_does_not(table):
    online, trainside = _prepared(table, "causal"), _prepared(table, "causal_trainside")
    more = online.test_features["user_activity"] > trainside.test_features["user_activity"]
    assert more.any()
    assert (online.test_features["user_activity"]
            >= trainside.test_features["user_activity"]).all()
    for name in PAST:  # the training rows read the same past under both protocols
        np.testing.assert_array_equal(online.train_features[name],
                                      trainside.train_features[name])


@pytest.mark.parametrize("quantile", [0.3, 0.6, 0.9])
def test_nothing_at_or_after_a_rows_second_reaches_its_features(table, quantile):
    """The leak test: every row at or after a cut second gets another title; no row up to
    that second, the cut's own included, changes a feature of its past."""
    times = table.ratings["timestamp"]
    cut = np.quantile(times, quantile, method="nearest")
    planted_table = _retitled(table, np.flatnonzero(times >= cut))
    for config in ("causal", "causal_trainside"):
        cell, planted = _prepared(table, config), _prepared(planted_table, config)
        for side in ("train", "test"):
            upto = times[cell.rows(side)] <= cut
            for name in PAST:
                np.testing.assert_array_equal(planted.features(side)[name][upto],
                                              cell.features(side)[name][upto],
                                              err_msg=f"{config} {side} {name}")
    # Rows after the cut do read the planted titles.
    after = times[cell.rows("train")] > cut
    assert not np.array_equal(planted.train_features[HISTORY][after],
                              cell.train_features[HISTORY][after])


def test_history_rows_per_side_and_protocol():
    from splits import Split

    split = Split(train=np.array([0, 2, 3, 5]), test=np.array([1, 4]))
    trained = np.array([0, 3, 5])  # the validation slice [2] held out
    for protocol in (ONLINE, TRAIN_SIDE):
        np.testing.assert_array_equal(history_rows(protocol, "train", split, trained), trained)
    np.testing.assert_array_equal(history_rows(ONLINE, "test", split, trained), np.arange(6))
    np.testing.assert_array_equal(history_rows(TRAIN_SIDE, "test", split, trained), split.train)
    np.testing.assert_array_equal(history_rows(ONLINE, "validation", split, trained), split.train)
    np.testing.assert_array_equal(history_rows(TRAIN_SIDE, "validation", split, trained), trained)
    with pytest.raises(ValueError, match="history protocol must be one of"):
        history_rows("everything", "test", split, trained)


# The model.

def test_the_history_is_pooled_as_the_mean_of_its_filled_slots():
    from harness.model.towers import _mean_of_slots

    table = np.arange(15, dtype=np.float32).reshape(5, 3)
    items = np.array([[0, 2, NONE], [NONE, NONE, NONE], [4, 4, 1]], np.int32)
    expected = np.stack([(table[0] + table[2]) / 2, np.zeros(3), (2 * table[4] + table[1]) / 3])
    np.testing.assert_allclose(_mean_of_slots(table, items).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("config", CAUSAL)
def test_a_causal_configuration_trains_end_to_end(table, config):
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell_per_user
    from harness.run.result import result_of

    cell = _prepared(table, config)
    trained = fit_cell(cell)
    metrics, timings, per_user = evaluate_cell_per_user(cell, trained)
    result = result_of(cell, trained, metrics, timings, ENV, per_user)
    accuracy = result.metrics["test/top_100_categorical_accuracy"]
    assert math.isfinite(accuracy) and 0.0 < accuracy <= 1.0
    assert result.provenance["config"]["past"] == CONFIGS[config].past.to_dict()
    history = trained.model.query_tower.history_embeddings
    if history is not None:  # titles in no training row's past keep a zero embedding
        in_training_past = np.zeros(history.shape[0], bool)
        in_training_past[cell.train_features[HISTORY][cell.train_features[HISTORY] >= 0]] = True
        norms = np.linalg.norm(history.numpy(), axis=1)
        assert (norms[~in_training_past] == 0).all() and (norms[in_training_past] > 0).all()


# Opt-in: the default grid, the tuning and the committed results stay as they are.

def _tuned_identity() -> dict:
    return json.loads((ROOT / "results" / "tuned.json").read_text())["identity"]


@pytest.mark.parametrize("name", DEFAULT_CONFIGS)
def test_an_earlier_configuration_describes_itself_as_the_tuned_file_recorded(name):
    recorded = _tuned_identity()["configs"][name]
    assert list(config_description(name).items()) == list(recorded.items())


def test_the_default_grid_is_unchanged_and_a_causal_configuration_runs_when_named():
    assert DEFAULT_CONFIGS == tuple(_tuned_identity()["configs"])  # the tuned seven
    assert not set(CAUSAL) & set(DEFAULT_CONFIGS)
    assert GridSettings().to_grid().configs == DEFAULT_CONFIGS
    assert GridSettings().to_grid().baselines == DEFAULT_BASELINES == ("popularity", "ease")
    grid = GridSettings(configs=("history",)).to_grid()
    assert grid.configs == ("history",) and grid.baselines == DEFAULT_BASELINES
    grid = GridSettings(configs=("history", "item_knn", "popularity")).to_grid()
    assert grid.configs == ("history",) and grid.baselines == ("popularity", "item_knn")
    grid = GridSettings(configs=("baseline", "history", "causal"), seeds=1).to_grid()
    assert grid.configs == ("baseline", "history", "causal")


@pytest.mark.parametrize("name", CAUSAL)
def test_a_causal_configuration_names_its_protocol_and_loads_back(name):
    config = CONFIGS[name]
    named = {ONLINE: "(history: online)", TRAIN_SIDE: "(history: training side only)"}
    assert named[config.past.history_protocol] in config.description
    described = json.loads(json.dumps(config_description(name)))
    assert described["past"]["history_protocol"] == config.past.history_protocol
    assert FeatureConfig.from_dict(described) == config


def test_impossible_past_options_are_refused():
    with pytest.raises(ValueError, match="history_protocol must be one of online, train"):
        PastOptions(user_recency=True, history_protocol="future")
    with pytest.raises(ValueError, match="at least one feature"):
        PastOptions()


def test_exclude_seen_leaves_out_the_users_history_at_that_moment(table):
    """Under a history protocol a query's seen titles are its user's history at its time
    (earlier test rows in, later training rows out), as the history-aware scorers'."""
    from harness.evaluation.metrics import true_candidate_ranks
    from harness.evaluation.retrieval import embed
    from harness.evaluation.segments import EXCLUDE_SEEN
    from harness.run.cell import fit_cell
    from harness.run.evaluate import left_out

    cell = _prepared(table, "history")
    fitted = fit_cell(cell)
    found = cell.retriever.ranker(cell, fitted, "test")(left_out(cell, "test", EXCLUDE_SEEN))
    users, times, titles = table.user_codes, table.ratings["timestamp"], table.title_codes
    rows, pool = cell.rows("test"), np.arange(table.num_ratings)
    starts, stops, items = [], [], []
    for row in rows:  # by a loop: the distinct titles of the user's strictly earlier rows
        earlier = pool[(users[pool] == users[row]) & (times[pool] < times[row])]
        starts.append(len(items))
        items += sorted(set(titles[earlier].tolist()))
        stops.append(len(items))
    queries = embed(fitted.model.query_tower, cell.test_features,
                    cell.options.eval_batch_size)  # the ranker's batches
    expected = true_candidate_ranks(queries, fitted.model.candidate_tower.catalogue(),
                                    titles[rows], None,
                                    (np.array(starts), np.array(stops), np.array(items)))
    np.testing.assert_array_equal(found, expected)
