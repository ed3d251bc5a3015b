"""The retriever interface and its registry: a retriever defined here, registered by name,
runs through the one pipeline (prepare -> fit -> evaluate -> record) to a full record."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_data import synthetic_files, write_files

from harness.data.sources import load_from_dir
from harness.evaluation.metrics import metrics_from_ranks, ranks_ties_against, taken_back
from harness.evaluation.segments import EXCLUDE_SEEN, Evaluation, segment_names, share_key
from harness.model.features import CONFIGS
from harness.model.history_specs import SPECS
from harness.model.registry import (
    RETRIEVERS,
    get_retriever,
    make_retriever,
    non_learned_names,
    register,
    unregister,
)
from harness.model.retriever import Retriever, RetrieverEntry
from harness.model.training import TrainOptions
from harness.record.cell import CellResult
from harness.record.grid import BASELINES
from harness.run.cell import run_cell
from harness.run.prepare import prepare_cell
from splits import UnknownNameError

NUM_MOVIES = 150  # more than 100, so that a last place misses the top 100
ENV = {"test": True}  # a non-empty env: {} would look the environment up (git, CPU)


class ScoreTable(Retriever):
    """A toy retriever: each query's scores over the catalogue from ``scores``, ranked by
    the rule for scorers that tie, its left-out items taken back."""

    @staticmethod
    def scores(true_items: np.ndarray, num_items: int) -> np.ndarray:
        """[n, num_items] scores: higher item codes first."""
        return np.broadcast_to(np.arange(num_items, dtype=np.float64),
                               (true_items.size, num_items))

    def fit(self, cell, strategy=None, validate=None):
        return {"fitted_on": cell.train_rows.size}

    def ranker(self, cell, fitted, side, cap=None):
        true_items = cell.data.title_codes[cell.rows(side)]
        scores = self.scores(true_items, cell.data.candidate_titles.size)

        def rank(left_out):
            ranks = ranks_ties_against(scores, true_items)
            if left_out is not None:
                query, items = left_out.pairs
                outranks = scores[query, items] >= scores[query, true_items[query]]
                ranks -= taken_back(outranks, query, ranks.size)
            return ranks

        return rank

    def describe(self, cell, fitted=None):
        return {"name": self.name, **(fitted or {})}


class Constant(ScoreTable):
    @staticmethod
    def scores(true_items, num_items):
        return np.zeros((true_items.size, num_items))


class Oracle(ScoreTable):
    @staticmethod
    def scores(true_items, num_items):
        scores = np.zeros((true_items.size, num_items))
        scores[np.arange(true_items.size), true_items] = 1.0
        return scores


@pytest.fixture
def toys():
    """The three toy retrievers, registered for the test and removed after it."""
    names = {"toy_by_id": ScoreTable, "toy_constant": Constant, "toy_oracle": Oracle}
    for name, build in names.items():
        register(RetrieverEntry(name, learned=False, build=build, description="a test's"))
    yield list(names)
    for name in names:
        unregister(name)
    assert not set(names) & set(RETRIEVERS)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """40 users rating 150 titles 600 times (tests/fixtures_data.py), no TensorFlow."""
    directory = tmp_path_factory.mktemp("toy")
    return load_from_dir(write_files(directory, synthetic_files(40, NUM_MOVIES, 600, 0)))


def _top100(result: CellResult, prefix: str = "test") -> float:
    return result.metrics[f"{prefix}/top_100_categorical_accuracy"]


@pytest.mark.parametrize("ranking", ["all", EXCLUDE_SEEN])
def test_a_registered_toy_runs_the_one_pipeline_to_a_full_record(toys, data, ranking):
    # fit_on "all" is for preprocessing, which a non-learned retriever has none of: its
    # cell runs once per (split, seed), keyed fit_on=train (schema.fit_on_for).
    result = run_cell(data, "random", "toy_by_id", 0, TrainOptions(fit_on="all"), ENV,
                      evaluation=Evaluation(ranking))
    cell = prepare_cell(data, "random", "toy_by_id", 0, TrainOptions())
    assert result.status == "ok" and result.model == "toy_by_id"
    assert result.cell.key == "random-toy_by_id-train-s0"
    assert result.provenance["config"] == {"name": "toy_by_id",
                                           "fitted_on": cell.split.train.size}
    assert "protocol" not in result.provenance  # not learned: no options were chosen
    assert result.provenance["ranking"] == ranking
    assert result.sizes == {"n_train": float(cell.split.train.size),
                            "n_test": float(cell.split.test.size),
                            "n_candidates": float(NUM_MOVIES)}
    assert result.examples_per_second is None and "train_seconds" not in result.timings
    assert {"eval_seconds", "queries_per_second", "rank_seconds_all",
            "rank_seconds_exclude_seen"} <= set(result.timings)
    # By hand: higher codes first, so item t has NUM_MOVIES - 1 - t items above it; under
    # exclude_seen, less the user's other training items above it.
    test = cell.split.test
    users, items = data.user_codes[test], data.title_codes[test]
    expected = NUM_MOVIES - 1 - items
    if ranking == EXCLUDE_SEEN:
        train = cell.split.train
        for i, (user, item) in enumerate(zip(users, items, strict=True)):
            seen = set(data.title_codes[train][data.user_codes[train] == user])
            expected[i] -= sum(1 for other in seen if other > item)
    for key, value in metrics_from_ranks(expected, users, "test").items():
        assert result.metrics[key] == pytest.approx(value, abs=1e-12), key
    train_ranks = NUM_MOVIES - 1 - data.title_codes[cell.split.train]
    assert _top100(result, "train") == pytest.approx(np.mean(train_ranks < 100))
    for segment in segment_names():
        assert share_key(segment) in result.metrics
    for other in ("all", EXCLUDE_SEEN):
        assert f"test.{other}.all/top_100_categorical_accuracy" in result.metrics
    assert result.metrics[f"test.{ranking}.all/top_10_categorical_accuracy"] == (
        result.metrics["test/top_10_categorical_accuracy"])


def test_a_constant_scorer_ranks_the_true_item_last_and_an_oracle_first(toys, data):
    # Ties count against the true item for a scorer that ties: an all-equal row ranks it
    # last (149 of 150, outside the top 100), never first.
    constant = run_cell(data, "random", "toy_constant", 0, TrainOptions(), ENV)
    oracle = run_cell(data, "random", "toy_oracle", 0, TrainOptions(), ENV)
    for prefix in ("test", "train"):
        assert _top100(constant, prefix) == 0.0
        assert _top100(oracle, prefix) == 1.0
        assert oracle.metrics[f"{prefix}/top_1_categorical_accuracy"] == 1.0
    for ranking in ("all", EXCLUDE_SEEN):
        assert constant.metrics[f"test.{ranking}.all/top_100_categorical_accuracy"] == 0.0
        assert oracle.metrics[f"test.{ranking}.all/top_1_categorical_accuracy"] == 1.0


def test_the_registry_refuses_a_taken_name_and_names_the_valid_ones(toys):
    with pytest.raises(ValueError, match="'toy_by_id' is already registered"):
        register(RetrieverEntry("toy_by_id", False, ScoreTable))
    with pytest.raises(ValueError, match="without '-'"):
        register(RetrieverEntry("toy-dash", False, ScoreTable))
    with pytest.raises(UnknownNameError) as raised:
        make_retriever("nonesuch")
    message = str(raised.value)
    assert message.startswith("unknown retriever 'nonesuch'; valid: ")
    for name in ("popularity", "ease", "baseline", "toy_by_id"):
        assert name in message
    with pytest.raises(UnknownNameError, match="unknown retriever 'nonesuch'"):
        unregister("nonesuch")


def test_an_unknown_name_fails_before_any_work(data):
    with pytest.raises(UnknownNameError, match="valid: .*popularity"):
        run_cell(data, "random", "nonesuch", 0)


def test_every_configuration_and_baseline_is_registered_and_the_grid_baselines_agree():
    assert set(RETRIEVERS) == {*CONFIGS, *BASELINES}
    assert all(get_retriever(name).learned for name in CONFIGS)
    # grid.BASELINES is the registry's non-learned names (the grid runs them once per
    # split and seed), in registration order: popularity first; a grid that names none
    # runs popularity and EASE^R, the history-aware scorers only when named.
    assert BASELINES == non_learned_names()
    assert BASELINES[:2] == non_learned_names(default_only=True) == ("popularity", "ease")
    assert set(BASELINES[2:]) == set(SPECS)
    assert make_retriever("baseline").model == "two_tower"
    assert make_retriever("ease").model == "ease"
