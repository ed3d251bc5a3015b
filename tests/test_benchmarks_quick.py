"""End to end: `pytest benchmarks --quick` on the real data, its JSON, resume and report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXTRA_INFO_KEYS = {"split", "config", "seed", "fit_on", "epochs", "kind", "metrics",
                   "leakage", "provenance"}
PROVENANCE_KEYS = {"config", "fit_on", "epochs", "data_sha256", "versions", "cpu",
                   "git_commit", "git_dirty", "utc_time"}

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _pytest_benchmarks(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-q", "-p",
                           "no:cacheprovider", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONHASHSEED": "0"})


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick grid (2 seeds) with a run directory and a results directory."""
    tmp = tmp_path_factory.mktemp("quick")
    result = _pytest_benchmarks("--quick", "--seeds", "2", "--run-dir", str(tmp / "run"),
                                "--results-dir", str(tmp / "results"),
                                "--benchmark-json", str(tmp / "out.json"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp, result


def test_quick_json_has_every_cell_with_its_keys(quick_run):
    tmp, result = quick_run
    output = json.loads((tmp / "out.json").read_text())
    entries = output["benchmarks"]
    grid = output["ctxbench"]["grid"]
    assert grid["quick"] is True and grid["epochs"] == 1 and grid["seeds"] == 2
    # 4 splits x (popularity + 2 configs) x 2 seeds; two-tower cells have 2 entries each.
    assert len(grid["cells"]) == 4 * 3 * 2
    assert len(entries) == 4 * 2 * (1 + 2 * 2)
    kinds = {(e["extra_info"]["split"], e["extra_info"]["config"], e["extra_info"]["kind"])
             for e in entries}
    assert ("temporal", "timestamp", "train") in kinds
    assert ("temporal", "timestamp", "inference") in kinds
    assert ("leave_last_out", "popularity", "inference") in kinds
    for entry in entries:
        info = entry["extra_info"]
        assert EXTRA_INFO_KEYS <= set(info), entry["name"]
        assert PROVENANCE_KEYS <= set(info["provenance"]), entry["name"]
        rate = "examples_per_second" if info["kind"] == "train" else "queries_per_second"
        assert info[rate] > 0, entry["name"]
        top100 = info["metrics"]["test/top_100_categorical_accuracy"]
        assert 0.0 < top100 < 1.0, entry["name"]
        assert info["leakage"]["n_test"] > 0
    temporal = next(e for e in entries if e["extra_info"]["split"] == "temporal")
    random = next(e for e in entries if e["extra_info"]["split"] == "random")
    assert temporal["extra_info"]["leakage"]["future_leak_rate"] == 0.0
    assert random["extra_info"]["leakage"]["future_leak_rate"] > 0.5
    assert "[ctxbench 1/" in result.stdout  # progress lines


def test_quick_results_dir_holds_json_report_and_chart(quick_run):
    tmp, _ = quick_run
    results = tmp / "results"
    assert json.loads((results / "benchmark.json").read_text())["benchmarks"]
    report = (results / "results.md").read_text()
    assert "temporal" in report and "baseline" in report and "popularity" in report
    assert (results / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_cli_renders_the_json(quick_run):
    tmp, _ = quick_run
    result = subprocess.run([sys.executable, "-m", "harness", "report", str(tmp / "out.json")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "timestamp" in result.stdout and "|" in result.stdout


def test_pytest_benchmark_compare_reads_the_json(quick_run):
    tmp, _ = quick_run
    console_script = Path(sys.executable).parent / "pytest-benchmark"
    result = subprocess.run([str(console_script), "compare", str(tmp / "out.json")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "test_train[random-baseline-train-s0]" in result.stdout


def test_rerun_resumes_every_cell_and_reproduces_the_json(quick_run):
    tmp, _ = quick_run
    again = _pytest_benchmarks("--quick", "--seeds", "2", "--run-dir", str(tmp / "run"),
                               "--benchmark-json", str(tmp / "again.json"))
    assert again.returncode == 0, again.stdout[-2000:]
    assert "resumed" in again.stdout
    first = json.loads((tmp / "out.json").read_text())["benchmarks"]
    second = json.loads((tmp / "again.json").read_text())["benchmarks"]
    assert second == first


def test_run_directory_of_another_grid_is_refused(quick_run):
    tmp, _ = quick_run
    other = _pytest_benchmarks("--quick", "--seeds", "3", "--run-dir", str(tmp / "run"))
    assert other.returncode != 0
    assert "grid.seeds: 2 != 3" in other.stdout + other.stderr


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "--seeds must be a positive integer"),
    (["--epochs", "-1"], "--epochs must be a positive integer"),
    (["--configs", "nope"], "unknown feature configuration 'nope'; valid:"),
    (["--splits", "random,nope"], "unknown split 'nope'; valid:"),
    (["--fit-on", "test"], "--fit-on must be one of"),
    (["--results-dir", "/etc/passwd/results"], "is not writable"),
    (["--benchmark-json", str(Path(__file__))], "exists; pass --overwrite"),
])
def test_bad_options_get_one_clear_line(args, message):
    result = _pytest_benchmarks("--quick", *args, "--collect-only")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    assert "Traceback" not in output
