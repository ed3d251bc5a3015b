"""The offline MovieLens loader on tiny files in both formats, and on the real data."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fixtures_data import (
    EXPECTED_AGE_BUCKET,
    EXPECTED_GENRE_IDS,
    EXPECTED_TITLE,
    MOVIES,
    RATINGS,
    USERS,
    WHEEL_PREFIX,
    canonical_ratings,
    grouplens_files,
    recbole_files,
    synthetic_files,
    write_files,
    write_grouplens,
    write_recbole,
    write_zip,
)

from harness.data import sources as data_module
from harness.data.digest import table_sha256
from harness.data.sources import (
    GENRE_NAMES,
    RATING_COLUMNS,
    RECBOLE_VERSION,
    RECBOLE_WHEEL,
    fetch_recbole_wheel,
    load_from_dir,
    load_from_wheel,
    load_movielens,
    parse_grouplens,
    subsample_users,
    tfds_prepared_dir,
)
from harness.errors import DataError, UserError

pytestmark = pytest.mark.usefixtures("isolated_env")

# tfds movielens/100k-ratings: column -> numpy dtype kind ("U" str, "O" ragged ids).
TFDS_DTYPES = {
    "user_id": "U", "movie_id": "U", "movie_title": "U", "movie_genres": "O",
    "timestamp": np.int64, "user_rating": np.float32, "user_gender": np.bool_,
    "bucketized_user_age": np.float32, "raw_user_age": np.float32,
    "user_occupation_text": "U", "user_zip_code": "U",
}


def _check_dtype(column: np.ndarray, expected) -> None:
    if isinstance(expected, str):
        assert column.dtype.kind == expected
    else:
        assert column.dtype == expected


def _assert_same_table(left, right) -> None:
    assert left.sha256 == right.sha256
    for table_left, table_right in ((left.ratings, right.ratings), (left.movies, right.movies)):
        assert table_left.keys() == table_right.keys()
        for name in table_left:
            a, b = table_left[name], table_right[name]
            assert a.dtype == b.dtype, name
            if a.dtype == object:
                assert [x.tolist() for x in a] == [x.tolist() for x in b], name
            else:
                np.testing.assert_array_equal(a, b, err_msg=name)


def _writer(layout):
    if layout == "recbole":
        return write_recbole
    return lambda directory: write_grouplens(directory, layout)


LAYOUTS = ("loose", "subdir", "zip", "recbole")


# ---------------------------------------------------------------------------------------
# Columns, dtypes and values.

@pytest.mark.parametrize("layout", LAYOUTS)
def test_columns_and_dtypes_match_tfds(tmp_path, layout):
    data = load_from_dir(_writer(layout)(tmp_path / "data"))
    assert tuple(data.ratings) == RATING_COLUMNS
    assert set(TFDS_DTYPES) == set(RATING_COLUMNS)
    for name, expected in TFDS_DTYPES.items():
        _check_dtype(data.ratings[name], expected)
        assert len(data.ratings[name]) == len(RATINGS)
    for genres in data.ratings["movie_genres"]:
        assert genres.dtype == np.int64
        assert all(0 <= g < len(GENRE_NAMES) for g in genres)
    assert set(data.movies) == {"movie_id", "movie_title", "movie_genres"}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_values_are_tfds_spellings(tmp_path, layout):
    data = load_from_dir(_writer(layout)(tmp_path / "data"))
    ratings = data.ratings
    users = {u[0]: u for u in USERS}
    for row in range(data.num_ratings):
        user, movie = ratings["user_id"][row], ratings["movie_id"][row]
        _, age, gender, occupation, zip_code = users[user]
        assert ratings["movie_title"][row] == EXPECTED_TITLE[movie]
        assert ratings["movie_genres"][row].tolist() == EXPECTED_GENRE_IDS[movie]
        assert ratings["user_gender"][row] == (gender == "M")
        assert ratings["raw_user_age"][row] == age
        assert ratings["bucketized_user_age"][row] == EXPECTED_AGE_BUCKET[user]
        assert ratings["user_occupation_text"][row] == occupation
        assert ratings["user_zip_code"][row] == zip_code
    assert "05201" in ratings["user_zip_code"]  # a zip code keeps its leading zero
    # The catalogue holds every movie, including one nobody rated, by numeric id.
    assert data.movies["movie_id"].tolist() == ["1", "2", "3", "4", "5", "10", "12"]
    assert data.movies["movie_title"].tolist() == [EXPECTED_TITLE[m[0]] for m in MOVIES]
    assert [g.tolist() for g in data.movies["movie_genres"]] == [
        EXPECTED_GENRE_IDS[m[0]] for m in MOVIES]
    names = [GENRE_NAMES[g] for g in data.movies["movie_genres"][0]]
    assert names == ["Animation", "Children", "Comedy"]  # RecBole's "Children's"


@pytest.mark.parametrize(("age", "bucket"), [
    (1, 1), (17, 1), (18, 18), (24, 18), (25, 25), (34, 25), (35, 35), (44, 35), (45, 45),
    (49, 45), (50, 50), (55, 50), (56, 56), (60, 56), (73, 56),
])
def test_age_buckets_use_tfds_thresholds(tmp_path, age, bucket):
    users = (("1", age, "F", "other", "00000"),)
    files = grouplens_files(users=users, ratings=(("1", "1", 3, 900_000_000),))
    data = load_from_dir(write_files(tmp_path, files))
    assert data.ratings["bucketized_user_age"].tolist() == [float(bucket)]
    assert data.ratings["raw_user_age"].tolist() == [float(age)]
    assert data.ratings["user_gender"].tolist() == [False]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rows_are_in_canonical_order_and_all_present(tmp_path, layout):
    data = load_from_dir(_writer(layout)(tmp_path / "data"))
    ratings = data.ratings
    loaded = list(zip(ratings["user_id"].tolist(), ratings["movie_id"].tolist(),
                      ratings["user_rating"].tolist(), ratings["timestamp"].tolist(),
                      strict=True))
    # Time, then numeric user ("2" before "10"), then numeric movie ("2" before "10").
    assert loaded == [(u, m, float(r), t) for u, m, r, t in canonical_ratings()]
    assert loaded[1:4] == [("2", "2", 2.0, RATINGS[2][3]), ("2", "10", 3.0, RATINGS[2][3]),
                           ("2", "1", 5.0, RATINGS[0][3])]


def test_every_format_gives_the_same_table_and_sha256(tmp_path):
    tables = [load_from_dir(_writer(layout)(tmp_path / layout)) for layout in LAYOUTS]
    assert len({table.source for table in tables}) == len(LAYOUTS)
    for other in tables[1:]:
        _assert_same_table(tables[0], other)
    assert tables[0].sha256 == table_sha256(tables[0].ratings, tables[0].movies)


def test_accented_title_is_the_same_string_from_both_formats(tmp_path):
    assert "é".encode("iso-8859-1") in grouplens_files()["u.item"]
    assert "é".encode() in recbole_files()["ml-100k.item"]
    grouplens = load_from_dir(write_grouplens(tmp_path / "g"))
    recbole = load_from_dir(write_recbole(tmp_path / "r"))
    for data in (grouplens, recbole):
        assert "Misérables, Les (1995)" in data.ratings["movie_title"].tolist()
        assert "Nénette et Boni (1996)" in data.movies["movie_title"].tolist()


def test_sha256_changes_with_the_content(tmp_path):
    base = load_from_dir(write_grouplens(tmp_path / "a"))
    changed = (RATINGS[0][:2] + (RATINGS[0][2] + 1,) + RATINGS[0][3:],) + RATINGS[1:]
    other = load_from_dir(write_files(tmp_path / "b", grouplens_files(ratings=changed)))
    assert base.sha256 != other.sha256


def test_counts(grouplens_dir):
    assert load_from_dir(grouplens_dir).counts() == {
        "ratings": len(RATINGS), "users": len(USERS), "movies": len(MOVIES),
        "distinct_titles": len(MOVIES), "min_timestamp": min(r[3] for r in RATINGS),
        "max_timestamp": max(r[3] for r in RATINGS),
    }


# ---------------------------------------------------------------------------------------
# Bad files: one DataError that names the file.

def _replace(files, name, old, new):
    assert old in files[name], (name, old)
    return {**files, name: files[name].replace(old, new, 1)}


def _grouplens_case(name, old, new):
    return ("grouplens", lambda: _replace(grouplens_files(), name, old, new), name)


def _recbole_case(name, old, new):
    return ("recbole", lambda: _replace(recbole_files(), name, old, new), name)


def _renamed(rows, column, old="2", new="b2"):
    """Rows with id ``old`` in ``column`` renamed to ``new`` (consistently across files)."""
    return tuple(row[:column] + (new,) + row[column + 1:] if row[column] == old else row
                 for row in rows)


GL_LINE = b"10\t1\t4\t874724810\n"  # the first line of u.data
RB_LINE = b"10\t1\t4\t874724810\n"  # the first data line of ml-100k.inter
BAD_FILES = {
    "truncated_u_data": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\n"),
    "extra_field_u_data": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\t874724810\t9\n"),
    "binary_junk_u_data": ("grouplens", lambda: {**grouplens_files(),
                                                 "u.data": bytes(range(256)) * 4}, "u.data"),
    "non_numeric_timestamp": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\tyesterday\n"),
    "negative_timestamp": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\t-5\n"),
    "huge_timestamp": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\t99999999999999\n"),
    "overflowing_timestamp": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\t1e999\n"),
    "infinite_timestamp": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\tinf\n"),
    "nan_timestamp": _grouplens_case("u.data", GL_LINE, b"10\t1\t4\tnan\n"),
    "non_numeric_rating": _grouplens_case("u.data", GL_LINE, b"10\t1\tfour\t874724810\n"),
    "empty_u_data": ("grouplens", lambda: {**grouplens_files(), "u.data": b""}, "u.data"),
    "rating_of_unknown_movie": _grouplens_case("u.data", GL_LINE, b"10\t99\t4\t874724810\n"),
    "rating_of_unknown_user": _grouplens_case("u.data", GL_LINE, b"77\t1\t4\t874724810\n"),
    "u_item_missing_column": _grouplens_case("u.item", b"|01-Jan-1982|", b"|"),
    "u_item_extra_column": _grouplens_case("u.item", b"|01-Jan-1982|", b"|01-Jan-1982|x|"),
    "u_item_bad_genre_flag": _grouplens_case("u.item", b"|0\n", b"|2\n"),
    "u_item_non_numeric_id": _grouplens_case("u.item", b"12|", b"x12|"),
    "u_user_truncated": _grouplens_case("u.user", b"|05201\n", b"\n"),
    "u_user_non_numeric_age": _grouplens_case("u.user", b"2|18|", b"2|eighteen|"),
    "u_user_non_numeric_id": ("grouplens", lambda: grouplens_files(
        users=_renamed(USERS, 0), ratings=_renamed(RATINGS, 0)), "u.user"),
    "recbole_non_numeric_user_id": ("recbole", lambda: recbole_files(
        users=_renamed(USERS, 0), ratings=_renamed(RATINGS, 0)), "ml-100k.user"),
    "recbole_wrong_inter_header": _recbole_case("ml-100k.inter", b"timestamp:float",
                                                b"time:float"),
    "recbole_extra_header_column": _recbole_case("ml-100k.user", b"zip_code:token",
                                                 b"zip_code:token\textra:token"),
    "recbole_missing_header_column": _recbole_case("ml-100k.item", b"\tclass:token_seq", b""),
    "recbole_extra_column": _recbole_case("ml-100k.inter", RB_LINE,
                                          b"10\t1\t4\t874724810\t1\n"),
    "recbole_missing_column": _recbole_case("ml-100k.item", b"\t1982\t", b"\t"),
    "recbole_invalid_utf8": _recbole_case("ml-100k.item", "é".encode(), b"\xe9"),
    "recbole_non_numeric_timestamp": _recbole_case("ml-100k.inter", RB_LINE,
                                                   b"10\t1\t4\tsoon\n"),
    "recbole_unknown_genre": _recbole_case("ml-100k.item", b"Film-Noir", b"Noir"),
    "recbole_unknown_movie": _recbole_case("ml-100k.inter", RB_LINE,
                                           b"10\t99\t4\t874724810\n"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_raises_data_error_naming_the_file(tmp_path, case):
    layout, make_files, culprit = BAD_FILES[case]
    files = make_files()
    directory = write_files(tmp_path / "data", files)
    with pytest.raises(DataError) as caught:
        load_from_dir(directory)
    message = str(caught.value)
    assert culprit in message
    assert "\n" not in message  # one line
    if layout == "grouplens":  # the zip layout reads the same bytes through another path
        write_zip(tmp_path / "zipped" / "ml-100k.zip", files, prefix="ml-100k/")
        with pytest.raises(DataError, match=culprit.replace(".", r"\.")):
            load_from_dir(tmp_path / "zipped")


def test_error_for_a_bad_line_names_the_line(tmp_path):
    files = _replace(grouplens_files(), "u.data", GL_LINE, b"10\t1\t4\tyesterday\n")
    with pytest.raises(DataError, match=r"u\.data:1: timestamp 'yesterday'"):
        load_from_dir(write_files(tmp_path, files))
    files = _replace(recbole_files(), "ml-100k.inter", RB_LINE, b"10\t1\n")
    with pytest.raises(DataError, match=r"ml-100k\.inter:2: expected 4 fields"):
        load_from_dir(write_files(tmp_path / "r", files))


def test_rating_of_unknown_movie_names_both_files(tmp_path):
    files = _replace(grouplens_files(), "u.data", GL_LINE, b"10\t99\t4\t874724810\n")
    with pytest.raises(DataError, match=r"u\.data: movie '99' is not in u\.item"):
        load_from_dir(write_files(tmp_path, files))


@pytest.mark.parametrize(("layout", "missing"), [
    ("grouplens", "u.item"), ("grouplens", "u.user"),
    ("recbole", "ml-100k.item"), ("recbole", "ml-100k.user"),
])
def test_missing_file_raises_data_error_with_its_path(tmp_path, layout, missing):
    files = grouplens_files() if layout == "grouplens" else recbole_files()
    del files[missing]
    write_files(tmp_path, files)
    with pytest.raises(DataError) as caught:
        load_from_dir(tmp_path)
    assert str(tmp_path / missing) in str(caught.value)


def test_missing_zip_member_is_named(tmp_path):
    files = grouplens_files()
    del files["u.user"]
    write_zip(tmp_path / "ml-100k.zip", files, prefix="ml-100k/")
    with pytest.raises(DataError, match=r"ml-100k\.zip: has no member ml-100k/u\.user"):
        load_from_dir(tmp_path)


@pytest.mark.parametrize("damage", ["not_a_zip", "truncated", "corrupt_member"])
def test_bad_zip_raises_data_error_naming_it(tmp_path, damage):
    path = tmp_path / "ml-100k.zip"
    if damage == "not_a_zip":
        path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    else:
        big = grouplens_files(ratings=RATINGS * 200)  # big enough to damage mid-stream
        write_zip(path, big, prefix="ml-100k/")
        raw = bytearray(path.read_bytes())
        if damage == "truncated":
            raw = raw[: len(raw) // 2]
        else:  # flip bytes inside u.data's deflate stream: zlib fails, not the CRC check
            for i in range(60, 200):
                raw[i] ^= 0xFF
        path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as caught:
        load_from_dir(tmp_path)
    assert str(path) in str(caught.value)


def test_directory_without_data_or_missing_raises(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds none of"):
        load_from_dir(tmp_path / "empty")
    with pytest.raises(DataError, match="does not exist"):
        load_from_dir(tmp_path / "nowhere")
    with pytest.raises(DataError, match="does not exist"):
        load_movielens(tmp_path / "nowhere")


# ---------------------------------------------------------------------------------------
# The RecBole wheel: checksums and the one-time fetch.

def _write_wheel(path, files=None):
    return write_zip(path, recbole_files() if files is None else files, prefix=WHEEL_PREFIX)


def _trust(monkeypatch, files, **wrong):
    """Makes the loader expect these files' sha256 (or a wrong digest for some parts)."""
    members = {part: (WHEEL_PREFIX + f"ml-100k.{part}",
                      wrong.get(part) or hashlib.sha256(files[f"ml-100k.{part}"]).hexdigest())
               for part in ("inter", "item", "user")}
    monkeypatch.setattr(data_module, "RECBOLE_MEMBERS", members)


def test_wheel_member_with_wrong_sha256_is_rejected(tmp_path):
    wheel = _write_wheel(tmp_path / RECBOLE_WHEEL)  # our tiny files, not RecBole's
    with pytest.raises(DataError) as caught:
        load_from_wheel(wheel)
    message = str(caught.value)
    assert "sha256" in message
    assert WHEEL_PREFIX + "ml-100k.inter" in message
    assert str(wheel) in message


@pytest.mark.parametrize("part", ["inter", "item", "user"])
def test_wheel_names_the_member_that_fails_its_checksum(tmp_path, monkeypatch, part):
    files = recbole_files()
    wheel = _write_wheel(tmp_path / RECBOLE_WHEEL, files)
    _trust(monkeypatch, files, **{part: "0" * 64})
    with pytest.raises(DataError, match=rf"ml-100k\.{part} has sha256 .*expected 0{{64}}"):
        load_from_wheel(wheel)


def test_wheel_with_matching_checksums_loads_the_same_table(tmp_path, monkeypatch):
    files = recbole_files()
    wheel = _write_wheel(tmp_path / RECBOLE_WHEEL, files)
    _trust(monkeypatch, files)
    data = load_from_wheel(wheel)
    assert data.source == f"recbole-wheel:{wheel.name}"
    _assert_same_table(data, load_from_dir(write_grouplens(tmp_path / "g")))


def test_wheel_missing_a_member_or_not_a_zip(tmp_path, monkeypatch):
    files = recbole_files()
    _trust(monkeypatch, files)
    wheel = _write_wheel(tmp_path / "a" / RECBOLE_WHEEL,
                         {k: v for k, v in files.items() if k != "ml-100k.user"})
    with pytest.raises(DataError, match=r"has no member .*ml-100k\.user"):
        load_from_wheel(wheel)
    junk = tmp_path / "b" / RECBOLE_WHEEL
    junk.parent.mkdir()
    junk.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(DataError, match="not a readable zip"):
        load_from_wheel(junk)


def _no_subprocess(*args, **kwargs):
    raise AssertionError(f"subprocess.run called: {args}")


def test_cached_wheel_is_returned_without_calling_pip(tmp_path, monkeypatch):
    wheel = _write_wheel(tmp_path / RECBOLE_WHEEL)
    monkeypatch.setattr(subprocess, "run", _no_subprocess)
    assert fetch_recbole_wheel(tmp_path) == wheel


def test_second_load_makes_no_network_call(isolated_env, monkeypatch):
    files = recbole_files()
    wheel = _write_wheel(isolated_env / RECBOLE_WHEEL, files)  # the "first" fetch's result
    _trust(monkeypatch, files)
    monkeypatch.setattr(subprocess, "run", _no_subprocess)
    data = load_movielens(source="recbole")
    assert data.source == f"recbole-wheel:{wheel.name}"
    assert load_movielens().source == data.source  # the default chain ends at the wheel


def test_first_fetch_runs_pip_download_and_reports_its_failure(tmp_path, monkeypatch):
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution\n")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(DataError, match="No matching distribution.*--data-dir"):
        fetch_recbole_wheel(tmp_path / "cache")
    [command] = calls
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in command
    assert f"recbole=={RECBOLE_VERSION}" in command
    staging = Path(command[command.index("-d") + 1])
    assert staging.parent == tmp_path / "cache"  # a private folder inside the cache
    assert (tmp_path / "cache").is_dir()
    assert list((tmp_path / "cache").iterdir()) == []  # nothing partial left behind


def test_a_fetch_lands_in_the_cache_only_once_complete(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    seen_during_download = []

    def fake_run(command, **kwargs):
        staging = Path(command[command.index("-d") + 1])
        _write_wheel(staging / RECBOLE_WHEEL)
        # What a concurrent reader sees while this download is in flight: no wheel yet.
        seen_during_download.append((cache / RECBOLE_WHEEL).exists())
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    wheel = fetch_recbole_wheel(cache)
    assert wheel == cache / RECBOLE_WHEEL and wheel.is_file()
    assert seen_during_download == [False]
    assert [p.name for p in cache.iterdir()] == [RECBOLE_WHEEL]  # the staging folder is gone


# ---------------------------------------------------------------------------------------
# Choosing the source.

def test_data_dir_from_environment_is_used(tmp_path, monkeypatch, grouplens_dir):
    monkeypatch.setenv(data_module.DATA_DIR_ENV, str(grouplens_dir))
    monkeypatch.setattr(subprocess, "run", _no_subprocess)
    assert load_movielens().source == f"grouplens:{grouplens_dir}"
    assert load_movielens(source="data_dir").source == f"grouplens:{grouplens_dir}"
    # An explicit directory wins over the environment.
    other = write_recbole(tmp_path / "other")
    assert load_movielens(other).source == f"recbole-files:{other}"


@pytest.mark.parametrize("source", ["groupLens", "", "RECBOLE", "data-dir"])
def test_unknown_source_raises_user_error_listing_valid_ones(grouplens_dir, source):
    with pytest.raises(UserError, match="valid: data_dir, tfds, recbole"):
        load_movielens(grouplens_dir, source=source)


def test_data_dir_source_without_a_directory_is_a_user_error():
    with pytest.raises(UserError, match="needs --data-dir"):
        load_movielens(source="data_dir")


def test_tfds_lookup_never_imports_tensorflow_datasets(tmp_path, monkeypatch):
    # A None entry makes any import of the module fail, so an import cannot go unseen.
    for module in ("tensorflow_datasets", "tensorflow", "harness.tfcompat"):
        monkeypatch.setitem(sys.modules, module, None)
    assert tfds_prepared_dir(tmp_path) is None
    (tmp_path / "movielens" / "100k-ratings" / "0.1.1").mkdir(parents=True)  # unprepared
    assert tfds_prepared_dir(tmp_path) is None
    with pytest.raises(DataError, match="no prepared tfds copy"):
        load_movielens(source="tfds")  # TFDS_DATA_DIR is empty (isolated_env)


def test_tfds_lookup_finds_the_newest_prepared_version(tmp_path, monkeypatch):
    base = tmp_path / "movielens" / "100k-ratings"
    for version in ("0.1.0", "0.1.9", "0.1.10", "0.2.0"):
        (base / version).mkdir(parents=True)
    for version in ("0.1.0", "0.1.9", "0.1.10"):
        (base / version / "dataset_info.json").write_text("{}")
    assert tfds_prepared_dir(tmp_path) == base / "0.1.10"
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert tfds_prepared_dir() == base / "0.1.10"


# ---------------------------------------------------------------------------------------
# Subsampling users.

@pytest.fixture(scope="module")
def synthetic():
    files = synthetic_files(n_users=40, n_movies=30, n_ratings=600, seed=0)
    return parse_grouplens(lambda name: files[name], "synthetic")


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_subsample_keeps_whole_users_and_is_deterministic(synthetic, seed):
    sample = subsample_users(synthetic, 0.25, seed=seed)
    again = subsample_users(synthetic, 0.25, seed=seed)
    _assert_same_table(sample, again)
    kept = set(sample.ratings["user_id"].tolist())
    assert len(kept) == 10
    full_counts = Counter(synthetic.ratings["user_id"].tolist())
    sample_counts = Counter(sample.ratings["user_id"].tolist())
    assert sample_counts == {user: full_counts[user] for user in kept}
    assert np.all(np.diff(sample.ratings["timestamp"]) >= 0)  # canonical order kept
    assert sample.sha256 == table_sha256(sample.ratings, sample.movies)
    assert sample.sha256 != synthetic.sha256
    other = subsample_users(synthetic, 0.25, seed=seed + 1)
    assert set(other.ratings["user_id"].tolist()) != kept
    assert synthetic.num_ratings == 600  # the input is untouched


# ---------------------------------------------------------------------------------------
# The real MovieLens-100k.

@pytest.mark.realdata
def test_real_movielens_100k(monkeypatch):
    monkeypatch.delenv(data_module.CACHE_DIR_ENV)  # use the real per-user cache
    data = load_movielens(source="recbole")
    assert data.counts() == {
        "ratings": 100_000, "users": 943, "movies": 1_682, "distinct_titles": 1_664,
        "min_timestamp": 874_724_710, "max_timestamp": 893_286_638,
    }
    assert "Toy Story (1995)" in data.movies["movie_title"]
    assert "Toy Story (1995)" in data.ratings["movie_title"]
    assert data.sha256 == load_movielens(source="recbole").sha256
    assert data.sha256 == table_sha256(data.ratings, data.movies)
    for name, expected in TFDS_DTYPES.items():
        _check_dtype(data.ratings[name], expected)
    assert np.all(np.diff(data.ratings["timestamp"]) >= 0)
