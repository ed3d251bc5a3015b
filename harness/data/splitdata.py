"""Registered splits applied to the MovieLens table (no TensorFlow here)."""

from __future__ import annotations

from harness.data.sources import MovieLens
from splits import Split, get_split, leakage_diagnostics

COUNT_KEYS = ("n_train", "n_test", "test_users_unseen", "test_items_unseen")


def split_data(data: MovieLens, split_name: str, seed: int, test_fraction: float
               ) -> tuple[Split, dict[str, float]]:
    """Splits the table by registered name and diagnoses the split's leakage."""
    ratings = data.ratings
    split = get_split(split_name)(ratings["user_id"], ratings["timestamp"],
                                  test_fraction=test_fraction, seed=seed)
    leakage = leakage_diagnostics(split, ratings["user_id"], ratings["movie_id"],
                                  ratings["timestamp"])
    return split, leakage


def split_table(data: MovieLens, test_fraction: float, seed: int) -> list[dict]:
    """Leakage diagnostics of every registered split on ``data``, one row per split."""
    from splits import SPLITS

    return [{"split": name, **split_data(data, name, seed, test_fraction)[1]}
            for name in SPLITS]
