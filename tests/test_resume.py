"""An interrupted grid resumes to the same results; a failed cell is recorded, not hidden."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchrun import QUICK_CELLS, QUICK_GRID, ROOT, outside_xdist

N_CELLS = QUICK_CELLS
# Everything in a cell's record except what a second measurement changes.
TIMING_KEYS = {"examples_per_second", "queries_per_second", "timings", "provenance"}

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider",
            *QUICK_GRID, *args]


# Measured afresh by each run: the serving retrievers' speeds, builds and memory.
SERVING_TIMING_KEYS = {"queries_per_second", "seconds", "build_seconds", "build_rss_bytes",
                       "curve", "exact_speedup_over_tf"}


def _without_serving_timings(value):
    if isinstance(value, dict):
        return {key: _without_serving_timings(item) for key, item in value.items()
                if key not in SERVING_TIMING_KEYS}
    return value


def _comparable(path: Path) -> list[tuple]:
    """(name, extra_info without timings) of every benchmark entry, in order."""
    entries = json.loads(path.read_text())["benchmarks"]
    return [(entry["name"], {key: _without_serving_timings(value) if key == "serving"
                             else value for key, value in entry["extra_info"].items()
                             if key not in TIMING_KEYS}) for entry in entries]


def test_killed_run_resumes_to_the_uninterrupted_results(tmp_path, quick_grid):
    straight, _ = quick_grid  # the same grid, run without interruption
    run_dir = tmp_path / "interrupted"
    process = subprocess.Popen(_command("--run-dir", str(run_dir)), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=outside_xdist())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if len(list((run_dir / "cells").glob("*.json"))) >= N_CELLS // 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished_before = len(list((run_dir / "cells").glob("*.json")))
    assert 0 < finished_before < N_CELLS

    resumed = subprocess.run(_command("--run-dir", str(run_dir), "--benchmark-json",
                                      str(tmp_path / "resumed.json")),
                             cwd=ROOT, capture_output=True, text=True, timeout=600,
                             env=outside_xdist())
    assert resumed.returncode == 0, resumed.stdout[-2000:]
    header = json.loads((tmp_path / "resumed.json").read_text())["ctxbench"]
    assert header["session"]["cells_resumed"] >= finished_before
    assert _comparable(tmp_path / "resumed.json") == _comparable(straight / "out.json")


def test_failed_cell_is_recorded_and_the_grid_goes_on(tmp_path):
    env = {**outside_xdist(), "PYTHONPATH": str(ROOT / "tests"),
           "CTXBENCH_TEST_FAIL_CELL": "temporal/baseline/seed1"}
    # One split of the quick grid: popularity and 2 learned configurations x 2 seeds.
    result = subprocess.run(_command("-p", "plugins.fail_cell", "--splits", "temporal",
                                     "--run-dir", str(tmp_path / "run"), "--results-dir",
                                     str(tmp_path / "results")),
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 1, result.stdout[-2000:]  # the failed test is reported
    output = json.loads((tmp_path / "results" / "benchmark.json").read_text())
    entries = output["benchmarks"]
    failed = [e for e in entries if e["extra_info"]["status"] == "failed"]
    assert [e["name"] for e in failed] == ["test_train[temporal-baseline-train-s1]"]
    assert "injected failure in temporal/baseline/seed1" in failed[0]["extra_info"]["error"]
    # Every other cell still ran: 5 cells, 3 of them two-tower with two entries.
    assert len(entries) == 1 + 5 + 3
    report = (tmp_path / "results" / "results.md").read_text()
    assert "injected failure" in report
