"""Readers of the larger MovieLens releases and of a plain interactions file.

- MovieLens-1M: ``ratings.dat``, ``movies.dat``, ``users.dat``, ``::``-separated,
  ISO-8859-1 (Latin-1) titles, ages already bucketed, occupations as codes.
- MovieLens-20M / 25M: ``ratings.csv``, ``movies.csv`` (UTF-8, quoted titles); no user
  profile.
- An interactions file (CSV or Parquet): ``user_id``, ``item_id``, ``timestamp``
  (integer seconds or ISO 8601; without a zone it is UTC) and optionally ``rating``,
  ``item_title``, ``item_genres`` (``|``-separated) and the user profile ``user_age``,
  ``user_gender`` (M/F), ``user_occupation``, ``user_zip_code``. Other ``user_*`` columns
  are kept in the table; no configuration reads them yet.

CSV and Parquet are read with pyarrow (the ``data`` extra), column by column: no Python
object per interaction. Every error names the file and the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

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
REQUIRED = ("user_id", "item_id", "timestamp")
PROFILE = {"user_age": "bucketized_user_age", "user_gender": "user_gender",
           "user_occupation": "user_occupation_text", "user_zip_code": "user_zip_code"}


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.compute  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise DataError("reading CSV or Parquet files needs pyarrow: pip install "
                        "'ctxbench[data]'") from None
    return pyarrow


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

def _read_csv(path: Path, types: dict | None = None):
    pyarrow = _pyarrow()
    try:
        return pyarrow.csv.read_csv(path, convert_options=pyarrow.csv.ConvertOptions(
            column_types=types or {}))
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except (pyarrow.ArrowInvalid, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: not a readable CSV file ({first})") from None


def _require(table, path, names) -> None:
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise DataError(f"{path}: missing required column {missing[0]!r} (has: "
                        f"{', '.join(table.column_names) or 'none'})")


def _ints(table, name: str, path) -> np.ndarray:
    pyarrow = _pyarrow()
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
    pa = _pyarrow()
    ratings_path, movies_path = directory / "ratings.csv", directory / "movies.csv"
    ratings = _read_csv(ratings_path, {"userId": pa.int64(), "movieId": pa.int64(),
                                       "rating": pa.float32(), "timestamp": pa.int64()})
    _require(ratings, ratings_path, ("userId", "movieId", "rating", "timestamp"))
    movies = _read_csv(movies_path, {"movieId": pa.string(), "title": pa.string(),
                                     "genres": pa.string()})
    _require(movies, movies_path, ("movieId", "title", "genres"))
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


# ---------------------------------------------------------------------------------------
# A plain interactions file.

def _read_interactions(path: Path):
    pyarrow = _pyarrow()
    if not path.is_file():
        raise DataError(f"{path}: interactions file does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"PAR1":
        try:
            table = pyarrow.parquet.read_table(path)
        except (pyarrow.ArrowInvalid, OSError) as error:
            raise DataError(f"{path}: not a readable Parquet file ({error})") from None
    else:
        # Ids and text as strings; the timestamp as written (integers or ISO 8601).
        string = pyarrow.string()
        try:
            head = pyarrow.csv.read_csv(path, read_options=pyarrow.csv.ReadOptions(
                block_size=1 << 16))
        except (pyarrow.ArrowInvalid, UnicodeDecodeError) as error:
            raise DataError(f"{path}: neither Parquet nor a CSV file with a header "
                            f"({str(error).splitlines()[0]})") from None
        types = {name: string for name in head.column_names if name != "timestamp"
                 and name not in ("rating", "user_age")}
        table = _read_csv(path, types)
    _require(table, path, REQUIRED)
    if table.num_rows == 0:
        raise DataError(f"{path}: no interactions (a header only)")
    for name in table.column_names:
        if table[name].null_count and (name in REQUIRED or name == "rating"):
            raise DataError(f"{path}: column {name!r} has empty values")
    return table


def _strings(column) -> np.ndarray:
    """[n] a pyarrow column as numpy unicode, through its distinct values: one Python
    string per distinct value, not per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(pc.fill_null(column.cast(pa.string()), "")
                                   ).combine_chunks()
    values = np.array(encoded.dictionary.to_pylist(), dtype=str)
    if values.size == 0:
        values = np.zeros(1, dtype="U1")
    return values[encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)]


def _timestamps(column, path) -> np.ndarray:
    """[n] int64 seconds from integer seconds or ISO 8601 text (no zone: UTC)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(column.type):
        return column.to_numpy().astype(np.int64)
    if pa.types.is_floating(column.type):
        return np.floor(column.to_numpy()).astype(np.int64)
    if pa.types.is_timestamp(column.type):
        return pc.cast(column, pa.timestamp("s", tz=column.type.tz)).cast(
            pa.int64()).to_numpy()
    if not pa.types.is_string(column.type):
        raise DataError(f"{path}: column 'timestamp' has type {column.type}; expected "
                        "integer seconds or ISO 8601 text")
    text = pc.utf8_trim_whitespace(column)
    # A zone follows a time of day ("...T10:00:00+01:00"); a date's "-01" is not one.
    zoned = pc.match_substring_regex(text, r"\d\d:\d\d(:\d\d(\.\d*)?)?(Z|[+-]\d\d(:?\d\d)?)$")
    seconds = np.empty(len(text), dtype=np.int64)
    for mask, kind in ((zoned, pa.timestamp("ns", tz="UTC")), (pc.invert(zoned),
                                                                pa.timestamp("ns"))):
        rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        if rows.size == 0:
            continue
        part = text.take(pa.array(rows))
        try:
            parsed = pc.cast(part, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            for value in part.to_pylist():  # the error path only: name the first bad one
                try:
                    pc.cast(pa.array([value]), kind)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise DataError(f"{path}: timestamp {value!r} is neither integer "
                                    "seconds nor ISO 8601") from None
            raise
        nanos = pc.cast(parsed, pa.int64()).to_numpy()
        seconds[rows] = np.floor_divide(nanos, 10**9)
    return seconds


def parse_interactions(path: Path, source: str) -> MovieLens:
    """Reads an interactions file; the columns present decide what the table provides.

    Without ``item_title`` the item id is the candidate's key and title words are not
    available; without ``item_genres`` there are no genres; the user profile needs all of
    ``user_age``, ``user_gender``, ``user_occupation``, ``user_zip_code``.
    """
    pa = _pyarrow()
    table = _read_interactions(path)
    names = table.column_names
    user_id, item_id = _strings(table["user_id"]), _strings(table["item_id"])
    timestamp = _timestamps(table["timestamp"], path)
    columns: dict[str, np.ndarray] = {}
    if "rating" in names:
        try:
            columns["user_rating"] = table["rating"].cast(pa.float32()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DataError(f"{path}: column 'rating' must hold numbers") from None
    profile = [name for name in names if name in PROFILE]
    if len(profile) == len(PROFILE):
        try:
            columns["bucketized_user_age"] = table["user_age"].cast(pa.float32()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DataError(f"{path}: column 'user_age' must hold numbers") from None
        gender = _strings(table["user_gender"])
        if not np.isin(gender, ("M", "F")).all():
            raise DataError(f"{path}: column 'user_gender' must hold M or F")
        columns["user_gender"] = gender == "M"
        for name in ("user_occupation", "user_zip_code"):
            columns[PROFILE[name]] = _strings(table[name])
    for name in names:  # other user columns travel with the table, unread
        if name.startswith("user_") and name != "user_id" and name not in PROFILE:
            columns[name] = _strings(table[name])
    # The catalogue: each item's first row gives its title and genres.
    _, first = np.unique(item_id, return_index=True)
    catalogue = {"movie_id": item_id[first]}
    has_titles = "item_title" in names
    if has_titles:
        catalogue["movie_title"] = _strings(table["item_title"].take(pa.array(first)))
    else:
        catalogue["movie_title"] = catalogue["movie_id"]
    genre_names = GENRE_NAMES
    if "item_genres" in names:
        genres = _strings(table["item_genres"].take(pa.array(first)))
        genre_names = tuple(sorted({g for value in genres.tolist() for g in value.split("|")
                                    if g}))
        catalogue["movie_genres"] = genre_lists(genres, genre_names, str(path))
    del table
    return build_columnar(user_id, item_id, timestamp, catalogue, source,
                          {"ratings": str(path), "movies": str(path)}, columns,
                          dataset=f"interactions:{path.name}", genre_names=genre_names,
                          has_titles=has_titles)


__all__ = ["ML1M_OCCUPATIONS", "parse_interactions", "parse_ml1m", "parse_ml_csv"]
