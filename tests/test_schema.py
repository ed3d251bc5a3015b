"""harness.record cell, grid, declared and cellentry: what the writer records is what the
reader reads back."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.errors import UserError
from harness.model.features import CONFIGS
from harness.model.registry import POPULARITY
from harness.record.cell import Cell, CellResult
from harness.record.cellentry import benchmark_entry, entry_info, merge_entries, parse_entry
from harness.record.declared import read_grid
from harness.record.files import read_json, write_json_atomic
from harness.record.fingerprint import differences
from harness.record.grid import Grid
from splits import SPLITS

STATS = {"median": 0.5, "mean": 0.5, "data": [0.5], "iterations": 1, "rounds": 1}


@pytest.mark.parametrize("cell", [
    Cell("random", "baseline", "train", 0),
    Cell("user_temporal", "time_of_day_week", "all", 12),
    Cell("leave_last_out", POPULARITY, "train", 3),
])
def test_a_cell_key_parses_back_to_the_cell(cell):
    assert Cell.from_key(cell.key) == cell


@pytest.mark.parametrize("key", ["random-baseline-train", "random-baseline-train-seed0",
                                 "a-b-c-d-s1", "", "random-baseline-train-s-1"])
def test_a_malformed_cell_key_is_refused(key):
    with pytest.raises(ValueError, match="malformed cell key"):
        Cell.from_key(key)


def test_registered_names_hold_no_hyphen_so_keys_parse_exactly():
    assert not [name for name in [*SPLITS, *CONFIGS] if "-" in name]


def test_a_result_written_as_entries_reads_back_as_the_same_result(tmp_path):
    # The writer (benchmarks/test_grid.py) and the reader (harness.record.reader) share these
    # functions; a field one side drops or renames fails here.
    result = CellResult(
        cell=Cell("temporal", "timestamp", "all", 2), epochs=3,
        metrics={"test/top_100_categorical_accuracy": np.float32(0.125),
                 "test/mrr_at_100": 0.0625, "test/top_50_categorical_accuracy": math.nan},
        examples_per_second=250_000.0, queries_per_second=1.5e6,
        timings={"train_seconds": 0.96}, leakage={"future_leak_rate": np.float64(0.0)},
        provenance={"data_sha256": "e" * 64, "seed": 2})
    entries = [benchmark_entry(result.cell, "train",
                               entry_info(result, "train", result.examples_per_second), STATS),
               benchmark_entry(result.cell, "inference",
                               entry_info(result, "inference", 1.25e6), STATS)]
    path = write_json_atomic(tmp_path / "run.json", {"benchmarks": entries})
    stored = read_json(path)["benchmarks"]
    back = merge_entries([parse_entry(path, i, e) for i, e in enumerate(stored)], path)
    assert back == replace(
        result, queries_per_second=1.25e6, source=path,  # the inference benchmark's rate
        metrics={**result.metrics, "test/top_50_categorical_accuracy": back.metrics[
            "test/top_50_categorical_accuracy"]})
    assert math.isnan(back.metrics["test/top_50_categorical_accuracy"])  # null -> NaN
    assert stored[0]["name"] == "test_train[temporal-timestamp-all-s2]"


def test_a_failed_cell_reads_back_failed_with_its_error(tmp_path):
    result = CellResult(cell=Cell("random", "genres", "train", 0), status="failed",
                        error="TrainingError: loss became NaN", epochs=3)
    entry = benchmark_entry(result.cell, "train", entry_info(result, "train", None), STATS)
    back = merge_entries([parse_entry(Path("x.json"), 0, json.loads(json.dumps(entry)))])
    assert (back.status, back.error, back.metrics) == ("failed", result.error, {})


def test_a_grid_round_trips_through_its_json_form():
    grid = Grid(splits=("random", "temporal"), configs=("baseline", "genres"),
                seeds=(0, 1, 2), epochs=3)
    assert grid.to_dict()["seeds"] == 3  # a count: the benchmark option's form
    back = read_grid(json.loads(json.dumps(grid.to_dict())), [], "x.json")
    assert back.cells() == grid.cells()
    selected = replace(grid, selected=frozenset(grid.cells()[:4]))
    assert read_grid(selected.to_dict(), [], "x.json").cells() == grid.cells()[:4]


def test_the_default_fit_on_runs_the_tutorial_configs_on_all_rows_too():
    grid = Grid(splits=("random",), configs=("baseline", "genres"), seeds=(0,))
    assert [c.key for c in grid.cells()] == [
        "random-popularity-train-s0", "random-ease-train-s0", "random-baseline-train-s0",
        "random-baseline-all-s0", "random-genres-train-s0"]


@pytest.mark.parametrize("changes, message", [
    ({"splits": ("nope",)}, "unknown split 'nope'"),
    ({"configs": ("nope",)}, "unknown feature configuration 'nope'"),
    ({"epochs": 0}, "--epochs must be a positive integer"),
    ({"fit_on": ("test",)}, "--fit-on must be one of"),
])
def test_an_impossible_grid_is_refused_naming_the_option(changes, message):
    grid = replace(Grid(splits=("random",), configs=("baseline",), seeds=(0,)), **changes)
    with pytest.raises(Exception, match=message):
        grid.validate()


def test_differences_name_each_key_and_nested_key():
    old = {"code": "a", "grid": {"seeds": 2, "splits": ["random"]}, "data_sha256": "x"}
    new = {"code": "b", "grid": {"seeds": 3, "splits": ["random"]}, "data_sha256": "x"}
    assert differences(old, new) == ["code: a != b", "grid.seeds: 2 != 3"]
    assert differences(old, old) == []
    assert differences({"a": [1, 2]}, {}) == ["a: 1, 2 != null"]


def test_a_malformed_declared_grid_is_one_user_error():
    with pytest.raises(UserError, match="x.json: ctxbench.grid.seeds must be"):
        read_grid({"seeds": "five"}, [], "x.json")
    with pytest.raises(UserError, match="x.json: ctxbench.grid.cells has a malformed"):
        read_grid({"cells": ["nope"]}, [], "x.json")


def test_a_run_directory_keeps_finished_cells_and_refuses_another_run(tmp_path):
    from harness.run.rundir import RunDirectory

    manifest = {"code": "abc", "data_sha256": "e" * 64,
                "grid": Grid(splits=("random",), configs=("baseline",), seeds=(0, 1)).to_dict()}
    run_dir = RunDirectory(tmp_path / "run", manifest)
    done, failed, damaged = (Cell("random", "baseline", "train", s) for s in (0, 1, 2))
    entry = benchmark_entry(done, "train", {"split": "random"}, STATS)
    run_dir.store(done, {"status": "ok", "entries": [entry]})
    run_dir.store(failed, {"status": "failed", "entries": [entry]})
    (run_dir.cells_dir / f"{damaged.key}.json").write_text('{"status": "ok", "entr')
    again = RunDirectory(tmp_path / "run", manifest)  # the same run resumes
    assert again.load(done) == {"status": "ok", "entries": [entry]}
    assert again.completed(done) and not again.completed(failed)
    assert again.load(damaged) is None and not again.completed(damaged)  # run it again
    other = {**manifest, "grid": {**manifest["grid"], "seeds": 3}}
    with pytest.raises(UserError, match=r"made by a different run \(grid.seeds: 2 != 3\)"):
        RunDirectory(tmp_path / "run", other)


def test_an_unwritable_run_directory_is_one_user_error(tmp_path):
    from harness.run.rundir import RunDirectory

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match="cannot"):
        RunDirectory(blocker / "run", {"code": "abc"})


def test_a_cells_identity_describes_what_it_computes():
    from harness.run.rundir import cell_identity

    knn = cell_identity(Cell("temporal", "item_knn", "train", 0))
    assert knn["scorer"] == {"kind": "item_knn", "history_protocol": "online",
                             "history_length": 20, "history_order": "last"}
    assert knn["split"]["name"] == "temporal"
    learned = cell_identity(Cell("temporal", "history", "train", 0))
    assert learned["config"]["past"]["history_length"] == 20 and "scorer" not in learned
    assert set(cell_identity(Cell("temporal", "popularity", "train", 0))) == {"split"}
