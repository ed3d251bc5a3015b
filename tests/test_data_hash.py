"""The table hash: pinned for the real MovieLens-100k, and sensitive to every column.

Every record carries ``data_sha256`` so that results from different machines can be
compared only when they measured the same table. A test that compares the hash with
itself cannot notice a loader change that alters the table (a rating parsed differently,
rows dropped, a column left out of the hash). The value below is the one the published
results were computed on (``results/benchmark.json``: ``ctxbench.data_sha256``).
"""

from __future__ import annotations

import numpy as np
import pytest

REAL_MOVIELENS_100K_SHA256 = "e692b2f86f8c986feb2caf4a5deebd0ffb08f7d05753bc4418436dcc414c8d80"


@pytest.mark.realdata
def test_real_movielens_100k_has_the_pinned_sha256():
    from harness.data.digest import table_sha256
    from harness.data.sources import load_movielens

    data = load_movielens()
    counts = data.counts()
    assert (counts["ratings"], counts["users"], counts["movies"], counts["distinct_titles"]
            ) == (100_000, 943, 1_682, 1_664)
    assert data.sha256 == REAL_MOVIELENS_100K_SHA256, data.source
    # The hash of what was loaded, not only the value stored alongside it.
    assert table_sha256(data.ratings, data.movies) == REAL_MOVIELENS_100K_SHA256


def _change_one_value(column: np.ndarray) -> np.ndarray:
    """A copy of ``column`` with its first value changed (same dtype and length)."""
    changed = column.copy()
    if column.dtype == object:  # ragged genre ids
        changed[0] = np.append(column[0], 0)
    elif column.dtype.kind == "U":  # a longer string: a fixed-width copy would truncate it
        values = column.tolist()
        values[0] += "x"
        changed = np.array(values)
    elif column.dtype == bool:
        changed[0] = not column[0]
    else:
        changed[0] = column[0] + 1
    return changed


def test_sha256_covers_every_column_of_both_tables():
    """Changing one value of any column (ratings or catalogue) changes the hash."""
    from harness.data.digest import table_sha256
    from harness.data.synthetic import synthetic_movielens
    from harness.data.table import RATING_COLUMNS

    data = synthetic_movielens(np.random.default_rng(0), n_users=20, n_items=30,
                               n_interactions=200)
    base = table_sha256(data.ratings, data.movies)
    assert base == data.sha256
    assert sorted(data.ratings) == sorted(RATING_COLUMNS)
    for name in data.ratings:
        ratings = {**data.ratings, name: _change_one_value(data.ratings[name])}
        assert table_sha256(ratings, data.movies) != base, f"ratings/{name}"
    for name in data.movies:
        movies = {**data.movies, name: _change_one_value(data.movies[name])}
        assert table_sha256(data.ratings, movies) != base, f"movies/{name}"
