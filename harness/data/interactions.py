"""A plain interactions file: any data set as ``--dataset interactions:PATH``.

The file is CSV (comma-separated, with a header), TSV (tab-separated, named ``*.tsv``) or
Parquet, with columns ``user_id``, ``item_id``, ``timestamp`` (integer seconds or ISO
8601; without a zone it is UTC) and optionally ``rating``, ``item_title``,
``item_genres`` (``|``-separated) and the user profile ``user_age``, ``user_gender``
(M/F), ``user_occupation``, ``user_zip_code``. Other ``user_*`` columns are kept in the
table; no configuration reads them yet.

It is read with pyarrow (:mod:`harness.data.arrow`), column by column: no Python object
per interaction. Every error names the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.arrow import pyarrow_module, read_csv, require_columns
from harness.data.columnar import build_columnar, genre_lists
from harness.data.table import GENRE_NAMES, MovieLens
from harness.errors import DataError

REQUIRED = ("user_id", "item_id", "timestamp")
PROFILE = {"user_age": "bucketized_user_age", "user_gender": "user_gender",
           "user_occupation": "user_occupation_text", "user_zip_code": "user_zip_code"}
# A file named *.tsv is tab-separated; any other text file is CSV.
TSV_SUFFIX = ".tsv"



def _read_interactions(path: Path):
    pyarrow = pyarrow_module()
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
        delimiter = "\t" if path.suffix.lower() == TSV_SUFFIX else ","
        try:
            head = pyarrow.csv.read_csv(
                path, read_options=pyarrow.csv.ReadOptions(block_size=1 << 16),
                parse_options=pyarrow.csv.ParseOptions(delimiter=delimiter))
        except (pyarrow.ArrowInvalid, UnicodeDecodeError) as error:
            raise DataError(f"{path}: neither Parquet nor a CSV file with a header "
                            f"({str(error).splitlines()[0]})") from None
        types = {name: string for name in head.column_names if name != "timestamp"
                 and name not in ("rating", "user_age")}
        table = read_csv(path, types, delimiter)
    require_columns(table, path, REQUIRED)
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
    pa = pyarrow_module()
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


__all__ = ["PROFILE", "REQUIRED", "TSV_SUFFIX", "parse_interactions"]
