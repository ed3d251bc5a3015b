"""The canonical table built from whole columns, for tables of millions of interactions.

:func:`build_columnar` is :func:`harness.data.table.build_table`'s counterpart for the
large and generic sources (MovieLens-1M/20M/25M, an interactions file): it takes numpy
columns, never a Python object per interaction, and keeps each rating's catalogue row
(``movie_row``, int32) instead of its title and genres. The table hashes as the one
``build_table`` gives for the same content (:func:`harness.data.digest.table_sha256`).

Memory per interaction: user and item ids as unicode (4 bytes a character; 6 characters
at MovieLens-25M), timestamp int64, rating float32, catalogue row int32: 64 bytes at 25M,
plus any user profile columns a file carries. Building it holds about twice that.
"""

from __future__ import annotations

import numpy as np

from harness.data.digest import table_sha256
from harness.data.table import DEFAULT_DATASET, GENRE_NAMES, MovieLens
from harness.errors import DataError

# A timestamp must lie in [0, 2**40) seconds, as the MovieLens-100k parsers check.
MAX_TIMESTAMP = 2**40
# Seconds from 1e11 on are past the year 5000: a column reaching them counts milliseconds.
MILLISECONDS_FROM = 10**11


def int_strings(values: np.ndarray) -> np.ndarray:
    """[n] non-negative integers as a numpy unicode array ("17"), without Python strings.

    Args:
        values: [n] int64, each >= 0.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:
        return np.zeros(0, dtype="U1")
    width = max(1, len(str(int(values.max()))))
    digits = np.ones(values.size, dtype=np.int64)
    for power in range(1, width):
        digits += values >= 10**power
    chars = np.zeros((values.size, width), dtype=np.uint32)
    for position in range(width):
        # Character ``position`` of a number with d digits is digit d-1-position (from
        # the right); positions past d stay 0, numpy's padding.
        exponent = digits - 1 - position
        present = exponent >= 0
        chars[:, position] = np.where(
            present, values // 10 ** np.maximum(exponent, 0) % 10 + ord("0"), 0)
    return chars.view(f"U{width}").reshape(values.size)


def id_order_key(ids: np.ndarray) -> np.ndarray:
    """A sort key of string ids: numeric when every id is a number, else the string."""
    if ids.size and np.char.isdigit(ids).all() and ids.dtype.itemsize // 4 <= 18:
        return ids.astype(np.int64)
    return ids


def build_columnar(user_id: np.ndarray, movie_id: np.ndarray, timestamp: np.ndarray,
                   catalogue: dict[str, np.ndarray], source: str, where: dict[str, str],
                   columns: dict[str, np.ndarray] | None = None,
                   dataset: str = DEFAULT_DATASET,
                   genre_names: tuple[str, ...] = GENRE_NAMES,
                   has_titles: bool = True) -> MovieLens:
    """The canonical table: rows by (time, user, movie), the catalogue by movie id.

    Args:
        user_id, movie_id: [n] unicode ids.
        timestamp: [n] int64 seconds.
        catalogue: ``movie_id`` [m] unicode, ``movie_title`` [m] unicode and optionally
            ``movie_genres`` [m] object array of int64 ids into ``genre_names``; any order.
        source: provenance string.
        where: file name of "ratings" and "movies" for error messages.
        columns: further per-rating columns ([n] each: ``user_rating``, user profile).
        dataset: the registered dataset name.
        genre_names: what a genre id means.
        has_titles: False when ``movie_title`` is the item id (no titles in the source).

    Raises:
        DataError: no ratings, a rated movie missing from the catalogue, a timestamp out
            of range, or fewer than two distinct timestamps (no split can cut time).
    """
    if user_id.size == 0:
        raise DataError(f"{where['ratings']}: no interactions")
    if timestamp.max() >= MILLISECONDS_FROM:
        raise DataError(f"{where['ratings']}: timestamp {int(timestamp.max())} is out of "
                        "range: it looks like milliseconds (seconds past 1e11 are after the "
                        "year 5000); divide the timestamps by 1000")
    if timestamp.min() < 0 or timestamp.max() >= MAX_TIMESTAMP:
        bad = timestamp[(timestamp < 0) | (timestamp >= MAX_TIMESTAMP)][0]
        raise DataError(f"{where['ratings']}: timestamp {int(bad)} is out of range")
    if timestamp.min() == timestamp.max():
        raise DataError(f"{where['ratings']}: fewer than two distinct timestamps (every "
                        "interaction at the same time cannot be split by time)")
    by_id = np.argsort(id_order_key(catalogue["movie_id"]), kind="stable")
    catalogue = {name: column[by_id] for name, column in catalogue.items()}
    catalogue_ids = catalogue["movie_id"]
    if np.unique(catalogue_ids).size != catalogue_ids.size:
        raise DataError(f"{where['movies']}: a movie id appears twice")
    order = np.lexsort((id_order_key(movie_id), id_order_key(user_id), timestamp))
    movie_id = movie_id[order]
    # searchsorted needs the ids in their own sorted order, not the numeric one.
    lexical = np.argsort(catalogue_ids)
    position = np.minimum(np.searchsorted(catalogue_ids[lexical], movie_id),
                          catalogue_ids.size - 1)
    movie_row = lexical[position].astype(np.int32)
    missing = catalogue_ids[movie_row] != movie_id
    if missing.any():
        raise DataError(f"{where['ratings']}: movie {movie_id[missing][0]!r} is not in "
                        f"{where['movies']}")
    ratings = {"user_id": user_id[order], "movie_id": movie_id, "movie_row": movie_row,
               "timestamp": timestamp[order].astype(np.int64)}
    for name, column in (columns or {}).items():
        ratings[name] = column[order]
    return MovieLens(ratings=ratings, movies=catalogue, source=source,
                     sha256=table_sha256(ratings, catalogue), dataset=dataset,
                     genre_names=genre_names, has_titles=has_titles)


def genre_lists(text: np.ndarray, names: tuple[str, ...], where: str,
                separator: str = "|") -> np.ndarray:
    """[m] object array of int64 genre ids from ``separator``-joined names (one per movie).

    Raises:
        DataError: a genre not in ``names``.
    """
    index = {name: i for i, name in enumerate(names)}
    lists = np.empty(len(text), dtype=object)
    for row, value in enumerate(text.tolist()):
        try:
            lists[row] = np.array([index[g] for g in value.split(separator) if g],
                                  dtype=np.int64)
        except KeyError as error:
            raise DataError(f"{where}: unknown genre {error.args[0]!r}; valid: "
                            f"{', '.join(names)}") from None
    return lists


__all__ = ["MAX_TIMESTAMP", "MILLISECONDS_FROM", "build_columnar", "genre_lists",
           "id_order_key", "int_strings"]
