"""``python -m harness data`` and ``splits`` run as a user runs them, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_data import RATINGS, USERS, grouplens_files, write_files

from harness.data.sources import CACHE_DIR_ENV, DATA_DIR_ENV, load_from_dir, load_movielens
from harness.data.splitdata import split_tables
from splits import SPLITS

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("isolated_env")


def harness(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                          env=env)


def assert_usage_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, one line on stderr naming the problem, no traceback, no output."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(("error:", "python -m harness")), lines[0]
    assert "error" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


# ---------------------------------------------------------------------------------------
# Success.

def test_data_json_prints_source_sha256_and_counts(grouplens_dir):
    result = harness("data", "--data-dir", grouplens_dir, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "dataset": "movielens-100k",
        "provides": ["genres", "rating", "titles", "user_profile"],
        "source": f"grouplens:{grouplens_dir}",
        "sha256": load_from_dir(grouplens_dir).sha256,
        "ratings": len(RATINGS), "users": len(USERS), "movies": 7, "distinct_titles": 7,
        "min_timestamp": min(r[3] for r in RATINGS),
        "max_timestamp": max(r[3] for r in RATINGS),
    }


def test_data_table_and_data_dir_from_environment(grouplens_dir):
    env = {**os.environ, DATA_DIR_ENV: str(grouplens_dir)}
    result = harness("data", env=env)
    assert result.returncode == 0, result.stderr
    assert load_from_dir(grouplens_dir).sha256 in result.stdout
    assert f"grouplens:{grouplens_dir}" in result.stdout
    assert "| ratings" in result.stdout


def test_splits_json_lists_every_split_with_its_diagnostics(grouplens_dir):
    result = harness("splits", "--data-dir", grouplens_dir, "--json", "--test-fraction",
                     "0.25", "--seed", "3")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    data = load_from_dir(grouplens_dir)
    assert report["data_sha256"] == data.sha256
    assert (report["seed"], report["test_fraction"]) == (3, 0.25)
    rows = {row["split"]: row for row in report["splits"]}
    assert list(rows) == SPLITS.names()
    assert rows["temporal"]["future_leak_rate"] == 0.0
    assert rows["temporal"]["train_after_test_start_rate"] == 0.0
    for row in rows.values():
        assert row["n_train"] + row["n_test"] == len(RATINGS)
    # The numbers are the library's, unrounded, for the requested fraction and seed.
    assert report["splits"] == split_tables(data, test_fraction=0.25, seed=3)[0]


def test_splits_table_names_every_split(grouplens_dir):
    result = harness("splits", "--data-dir", grouplens_dir)
    assert result.returncode == 0, result.stderr
    for name in SPLITS.names():
        assert f"| {name} " in result.stdout
    assert "future_leak_rate" in result.stdout


def test_splits_prints_each_validation_slice_after_the_splits(grouplens_dir):
    data = load_from_dir(grouplens_dir)
    result = harness("splits", "--data-dir", grouplens_dir, "--json", "--seed", "3",
                     "--validation-fraction", "0.2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    expected, expected_validation = split_tables(data, 0.2, 3, validation_fraction=0.2)
    assert report["splits"] == expected  # unchanged
    assert report["validation_fraction"] == 0.2
    rows = {row["split"]: row for row in report["validation"]}
    assert list(rows) == SPLITS.names()
    assert rows["temporal"]["future_leak_rate"] == 0.0
    splits = {row["split"]: row for row in report["splits"]}
    for name, row in rows.items():
        assert row["n_train"] + row["n_validation"] == splits[name]["n_train"]
    assert report["validation"] == expected_validation

    table = harness("splits", "--data-dir", grouplens_dir).stdout
    split_part, _, validation_part = table.partition("validation slices")
    assert "future_leak_rate" in split_part and "n_test" in split_part
    assert "n_validation" in validation_part and "cold_user_validation_rate" in validation_part
    for name in SPLITS.names():
        assert f"| {name} " in split_part and f"| {name} " in validation_part


# ---------------------------------------------------------------------------------------
# Bad input: exit code 2 and one line.

def test_missing_data_dir(tmp_path):
    assert_usage_error(harness("data", "--data-dir", tmp_path / "nowhere"),
                       "error:", str(tmp_path / "nowhere"), "does not exist")
    env = {**os.environ, DATA_DIR_ENV: str(tmp_path / "gone")}
    assert_usage_error(harness("splits", env=env), str(tmp_path / "gone"))


@pytest.mark.parametrize("command", ["data", "splits"])
def test_corrupt_file_is_named(tmp_path, command):
    files = grouplens_files()
    files["u.item"] = files["u.item"].replace(b"|01-Jan-1982|", b"|", 1)  # a field short
    write_files(tmp_path, files)
    assert_usage_error(harness(command, "--data-dir", tmp_path), "error:", "u.item:4",
                       "expected 24 fields")


def test_corrupt_zip_is_named(tmp_path):
    (tmp_path / "ml-100k.zip").write_bytes(b"not a zip")
    assert_usage_error(harness("data", "--data-dir", tmp_path),
                       str(tmp_path / "ml-100k.zip"))


@pytest.mark.parametrize("command", ["data", "splits"])
def test_unknown_source(grouplens_dir, command):
    assert_usage_error(harness(command, "--data-dir", grouplens_dir, "--source", "kaggle"),
                       f"python -m harness {command}: error:", "'kaggle'", "recbole")


@pytest.mark.parametrize("fraction", ["1.5", "0", "-1", "1", "nan"])
def test_test_fraction_outside_the_unit_interval(grouplens_dir, fraction):
    assert_usage_error(harness("splits", "--data-dir", grouplens_dir, "--test-fraction",
                               fraction), "error: test_fraction must be in (0, 1)")


@pytest.mark.parametrize("fraction", ["1.5", "0", "1"])
def test_validation_fraction_outside_the_unit_interval(grouplens_dir, fraction):
    assert_usage_error(harness("splits", "--data-dir", grouplens_dir, "--validation-fraction",
                               fraction), "error: validation_fraction must be in (0, 1)")


@pytest.mark.parametrize(("option", "value"), [("--test-fraction", "abc"), ("--seed", "-1"),
                                               ("--seed", "1.5"),
                                               ("--validation-fraction", "abc")])
def test_malformed_option_values(grouplens_dir, option, value):
    assert_usage_error(harness("splits", "--data-dir", grouplens_dir, option, value),
                       "python -m harness splits: error:", option)


def test_split_leaving_an_empty_side(tmp_path):
    # Every user rated once: per-user splits have nothing to test.
    files = grouplens_files(ratings=tuple({r[0]: r for r in RATINGS}.values()))
    write_files(tmp_path, files)
    assert_usage_error(harness("splits", "--data-dir", tmp_path), "error:",
                       "'user_temporal'", "empty test")


def test_unknown_or_missing_subcommand():
    assert_usage_error(harness("frobnicate"), "python -m harness: error:", "'frobnicate'")
    assert_usage_error(harness(), "python -m harness: error:")


def test_report_on_a_missing_file(tmp_path):
    assert_usage_error(harness("report", tmp_path / "absent.json"), "error:",
                       str(tmp_path / "absent.json"))


def test_unknown_option(grouplens_dir):
    assert_usage_error(harness("data", "--data-dir", grouplens_dir, "--jsn"),
                       "python -m harness", "--jsn")


# ---------------------------------------------------------------------------------------
# The real data.

@pytest.mark.realdata
def test_splits_on_the_real_data(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_DIR_ENV)  # the real per-user cache, for child and parent
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))  # no tfds copy: the chain ends at PyPI
    result = harness("splits", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {row["split"]: row for row in report["splits"]}
    assert list(rows) == SPLITS.names()
    assert rows["temporal"]["future_leak_rate"] == 0
    assert rows["random"]["future_leak_rate"] > 0
    for name, row in rows.items():  # a warm-only split drops its cold test rows
        covered = row["n_train"] + row["n_test"]
        assert covered == 100_000 if SPLITS[name].warm_of is None else covered < 100_000
    assert report["data_sha256"] == load_movielens(source="recbole").sha256
