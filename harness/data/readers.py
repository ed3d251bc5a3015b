"""Readers of the larger MovieLens releases.

- MovieLens-1M: ``ratings.dat``, ``movies.dat``, ``users.dat``, ``::``-separated,
  ISO-8859-1 (Latin-1) titles, ages already bucketed, occupations as codes.
- MovieLens-20M / 25M: ``ratings.csv``, ``movies.csv`` (UTF-8, quoted titles); no user
  profile.

The CSV files are read with pyarrow (:mod:`harness.data.arrow`), column by column: no
Python object per interaction. Every error names the file and the problem. A plain
interactions file is :mod:`harness.data.interactions`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.data.arrow import pyarrow_module, read_csv, require_columns
from harness.data.columnar import build_columnar, genre_lists, int_strings
from harness.data.formats import _decode, _parse, _rows
from harness.data.table import GENRE_NAMES, MovieLens
from harness.errors import DataError

# users.dat's occupation codes (the ML-1M README), spelled as MovieLens-100k's u.user
# and tfds's user_occupation_text.
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer",
    "homemaker", "K-12 student", "lawyer", "programmer", "retired", "sales/marketing",
    "scientist", "self-employed", "technician/engineer", "tradesman/craftsman",
    "unemployed", "writer",
)
_ML1M_GENRES = {"Children's": "Children"}  # tfds's spelling


# ---------------------------------------------------------------------------------------
# MovieLens-1M.

def _dat(read: Callable[[str], bytes], name: str) -> str:
    # "::" is the separator; no field holds a tab, so one character stands in for it.
    return _decode(read(name), name, "iso-8859-1").replace("::", "\t")


def parse_ml1m(read: Callable[[str], bytes], source: str) -> MovieLens:
    """Parses ratings.dat, movies.dat and users.dat (tfds ``movielens/1m-ratings``'s table:
    no raw age, only the bucket users.dat gives)."""
    text = _dat(read, "ratings.dat")
    try:
        # Four integers a line; a fast path with no Python object per rating.
        fields = np.array(text.split(), dtype=np.int64).reshape(-1, 4)
        if fields.shape[0] != sum(1 for line in text.splitlines() if line.strip()):
            raise ValueError
    except ValueError:
        for line_no, values in _rows(text, "ratings.dat", "\t", 4):  # names the bad line
            for value, what in zip(values, ("user", "movie", "rating", "timestamp"),
                                   strict=True):
                _parse("ratings.dat", line_no, int, value, what)
        raise DataError("ratings.dat: not four integers a line") from None
    del text
    movies = list(_rows(_dat(read, "movies.dat"), "movies.dat", "\t", 3))
    movie_ids = np.array([fields_[0] for _, fields_ in movies])
    titles = np.array([fields_[1] for _, fields_ in movies])
    genres = np.array(["|".join(_ML1M_GENRES.get(g, g) for g in fields_[2].split("|"))
                       for _, fields_ in movies])
    users = {}
    for line_no, (user, gender, age, occupation, zip_code) in _rows(
            _dat(read, "users.dat"), "users.dat", "\t", 5):
        code = _parse("users.dat", line_no, int, occupation, "occupation")
        if not 0 <= code < len(ML1M_OCCUPATIONS) or gender not in ("M", "F"):
            raise DataError(f"users.dat:{line_no}: occupation {occupation!r} or gender "
                            f"{gender!r} is not valid")
        users[int(user)] = (_parse("users.dat", line_no, int, age, "age"), gender == "M",
                            ML1M_OCCUPATIONS[code], zip_code)
    user_numbers = fields[:, 0]
    missing = np.setdiff1d(user_numbers, np.array(list(users), dtype=np.int64))
    if missing.size:
        raise DataError(f"ratings.dat: user {int(missing[0])} is not in users.dat")
    known = np.array(sorted(users), dtype=np.int64)
    profile = [users[u] for u in known.tolist()]
    row = np.searchsorted(known, user_numbers)
    columns = {
        "user_rating": fields[:, 2].astype(np.float32),
        "bucketized_user_age": np.array([p[0] for p in profile], dtype=np.float32)[row],
        "user_gender": np.array([p[1] for p in profile], dtype=bool)[row],
        "user_occupation_text": np.array([p[2] for p in profile])[row],
        "user_zip_code": np.array([p[3] for p in profile])[row],
    }
    catalogue = {"movie_id": movie_ids, "movie_title": titles,
                 "movie_genres": genre_lists(genres, GENRE_NAMES, "movies.dat")}
    return build_columnar(int_strings(user_numbers), int_strings(fields[:, 1]), fields[:, 3],
                          catalogue, source, {"ratings": "ratings.dat", "movies": "movies.dat"},
                          columns, dataset="movielens-1m")


# ---------------------------------------------------------------------------------------
# MovieLens-20M and 25M.

def _ints(table, name: str, path) -> np.ndarray:
    pyarrow = pyarrow_module()
    column = table[name]
    if column.null_count or not pyarrow.types.is_integer(column.type):
        raise DataError(f"{path}: column {name!r} must hold integers (found "
                        f"{column.type}{', with empty values' if column.null_count else ''})")
    values = column.to_numpy().astype(np.int64)
    if values.size and values.min() < 0:
        raise DataError(f"{path}: column {name!r} holds a negative value")
    return values


def parse_ml_csv(directory: Path, source: str, dataset: str) -> MovieLens:
    """Parses ``ratings.csv`` and ``movies.csv`` of MovieLens-20M or 25M."""
    pa = pyarrow_module()
    ratings_path, movies_path = directory / "ratings.csv", directory / "movies.csv"
    ratings = read_csv(ratings_path, {"userId": pa.int64(), "movieId": pa.int64(),
                                       "rating": pa.float32(), "timestamp": pa.int64()})
    require_columns(ratings, ratings_path, ("userId", "movieId", "rating", "timestamp"))
    movies = read_csv(movies_path, {"movieId": pa.string(), "title": pa.string(),
                                     "genres": pa.string()})
    require_columns(movies, movies_path, ("movieId", "title", "genres"))
    user_id = int_strings(_ints(ratings, "userId", ratings_path))
    movie_id = int_strings(_ints(ratings, "movieId", ratings_path))
    timestamp = _ints(ratings, "timestamp", ratings_path)
    rating = ratings["rating"].to_numpy().astype(np.float32)
    del ratings
    catalogue = {"movie_id": np.array(movies["movieId"].to_pylist()),
                 "movie_title": np.array(movies["title"].to_pylist()),
                 "movie_genres": genre_lists(np.array(movies["genres"].to_pylist()),
                                             GENRE_NAMES, str(movies_path))}
    return build_columnar(user_id, movie_id, timestamp, catalogue, source,
                          {"ratings": str(ratings_path), "movies": str(movies_path)},
                          {"user_rating": rating}, dataset=dataset)


__all__ = ["ML1M_OCCUPATIONS", "parse_ml1m", "parse_ml_csv"]
