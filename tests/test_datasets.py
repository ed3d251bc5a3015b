"""The dataset registry: MovieLens-1M/20M/25M files and interactions files, generated small.

Each format is written from the same content as tests/fixtures_data.py's MovieLens-100k
files, so every loader can be checked against the 100k loader's table. No dataset is
committed: every file is built here in a temporary directory.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from fixtures_data import (
    EXPECTED_AGE_BUCKET,
    MOVIES,
    RATINGS,
    USERS,
    grouplens_files,
    write_files,
)

from harness.cli import main
from harness.data.columnar import int_strings
from harness.data.datasets import DATASETS, check_dataset_name, load_dataset
from harness.data.digest import table_sha256
from harness.data.readers import ML1M_OCCUPATIONS
from harness.data.sources import load_from_dir
from harness.data.table import GENRE_NAMES
from harness.errors import DataError, UnknownNameError

pytest.importorskip("pyarrow")

# USERS with ML-1M's coded fields: the age is its bucket, the occupation one of its 21.
USERS_1M = tuple((user, EXPECTED_AGE_BUCKET[user], gender, ML1M_OCCUPATIONS[i * 2], zip_code)
                 for i, (user, _, gender, _, zip_code) in enumerate(USERS))
CHILDRENS = {"Children's": "Children", "unknown": "Unknown"}


def _title(title, year) -> str:
    return "unknown" if title is None else f"{title} ({year})"


def _genres(genres, spelling=None) -> str:
    spelling = CHILDRENS if spelling is None else spelling
    return "|".join(spelling.get(g, g) for g in genres)


def ml1m_files(ratings=RATINGS) -> dict[str, bytes]:
    movies = "".join(f"{m}::{_title(t, y)}::{_genres(g, {'unknown': 'Unknown'})}\n"
                     for m, t, y, g in MOVIES)
    users = "".join(f"{u}::{g}::{a}::{ML1M_OCCUPATIONS.index(o)}::{z}\n"
                    for u, a, g, o, z in USERS_1M)
    return {"ratings.dat": "".join(f"{u}::{m}::{r}::{t}\n" for u, m, r, t in ratings
                                   ).encode("iso-8859-1"),
            "movies.dat": movies.encode("iso-8859-1"), "users.dat": users.encode("iso-8859-1")}


def ml_csv_files() -> dict[str, bytes]:
    def quoted(text):
        return f'"{text}"' if "," in text else text
    movies = "movieId,title,genres\n" + "".join(
        f"{m},{quoted(_title(t, y))},{_genres(g)}\n" for m, t, y, g in MOVIES)
    ratings = "userId,movieId,rating,timestamp\n" + "".join(
        f"{u},{m},{r}.0,{t}\n" for u, m, r, t in RATINGS)
    return {"ratings.csv": ratings.encode(), "movies.csv": movies.encode()}


def interactions_rows(iso: bool = False) -> list[dict]:
    titles = {m: _title(t, y) for m, t, y, _ in MOVIES}
    genres = {m: _genres(g) for m, _, _, g in MOVIES}
    profile = {u: (a, g, o, z) for u, a, g, o, z in USERS_1M}
    rows = []
    for user, movie, rating, timestamp in RATINGS:
        when = (datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat()
                .replace("+00:00", "Z") if iso else timestamp)
        age, gender, occupation, zip_code = profile[user]
        rows.append({"user_id": user, "item_id": movie, "timestamp": when, "rating": rating,
                     "item_title": titles[movie], "item_genres": genres[movie],
                     "user_age": age, "user_gender": gender, "user_occupation": occupation,
                     "user_zip_code": zip_code})
    return rows


def write_csv(path, rows, columns=None) -> str:
    import csv

    columns = columns or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return f"interactions:{path}"


def reference_100k(tmp_path, users=USERS_1M):
    """The 100k loader's table of the same content (ages given as their buckets)."""
    return load_from_dir(write_files(tmp_path / "ml-100k", grouplens_files(users=users)))


def _rated_columns(data) -> dict[str, np.ndarray]:
    columns = {name: column for name, column in data.ratings.items()
               if name not in ("movie_row", "movie_title", "movie_genres")}
    columns["movie_title"] = data.rated_titles()
    return columns


def test_registry_lists_every_dataset():
    assert list(DATASETS) == ["movielens-100k", "movielens-1m", "movielens-20m",
                              "movielens-25m"]
    assert check_dataset_name("interactions:x.csv") == "interactions:x.csv"
    with pytest.raises(UnknownNameError, match="interactions:PATH, movielens-100k, movielens-1m"):
        check_dataset_name("movielens-10m")


def test_int_strings_match_python():
    values = np.array([0, 7, 10, 99, 100, 162541, 5], dtype=np.int64)
    assert int_strings(values).tolist() == [str(v) for v in values.tolist()]


@pytest.mark.parametrize("layout", ["loose", "subdir", "zip"])
def test_ml1m_is_the_100k_table(tmp_path, layout):
    files = ml1m_files()
    if layout == "zip":
        from fixtures_data import write_zip
        write_zip(tmp_path / "data" / "ml-1m.zip", files, prefix="ml-1m/")
    else:
        write_files(tmp_path / "data" / ("ml-1m" if layout == "subdir" else ""), files)
    data = load_dataset("movielens-1m", tmp_path / "data")
    reference = reference_100k(tmp_path)
    assert data.dataset == "movielens-1m"
    assert data.provides == {"titles", "genres", "user_profile", "rating"}
    # ML-1M has the age bucket only: the 100k table without its raw age.
    expected = {k: v for k, v in reference.ratings.items() if k != "raw_user_age"}
    assert data.sha256 == table_sha256(expected, reference.movies)
    for name, column in _rated_columns(reference).items():
        if name != "raw_user_age":
            np.testing.assert_array_equal(_rated_columns(data)[name], column, err_msg=name)
    assert "Misérables, Les (1995)" in data.movies["movie_title"]  # Latin-1 decoded
    np.testing.assert_array_equal(data.title_codes, reference.title_codes)


@pytest.mark.parametrize("size", ["20m", "25m"])
def test_ml_csv_is_the_100k_table_without_profile(tmp_path, size):
    write_files(tmp_path / f"ml-{size}", ml_csv_files())
    data = load_dataset(f"movielens-{size}", tmp_path)
    reference = reference_100k(tmp_path)
    assert data.provides == {"titles", "genres", "rating"}
    kept = ("user_id", "movie_id", "movie_title", "movie_genres", "timestamp", "user_rating")
    assert data.sha256 == table_sha256({k: reference.ratings[k] for k in kept},
                                       reference.movies)


@pytest.mark.parametrize("fmt", ["csv", "csv-iso", "parquet"])
def test_interactions_file_is_the_100k_table(tmp_path, fmt):
    rows = interactions_rows(iso=fmt == "csv-iso")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        path = tmp_path / "inter.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
        name = f"interactions:{path}"
    else:
        name = write_csv(tmp_path / "inter.csv", rows)
    data = load_dataset(name)
    reference = reference_100k(tmp_path)
    assert data.provides == {"titles", "genres", "user_profile", "rating"}
    assert data.dataset == f"interactions:inter.{'parquet' if fmt == 'parquet' else 'csv'}"
    ours, theirs = _rated_columns(data), _rated_columns(reference)
    for name in ("user_id", "movie_id", "timestamp", "user_rating", "movie_title",
                 "bucketized_user_age", "user_gender", "user_occupation_text",
                 "user_zip_code"):
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
    # Genres: the file's own vocabulary, the same sets of names.
    names = [[data.genre_names[i] for i in g] for g in data.movies["movie_genres"]]
    rated = set(data.movies["movie_id"])
    expected = [[GENRE_NAMES[i] for i in g] for m, g in zip(
        reference.movies["movie_id"], reference.movies["movie_genres"], strict=True)
        if m in rated]
    assert [sorted(n) for n in names] == [sorted(e) for e in expected]


def test_minimal_file_provides_nothing_extra(tmp_path):
    rows = [{"user_id": "u1", "item_id": "a", "timestamp": 10},
            {"user_id": "u1", "item_id": "a", "timestamp": 10},  # a duplicate row, kept
            {"user_id": "u2", "item_id": "b", "timestamp": 20},  # one interaction
            {"user_id": "u3", "item_id": "a", "timestamp": 30}]
    data = load_dataset(write_csv(tmp_path / "min.csv", rows))
    assert data.provides == frozenset()
    assert data.num_ratings == 4
    assert data.movies["movie_title"].tolist() == ["a", "b"]  # the id is the key
    assert data.title_codes.tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize(("content", "problem"), [
    ("", "empty file"),
    ("user_id,item_id\n1,2\n", "missing required column 'timestamp'"),
    ("user_id,item_id,timestamp\n", "no interactions"),
    ("user_id,item_id,timestamp\n1,2,5\n3,4,5\n", "fewer than two distinct timestamps"),
    ("user_id,item_id,timestamp\n1,2,yesterday\n1,3,2020-01-01\n", "'yesterday'"),
    ("\x00\x01\x02garbage\xff\xfe", "neither Parquet nor a CSV"),
])
def test_bad_interactions_file_is_one_line_exit_2(tmp_path, capsys, content, problem):
    path = tmp_path / "bad.csv"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(DataError, match=problem.replace("(", r"\(")):
        load_dataset(f"interactions:{path}")
    assert main(["data", "--dataset", f"interactions:{path}"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "bad.csv" in err
    assert "Traceback" not in err


def test_cli_data_prints_dataset_and_provides(tmp_path, capsys):
    name = write_csv(tmp_path / "inter.csv", interactions_rows(),
                     ["user_id", "item_id", "timestamp"])
    assert main(["data", "--dataset", name, "--json"]) == 0
    import json
    info = json.loads(capsys.readouterr().out)
    assert info["dataset"] == "interactions:inter.csv"
    assert info["provides"] == []
    assert info["ratings"] == len(RATINGS)
    # Not a MovieLens release: its catalogue is items, not movies.
    assert info["items"] == len({movie for _, movie, _, _ in RATINGS})
    assert "movies" not in info
    assert main(["data", "--dataset", name]) == 0
    table = capsys.readouterr().out
    assert "| items " in table and "movies" not in table
    assert str(tmp_path) not in json.dumps(info)


@pytest.mark.parametrize("seconds", [max(r[3] for r in RATINGS), 2_000_000_000])
def test_millisecond_timestamps_are_named_with_the_fix(tmp_path, seconds):
    # MovieLens-100k's seconds (1997-98) in milliseconds stay below the 2**40 bound, a
    # 2033 date's do not: both are named as milliseconds.
    rows = [{"user_id": "u1", "item_id": "a", "timestamp": (seconds - 10) * 1000},
            {"user_id": "u2", "item_id": "b", "timestamp": seconds * 1000}]
    with pytest.raises(DataError) as raised:
        load_dataset(write_csv(tmp_path / "ms.csv", rows))
    message = str(raised.value)
    assert f"timestamp {seconds * 1000} is out of range" in message
    assert "looks like milliseconds" in message and "divide the timestamps by 1000" in message


def test_a_tsv_file_is_read_as_its_csv_twin(tmp_path):
    import csv

    rows = interactions_rows()
    for suffix, delimiter in ((".csv", ","), (".tsv", "\t")):
        with (tmp_path / f"inter{suffix}").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
            writer.writeheader()
            writer.writerows(rows)
    from_csv = load_dataset(f"interactions:{tmp_path / 'inter.csv'}")
    from_tsv = load_dataset(f"interactions:{tmp_path / 'inter.tsv'}")
    assert from_tsv.provides == from_csv.provides
    assert from_tsv.sha256 == from_csv.sha256


@pytest.mark.parametrize(("separator", "word", "tsv_hint"),
                         [("\t", "tab", True), (";", "semicolon", False)])
def test_another_separator_in_a_csv_file_is_named(tmp_path, separator, word, tsv_hint):
    path = tmp_path / "inter.csv"
    path.write_text(separator.join(("user_id", "item_id", "timestamp")) + "\n"
                    + separator.join(("1", "2", "3")) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as raised:
        load_dataset(f"interactions:{path}")
    message = str(raised.value)
    assert "missing required column 'user_id'" in message
    assert f"the file looks {word}-separated, and a CSV file needs commas" in message
    assert ("name a tab-separated file .tsv" in message) == tsv_hint


def test_ml1m_bad_line_names_file_and_line(tmp_path):
    files = ml1m_files()
    files["ratings.dat"] += b"1::2::x::3\n"
    write_files(tmp_path, files)
    with pytest.raises(DataError, match=r"ratings.dat:\d+: rating 'x'"):
        load_dataset("movielens-1m", tmp_path)


def test_missing_grouplens_files_name_the_dataset(tmp_path):
    with pytest.raises(DataError, match="movielens-25m"):
        load_dataset("movielens-25m", tmp_path)


def test_dataset_scale_measures_a_small_shape(tmp_path, capsys):
    """The 25M measurement's code path at a tiny size: every measure present, and the
    table holds exactly its stated bytes per interaction (no per-rating objects)."""
    from harness.report.scaling import dataset_scale_rows
    from harness.run.datascale import STAGES, measure, write_ml25m_shaped

    write_ml25m_shaped(tmp_path / "ml-25m", n_interactions=3000, n_users=150, n_items=400,
                       max_item_id=2000)
    point = measure(tmp_path / "ml-25m", eval_queries=200)
    # Progress on stderr: every rating written, every stage run; stdout untouched.
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "write ratings.csv" in captured.err and "3.00k/3.00k" in captured.err
    assert "measure: 100%" in captured.err and f"{len(STAGES)}/{len(STAGES)}" in captured.err
    assert point.n_interactions == 3000 and point.eval_queries == 200
    data = load_dataset("movielens-25m", tmp_path)
    widths = sum(data.ratings[name].dtype.itemsize for name in ("user_id", "movie_id"))
    # ids as unicode, timestamp int64, rating float32, catalogue row int32.
    assert point.table_bytes_per_interaction == widths + 8 + 4 + 4
    assert all(column.dtype != object for column in data.ratings.values())
    rows = dict(dataset_scale_rows(point))
    assert rows["interactions"] == "3,000"
    assert {"load s", "train s (1 epoch)", "peak RSS, MiB"} <= set(rows)


def test_without_pyarrow_is_one_line_naming_an_install_that_works(tmp_path, monkeypatch,
                                                                   capsys):
    import sys

    path = tmp_path / "inter.csv"
    write_csv(path, interactions_rows())
    for module in ("pyarrow", "pyarrow.csv", "pyarrow.parquet", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(DataError) as raised:
        load_dataset(f"interactions:{path}")
    # ctxbench is not on PyPI: the hint names pyarrow itself, or the checkout's extra.
    message = str(raised.value)
    assert "needs pyarrow: python -m pip install pyarrow" in message
    assert "python -m pip install -e '.[data]'" in message
    assert "ctxbench[" not in message
    assert main(["data", "--dataset", f"interactions:{path}"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {message}"]


def test_no_message_names_ctxbench_as_a_pip_target():
    """Every install hint in the source must work from a checkout: ``ctxbench`` is not on
    PyPI (anyone could register the name), so ``pip install 'ctxbench[...]'`` is wrong."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"pip install[^\n]*ctxbench\[")
    found = [f"{path.relative_to(root)}:{number}"
             for package in ("harness", "splits", "benchmarks")
             for path in sorted((root / package).rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert found == []


def test_tfds_copy_is_read_in_batches_as_the_files_are(tmp_path, monkeypatch):
    """A prepared tfds movielens/1m-ratings copy (its features, as tfds.load yields them)
    gives the table the GroupLens files give."""
    import tensorflow_datasets as tfds

    from harness.data.datasets import load_tfds_table
    from harness.tfcompat import tf

    write_files(tmp_path / "files", ml1m_files())
    files = load_dataset("movielens-1m", tmp_path / "files")
    rows = np.arange(files.num_ratings)[::-1]  # tfds's order is not the canonical one
    ratings = files.ratings
    genres = files.movies["movie_genres"][ratings["movie_row"][rows]]
    elements = {
        "user_id": ratings["user_id"][rows].astype(bytes),
        "movie_id": ratings["movie_id"][rows].astype(bytes),
        "movie_title": np.char.encode(files.rated_titles(rows), "utf-8"),
        "movie_genres": tf.ragged.constant([g.tolist() for g in genres], dtype=tf.int64),
        "timestamp": ratings["timestamp"][rows],
        "user_rating": ratings["user_rating"][rows],
        "bucketized_user_age": ratings["bucketized_user_age"][rows],
        "user_gender": ratings["user_gender"][rows],
        "user_occupation_text": ratings["user_occupation_text"][rows].astype(bytes),
        "user_zip_code": ratings["user_zip_code"][rows].astype(bytes),
    }
    monkeypatch.setattr(tfds, "load", lambda *a, **k: tf.data.Dataset.from_tensor_slices(
        elements))
    version = tmp_path / "tfds" / "movielens" / "1m-ratings" / "0.1.1"
    data = load_tfds_table("movielens/1m-ratings", version, "movielens-1m")
    # The catalogue holds rated movies only (tfds has no movies file): compare ratings.
    np.testing.assert_array_equal(data.rated_titles(), files.rated_titles())
    for name in elements:
        if name not in ("movie_title", "movie_genres"):
            np.testing.assert_array_equal(data.ratings[name], ratings[name], err_msg=name)


@pytest.mark.slow
def test_tune_and_the_tuned_protocol_run_end_to_end_on_an_interactions_file(tmp_path):
    """Issue 16's done-when: ``pytest benchmarks --dataset interactions:FILE --quick`` on a
    generated file, here under the tuned protocol with a tuning made on the same file (the
    other protocols take the same path with fixed options: tests/test_ladder.py). The
    configurations the file cannot feed are left out of the tuning and skipped, with their
    reason, in the report; the ones it can feed run tuned. Every path is
    under HOME, which no record may name."""
    import json
    import os
    import subprocess
    import sys

    from benchrun import ROOT, run_benchmarks, write_interactions_file

    env = {"HOME": str(tmp_path)}
    dataset = write_interactions_file(tmp_path / "inter.csv")
    tuned = tmp_path / "tuned.json"
    tune = subprocess.run(
        [sys.executable, "-m", "harness", "tune", "--dataset", dataset, "--quick",
         "--splits", "random", "--seeds", "1", "--trials", "1", "--max-epochs", "1",
         "--patience", "1", "--out", str(tuned)], cwd=ROOT, capture_output=True, text=True,
        timeout=600, env={**os.environ, **env})
    assert tune.returncode == 0, tune.stderr[-3000:]
    assert ("skipped: configuration user_profile needs user_profile, which dataset "
            "interactions:inter.csv does not provide") in tune.stderr
    tuned_configs = {cell["config"] for cell in json.loads(tuned.read_text())["cells"].values()}
    assert "timestamp" in tuned_configs and "user_profile" not in tuned_configs
    assert not any("genres" in name for name in tuned_configs)

    results = tmp_path / "results"
    run = run_benchmarks("--dataset", dataset, "--quick", "--seeds", "1", "--splits",
                         "random", "--configs", "baseline,timestamp,user_profile",
                         "--protocol", "tuned", "--tuned", str(tuned), "--no-speedup",
                         "--run-dir", str(tmp_path / "run"), "--results-dir", str(results),
                         env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    entries = json.loads((results / "benchmark.json").read_text())["benchmarks"]
    trained = {(e["extra_info"]["protocol"], e["extra_info"]["config"]) for e in entries
               if e["extra_info"].get("kind") == "train"}
    assert trained == {("tuned", config) for config in ("baseline", "timestamp")}
    assert {e["extra_info"]["provenance"]["dataset"] for e in entries
            if e["extra_info"].get("kind") == "train"} == {"interactions:inter.csv"}
    report = (results / "results.md").read_text()
    assert "user_profile needs user_profile" in report
    for written in (report, (results / "benchmark.json").read_text(), tuned.read_text()):
        assert str(tmp_path) not in written


def test_tune_refuses_a_named_configuration_the_dataset_cannot_feed(tmp_path, capsys):
    path = tmp_path / "inter.csv"
    write_csv(path, interactions_rows(), ["user_id", "item_id", "timestamp", "item_title"])
    out = tmp_path / "tuned.json"
    status = main(["tune", "--dataset", f"interactions:{path}", "--configs",
                   "baseline,user_profile", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and not out.exists()
    assert err.strip() == ("error: --configs: configuration user_profile needs user_profile, "
                           "which dataset interactions:inter.csv does not provide"), err
