"""The grid on a Dask cluster (``--cluster``), on real clusters on the loopback address.

- ``--cluster local:2`` gives the serial run's cells, entries and metrics, each cell's
  machine and worker in its provenance, the table loaded once per worker process;
- a worker killed mid-cell (a scheduler and two ``dask worker`` processes started here,
  without nannies, so that the killed one stays dead): the cell runs on the other worker
  and the grid completes;
- a driver killed mid-grid: the same command resumes from the run directory, every cell
  stored before the kill kept as it was, none run or counted twice;
- a deterministic retriever on a deterministic split is computed once per grid, and the
  retrievers that say they read no seed do not;
- the size guard reads the smallest worker's memory; bad ``--cluster`` values get one line.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from benchrun import (
    benchmarks_command,
    interruptible,
    outside_xdist,
    run_benchmarks,
    write_interactions_file,
)

from harness.errors import UserError
from harness.record.grid import BASELINES
from harness.record.peruser import PerUser
from harness.run.cluster import parse_cluster, worker_memory

GRID = ("--quick", "--seeds", "2", "--splits", "random,temporal", "--no-speedup")
CELLS, ENTRIES = 12, 20  # 2 splits x (popularity + 2 two-tower configurations) x 2 seeds
HEADLINE = "test.all.all/top_100_categorical_accuracy"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    return write_interactions_file(tmp_path_factory.mktemp("cluster") / "interactions.csv")


def _grid(dataset: str, directory: Path, *extra: str) -> tuple[str, ...]:
    return (*GRID, "--dataset", dataset, "--run-dir", str(directory / "run"),
            "--benchmark-json", str(directory / "out.json"), *extra)


def _entries(path: Path) -> dict[str, dict]:
    """The cell entries of a benchmark JSON by name (each name once)."""
    entries = json.loads(path.read_text())["benchmarks"]
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), "an entry counted twice"
    return {entry["name"]: entry for entry in entries}


@pytest.fixture(scope="module")
def serial(dataset, tmp_path_factory) -> dict[str, dict]:
    directory = tmp_path_factory.mktemp("serial")
    result = run_benchmarks(*_grid(dataset, directory))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return _entries(directory / "out.json")


TIES = 2  # queries of a segment a few ulps may move across a tie at the top-k boundary


def _tolerance(metric: str, metrics: dict, queries: int) -> float:
    """TIES queries of the metric's segment: every metric is a mean over its segment's
    queries of a value in [0, 1] ("test.exclude_seen.item_cold/ndcg_at_10": item_cold's,
    whose size is its share of the test queries); the training side's, larger than the
    test side, gets the test side's."""
    segment = metric.split("/")[0].split(".")[-1]
    share = metrics.get(f"test.{segment}/share", 1.0) if segment not in ("test", "train") \
        else 1.0
    return TIES / max(1.0, share * queries)


def assert_same_cells(cluster: dict[str, dict], serial: dict[str, dict]) -> None:
    """The same entries, with the same metrics. Two processes of one machine run the same
    code with the same threads, so they agree bit for bit here; a worker on another CPU may
    round a score a few ulps differently (tests/floats.py), which can move a query across
    a tie at the top-k boundary: :func:`_tolerance`."""
    assert sorted(cluster) == sorted(serial) and len(serial) == ENTRIES
    queries = {entry["params"]["cell"]: int(PerUser.from_dict(
        entry["extra_info"]["per_user"], name).queries.sum())
        for name, entry in serial.items() if "per_user" in entry["extra_info"]}
    for name, entry in serial.items():
        expected, got = entry["extra_info"], cluster[name]["extra_info"]
        assert got["status"] == expected["status"] == "ok", name
        count = queries[entry["params"]["cell"]]
        for metric, value in expected["metrics"].items():
            tolerance = _tolerance(metric, expected["metrics"], count)
            assert got["metrics"][metric] == pytest.approx(value, abs=tolerance), (name, metric)


def _workers(entries: dict[str, dict]) -> dict[str, dict]:
    """Worker address -> its provenance as the last cell it ran saw it."""
    return {entry["extra_info"]["provenance"]["worker"]["address"]:
            entry["extra_info"]["provenance"]["worker"] for entry in entries.values()
            if "computed_once" not in entry["extra_info"]["provenance"]}


def test_a_local_cluster_gives_the_serial_runs_cells(dataset, serial, tmp_path):
    result = run_benchmarks(*_grid(dataset, tmp_path, "--cluster", "local:2"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "ctxbench: cluster local:2: 2 workers at tcp://127.0.0.1:" in output
    assert f"{CELLS} of {CELLS} cells to run" in output
    cluster = _entries(tmp_path / "out.json")
    assert_same_cells(cluster, serial)
    for entry in cluster.values():
        provenance = entry["extra_info"]["provenance"]
        assert provenance["machine"]["cores"] >= 1 and provenance["machine"]["cpu"]
    workers = _workers(cluster)
    assert len(workers) == 2  # both ran cells
    # The table crosses no wire: each worker process loaded it once, for all its cells.
    assert all(worker["table_loads"] == 1 for worker in workers.values()), workers


def test_a_deterministic_retriever_on_a_time_split_is_computed_once(serial):
    first = serial["test_baseline[temporal-popularity-train-s0]"]["extra_info"]
    shared = serial["test_baseline[temporal-popularity-train-s1]"]["extra_info"]
    assert shared["provenance"]["computed_once"] == "temporal-popularity-train-s0"
    assert shared["seed"] == shared["provenance"]["seed"] == 1
    assert shared["metrics"] == first["metrics"]
    # The random split reads the seed: each seed its own.
    assert "computed_once" not in serial[
        "test_baseline[random-popularity-train-s1]"]["extra_info"]["provenance"]


def test_the_retrievers_that_read_no_seed_give_every_seed_the_same_record():
    """What :mod:`harness.run.reuse` relies on, for every registered retriever that
    declares it on every split that does: seeds 0 and 1 give the same metrics."""
    from harness.data.synthetic import synthetic_movielens
    from harness.model.registry import get_retriever
    from harness.model.training import TrainOptions
    from harness.record.cell import Cell
    from harness.run.cell import run_cell
    from harness.run.reuse import reads_no_seed
    from splits import SPLITS

    data = synthetic_movielens(np.random.default_rng(3), n_users=60, n_items=40,
                               n_interactions=1500)
    checked = 0
    for name in BASELINES:
        for split in SPLITS:
            if not reads_no_seed(Cell(split, name, "train", 1)):
                continue
            first, second = (run_cell(data, split, name, seed, TrainOptions())
                             for seed in (0, 1))
            assert first.metrics == second.metrics, (name, split)
            checked += 1
    assert checked >= 8
    # The order control draws its titles with the seed: it says so, and it differs.
    assert get_retriever("item_knn_shuffled").seeded
    assert (run_cell(data, "temporal", "item_knn_shuffled", 0, TrainOptions()).metrics
            != run_cell(data, "temporal", "item_knn_shuffled", 1, TrainOptions()).metrics)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A worker told it has only its --memory-limit, but never paused or stopped for it: what
# the size guard reads, without the worker refusing work (dask's own memory management).
UNMANAGED = {f"DASK_DISTRIBUTED__WORKER__MEMORY__{key}": "False"
             for key in ("TARGET", "SPILL", "PAUSE", "TERMINATE")}


@contextmanager
def external_cluster(workers: int = 2, memory_limit: str | None = None):
    """A scheduler and ``workers`` worker processes (one thread, no nanny) on 127.0.0.1:
    (address, {name: process})."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**outside_xdist(), "PYTHONHASHSEED": "0", **(UNMANAGED if memory_limit else {})}
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    named = {}
    try:
        for index in range(workers):
            named[f"w{index}"] = subprocess.Popen(
                [*dask, "worker", address, "--nthreads", "1", "--no-nanny", "--host",
                 "127.0.0.1", "--name", f"w{index}", "--no-dashboard",
                 *(["--memory-limit", memory_limit] if memory_limit else [])], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes += named.values()
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, named
    finally:
        for process in processes:
            process.kill()
            process.wait()


def _until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_cell_has_its_cell_run_elsewhere(dataset, serial, tmp_path):
    from distributed import Client

    with external_cluster(2) as (address, workers):
        driver = subprocess.Popen(
            benchmarks_command(*_grid(dataset, tmp_path, "--cluster", address)),
            env={**outside_xdist(), "PYTHONHASHSEED": "0"}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        with Client(address, timeout=60) as client:
            def held():  # worker -> the two-tower cells it holds
                return {worker: keys for worker, keys in
                        ((worker, {key for key in keys if "-baseline-" in key
                                   or "-timestamp-" in key})
                         for worker, keys in client.processing().items()) if keys}

            both = None
            while not both:  # a cell held half a second: mid-cell (TF loads first)
                first = _until(held, 240, "a two-tower cell on a worker")
                time.sleep(0.5)
                now = held()
                both = {worker: keys & now.get(worker, set())
                        for worker, keys in first.items() if keys & now.get(worker, set())}
            victim_address, keys = next(iter(both.items()))
            info = client.scheduler_info()["workers"][victim_address]
            workers[info["name"]].send_signal(signal.SIGKILL)
        output, _ = driver.communicate(timeout=400)
    assert driver.returncode == 0, output[-3000:]
    cluster = _entries(tmp_path / "out.json")
    assert_same_cells(cluster, serial)
    killed = {key.split("ctxbench-", 1)[1].rsplit("-", 1)[0] for key in keys}
    for cell in killed:  # it finished on the surviving worker
        entry = cluster[f"test_inference[{cell}]"]["extra_info"]["provenance"]["worker"]
        assert entry["address"] != victim_address, cell


def test_a_killed_driver_resumes_from_the_run_directory(dataset, serial, tmp_path):
    cells = tmp_path / "run" / "cells"
    with external_cluster(2) as (address, _):
        command = benchmarks_command(*_grid(dataset, tmp_path, "--cluster", address))
        env = {**outside_xdist(), "PYTHONHASHSEED": "0"}
        driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        _until(lambda: cells.is_dir() and len(list(cells.glob("*.json"))) >= 3, 300,
               "three stored cells")
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        stored = {path.name: path.read_bytes() for path in cells.glob("*.json")}
        assert not (tmp_path / "out.json").exists()  # nothing published by a killed run
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    output = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, output[-3000:]
    resumed = int(output.split(" resumed")[0].rsplit(", ", 1)[1])
    assert resumed >= len(stored) - 1  # a cell being written at the kill may be torn
    for name, content in stored.items():  # kept as they were: none run twice
        assert (cells / name).read_bytes() == content, name
    assert_same_cells(_entries(tmp_path / "out.json"), serial)


def test_ctrl_c_on_a_local_cluster_keeps_the_finished_cells_and_stops_it(dataset, serial,
                                                                        tmp_path):
    cells = tmp_path / "run" / "cells"
    command = benchmarks_command(*_grid(dataset, tmp_path, "--cluster", "local:2"))
    env = {**outside_xdist(), "PYTHONHASHSEED": "0"}
    driver = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, preexec_fn=interruptible)
    _until(lambda: cells.is_dir() and len(list(cells.glob("*.json"))) >= 2, 300,
           "two stored cells")
    driver.send_signal(signal.SIGINT)
    output, _ = driver.communicate(timeout=120)  # the local cluster stopped, not left
    kept = len(list(cells.glob("*.json")))
    assert (f"ctxbench: interrupted: run the same command again to resume ({kept} of "
            f"{CELLS} cells kept in") in output, output[-2000:]
    assert not (tmp_path / "out.json").exists()
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{CELLS - kept} of {CELLS} cells to run, {kept} resumed" in rerun.stderr
    assert_same_cells(_entries(tmp_path / "out.json"), serial)


def test_the_size_guard_reads_the_smallest_workers_memory():
    from distributed import Client, LocalCluster

    from harness.record.machine import too_large

    with (LocalCluster(n_workers=2, processes=False, memory_limit="3MiB",
                       dashboard_address=None) as local, Client(local) as client):
        memory = worker_memory(client)
    assert memory == (3 * 2**20, "the smallest worker's memory limit")
    reason = too_large("ease", 600, memory)  # 8 x 600² float64: 22 MiB
    assert reason.startswith("ease needs ") and "a worker has 0.00293 GiB" in reason
    assert too_large("popularity", 600, memory) is None


def test_a_baseline_too_large_for_a_worker_is_skipped_before_the_grid_starts(dataset,
                                                                             tmp_path):
    """Workers of 2 MiB: EASE^R's 8 matrices of the file's 199 titles (2.4 MiB) are skipped
    with the reason before any cell runs, though the driver's machine has the memory;
    item-kNN's 4 (1.2 MiB) fit and run there."""
    with external_cluster(2, memory_limit="2MiB") as (address, _):
        result = run_benchmarks("--quick", "--splits", "temporal", "--configs",
                                "popularity,ease,item_knn", "--no-speedup", "--seeds", "1",
                                "--dataset", dataset, "--run-dir", str(tmp_path / "run"),
                                "--benchmark-json", str(tmp_path / "out.json"),
                                "--cluster", address)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "cells to run" in line)
    assert ("ctxbench: skipped: ease needs 0.00236 GiB for its 199 x 199 item matrices and "
            "a worker has 0.00195 GiB (the smallest worker's memory limit)") in lines[:start]
    assert "2 of 3 cells to run" in lines[start]
    ran = {entry["extra_info"]["config"] for entry in
           json.loads((tmp_path / "out.json").read_text())["benchmarks"]}
    assert ran == {"popularity", "item_knn"}


@pytest.mark.parametrize("value", ["local:0", "local:x", "nope", "http://host:1/x"])
def test_a_bad_cluster_value_is_refused(value):
    with pytest.raises(UserError, match="--cluster"):
        parse_cluster(value)


def test_a_bad_cluster_option_gets_one_line_before_anything_runs():
    result = run_benchmarks(*GRID, "--cluster", "local:0", "--collect-only")
    assert result.returncode != 0
    assert "local:N needs N >= 1 workers" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_tuning_on_a_local_cluster_chooses_what_the_serial_tuning_does(dataset, tmp_path):
    """Each study runs on one worker with the serial run's TPE seed. Three trials are the
    tutorial's and TPE's seeded random start-up draws, so the same params whatever the
    scores; a score may move by TIES queries of the validation slice on another CPU, and
    the choice is then a best trial within that."""
    from harness.run.gridcell import load_grid_data
    from harness.run.tunespace import TUTORIAL_PARAMS, TuneSettings
    from harness.run.tunetrial import prepare_study, trial_options

    tune = [sys.executable, "-m", "harness", "tune", "--dataset", dataset, "--quick",
            "--splits", "random,temporal", "--configs", "baseline", "--seeds", "2",
            "--trials", "3", "--max-epochs", "2"]
    env = {**outside_xdist(), "PYTHONHASHSEED": "0"}
    runs = {}
    for name, extra in (("serial", ()), ("cluster", ("--cluster", "local:2"))):
        out = tmp_path / f"{name}.json"
        result = subprocess.run([*tune, "--out", str(out), "--run-dir",
                                 str(tmp_path / name), *extra], env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        runs[name] = json.loads(out.read_text())
    serial, cluster = runs["serial"]["cells"], runs["cluster"]["cells"]
    assert list(cluster) == list(serial) and len(serial) == 3  # random x 2 seeds, temporal
    data = load_grid_data(dataset, None, True)
    for name, study in serial.items():
        options = trial_options(TuneSettings(), TUTORIAL_PARAMS)
        validation = prepare_study(data, study["split"], "baseline", study.get("seed"),
                                   options).validation_rows.size
        tolerance = TIES / validation
        for mine, theirs in zip(cluster[name]["trials"], study["trials"], strict=True):
            assert mine["params"] == theirs["params"]
            assert mine["value"] == pytest.approx(theirs["value"], abs=tolerance)
        chosen = {t["number"]: t for t in study["trials"]}[cluster[name]["best_trial"]]
        assert chosen["value"] >= study["validation_score"] - tolerance, name
        assert cluster[name]["params"] == chosen["params"], name
    assert runs["cluster"]["provenance"]["cluster"].startswith("tcp://127.0.0.1:")


def test_tuning_on_a_remote_cluster_needs_a_shared_storage(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "harness", "tune", "--cluster", "tcp://127.0.0.1:9",
         "--out", str(tmp_path / "t.json")], env={**outside_xdist()},
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(
        "needs --storage: workers on other machines cannot reach this machine's SQLite "
        "study file")


def test_a_local_worker_keeps_the_drivers_thread_settings(monkeypatch):
    """dask's nanny caps numpy's BLAS at one thread in its workers; a local cluster's
    workers keep the driver's settings, so they compute as the serial run does."""
    from harness.run.cluster import connect

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with connect("local:1") as client:
        [seen] = client.run(lambda: (os.environ.get("OPENBLAS_NUM_THREADS"),
                                     os.environ.get("OMP_NUM_THREADS"))).values()
    assert tuple(seen) == ("2", None)


def test_without_the_cluster_extra_the_option_says_what_to_install(monkeypatch):
    from harness.run.cluster import connect

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(UserError, match=r"pip install 'ctxbench\[cluster\]'"), \
            connect("local:1"):
        pass


def test_a_worker_with_other_data_or_versions_fails_the_cell_unstored(dataset):
    """What a worker checks before it measures anything (run_job, in this process)."""
    from harness.evaluation.segments import DEFAULT_EVALUATION
    from harness.record.cell import Cell
    from harness.record.provenance import environment
    from harness.run.cluster import CellJob, run_job, worker_table

    env = environment()
    cell = Cell("temporal", "popularity", "train", 0)
    job = CellJob(cell, dataset, None, True, "0" * 64, 1, None, DEFAULT_EVALUATION, env)
    with pytest.raises(UserError, match=r"this worker's .* \(sha256 \w{12}\) is not the "
                                        r"driver's \(000000000000\)"):
        worker_table(job)
    outcome = run_job(job)
    assert outcome.status == "failed" and not outcome.kept and outcome.entries == []
    older = {**env, "versions": {**env["versions"], "tensorflow": "2.0.0"}}
    outcome = run_job(CellJob(cell, dataset, None, True, "0" * 64, 1, None,
                              DEFAULT_EVALUATION, older))
    assert not outcome.kept and outcome.summary.startswith("FAILED: worker ")
    assert f"tensorflow {env['versions']['tensorflow']} (driver 2.0.0)" in outcome.summary
