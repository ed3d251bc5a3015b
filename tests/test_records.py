"""Atomic JSON writes, clear read errors, and JSON-safe conversion of numpy values."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from harness.errors import UserError
from harness.record.files import read_json, write_json_atomic
from harness.record.redaction import to_jsonable


def test_write_then_replace_leaves_only_the_file(tmp_path):
    path = tmp_path / "results" / "run.json"  # the folder is created
    assert write_json_atomic(path, {"run": 1}) == path
    assert json.loads(path.read_text()) == {"run": 1}
    write_json_atomic(path, {"run": 2, "more": [1, 2]})
    assert read_json(path) == {"run": 2, "more": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]


def test_refuses_to_overwrite_when_asked_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "run.json"
    write_json_atomic(path, {"run": 1}, overwrite=False)  # a new file is fine
    with pytest.raises(UserError, match="run.json already exists"):
        write_json_atomic(path, {"run": 2}, overwrite=False)
    assert read_json(path) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_unwritable_directory_raises_user_error(tmp_path):
    # Tests may run as root, which ignores permission bits; a parent that is a regular
    # file cannot be written under by anyone.
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write .*not_a_dir/out.json"):
        write_json_atomic(blocker / "out.json", {"a": 1})
    with pytest.raises(UserError, match="cannot write"):
        write_json_atomic(blocker / "deeper" / "out.json", {"a": 1})
    assert blocker.read_text() == "x"


def test_target_that_is_a_directory_raises_and_leaves_no_temporary(tmp_path):
    (tmp_path / "run.json").mkdir()
    with pytest.raises(UserError, match="cannot write"):
        write_json_atomic(tmp_path / "run.json", {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "run.json"
    write_json_atomic(path, {"run": 1})
    with pytest.raises(TypeError):  # a payload json cannot encode is a bug: it propagates
        write_json_atomic(path, {"run": 2, "bad": object()})
    assert read_json(path) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_written_json_is_strict_with_nan_as_null(tmp_path):
    path = write_json_atomic(tmp_path / "run.json",
                             {"loss": np.float32("nan"), "acc": np.float64(0.25)})
    text = path.read_text(encoding="utf-8")
    assert json.loads(text, parse_constant=lambda name: pytest.fail(name)) == {
        "loss": None, "acc": 0.25}
    assert text.endswith("\n")


def test_read_json_missing_file_names_it(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(UserError, match=f"{re.escape(str(path))}: no such file"):
        read_json(path)


def test_read_json_not_utf8_names_it(tmp_path):
    path = tmp_path / "binary.json"
    path.write_bytes(b'{"a": "\xff\xfe"}')
    with pytest.raises(UserError, match=f"{re.escape(str(path))}: not UTF-8"):
        read_json(path)


@pytest.mark.parametrize("text", ['{"a": [1, 2', "", '{"a": 1} trailing', "NaN-ish"])
def test_read_json_truncated_or_malformed_names_it(tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=f"{re.escape(str(path))}: not valid JSON") as caught:
        read_json(path)
    assert "\n" not in str(caught.value)


def test_read_json_on_a_directory_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=re.escape(str(tmp_path))):
        read_json(tmp_path)


def test_to_jsonable_converts_numpy_and_non_finite_values():
    converted = to_jsonable({
        "f32": np.float32(0.5), "f64": np.float64(1.25), "i64": np.int64(3),
        "i8": np.int8(-2), "flag": np.bool_(True), "nan": math.nan, "np_nan": np.nan,
        "inf": np.float64("inf"), "neg_inf": -math.inf,
        "matrix": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "floats": np.array([0.5, np.nan], dtype=np.float32),
        "nested": ({"x": np.float32(2.0)}, [np.int16(7)]),
        7: "int key", "text": "kept", "none": None,
    })
    assert converted == {
        "f32": 0.5, "f64": 1.25, "i64": 3, "i8": -2, "flag": True, "nan": None,
        "np_nan": None, "inf": None, "neg_inf": None, "matrix": [[1, 2], [3, 4]],
        "floats": [0.5, None], "nested": [{"x": 2.0}, [7]], "7": "int key",
        "text": "kept", "none": None,
    }
    assert type(converted["f32"]) is float
    assert type(converted["i64"]) is int
    assert type(converted["flag"]) is bool
    assert type(converted["matrix"][0][0]) is int
    assert type(converted["nested"][0]["x"]) is float
    json.dumps(converted, allow_nan=False)  # strict JSON


SECRETS = ["postgresql://alice:s3cr3t@db.example:5432/optuna",
           "https://example.org/api?token=abc123&page=2", "password=hunter2"]


def test_records_carry_no_credential_and_no_home_directory(tmp_path):
    home = str(Path.home())
    from harness.record.provenance import REPO_ROOT

    record = {"storage": SECRETS[0], "url": SECRETS[1], "note": SECRETS[2],
              "data_source": f"grouplens:{home}/data/ml-100k", home: "a key too",
              "command": f"pytest benchmarks --run-dir {REPO_ROOT}/.tox/tf218/tmp/run"}
    text = write_json_atomic(tmp_path / "r.json", record).read_text()
    for secret in ("s3cr3t", "abc123", "hunter2", home + "/"):
        assert secret not in text
    loaded = read_json(tmp_path / "r.json")
    assert loaded["storage"] == "postgresql://alice:***@db.example:5432/optuna"
    assert loaded["url"] == "https://example.org/api?token=***&page=2"
    assert loaded["command"] == "pytest benchmarks --run-dir ./.tox/tf218/tmp/run"
    assert loaded["data_source"] == "grouplens:~/data/ml-100k"


@pytest.mark.parametrize("text", ["/rooted/file", "mysql://bob@host/db", "k=v", "sqlite:///x.db"])
def test_redaction_leaves_what_is_not_a_secret(text):
    from harness.record.redaction import redact

    if Path.home() != Path("/rooted"):
        assert redact(text) == text


def test_the_repository_root_is_the_checkout():
    # The suite version is read from REPO_ROOT's pyproject.toml (what a run dir and a
    # tuned file are tied to: tests/test_fingerprint.py).
    from harness.record.provenance import REPO_ROOT

    assert (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "harness").is_dir()
