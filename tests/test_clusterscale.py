"""The cluster measurement's report and the 25M-shaped projection (harness.run.clusterscale,
harness.run.projection), on the committed results and a dataset-scale fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.run.clusterscale import main, render, scale_record
from harness.run.projection import makespan, projection

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
SCALE = ROOT / "tests" / "fixtures" / "dataset_scale_25m.json"
COMMITTED = RESULTS / "cluster" / "cluster.json"


def test_makespan_takes_the_longest_task_first_to_the_worker_free_soonest():
    # LPT on two workers: 5 | 4, then 3 -> 7, 3 -> 8, 3 -> 10.
    assert makespan([3, 5, 3, 4, 3], 2, 0.0) == 10
    assert makespan([3, 5, 3, 4, 3], 2, 2.0) == 12  # each worker loads the table first
    assert makespan([3, 5, 3, 4, 3], 1, 1.0) == 19
    assert makespan([3, 5, 3, 4, 3], 9, 0.0) == 5  # more workers than tasks: the longest


@pytest.fixture(scope="module")
def plan() -> dict:
    return projection(json.loads((RESULTS / "benchmark.json").read_text()),
                      json.loads((RESULTS / "tuned.json").read_text()),
                      json.loads(SCALE.read_text()), (8, 32, 128))


def test_the_projection_counts_the_default_grid_as_it_would_run(plan):
    benchmark = json.loads((RESULTS / "benchmark.json").read_text())["benchmarks"]
    learned = sum(entry["extra_info"].get("kind") == "train" for entry in benchmark)
    popularity = {(e["extra_info"]["split"], e["extra_info"]["seed"]) for e in benchmark
                  if e["extra_info"].get("config") == "popularity"}
    random = sum(split == "random" for split, _ in popularity)
    time_splits = len({split for split, _ in popularity if split != "random"})
    # EASE^R is skipped at 25M; popularity on a time split runs once for all seeds.
    assert plan["grid_cells"] == learned + random + time_splits
    assert plan["studies"] == 63 and plan["trials"] == 63 * 16


def test_the_projection_is_bounded_by_the_work_and_the_longest_task(plan):
    load = plan["inputs"]["load_seconds"] / 3600
    rows = {row["workers"]: row for row in plan["rows"]}
    assert rows[1]["grid_hours"] == pytest.approx(plan["grid_work_hours"] + load)
    assert rows[1]["tuning_hours"] == pytest.approx(plan["tuning_work_hours"] + load)
    for count, row in rows.items():
        assert row["grid_hours"] >= max(plan["grid_work_hours"] / count,
                                        plan["longest_cell_hours"]) + load - 1e-9
        assert row["tuning_hours"] >= plan["longest_study_hours"] + load - 1e-9
    # 63 studies whose trials run one after another: 128 workers wait on the longest.
    assert rows[128]["tuning_hours"] == pytest.approx(plan["longest_study_hours"] + load)
    hours = [rows[count]["grid_hours"] for count in (1, 8, 32, 128)]
    assert hours == sorted(hours, reverse=True)


def test_the_ratio_is_the_25m_epoch_over_the_100k_epoch(plan):
    scale = json.loads(SCALE.read_text())
    inputs = plan["inputs"]
    assert inputs["ratio"] == pytest.approx(scale["train_seconds"]
                                            / inputs["epoch_seconds_100k"])
    assert 0.1 < inputs["epoch_seconds_100k"] < 10  # one epoch of 80,000 rows


def test_the_costs_come_from_a_datascale_json_or_a_benchmark_entry_of_one():
    record = json.loads(SCALE.read_text())
    assert scale_record(record) is record
    wrapped = {"benchmarks": [{"extra_info": {"kind": "speedup"}}, {"extra_info": record}]}
    assert scale_record(wrapped) is record


def test_a_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "scale.json"
    bad.write_text(json.dumps({"kind": "dataset_scale"}))
    assert main(["--out", str(tmp_path / "c.json"), "--scale", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("error: cannot project: KeyError")
    assert main(["--out", str(tmp_path / "c.json"), "--scale", str(SCALE),
                 "--workers", "0"]) == 2
    assert main(["--out", str(tmp_path / "c.json"), "--scale",
                 str(RESULTS / "tuned.json")]) == 2
    assert "neither a dataset_scale JSON" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()


def test_the_committed_report_is_its_json_rendered():
    document = json.loads(COMMITTED.read_text())
    assert COMMITTED.with_suffix(".md").read_text(encoding="utf-8") == render(document)
    measured = document["measured"]
    assert measured["serial"]["cells"] == measured["cluster"]["cells"]
    assert [w["table_loads"] for w in measured["cluster"]["workers"]] == [1] * measured[
        "workers"]
