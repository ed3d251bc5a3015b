"""The candidate side's features of the past (item popularity and age as of the daily
refresh, harness.model.causal.candidate_past) and the release year: computed from the
rows before the refresh alone, each query ranked against its own day's catalogue."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness.data.history import NONE, SECONDS_PER_DAY, log2_buckets, refresh_time
from harness.data.synthetic import synthetic_movielens
from harness.evaluation.metrics import true_candidate_ranks
from harness.model.catalogue import release_years
from harness.model.causal import (
    CANDIDATE_PAST,
    PastOptions,
    candidate_past,
    catalogue_past,
    history_rows,
    item_index,
)
from harness.model.features import CONFIGS, DEFAULT_CONFIGS, FeatureConfig
from harness.model.training import TrainOptions

FAST = TrainOptions(epochs=1, batch_size=512)
ITEMS = PastOptions(item_popularity=True, item_age=True)


@pytest.fixture(scope="module")
def table():
    """A small synthetic table whose rows fall on a few hours of many days: a title has
    rows before, on and after each day's refresh."""
    data = synthetic_movielens(np.random.default_rng(1), n_users=40, n_items=120,
                               n_interactions=2500)
    times = data.ratings["timestamp"]
    hours = times // 3600 * 3600
    return dataclasses.replace(data, ratings={**data.ratings, "timestamp": hours})


def _reference(data, rows: np.ndarray, past_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Each row's title's (popularity, age) buckets by a loop: its rows among
    ``past_rows`` strictly before the start of the row's UTC day."""
    titles, times = data.title_codes, data.ratings["timestamp"]
    popularity, age = [], []
    for row in rows:
        refresh = times[row] - times[row] % SECONDS_PER_DAY
        before = past_rows[(titles[past_rows] == titles[row]) & (times[past_rows] < refresh)]
        popularity.append(before.size)
        age.append(refresh - times[before].min() if before.size else NONE)
    return {"item_popularity": log2_buckets(popularity), "item_age": log2_buckets(age)}


def test_a_titles_popularity_and_age_count_only_rows_before_the_refresh(table):
    rows = np.arange(table.num_ratings)
    past_rows = rows[::2]  # any subset: the protocol's rows
    expected = _reference(table, rows, past_rows)
    found = candidate_past(ITEMS, table, rows, item_index(table, past_rows))
    for name in CANDIDATE_PAST:
        np.testing.assert_array_equal(found[name], expected[name], err_msg=name)
    # Rows on the query's own day (before or after it in the day) count for nothing.
    times = table.ratings["timestamp"]
    assert (times % SECONDS_PER_DAY > 0).any()


def test_the_catalogue_of_a_day_holds_each_titles_values_at_that_refresh(table):
    past_rows = np.arange(table.num_ratings)
    index = item_index(table, past_rows)
    rows = np.arange(0, table.num_ratings, 7)
    per_row = candidate_past(ITEMS, table, rows, index)
    refresh = refresh_time(table.ratings["timestamp"][rows])
    for day in np.unique(refresh)[::5]:
        catalogue = catalogue_past(ITEMS, index, int(day))
        at = refresh == day
        for name in CANDIDATE_PAST:
            np.testing.assert_array_equal(catalogue[name][table.title_codes[rows[at]]],
                                          per_row[name][at], err_msg=name)


def test_each_query_is_ranked_against_its_own_days_catalogue(table):
    from harness.evaluation.retrieval import embed
    from harness.model.twotower import exact_ranks
    from harness.run.cell import fit_cell
    from harness.run.prepare import prepare_cell

    cell = prepare_cell(table, "temporal", "item_past", 0, FAST)
    model = fit_cell(cell).model
    features = cell.test_features
    queries = np.asarray(embed(model.query_tower, features, cell.options.eval_batch_size))
    found = exact_ranks(cell, model, "test", queries, features["candidate"])
    rows = cell.rows("test")
    index = item_index(table, history_rows("online", "test", cell.split, cell.train_rows))
    refresh = refresh_time(table.ratings["timestamp"][rows])
    assert np.unique(refresh).size > 1
    expected = np.empty(rows.size, np.int64)
    for i in range(rows.size):  # one query at a time, its day's catalogue
        catalogue = model.candidate_tower.catalogue(catalogue_past(ITEMS, index,
                                                                   int(refresh[i])))
        expected[i] = true_candidate_ranks(queries[i:i + 1], catalogue,
                                           features["candidate"][i:i + 1])[0]
    np.testing.assert_array_equal(found, expected)


@pytest.mark.parametrize("name", ["item_past", "causal_all", "release_year"])
def test_a_candidate_feature_configuration_trains_ranks_and_serves_end_to_end(table, name):
    from harness.run.cell import fit_cell, run_cell
    from harness.run.prepare import prepare_cell
    from harness.run.serving import cell_serving

    result = run_cell(table, "temporal", name, 0, FAST, env={"test": True})
    accuracy = result.metrics["test/top_100_categorical_accuracy"]
    assert 0.0 < accuracy <= 1.0
    assert FeatureConfig.from_dict(result.provenance["config"]) == CONFIGS[name]
    cell = prepare_cell(table, "temporal", name, 0, FAST)  # the grid's serving workload
    trained = fit_cell(cell)
    assert cell_serving(cell, trained, rounds=1)
    # The tower embeds a batch once per distinct (title, features of the past): each row
    # as its own embedding would be (another batch shape: float tolerance).
    tower, features = trained.model.candidate_tower, cell.train_features
    rows = features["candidate"][:300]
    context = {name: features[name][:300] for name in tower.context_names}
    batched = tower(rows, context or None).numpy()
    one_by_one = np.concatenate([tower.embed_candidates(
        rows[i:i + 1], {name: values[i:i + 1] for name, values in context.items()}).numpy()
        for i in range(rows.size)])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-5, atol=1e-6)


def test_the_new_configurations_are_opt_in_and_leave_the_others_descriptions_alone():
    assert not {"item_past", "causal_all", "release_year"} & set(DEFAULT_CONFIGS)
    for name in ("baseline", "history", "causal"):  # no unset candidate option listed
        described = CONFIGS[name].to_dict()
        assert "release_year" not in described
        assert not set(CANDIDATE_PAST) & set(described.get("past", {}))
    assert CONFIGS["causal_all"].to_dict()["past"]["item_age"] is True


def test_release_years_come_from_the_title():
    titles = np.array(["Babe (1995)", "Heat (1995) ", "Alien (1979)", "Untitled", "(2001) x"])
    assert release_years(titles).tolist() == [2, 2, 1, 0, 0]
