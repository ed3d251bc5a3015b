"""The synthetic generator: table shape and dtypes, determinism, and its known answer."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.digest import table_sha256
from harness.data.sources import GENRE_NAMES, RATING_COLUMNS
from harness.data.synthetic import SyntheticSpec, synthetic_movielens
from splits import make_split

SMALL = {"n_users": 40, "n_items": 60, "n_interactions": 1_000}


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_columns_shapes_and_dtypes_match_the_real_table(seed):
    data = synthetic_movielens(np.random.default_rng(seed), **SMALL)
    ratings = data.ratings
    assert tuple(ratings) == RATING_COLUMNS
    assert {len(column) for column in ratings.values()} == {1_000}
    for name in ("user_id", "movie_id", "movie_title", "user_occupation_text",
                 "user_zip_code"):
        assert ratings[name].dtype.kind == "U", name
    assert ratings["timestamp"].dtype == np.int64
    for name in ("user_rating", "bucketized_user_age", "raw_user_age"):
        assert ratings[name].dtype == np.float32, name
    assert ratings["user_gender"].dtype == bool
    assert ratings["movie_genres"].dtype == object
    assert all(g.dtype == np.int64 and np.all((g >= 0) & (g < len(GENRE_NAMES)))
               for g in ratings["movie_genres"])
    assert set(np.unique(ratings["user_rating"])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    # The catalogue: one distinct title per item, and every rated title in it.
    movies = data.movies
    assert {len(column) for column in movies.values()} == {60}
    assert np.unique(movies["movie_title"]).size == 60
    assert np.isin(ratings["movie_title"], movies["movie_title"]).all()
    assert movies["movie_title"][0].startswith("Item 1 (")
    assert data.sha256 == table_sha256(ratings, movies)


def test_rows_are_in_canonical_order_and_inside_the_time_span():
    spec = SyntheticSpec(**SMALL)
    ratings = synthetic_movielens(np.random.default_rng(3), spec).ratings
    key = np.lexsort((ratings["movie_id"].astype(np.int64),
                      ratings["user_id"].astype(np.int64), ratings["timestamp"]))
    assert np.array_equal(key, np.arange(key.size))
    assert ratings["timestamp"].min() >= spec.start
    assert ratings["timestamp"].max() < spec.start + spec.span_seconds


def test_a_user_has_one_profile():
    ratings = synthetic_movielens(np.random.default_rng(4), **SMALL).ratings
    for name in ("user_gender", "raw_user_age", "user_occupation_text", "user_zip_code"):
        pairs = np.unique(np.stack([ratings["user_id"], ratings[name].astype(str)]), axis=1)
        assert pairs.shape[1] == np.unique(ratings["user_id"]).size, name


@pytest.mark.parametrize("seed", [0, 5])
def test_same_seed_same_table_other_seed_other_table(seed):
    first = synthetic_movielens(np.random.default_rng(seed), **SMALL)
    again = synthetic_movielens(np.random.default_rng(seed), **SMALL)
    other = synthetic_movielens(np.random.default_rng(seed + 1), **SMALL)
    assert first.sha256 == again.sha256
    assert first.sha256 != other.sha256


def test_popularity_drifts_with_time():
    """Items live for a short window: early and late interactions barely share items."""
    spec = SyntheticSpec(n_users=100, n_items=400, n_interactions=20_000,
                         lifetime_fraction=0.05)
    ratings = synthetic_movielens(np.random.default_rng(0), spec).ratings
    quarter = ratings["timestamp"].size // 4
    early = set(ratings["movie_id"][:quarter])
    late = set(ratings["movie_id"][-quarter:])
    assert len(early & late) < 0.1 * min(len(early), len(late))


def test_bad_parameters_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="n_items"):
        SyntheticSpec(n_items=0)
    with pytest.raises(ValueError, match="affinity"):
        SyntheticSpec(affinity=1.5)
    with pytest.raises(ValueError, match="lifetime_fraction"):
        synthetic_movielens(np.random.default_rng(0), lifetime_fraction=0.0)


def test_every_registered_split_runs_on_it():
    from splits import SPLITS

    ratings = synthetic_movielens(np.random.default_rng(2), **SMALL).ratings
    for name in SPLITS:
        split = make_split(name, ratings["user_id"], ratings["timestamp"], seed=0,
                           item_ids=ratings["movie_id"])
        # A warm-only split drops its cold test rows; the others cover every row.
        covered = split.train.size + split.test.size
        assert covered == 1_000 if SPLITS[name].warm_of is None else covered <= 1_000, name


# Sizes and training options for the known-answer test. Checked on generator seeds 0-4
# (20k interactions, batch 512, 3 epochs): the timestamp model's top-50 gain over the
# baseline was 0.43-0.45 on the random split and 0.02-0.04 on the temporal split.
KNOWN_ANSWER = {"n_users": 300, "n_items": 500, "n_interactions": 20_000}
GAIN_METRIC = "test/top_50_categorical_accuracy"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_timestamps_help_on_a_random_split_but_not_on_a_temporal_one(seed):
    from harness.model.training import TrainOptions
    from harness.run.cell import run_cell

    data = synthetic_movielens(np.random.default_rng(seed), **KNOWN_ANSWER)
    # More, smaller steps than the tutorial's 8 batches of 2048 per epoch, so that the
    # 1000 timestamp-bucket embeddings get enough updates at this size.
    options = TrainOptions(epochs=3, batch_size=512)

    def gain(split: str) -> float:
        metric = {config: run_cell(data, split, config, seed, options, env={}).metrics[
            GAIN_METRIC] for config in ("baseline", "timestamp")}
        return metric["timestamp"] - metric["baseline"]

    random_gain, temporal_gain = gain("random"), gain("temporal")
    assert random_gain > 0.25
    assert temporal_gain < 0.10
    assert random_gain > 4 * temporal_gain


@pytest.mark.parametrize(("field", "value"), [("cold_user_rate", -0.1), ("cold_item_rate", 1.5),
                                              ("cold_period", 0.0), ("cold_period", 1.0)])
def test_impossible_cold_start_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        SyntheticSpec(**{field: value})


def test_twins_are_new_ids_that_appear_only_in_the_cold_period():
    spec = {**SMALL, "cold_user_rate": 0.5, "cold_item_rate": 0.5}
    data = synthetic_movielens(np.random.default_rng(3), **spec)
    ratings = data.ratings
    times = ratings["timestamp"]
    cut = np.sort(times)[-round(0.2 * times.size)]
    twin_users = ratings["user_id"].astype(int) > spec["n_users"]
    twin_items = ratings["movie_id"].astype(int) > spec["n_items"]
    assert twin_users.any() and twin_items.any()
    assert (times[twin_users | twin_items] >= cut).all()
    # Every rated title is in the catalogue, a twin's title naming its own id.
    assert set(ratings["movie_title"]) <= set(data.movies["movie_title"])
    assert data.movies["movie_id"].size == np.unique(
        np.r_[np.arange(1, spec["n_items"] + 1).astype(str), ratings["movie_id"]]).size
