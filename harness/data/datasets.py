"""The dataset registry: which interaction data a run uses (``--dataset NAME``).

Like the split and configuration registries, a dataset is one entry keyed by name:

- ``movielens-100k`` (the default): :func:`harness.data.sources.load_movielens`;
- ``movielens-1m``: GroupLens ``ratings.dat``, ``movies.dat``, ``users.dat``;
- ``movielens-20m``, ``movielens-25m``: GroupLens ``ratings.csv``, ``movies.csv`` (no
  user profile);
- ``interactions:PATH``: a CSV, TSV or Parquet file
  (:func:`harness.data.interactions.parse_interactions`).

The MovieLens releases load from ``--data-dir`` (the files, or their ``ml-1m/``,
``ml-20m/``, ``ml-25m/`` folder, or for 1M ``ml-1m.zip``) or from a prepared tfds copy
(``movielens/1m-ratings`` ...). What a loaded table provides (titles, genres, user
profile, rating) is :attr:`harness.data.table.MovieLens.provides`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.data.columnar import build_columnar
from harness.data.formats import directory_reader, open_zip, zip_reader
from harness.data.interactions import parse_interactions
from harness.data.readers import parse_ml1m, parse_ml_csv
from harness.data.sources import DATA_DIR_ENV, load_movielens
from harness.data.table import DEFAULT_DATASET, MovieLens
from harness.errors import DataError, UnknownNameError, UserError

INTERACTIONS_PREFIX = "interactions:"


@dataclass(frozen=True)
class Dataset:
    """A registered dataset.

    Attributes:
        name: registry key, recorded in every result's provenance.
        description: one line: what it is and what it provides.
        folder: GroupLens's folder name inside ``--data-dir`` (e.g. ``ml-1m``).
        tfds_name: the tfds builder, e.g. ``movielens/1m-ratings``.
        load: (data_dir, source) -> table.
    """

    name: str
    description: str
    folder: str
    tfds_name: str
    load: Callable[[str | None, str | None], MovieLens]


def _data_dir(data_dir) -> str | None:
    return data_dir or os.environ.get(DATA_DIR_ENV) or None


def _folder(root: Path, folder: str, marker: str) -> Path | None:
    for candidate in (root, root / folder):
        if (candidate / marker).exists():
            return candidate
    return None


def _tfds_dir(tfds_name: str) -> Path | None:
    base = Path(os.environ.get("TFDS_DATA_DIR") or Path.home() / "tensorflow_datasets")
    base = base.joinpath(*tfds_name.split("/"))
    if not base.is_dir():
        return None
    versions = sorted(p for p in base.iterdir() if (p / "dataset_info.json").exists())
    return versions[-1] if versions else None


def load_tfds_table(tfds_name: str, version_dir: Path, dataset: str) -> MovieLens:
    """Reads a prepared tfds MovieLens copy a million rows at a time (never downloads)."""
    import tensorflow_datasets as tfds

    from harness.tfcompat import tf

    try:
        ds = tfds.load(tfds_name, split="train", download=False, try_gcs=False,
                       data_dir=str(version_dir.parent.parent.parent))
    except Exception as error:  # tfds raises many types for a damaged copy
        raise DataError(f"{tfds_name}: prepared tfds copy cannot be read ({error})") from None
    profile = "user_occupation_text" in ds.element_spec
    parts: dict[str, list] = {}
    movies: dict[str, tuple[str, np.ndarray]] = {}
    for batch in tfds.as_numpy(ds.ragged_batch(1 << 20) if hasattr(ds, "ragged_batch")
                               else ds.apply(tf.data.experimental.dense_to_ragged_batch(
                                   1 << 20))):
        genres = batch.pop("movie_genres")
        ids = batch["movie_id"]
        _, first = np.unique(ids, return_index=True)
        for row in first.tolist():  # one Python object per movie, not per rating
            movies.setdefault(ids[row].decode(), (batch["movie_title"][row].decode(),
                                                  np.asarray(genres[row], dtype=np.int64)))
        for name in ("user_id", "movie_id", "timestamp", "user_rating",
                     *(("bucketized_user_age", "user_gender", "user_occupation_text",
                        "user_zip_code") if profile else ())):
            column = batch[name]
            if column.dtype == object:  # tfds's strings: bytes objects, a batch at a time
                column = np.char.decode(column.astype(np.bytes_), "utf-8")
            parts.setdefault(name, []).append(column)
    columns = {name: np.concatenate(chunks) for name, chunks in parts.items()}
    ids = sorted(movies)
    genre_column = np.empty(len(ids), dtype=object)
    genre_column[:] = [movies[m][1] for m in ids]
    catalogue = {"movie_id": np.array(ids), "movie_title": np.array([movies[m][0] for m in ids]),
                 "movie_genres": genre_column}
    extra = {name: columns[name] for name in columns
             if name not in ("user_id", "movie_id", "timestamp")}
    extra["user_rating"] = extra["user_rating"].astype(np.float32)
    return build_columnar(columns["user_id"], columns["movie_id"],
                          columns["timestamp"].astype(np.int64), catalogue,
                          f"tfds:{tfds_name}/{version_dir.name}",
                          {"ratings": tfds_name, "movies": tfds_name}, extra, dataset=dataset)


def _grouplens_loader(name: str, folder: str, tfds_name: str, marker: str,
                      parse: Callable[[Path, str], MovieLens], zip_parse=None):
    def load(data_dir: str | None, source: str | None) -> MovieLens:
        data_dir = _data_dir(data_dir)
        if source not in (None, "data_dir", "tfds"):
            raise UserError(f"dataset {name} has no source {source!r}; valid: data_dir, tfds")
        if source != "tfds" and data_dir:
            root = Path(data_dir)
            if not root.is_dir():
                raise DataError(f"{root}: data directory does not exist")
            found = _folder(root, folder, marker)
            if found is not None:
                return parse(found, f"grouplens:{folder}")
            if zip_parse is not None and (root / f"{folder}.zip").exists():
                return zip_parse(root / f"{folder}.zip")
            raise DataError(f"{root}: holds no {marker} (nor a {folder}/ folder) for {name}")
        if source == "data_dir":
            raise UserError(f"source 'data_dir' needs --data-dir or ${DATA_DIR_ENV}")
        prepared = _tfds_dir(tfds_name)
        if prepared is None:
            raise DataError(f"{name}: pass --data-dir with the GroupLens files ({marker} ...) "
                            f"or set $TFDS_DATA_DIR to a prepared {tfds_name} copy")
        return load_tfds_table(tfds_name, prepared, name)
    return load


def _ml1m_dir(directory: Path, source: str) -> MovieLens:
    return parse_ml1m(directory_reader(directory), source)


def _ml1m_zip(path: Path) -> MovieLens:
    with open_zip(path) as archive:
        return parse_ml1m(zip_reader(archive, path, "ml-1m/"), f"grouplens-zip:{path.name}")


def _movielens_100k(data_dir: str | None, source: str | None) -> MovieLens:
    return load_movielens(data_dir, source=source)


DATASETS: dict[str, Dataset] = {}
for _dataset in (
    Dataset(DEFAULT_DATASET, "MovieLens-100k: titles, genres, user profile, rating",
            "ml-100k", "movielens/100k-ratings", _movielens_100k),
    Dataset("movielens-1m", "MovieLens-1M: titles (Latin-1), genres, user profile "
            "(age bucket), rating", "ml-1m", "movielens/1m-ratings",
            _grouplens_loader("movielens-1m", "ml-1m", "movielens/1m-ratings", "ratings.dat",
                              _ml1m_dir, _ml1m_zip)),
    *(Dataset(f"movielens-{size}", f"MovieLens-{size.upper()}: titles, genres, rating; "
              "no user profile", f"ml-{size}", f"movielens/{size}-ratings",
              _grouplens_loader(f"movielens-{size}", f"ml-{size}", f"movielens/{size}-ratings",
                                "ratings.csv", lambda d, s, n=f"movielens-{size}":
                                parse_ml_csv(d, s, n)))
      for size in ("20m", "25m")),
):
    DATASETS[_dataset.name] = _dataset


def check_dataset_name(name: str) -> str:
    """``name`` when it is registered or ``interactions:PATH``.

    Raises:
        UnknownNameError: anything else; the message lists the valid names.
    """
    if name in DATASETS or (name.startswith(INTERACTIONS_PREFIX)
                            and len(name) > len(INTERACTIONS_PREFIX)):
        return name
    raise UnknownNameError("dataset", name, [*DATASETS, f"{INTERACTIONS_PREFIX}PATH"])


def load_dataset(name: str = DEFAULT_DATASET, data_dir: str | os.PathLike | None = None,
                 source: str | None = None) -> MovieLens:
    """Loads the dataset ``name`` (a registered name or ``interactions:PATH``).

    Raises:
        UnknownNameError: an unknown name (lists the valid ones).
        DataError: missing, corrupt or unusable files; the message names the file.
    """
    check_dataset_name(name)
    if name.startswith(INTERACTIONS_PREFIX):
        path = Path(name[len(INTERACTIONS_PREFIX):]).expanduser()
        return parse_interactions(path, f"interactions:{path.name}")
    return DATASETS[name].load(str(data_dir) if data_dir else None, source)


__all__ = ["DATASETS", "Dataset", "INTERACTIONS_PREFIX", "check_dataset_name",
           "load_dataset", "load_tfds_table"]
