"""The canonical table's sha256: every column hashed in a fixed order, a chunk at a time.

Equal tables hash equal whatever their source or layout (a rating's title and genres
written out, or kept as its catalogue row), and a large table is hashed without ever
holding a column's whole byte string.
"""

from __future__ import annotations

import hashlib

import numpy as np

_HASH_CHUNK = 1 << 20  # rows hashed at a time: bounded transient memory on large tables


def _unicode_chunks(column: np.ndarray, rows: np.ndarray | None = None):
    """The bytes of ``"\x00".join(column[rows].tolist()).encode()``, a chunk at a time."""
    for start in range(0, len(column) if rows is None else len(rows), _HASH_CHUNK):
        part = (column[start:start + _HASH_CHUNK] if rows is None
                else column[rows[start:start + _HASH_CHUNK]])
        text = "\x00".join(part.tolist())
        yield (("\x00" if start else "") + text).encode("utf-8")


def _ragged_chunks(lists: np.ndarray, rows: np.ndarray | None):
    """The bytes of each ``lists[row]`` as int64 plus b";", for every row, a chunk at a time.

    Args:
        lists: [n_lists] object array of int64 arrays (genre ids).
        rows: [n] indices into ``lists``; None for every list in order.
    """
    if rows is None:
        for value in lists:
            yield np.asarray(value, dtype=np.int64).tobytes() + b";"
        return
    pieces = [np.frombuffer(np.asarray(v, dtype=np.int64).tobytes() + b";", dtype=np.uint8)
              for v in lists]
    lengths = np.array([p.size for p in pieces], dtype=np.int64)
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for start in range(0, len(rows), _HASH_CHUNK):
        chunk = rows[start:start + _HASH_CHUNK]
        sizes = lengths[chunk]
        ends = np.cumsum(sizes)
        # Byte j of the output comes from flat[offsets[row] + (j - start of row's bytes)].
        index = np.repeat(offsets[chunk] - (ends - sizes), sizes) + np.arange(ends[-1]
                                                                              if ends.size else 0)
        yield flat[index].tobytes()


def table_sha256(ratings: dict[str, np.ndarray], movies: dict[str, np.ndarray]) -> str:
    """sha256 over the columns in a fixed order; equal tables hash equal.

    A table that keeps each rating's catalogue row (``movie_row``) instead of its title
    and genres hashes as the table with those columns written out, so a loader's choice of
    layout never changes the hash.
    """
    digest = hashlib.sha256()
    for prefix, table in (("ratings", ratings), ("movies", movies)):
        columns = dict(table)
        movie_row = columns.pop("movie_row", None) if prefix == "ratings" else None
        if movie_row is not None:
            columns["movie_title"] = columns["movie_genres"] = None  # written out below
            if "movie_genres" not in movies:
                del columns["movie_genres"]
        for name in sorted(columns):
            column = columns[name]
            size = len(movie_row) if column is None else len(column)
            digest.update(f"{prefix}/{name}:{size}\n".encode())
            if column is None and name == "movie_title":
                chunks = _unicode_chunks(movies["movie_title"], movie_row)
            elif column is None:
                chunks = _ragged_chunks(movies["movie_genres"], movie_row)
            elif column.dtype == object:  # ragged genre lists
                chunks = _ragged_chunks(column, None)
            elif column.dtype.kind == "U":
                chunks = _unicode_chunks(column)
            else:
                chunks = [np.ascontiguousarray(column).tobytes()]
            for chunk in chunks:
                digest.update(chunk)
    return digest.hexdigest()


__all__ = ["table_sha256"]
