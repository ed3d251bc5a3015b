"""Parsers of the MovieLens-100k files: GroupLens's originals and RecBole's atomic files.

Every error names the file (and the line) that is wrong.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.data.table import GENRE_NAMES, MovieLens, build_table
from harness.errors import DataError

# u.item's 19 genre flags, in file order, with tfds's spelling.
_GROUPLENS_GENRES = (
    "Unknown", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)


def _decode(raw: bytes, name: str, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise DataError(f"{name}: not valid {encoding} text ({error.reason} at byte "
                        f"{error.start})") from None


def _rows(text: str, name: str, sep: str, n_fields: int, skip_header: bool = False
          ) -> Iterator[tuple[int, list[str]]]:
    lines = text.splitlines()
    if skip_header:
        lines = lines[1:]
    for line_no, line in enumerate(lines, start=2 if skip_header else 1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split(sep)
        if len(fields) != n_fields:
            raise DataError(f"{name}:{line_no}: expected {n_fields} fields separated by "
                            f"{sep!r}, found {len(fields)} (truncated or corrupt file?)")
        yield line_no, fields


def _parse(name: str, line_no: int, convert: Callable, value: str, what: str):
    try:
        return convert(value)
    except (ValueError, OverflowError):  # int(float("inf")) overflows
        raise DataError(f"{name}:{line_no}: {what} {value!r} is not valid") from None


def _check_timestamp(name: str, line_no: int, value: str) -> int:
    timestamp = _parse(name, line_no, lambda v: int(float(v)), value, "timestamp")
    if not 0 <= timestamp < 2**40:
        raise DataError(f"{name}:{line_no}: timestamp {value!r} is out of range")
    return timestamp


def _check_header(text: str, name: str, expected: str) -> None:
    header = text.split("\n", 1)[0].strip()
    if header != expected:
        raise DataError(f"{name}: header is {header[:80]!r}, expected {expected!r}")


# ---------------------------------------------------------------------------------------
# Source 1a: the GroupLens files.

def parse_grouplens(read: Callable[[str], bytes], source: str) -> MovieLens:
    """Parses u.data, u.item and u.user as tfds does (ISO-8859-1, tfds's genre names).

    Args:
        read: file name -> its bytes; raises DataError when missing.
        source: provenance string.
    """
    ratings = []
    for line_no, (user, movie, rating, timestamp) in _rows(
            _decode(read("u.data"), "u.data", "iso-8859-1"), "u.data", "\t", 4):
        ratings.append((user, movie, _parse("u.data", line_no, float, rating, "rating"),
                        _check_timestamp("u.data", line_no, timestamp)))
    movies = {}
    for line_no, fields in _rows(_decode(read("u.item"), "u.item", "iso-8859-1"), "u.item",
                                 "|", 24):
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise DataError(f"u.item:{line_no}: genre flags must be 0 or 1")
        movies[fields[0]] = (fields[1], [g for g, f in zip(_GROUPLENS_GENRES, flags, strict=True)
                                         if f == "1"])
    users = {}
    for line_no, (user, age, gender, occupation, zip_code) in _rows(
            _decode(read("u.user"), "u.user", "iso-8859-1"), "u.user", "|", 5):
        users[user] = (_parse("u.user", line_no, int, age, "age"), gender, occupation,
                       zip_code)
    return build_table(ratings, movies, users, source,
                  {"ratings": "u.data", "movies": "u.item", "users": "u.user"})


# ---------------------------------------------------------------------------------------
# Source 1b and 3: RecBole's atomic files.

def _recbole_title(title: str, year: str) -> str:
    # RecBole split "Title (Year)" into two fields and spelled GroupLens's
    # "unknown" movie (id 267, no year) as "unkonwn"; put the original back.
    if year == "unkonwn":
        return "unknown"
    return f"{title} ({year})"


def _recbole_genre(name: str) -> str:
    return {"unknown": "Unknown", "Children's": "Children"}.get(name, name)


def parse_recbole(read: Callable[[str], bytes], source: str) -> MovieLens:
    """Parses ml-100k.{inter,item,user} (UTF-8, tab-separated, typed header)."""
    names = {part: f"ml-100k.{part}" for part in ("inter", "item", "user")}
    text = {part: _decode(read(name), name, "utf-8") for part, name in names.items()}
    _check_header(text["inter"], names["inter"],
                  "user_id:token\titem_id:token\trating:float\ttimestamp:float")
    _check_header(text["item"], names["item"],
                  "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq")
    _check_header(text["user"], names["user"], "user_id:token\tage:token\tgender:token\t"
                  "occupation:token\tzip_code:token")
    ratings = []
    for line_no, (user, movie, rating, timestamp) in _rows(
            text["inter"], names["inter"], "\t", 4, skip_header=True):
        ratings.append((user, movie,
                        _parse(names["inter"], line_no, float, rating, "rating"),
                        _check_timestamp(names["inter"], line_no, timestamp)))
    movies = {
        movie: (_recbole_title(title, year), [_recbole_genre(g) for g in genres.split()])
        for _, (movie, title, year, genres) in _rows(text["item"], names["item"], "\t", 4,
                                                      skip_header=True)
    }
    for movie, (_, genres) in movies.items():
        unknown = [g for g in genres if g not in GENRE_NAMES]
        if unknown:
            raise DataError(f"{names['item']}: movie {movie}: unknown genre {unknown[0]!r}")
    users = {}
    for line_no, (user, age, gender, occupation, zip_code) in _rows(
            text["user"], names["user"], "\t", 5, skip_header=True):
        users[user] = (_parse(names["user"], line_no, int, age, "age"), gender, occupation,
                       zip_code)
    return build_table(ratings, movies, users, source,
                  {"ratings": names["inter"], "movies": names["item"],
                   "users": names["user"]})


# ---------------------------------------------------------------------------------------
# Readers over directories, zips and the wheel.

def directory_reader(directory: Path) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        path = directory / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"{path}: missing") from None
        except OSError as error:
            raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    return read


def open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable zip file ({error})") from None


def zip_reader(archive: zipfile.ZipFile, path: Path, prefix: str,
                checksums: dict[str, str] | None = None) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        member = prefix + name
        try:
            data = archive.read(member)
        except KeyError:
            raise DataError(f"{path}: has no member {member}") from None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
            raise DataError(f"{path}: member {member} is corrupt ({error})") from None
        if checksums is not None:
            actual = hashlib.sha256(data).hexdigest()
            if actual != checksums[name]:
                raise DataError(f"{path}: {member} has sha256 {actual}, expected "
                                f"{checksums[name]} (corrupt or altered download)")
        return data
    return read
