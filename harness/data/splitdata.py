"""Registered splits applied to the MovieLens table (no TensorFlow here)."""

from __future__ import annotations

from harness.data.sources import MovieLens
from splits import (
    VALIDATION_FRACTION,
    Split,
    get_split,
    leakage_diagnostics,
    make_validation,
    validation_diagnostics,
)

COUNT_KEYS = ("n_train", "n_test", "test_users_unseen", "test_items_unseen")
VALIDATION_COUNT_KEYS = ("n_train", "n_validation", "validation_users_unseen",
                         "validation_items_unseen")


def split_data(data: MovieLens, split_name: str, seed: int, test_fraction: float
               ) -> tuple[Split, dict[str, float]]:
    """Splits the table by registered name and diagnoses the split's leakage."""
    ratings = data.ratings
    split = get_split(split_name)(ratings["user_id"], ratings["timestamp"],
                                  test_fraction=test_fraction, seed=seed,
                                  item_ids=data.title_codes)
    leakage = leakage_diagnostics(split, ratings["user_id"], ratings["movie_id"],
                                  ratings["timestamp"])
    return split, leakage


def validation_split(data: MovieLens, split_name: str, split: Split, seed: int,
                     validation_fraction: float = VALIDATION_FRACTION) -> Split:
    """The validation slice of ``split``'s training side, by the split's own rule:
    ``train`` the rows left for fitting, ``test`` the validation rows
    (``splits.make_validation``)."""
    ratings = data.ratings
    return make_validation(split_name, ratings["user_id"], ratings["timestamp"], split,
                           validation_fraction=validation_fraction, seed=seed,
                           item_ids=ratings["movie_id"])


def split_tables(data: MovieLens, test_fraction: float, seed: int,
                 validation_fraction: float = VALIDATION_FRACTION
                 ) -> tuple[list[dict], list[dict]]:
    """Diagnostics of every registered split on ``data`` and of its validation slice,
    one row per split in each table (each split computed once for both)."""
    from splits import SPLITS

    ratings = data.ratings
    rows, validation_rows = [], []
    for name in SPLITS:
        split, leakage = split_data(data, name, seed, test_fraction)
        validation = validation_split(data, name, split, seed, validation_fraction)
        rows.append({"split": name, **leakage})
        validation_rows.append({"split": name, **validation_diagnostics(
            validation, ratings["user_id"], ratings["movie_id"], ratings["timestamp"])})
    return rows, validation_rows
