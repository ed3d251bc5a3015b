"""Ctrl-C never damages results; the same command resumes; --fresh measures again.

Real ``pytest benchmarks`` subprocesses on a generated interactions file (a second or so
per cell), so an interruption lands between real cells.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from benchrun import (
    ROOT,
    benchmarks_command,
    interruptible,
    outside_xdist,
    run_benchmarks,
    write_interactions_file,
)

pytestmark = pytest.mark.slow

# popularity and the two-tower baseline on the random split: popularity's cells first.
GRID = ("--quick", "--splits", "random", "--configs", "popularity,baseline", "--no-speedup")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    return write_interactions_file(tmp_path_factory.mktemp("data") / "inter.csv")


@pytest.fixture(scope="module")
def complete(tmp_path_factory, dataset) -> Path:
    """One complete run of the grid with one seed, shared by the tests that start from
    one: its run directory ``run`` and results directory ``results`` (with a
    ``--benchmark-json`` copy inside). A test that changes them works on a copy."""
    tmp = tmp_path_factory.mktemp("complete")
    results = tmp / "results"
    first = run_benchmarks(*GRID, "--dataset", dataset, "--seeds", "1", "--run-dir",
                           str(tmp / "run"), "--results-dir", str(results),
                           "--benchmark-json", str(results / "copy.json"))
    assert first.returncode == 0, first.stderr[-3000:]
    return tmp


def _tree(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def _header(path: Path) -> dict:
    return json.loads(path.read_text())["ctxbench"]


def test_interrupted_rerun_changes_nothing_and_the_same_command_resumes(tmp_path, dataset,
                                                                         complete):
    results = tmp_path / "results"
    shutil.copytree(complete / "results", results)
    before = _tree(results)
    assert {"benchmark.json", "results.md", "accuracy.png", "copy.json"} <= set(before)

    run_dir = tmp_path / "run2"
    command = benchmarks_command(*GRID, "--dataset", dataset, "--seeds", "4", "--run-dir",
                                 str(run_dir), "--results-dir", str(results),
                                 "--benchmark-json", str(results / "copy.json"),
                                 "--overwrite")
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**outside_xdist(), "PYTHONHASHSEED": "0"},
                               preexec_fn=interruptible)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if list((run_dir / "cells").glob("*.json")):
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    kept = len(list((run_dir / "cells").glob("*.json")))
    assert 0 < kept < 8, stderr[-2000:]  # 4 seeds x (popularity, baseline)
    # Nothing of the results directory changed, the --benchmark-json included.
    assert _tree(results) == before
    assert (f"ctxbench: interrupted: run the same command again to resume ({kept} of 8 "
            f"cells kept in {run_dir})") in stderr
    assert not list(tmp_path.glob(".results.*"))  # no staging directory left behind

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                           env={**outside_xdist(), "PYTHONHASHSEED": "0"})
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{8 - kept} of 8 cells to run, {kept} resumed" in again.stderr
    header = _header(results / "benchmark.json")
    assert header["session"]["cells_resumed"] == kept
    assert header["grid"]["seeds"] == 4
    assert len(json.loads((results / "benchmark.json").read_text())["benchmarks"]) == 4 + 8
    assert _header(results / "copy.json")["grid"]["seeds"] == 4
    assert _tree(results)["results.md"] != before["results.md"]


def _bar_counts(stderr: str) -> list[tuple[int, int]]:
    """Every (done, total) the progress bar showed."""
    return [(int(done), int(total)) for done, total in
            re.findall(r"\| *(\d+)/(\d+) \[", stderr)]


def test_fresh_measures_every_cell_again_and_says_where_the_run_directory_is(tmp_path,
                                                                             dataset,
                                                                             complete):
    run_dir = tmp_path / "run"
    shutil.copytree(complete / "run", run_dir)  # the cells of a finished run
    args = (*GRID, "--dataset", dataset, "--seeds", "1", "--run-dir", str(run_dir),
            "--benchmark-json", str(tmp_path / "out.json"), "--overwrite")
    stored = _tree(run_dir / "cells")

    resumed = run_benchmarks(*args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "0 of 2 cells to run, 2 resumed" in resumed.stderr
    assert _tree(run_dir / "cells") == stored

    fresh = run_benchmarks(*args, "--fresh")
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    output = fresh.stdout + fresh.stderr
    assert f"ctxbench: run directory {run_dir}: 2 of 2 cells to run, 0 resumed" in output
    assert re.search(rf"ctxbench: wrote {tmp_path / 'out.json'} \(run directory "
                     rf"{run_dir}\)", output)
    assert "Wrote benchmark data in" not in output  # no scratch file named as results
    assert _header(tmp_path / "out.json")["session"]["cells_resumed"] == 0
    remeasured = _tree(run_dir / "cells")
    assert set(remeasured) == set(stored)
    assert all(remeasured[name] != stored[name] for name in stored)
    assert not (run_dir / "fresh.json").exists()  # the --fresh pass completed


def test_progress_counts_only_the_cells_that_run_and_ends_at_its_total(tmp_path, dataset):
    # user_profile: the file has no user profile; seed 1 deselected by -k.
    result = run_benchmarks("--quick", "--splits", "random", "--configs",
                            "popularity,baseline,user_profile", "--no-speedup", "--dataset",
                            dataset, "--seeds", "2", "-k", "not s1", "--run-dir",
                            str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    counts = _bar_counts(result.stderr)
    assert counts and {total for _, total in counts} == {2}
    assert counts[-1] == (2, 2)
    assert "[ctxbench" not in result.stdout + result.stderr  # the old hand-made counter


def test_an_extended_grid_resumes_the_cells_it_shares_and_reruns_a_changed_one(tmp_path,
                                                                               dataset,
                                                                               complete):
    """A configuration added to the grid runs alone; a stored cell whose description no
    longer matches the code's (here, its configuration's embedding size) runs again."""
    run_dir = tmp_path / "run"
    shutil.copytree(complete / "run", run_dir)
    popularity, baseline = (run_dir / "cells" / f"random-{name}-{fit_on}-s0.json"
                            for name, fit_on in (("popularity", "train"), ("baseline", "train")))
    record = json.loads(baseline.read_text())
    record["identity"]["config"]["embedding_dim"] += 1
    baseline.write_text(json.dumps(record))
    kept = popularity.read_bytes()

    extended = run_benchmarks("--quick", "--splits", "random", "--configs",
                              "popularity,ease,baseline", "--no-speedup", "--dataset",
                              dataset, "--seeds", "1", "--run-dir", str(run_dir),
                              "--benchmark-json", str(tmp_path / "out.json"))
    assert extended.returncode == 0, extended.stderr[-3000:]
    assert f"run directory {run_dir}: 2 of 3 cells to run, 1 resumed" in extended.stderr
    assert popularity.read_bytes() == kept
    assert json.loads(baseline.read_text())["identity"]["config"]["embedding_dim"] == (
        record["identity"]["config"]["embedding_dim"] - 1)
    assert _header(tmp_path / "out.json")["session"]["cells_resumed"] == 1


def test_a_baseline_too_large_for_the_memory_is_skipped_before_the_grid_starts(tmp_path,
                                                                                dataset):
    """EASE^R's stated need (8 dense float64 matrices of the file's 199 titles, 2.4 MiB)
    over a 2 MiB limit: skipped with its reason before any cell runs; item-kNN's (4 of
    them, 1.2 MiB) fits and runs."""
    result = run_benchmarks("--quick", "--splits", "temporal", "--configs",
                            "popularity,ease,item_knn", "--no-speedup", "--dataset", dataset,
                            "--seeds", "1", "--run-dir", str(tmp_path / "run"),
                            "--benchmark-json", str(tmp_path / "out.json"),
                            env={"CTXBENCH_MEMORY_LIMIT": str(2 / 1024)})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    skip = ("ctxbench: skipped: ease needs 0.00236 GiB for its 199 x 199 item matrices and "
            "this machine has 0.00195 GiB (CTXBENCH_MEMORY_LIMIT)")
    start = next(i for i, line in enumerate(lines) if "cells to run" in line)
    assert skip in lines[:start], lines[:start + 1]
    # What runs states its need first; what was skipped does not.
    assert "ctxbench: item_knn needs 0.00118 GiB for 199 titles" in lines[:start]
    assert not any(line.startswith("ctxbench: ease needs") for line in lines[:start])
    assert "2 of 3 cells to run" in lines[start]
    header = _header(tmp_path / "out.json")
    assert header["skipped_configs"] == {"ease": skip.removeprefix("ctxbench: skipped: ")}
    ran = {entry["extra_info"]["config"] for entry in
           json.loads((tmp_path / "out.json").read_text())["benchmarks"]}
    assert ran == {"popularity", "item_knn"}
