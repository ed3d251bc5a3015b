"""Property-style inputs: every damaged file ends in one clear error, never a traceback.

Each test damages a valid input many ways (truncation at every kind of offset, flipped
bytes, re-encoding) with a seeded generator, and checks the one property that matters to
a user: the loader, report or compare either works or raises the harness's UserError
(DataError for data), which the CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures_data import grouplens_files, recbole_files, write_files

from harness.data.sources import load_from_dir
from harness.errors import DataError, UserError
from harness.results.runs import load_run

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_JSON = ROOT / "tests" / "fixtures" / "run_train.json"
CASES = 40


def _damaged(data: bytes, rng: np.random.Generator) -> bytes:
    """One of: truncated, a byte flipped, a line dropped, or bytes inserted."""
    kind = rng.integers(4)
    position = int(rng.integers(len(data)))
    if kind == 0:
        return data[:position]
    if kind == 1:
        return data[:position] + bytes([int(rng.integers(256))]) + data[position + 1:]
    if kind == 2:
        lines = data.split(b"\n")
        del lines[int(rng.integers(len(lines)))]
        return b"\n".join(lines)
    return data[:position] + rng.bytes(int(rng.integers(1, 8))) + data[position:]


@pytest.mark.parametrize("layout", ["grouplens", "recbole"])
@pytest.mark.parametrize("seed", range(CASES))
def test_damaged_data_files_load_or_raise_data_error(tmp_path, layout, seed):
    rng = np.random.default_rng(seed)
    files = grouplens_files() if layout == "grouplens" else recbole_files()
    name = sorted(files)[int(rng.integers(len(files)))]
    files[name] = _damaged(files[name], rng)
    write_files(tmp_path, files)
    try:
        table = load_from_dir(tmp_path)
    except DataError as error:
        assert str(error).strip() and "\n" not in str(error)
        return
    # Damage that leaves a valid file (a dropped line, a cut at a line end) loads.
    assert table.num_ratings > 0
    assert np.all(np.diff(table.ratings["timestamp"]) >= 0)


@pytest.mark.parametrize("timestamp", ["-5", "1e30", "nan", "inf", "99999999999999999999"])
def test_impossible_timestamps_are_data_errors(tmp_path, timestamp):
    files = grouplens_files()
    first, rest = files["u.data"].split(b"\n", 1)
    fields = first.split(b"\t")
    files["u.data"] = b"\t".join([*fields[:3], timestamp.encode()]) + b"\n" + rest
    write_files(tmp_path, files)
    with pytest.raises(DataError, match="u.data:1: timestamp"):
        load_from_dir(tmp_path)


@pytest.mark.parametrize("seed", range(CASES))
def test_damaged_benchmark_json_loads_or_raises_user_error(tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / "damaged.json"
    path.write_bytes(_damaged(FIXTURE_JSON.read_bytes(), rng))
    try:
        load_run(path)
    except UserError as error:
        assert str(path) in str(error)


def _walk(value, rng, depth=0):
    """The same JSON with one randomly chosen value replaced by a value of another type."""
    if isinstance(value, dict) and value and depth < 6:
        key = list(value)[int(rng.integers(len(value)))]
        return {**value, key: _walk(value[key], rng, depth + 1)}
    if isinstance(value, list) and value and depth < 6:
        index = int(rng.integers(len(value)))
        return value[:index] + [_walk(value[index], rng, depth + 1)] + value[index + 1:]
    return [None, "text", -1, 1e308, [], {}, True][int(rng.integers(7))]


@pytest.mark.parametrize("seed", range(CASES))
def test_wrongly_typed_json_values_load_or_raise_user_error(tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(_walk(json.loads(FIXTURE_JSON.read_text()), rng)))
    try:
        load_run(path)
    except UserError:
        pass


@pytest.mark.parametrize("command", ["report", "compare"])
def test_cli_on_damaged_json_is_one_line_and_exit_2(tmp_path, command):
    damaged = tmp_path / "damaged.json"
    damaged.write_bytes(FIXTURE_JSON.read_bytes()[:1000])
    args = [str(damaged)] if command == "report" else [str(FIXTURE_JSON), str(damaged)]
    result = subprocess.run([sys.executable, "-m", "harness", command, *args],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "damaged.json" in result.stderr
