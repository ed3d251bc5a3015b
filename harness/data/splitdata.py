"""Registered splits applied to the MovieLens table (no TensorFlow here)."""

from __future__ import annotations

from harness.data.sources import MovieLens
from splits import Split, get_split, leakage_diagnostics, validation_diagnostics

COUNT_KEYS = ("n_train", "n_test", "test_users_unseen", "test_items_unseen")
VALIDATION_COUNT_KEYS = ("n_train", "n_validation", "validation_users_unseen",
                         "validation_items_unseen")
DEFAULT_VALIDATION_FRACTION = 0.1


def split_data(data: MovieLens, split_name: str, seed: int, test_fraction: float
               ) -> tuple[Split, dict[str, float]]:
    """Splits the table by registered name and diagnoses the split's leakage."""
    ratings = data.ratings
    split = get_split(split_name)(ratings["user_id"], ratings["timestamp"],
                                  test_fraction=test_fraction, seed=seed)
    leakage = leakage_diagnostics(split, ratings["user_id"], ratings["movie_id"],
                                  ratings["timestamp"])
    return split, leakage


def validation_data(data: MovieLens, split_name: str, split: Split, seed: int,
                    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
                    ) -> tuple[Split, dict[str, float]]:
    """The validation slice of ``split``'s training side, by the split's own rule.

    Returns:
        (validation, diagnostics): ``validation.train`` the rows left for fitting,
        ``validation.test`` the validation rows (see ``splits.make_validation``), and
        ``splits.validation_diagnostics`` of them.
    """
    ratings = data.ratings
    validation = get_split(split_name).validation(
        ratings["user_id"], ratings["timestamp"], split,
        validation_fraction=validation_fraction, seed=seed)
    diagnostics = validation_diagnostics(validation, ratings["user_id"], ratings["movie_id"],
                                         ratings["timestamp"])
    return validation, diagnostics


def split_table(data: MovieLens, test_fraction: float, seed: int) -> list[dict]:
    """Leakage diagnostics of every registered split on ``data``, one row per split."""
    from splits import SPLITS

    return [{"split": name, **split_data(data, name, seed, test_fraction)[1]}
            for name in SPLITS]


def validation_table(data: MovieLens, test_fraction: float, seed: int,
                     validation_fraction: float = DEFAULT_VALIDATION_FRACTION) -> list[dict]:
    """Diagnostics of every registered split's validation slice, one row per split."""
    from splits import SPLITS

    return [{"split": name,
             **validation_data(data, name, split_data(data, name, seed, test_fraction)[0],
                               seed, validation_fraction)[1]}
            for name in SPLITS]
