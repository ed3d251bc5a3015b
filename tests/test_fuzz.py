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
from harness.record.cellentry import KINDS
from harness.report.compare import compare
from harness.report.regressions import Thresholds
from harness.report.report import render_report

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


def _real_shaped() -> dict:
    """run_train.json with everything a real results file holds besides cells: the
    session, the declared grid's cell list, the machine, a speed-up and scaling entries."""
    document = json.loads(FIXTURE_JSON.read_text())
    header = document["ctxbench"]
    header["session"] = {"wall_seconds": 402.0, "peak_rss_mb": 1420.9, "cells_resumed": 3,
                         "utc_start": "2025-06-01T12:00:00+00:00"}
    header["run_dir"] = "results/.runs/0123456789ab"
    header["grid"]["cells"] = sorted({e["param"] for e in document["benchmarks"]
                                      if e["extra_info"].get("kind") in KINDS})
    speedup = {  # the keys benchmarks/test_speedup.py records
        "kind": "speedup", "split": "random", "config": "timestamp", "seed": 0,
        "fit_on": "all", "epochs": 3, "n_train": 80000, "n_test": 20000,
        "reference_examples_per_second": 8654.0, "harness_examples_per_second": 271982.0,
        "reference_queries_per_second": 13714.0, "harness_queries_per_second": 1690747.0,
        "reference_warm_queries_per_second": 15758.0,
        "harness_warm_queries_per_second": 1549769.0, "warm_evals": 3,
        "train_speedup": 31.4, "eval_speedup": 123.3, "warm_eval_speedup": 98.3,
        "targets": {"train_speedup": 20.0, "eval_speedup": 100.0},
        "targets_met": {"train_speedup": True, "eval_speedup": True},
        "reference_top_100": 0.2443, "harness_top_100": 0.2535}
    document["benchmarks"] += [{"name": "test_speedup_over_tutorial", "extra_info": speedup}]
    document["benchmarks"] += [
        {"name": f"test_scaling[{n}-1000]",
         "extra_info": {"kind": "scaling", "n_interactions": n, "n_items": 1000,
                        "train_seconds": n / 1e5, "examples_per_second": 1e5,
                        "eval_seconds": 0.01, "queries_per_second": 1e6,
                        "peak_rss_mib": 900.0}}
        for n in (10_000, 100_000)]
    return document


REAL_SHAPED = _real_shaped()


def _run_everything(path: Path) -> None:
    """Everything a user runs on a results file: load, report (Markdown and chart) and
    compare against the intact fixture, both ways round."""
    render_report([path], path.parent / "out")
    for pair in ([FIXTURE_JSON, path], [path, FIXTURE_JSON]):
        try:
            compare(pair, Thresholds())
        except UserError as error:
            assert str(path) in str(error), error
            raise


@pytest.mark.parametrize("seed", range(CASES))
def test_damaged_benchmark_json_renders_or_raises_user_error_naming_it(tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / "damaged.json"
    path.write_bytes(_damaged(json.dumps(REAL_SHAPED, indent=1).encode(), rng))
    try:
        _run_everything(path)
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
    return [None, "text", -1, 1e308, [], {}, True, "big"][int(rng.integers(8))]


@pytest.mark.parametrize("seed", range(3 * CASES))
def test_wrongly_typed_json_values_render_or_raise_user_error_naming_it(tmp_path, seed):
    rng = np.random.default_rng(seed)
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(_walk(REAL_SHAPED, rng)))
    try:
        _run_everything(path)
    except UserError as error:
        assert str(path) in str(error)


@pytest.mark.parametrize("where, value", [
    (("ctxbench", "session", "peak_rss_mb"), "big"),
    (("ctxbench", "session", "wall_seconds"), "long"),
    (("ctxbench", "session", "cells_resumed"), [3]),
    (("ctxbench", "grid", "cells"), ["random-baseline-train-s0", 7]),
    (("machine_info", "ctxbench", "gemm_gflops"), "fast"),
    (("machine_info", "ctxbench", "isa"), "avx2"),
    (("machine_info", "ctxbench"), "x86"),
])
def test_known_crashers_render_or_raise_user_error(tmp_path, where, value):
    # Found by fuzzing: each once ended in a traceback instead of a report or one line.
    document = json.loads(json.dumps(REAL_SHAPED))
    target = document
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    path = tmp_path / "crasher.json"
    path.write_text(json.dumps(document))
    try:
        _run_everything(path)
    except UserError as error:
        assert str(path) in str(error)


@pytest.mark.parametrize("field", ["reference_examples_per_second", "train_speedup",
                                   "targets", "epochs"])
def test_a_speed_up_entry_with_strings_renders(tmp_path, field):
    document = json.loads(json.dumps(REAL_SHAPED))
    speedup = next(e for e in document["benchmarks"]
                   if e.get("extra_info", {}).get("kind") == "speedup")
    speedup["extra_info"][field] = "fast"
    path = tmp_path / "speedup.json"
    path.write_text(json.dumps(document))
    _run_everything(path)
    assert "## Speed-up over the tutorial's code" in (path.parent / "out" / "results.md"
                                                      ).read_text()


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
