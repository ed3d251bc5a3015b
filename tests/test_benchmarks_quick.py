"""End to end: `pytest benchmarks --quick` on the real data, its JSON, resume and report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchrun import QUICK_CELLS, QUICK_ENTRIES, QUICK_GRID, ROOT, run_benchmarks

import harness

EXTRA_INFO_KEYS = {"split", "config", "seed", "fit_on", "epochs", "kind", "metrics",
                   "leakage", "provenance"}
PROVENANCE_KEYS = {"config", "fit_on", "epochs", "data_sha256", "versions", "git_commit",
                   "git_dirty", "utc_time"}

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_quick_json_has_every_cell_with_its_keys(quick_grid):
    tmp, result = quick_grid
    output = json.loads((tmp / "out.json").read_text())
    entries = output["benchmarks"]
    grid = output["ctxbench"]["grid"]
    assert grid["quick"] is True and grid["epochs"] == 1 and grid["seeds"] == 2
    assert grid["splits"] == ["random", "temporal"]
    assert len(grid["cells"]) == QUICK_CELLS
    assert len(entries) == QUICK_ENTRIES
    kinds = {(e["extra_info"]["split"], e["extra_info"]["config"], e["extra_info"]["kind"])
             for e in entries}
    assert ("temporal", "timestamp", "train") in kinds
    assert ("temporal", "timestamp", "inference") in kinds
    assert ("random", "popularity", "inference") in kinds
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
    assert f"{QUICK_CELLS}/{QUICK_CELLS} [" in result.stderr  # the progress bar, at its end
    # Nothing written says whose machine it was (the wheel sits under ~/.cache).
    home = str(Path.home()) + "/"
    for written in [tmp / "out.json", *(tmp / "results").rglob("*"),
                    *(tmp / "run").rglob("*.json")]:
        if written.suffix in (".json", ".md", ".tex", ".csv"):
            assert home not in written.read_text(), written
    # The machine once per file, not in every entry; its GEMM rate, measured per
    # session, is in the header (machine_info stays the same across sessions).
    machine = output["machine_info"]["ctxbench"]
    assert {"cpu", "arch", "cores", "isa", "caches"} == set(machine)
    assert output["ctxbench"]["session"]["gemm_gflops"] > 0
    assert not any("machine" in e["extra_info"]["provenance"] for e in entries)
    # Training (1 round) and inference (5) in groups of their own.
    groups = {}
    for entry in entries:
        groups.setdefault(entry["group"], set()).add(entry["extra_info"]["kind"])
    assert all(len(kinds) == 1 for kinds in groups.values()), groups


def test_quick_results_dir_holds_json_report_and_chart(quick_grid):
    tmp, _ = quick_grid
    results = tmp / "results"
    assert json.loads((results / "benchmark.json").read_text())["benchmarks"]
    report = (results / "results.md").read_text()
    assert "temporal" in report and "baseline" in report and "popularity" in report
    assert (results / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The bench writes every table too, each captioned with the version the header records.
    version = json.loads((results / "benchmark.json").read_text())["ctxbench"]["suite_version"]
    assert version == harness.__version__
    latex = (results / "tables" / "accuracy_top100_fit_on_train.tex").read_text()
    assert f"ctxbench {version}, git " in latex


def test_report_cli_renders_the_json(quick_grid):
    tmp, _ = quick_grid
    result = subprocess.run([sys.executable, "-m", "harness", "report", str(tmp / "out.json")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "timestamp" in result.stdout and "|" in result.stdout


def test_pytest_benchmark_compare_reads_the_json(quick_grid):
    tmp, _ = quick_grid
    console_script = Path(sys.executable).parent / "pytest-benchmark"
    result = subprocess.run([str(console_script), "compare", str(tmp / "out.json")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "test_train[random-baseline-train-s0]" in result.stdout


def test_rerun_resumes_every_cell_without_training_and_writes_the_json(quick_grid):
    # No benchmark runs in this session, so pytest-benchmark writes nothing: the JSON
    # comes from ctxbench, through pytest-benchmark's own hooks.
    tmp, _ = quick_grid
    again = run_benchmarks(*QUICK_GRID, "--run-dir", str(tmp / "run"),
                           "--benchmark-json", str(tmp / "again.json"))
    assert again.returncode == 0, again.stdout[-2000:]
    assert f"0 of {QUICK_CELLS} cells to run, {QUICK_CELLS} resumed" in again.stderr
    assert "trained at" not in again.stderr and "popularity test top-100" not in again.stderr
    output = json.loads((tmp / "again.json").read_text())
    assert len(output["benchmarks"]) == QUICK_ENTRIES
    assert output["ctxbench"]["session"]["cells_resumed"] == QUICK_CELLS
    # The same machine_info as the first session's: pytest-benchmark compares them.
    first = json.loads((tmp / "out.json").read_text())
    assert output["machine_info"]["ctxbench"] == first["machine_info"]["ctxbench"]


def test_run_directory_of_another_epoch_count_is_refused(quick_grid):
    """Every cell shares the epochs (an extended grid resumes: tests/test_interrupt.py)."""
    tmp, _ = quick_grid
    other = run_benchmarks(*QUICK_GRID, "--epochs", "2", "--run-dir", str(tmp / "run"))
    assert other.returncode != 0
    assert "epochs: 1 != 2" in other.stdout + other.stderr


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "--seeds must be a positive integer"),
    (["--epochs", "-1"], "--epochs must be a positive integer"),
    (["--configs", "nope"], "unknown feature configuration or baseline 'nope'; valid:"),
    (["--splits", "random,nope"], "unknown split 'nope'; valid:"),
    (["--fit-on", "test"], "--fit-on must be one of"),
    (["--results-dir", "/etc/passwd/results"], "is not writable"),
    (["--benchmark-json", str(Path(__file__))], "exists; pass --overwrite"),
])
def test_bad_options_get_one_clear_line(args, message):
    result = run_benchmarks("--quick", *args, "--collect-only")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    assert "Traceback" not in output


PREVIOUS = b'{"benchmarks": [], "note": "an earlier run"}\n'


@pytest.mark.parametrize("args", [
    [],  # no --overwrite: refused
    ["--overwrite", "--seeds", "0"],  # a bad option: refused before anything runs
    ["--overwrite", "--data-dir", "{tmp}/no-such-dir"],  # fails loading the data
], ids=["refused", "bad-option", "failed-run"])
def test_an_existing_benchmark_json_survives_a_refused_or_failed_run(tmp_path, args):
    # pytest-benchmark before 5.3 opened --benchmark-json for writing while parsing the
    # options, so a refused run emptied the earlier results it was refusing to replace.
    previous = tmp_path / "prev.json"
    previous.write_bytes(PREVIOUS)
    result = run_benchmarks(
        "--quick", "--seeds", "1", "--splits", "random", "--configs", "baseline",
        "--no-speedup", "--run-dir", str(tmp_path / "run"),
        *[a.format(tmp=tmp_path) for a in args], "--benchmark-json", str(previous))
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert previous.read_bytes() == PREVIOUS
