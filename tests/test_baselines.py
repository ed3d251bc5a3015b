"""EASE^R as deployed (harness.model.baselines): a test user with no training history is
ranked by popularity, a user with history by EASE^R; the record says so, counts the cold
test queries and users, notes a λ chosen at an edge of its grid, and the report's row
label names the fallback."""

from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
from fixtures_data import T0, grouplens_files, write_files

from harness.data.sources import load_from_dir
from harness.evaluation.metrics import popularity_ranks, popularity_scores, ranks_ties_against
from harness.evaluation.segments import RANKINGS
from harness.model.baselines import COLD_FALLBACK, FittedEase
from harness.model.easegrid import DEFAULT_L2_GRID, LARGEST, SMALLEST, grid_edge
from harness.model.training import TrainOptions
from harness.report.report import render_report
from harness.run.cell import run_cell
from harness.run.evaluate import left_out
from harness.run.prepare import prepare_cell

NUM_MOVIES = 150
ENV = {"test": True}  # a non-empty env: {} would look the environment up (git, CPU)
SPLIT = "temporal"  # random timestamps: a user whose few ratings all come late is cold


def _files(num_users: int = 300, seed: int = 0) -> dict[str, bytes]:
    """GroupLens files: each user rates 1 to 6 titles (popular ones by a Zipf-like law) at
    random times, so that the temporal split has test users with no training rows (all
    their ratings late), users with some, and popularity earns hits."""
    rng = np.random.default_rng(seed)
    users = tuple((str(u), 30, "MF"[u % 2], "other", f"{u:05d}")
                  for u in range(1, num_users + 1))
    movies = tuple((str(m), f"Movie {m}", "1990", ("Drama",)) for m in range(1, NUM_MOVIES + 1))
    weights = 1.0 / np.arange(1, NUM_MOVIES + 1)
    ratings = tuple((str(user), str(movie + 1), 4, T0 + int(rng.integers(0, 10_000)))
                    for user in range(1, num_users + 1)
                    for movie in rng.choice(NUM_MOVIES, int(rng.integers(1, 7)), replace=False,
                                            p=weights / weights.sum()))
    return grouplens_files(users, movies, ratings)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """300 users rating 150 titles (:func:`_files`)."""
    return load_from_dir(write_files(tmp_path_factory.mktemp("cold"), _files()))


@pytest.fixture(scope="module")
def fitted(data):
    """EASE^R and popularity prepared and fitted on the temporal split, seed 0."""
    ease = prepare_cell(data, SPLIT, "ease", 0, TrainOptions())
    popularity = prepare_cell(data, SPLIT, "popularity", 0, TrainOptions())
    return SimpleNamespace(cell=ease, model=ease.retriever.fit(ease), popularity=popularity,
                           counts=popularity.retriever.fit(popularity))


def _test_queries(cell) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, true items, cold) of the test rows; cold: no training row, found apart
    from the model."""
    users = cell.data.user_codes[cell.split.test]
    train_users = cell.data.user_codes[cell.train_rows]
    return users, cell.data.title_codes[cell.split.test], ~np.isin(users, train_users)


@pytest.mark.parametrize("ranking", RANKINGS)
def test_a_cold_user_gets_popularitys_rank_and_a_warm_user_eases(fitted, ranking):
    cell = fitted.cell
    users, true_items, cold = _test_queries(cell)
    assert cold.any() and (~cold).any(), "the fixture must hold cold and warm test users"
    removed = left_out(cell, "test", ranking)
    ranks = cell.retriever.ranker(cell, fitted.model, "test")(removed)
    popular = fitted.popularity.retriever.ranker(fitted.popularity, fitted.counts,
                                                 "test")(removed)
    np.testing.assert_array_equal(ranks[cold], popular[cold])
    # Popularity's counts, computed here from the training rows, and its ranks by hand.
    counts = popularity_scores(cell.data.title_codes[cell.train_rows], NUM_MOVIES)
    pairs = None if removed is None else removed.pairs
    np.testing.assert_array_equal(ranks[cold],
                                  popularity_ranks(counts, true_items, pairs)[cold])
    # Without the fallback a cold user's true item would rank last of what is left.
    assert (ranks[cold] < NUM_MOVIES - 1).any()
    # A warm user: its own X_u B, every item scoring at least as high outranking the true
    # one, less the left-out items that did.
    model = fitted.model.model
    for query in np.flatnonzero(~cold):
        scores = np.asarray(model.history[[users[query]]] @ model.weights)[0]
        expected = ranks_ties_against(scores[None], true_items[query:query + 1])[0]
        if pairs is not None:
            items = pairs[1][pairs[0] == query]
            expected -= np.count_nonzero(scores[items] >= scores[true_items[query]])
        assert ranks[query] == expected, query


def test_the_description_states_the_fallback_and_counts_the_cold_test_queries(fitted):
    users, _, cold = _test_queries(fitted.cell)
    described = fitted.cell.retriever.describe(fitted.cell, fitted.model)
    assert described["name"] == "ease" and described["l2"] in DEFAULT_L2_GRID
    assert described["cold_fallback"] == COLD_FALLBACK == "popularity"
    assert described["cold_queries"] == np.count_nonzero(cold) > 0
    assert described["cold_users"] == np.unique(users[cold]).size > 0
    assert json.loads(json.dumps(described)) == described  # plain JSON types


def test_the_cold_users_segment_is_popularitys_in_the_record(data):
    ease = run_cell(data, SPLIT, "ease", 0, TrainOptions(), ENV)
    popularity = run_cell(data, SPLIT, "popularity", 0, TrainOptions(), ENV)
    cold = {key: value for key, value in ease.metrics.items() if ".user_cold/" in key}
    accuracy = [value for key, value in cold.items() if "top_10_categorical" in key]
    assert len(accuracy) == 2 and min(accuracy) > 0  # both rankings: popularity's hits
    assert cold == {key: popularity.metrics[key] for key in cold}
    assert ease.provenance["config"]["cold_queries"] > 0


# ---------------------------------------------------------------------------------------
# λ at an edge of its grid.

def test_a_choice_at_an_edge_of_the_grid_is_named():
    assert grid_edge(1.0, (1.0, 10.0, 100.0)) == "smallest of the grid"
    assert grid_edge(100.0, (10.0, 100.0, 1.0)) == LARGEST == "largest of the grid"
    assert grid_edge(10.0, (100.0, 10.0, 1.0)) is None
    assert grid_edge(5.0, (5.0,)) == "only value of the grid"


def test_the_record_notes_a_lambda_forced_to_an_edge_and_not_one_inside(data):
    cell = prepare_cell(data, SPLIT, "ease", 0, TrainOptions())
    grid = (1e9, 1e10)  # far above any optimum: validation ties, and ties go to 1e9
    cell.retriever.l2_grid = grid
    fitted = cell.retriever.fit(cell)
    described = cell.retriever.describe(cell, fitted)
    assert described["l2"] == 1e9 and described["l2_at_edge"] == SMALLEST
    # The same model with its λ strictly inside the grid it came from: no note.
    inside = FittedEase(dataclasses.replace(fitted.model, l2=1e9), fitted.validation,
                        (1e8, 1e9, 1e10))
    assert "l2_at_edge" not in cell.retriever.describe(cell, inside)


# ---------------------------------------------------------------------------------------
# The report's row label.

def _accuracy_section(path) -> str:
    return render_report([path]).split("## Accuracy")[1].split("\n## ")[0]


def test_the_accuracy_row_names_the_cold_user_fallback_its_record_states(tmp_path):
    from test_report import TRAIN

    text = TRAIN.read_text(encoding="utf-8")
    assert '"ease"' not in text
    for fallback in (COLD_FALLBACK, None):  # None: a record from before the fallback
        document = json.loads(text.replace("popularity", "ease"))
        for entry in document["benchmarks"]:
            config = entry["extra_info"].get("provenance", {}).get("config", {})
            if config.get("name") == "ease" and fallback:
                config["cold_fallback"] = fallback
        path = tmp_path / f"run_{fallback}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        accuracy = _accuracy_section(path)
        labelled = re.search(r"\n\| ease \(popularity for cold users\) +\| 0\.", accuracy)
        assert bool(labelled) == bool(fallback), fallback
        assert fallback or re.search(r"\n\| ease +\| 0\.", accuracy)
