"""pytest-benchmark wiring for the ctxbench grid: options, cells, run directory, output.

Only wiring lives here; every computation is in ``harness``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.data.datasets import DATASETS, check_dataset_name
from harness.data.table import DEFAULT_DATASET
from harness.errors import USER_ERRORS, UserError
from harness.evaluation.segments import ALL, DEFAULT_BANDS, EXCLUDE_SEEN, Evaluation, parse_bands
from harness.model.features import CONFIGS, get_config, missing_features
from harness.run.fingerprint import described
from harness.run.machine import gemm_gflops, machine
from harness.run.records import (
    current_suite_version,
    environment,
    peak_rss_mib,
    to_jsonable,
    write_json_atomic,
)
from harness.run.rundir import RunDirectory
from harness.run.schema import (
    BASELINES,
    DEFAULT_FIT_ON,
    KINDS,
    PROTOCOLS,
    QUICK_BASELINES,
    QUICK_CONFIGS,
    QUICK_SEEDS,
    QUICK_USER_FRACTION,
    TUNED,
    TUTORIAL,
    Cell,
    Grid,
)
from harness.run.tuned import DEFAULT_TUNED, expected_by_run, read_tuned
from splits import SPLITS

GRID_RUN = pytest.StashKey["GridRun"]()


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def pytest_addoption(parser):
    group = parser.getgroup("ctxbench", "ctxbench grid")
    group.addoption("--splits", type=_csv, default=None,
                    help="comma-separated split names (default: every registered split)")
    group.addoption("--configs", type=_csv, default=None,
                    help="comma-separated feature configurations (default: all)")
    group.addoption("--seeds", type=int, default=None,
                    help=f"number of seeds 0..N-1 (default 5; {QUICK_SEEDS} with --quick)")
    group.addoption("--epochs", type=int, default=None,
                    help="training epochs (default 3; 1 with --quick)")
    group.addoption("--fit-on", default="default",
                    help="train | all | default (train for every configuration plus all "
                         "for the tutorial's baseline and timestamp)")
    group.addoption("--data-dir", default=None,
                    help="directory with the GroupLens or RecBole MovieLens-100k files "
                         "(or the --dataset's GroupLens files)")
    group.addoption("--dataset", default=DEFAULT_DATASET,
                    help=f"{', '.join(DATASETS)} or interactions:PATH (a CSV or Parquet "
                         f"file); default {DEFAULT_DATASET}")
    group.addoption("--results-dir", default=None,
                    help="also write benchmark.json, results.md, accuracy.png and "
                         "tables/ (every table as .tex and .csv) here")
    group.addoption("--overwrite", action="store_true",
                    help="replace an existing --benchmark-json file or results in "
                         "--results-dir (refused otherwise)")
    group.addoption("--run-dir", default=None,
                    help="resumable run directory (default: <results-dir>/.runs/<id>)")
    group.addoption("--quick", action="store_true",
                    help=f"CI smoke run: {QUICK_USER_FRACTION:.0%} of users, 1 epoch, every "
                         f"split, configs {','.join(QUICK_BASELINES + QUICK_CONFIGS)}")
    group.addoption("--no-speedup", action="store_true",
                    help="skip the side-by-side tutorial-reference benchmark")
    group.addoption("--scaling", action="store_true",
                    help="also run the synthetic scaling benchmarks (slow)")
    group.addoption("--dataset-scale", action="store_true",
                    help="also load a MovieLens-25M-shaped dataset and run one baseline "
                         "cell on it (about 10 minutes and 6 GiB)")
    group.addoption("--protocol", default=TUTORIAL, choices=(*PROTOCOLS, "both"),
                    help="tutorial: the tutorial's fixed hyperparameters (default); tuned: "
                         "each (split, configuration)'s own from --tuned; both")
    group.addoption("--exclude-seen", action="store_true",
                    help="headline metrics rank each query among the titles its user did "
                         "not interact with in training (the true one always stays); "
                         "default: the tutorial's ranking among every title. Every cell "
                         "records both rankings per segment either way")
    group.addoption("--segment-bands", default=",".join(map(str, DEFAULT_BANDS)),
                    help="edges of the warm users' training-activity bands (default "
                         f"{','.join(map(str, DEFAULT_BANDS))}: 1-19, 20-99, 100+)")
    group.addoption("--tuned", default=None,
                    help="the tuned hyperparameters (default: results/tuned.json, written "
                         "by python -m harness tune)")


def _grid(config) -> Grid:
    """The grid the options ask for, checked against the registries."""
    quick = config.getoption("quick")
    seeds, epochs = config.getoption("seeds"), config.getoption("epochs")
    fit_on = config.getoption("fit_on")
    seeds = (QUICK_SEEDS if quick else 5) if seeds is None else seeds
    if seeds < 1:
        raise UserError(f"--seeds must be a positive integer, got {seeds!r}")
    protocol = config.getoption("protocol")
    return Grid(
        splits=config.getoption("splits") or tuple(SPLITS),
        configs=config.getoption("configs") or (QUICK_CONFIGS if quick else tuple(CONFIGS)),
        seeds=tuple(range(seeds)),
        epochs=(1 if quick else 3) if epochs is None else epochs,
        fit_on=("train",) if quick and fit_on == DEFAULT_FIT_ON else (fit_on,),
        baselines=QUICK_BASELINES if quick else BASELINES,
        quick=quick,
        protocols=PROTOCOLS if protocol == "both" else (protocol,),
    ).validate()


def _check_writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise UserError(f"--results-dir {directory} is not writable: "
                        f"{error.strerror or error}") from None


class GridRun:
    """Session state: the grid, the data, the run directory and the finished entries."""

    def __init__(self, config):
        self.config = config
        self.grid = _grid(config)
        self.evaluation = Evaluation(
            ranking=EXCLUDE_SEEN if config.getoption("exclude_seen") else ALL,
            bands=parse_bands(config.getoption("segment_bands")))
        self.data_dir = config.getoption("data_dir")
        self.dataset = check_dataset_name(config.getoption("dataset"))
        # configuration -> why it cannot run on this dataset (reported, never run).
        self.skipped: dict[str, str] = {}
        results_dir = config.getoption("results_dir")
        self.results_dir = Path(results_dir) if results_dir else None
        if (self.results_dir and (self.results_dir / "benchmark.json").exists()
                and not config.getoption("overwrite")):
            raise UserError(f"{self.results_dir / 'benchmark.json'} exists; pass --overwrite "
                            "to replace it or choose another --results-dir")
        if self.results_dir is not None:
            _check_writable(self.results_dir)
        self._data = None
        self._run_dir: RunDirectory | None = None
        self.tuned_path: Path | None = None
        self.tuned = None  # harness.run.tuned.Tuned, read with the data (grid_run)
        if TUNED in self.grid.protocols:
            self.tuned_path = Path(config.getoption("tuned") or DEFAULT_TUNED)
            if not self.tuned_path.is_file():
                raise UserError(f"--protocol {config.getoption('protocol')} needs the tuned "
                                f"hyperparameters: {self.tuned_path} does not exist (run "
                                "python -m harness tune, or pass --tuned FILE)")
        self.env = environment()
        self.cells = self.grid.cells()
        self.selected: list[Cell] = self.cells
        # cell key -> (prepared cell, trained model, result, train entry) until inference.
        self.live: dict[str, tuple] = {}
        self.output_json: dict | None = None
        # pytest-benchmark's --benchmark-json when ctxbench gave it one (--results-dir only).
        self.scratch: Path | None = None
        self.done = 0
        self.resumed = 0
        self.started = time.perf_counter()
        self.utc_start = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")

    @property
    def data(self):
        if self._data is None:
            from harness.data.datasets import load_dataset
            from harness.data.sources import subsample_users

            data = load_dataset(self.dataset, self.data_dir)
            if self.grid.quick:
                data = subsample_users(data, QUICK_USER_FRACTION, seed=0)
            self._data = data
        return self._data

    @functools.cached_property
    def unavailable(self) -> dict[str, str]:
        """Configuration -> why the dataset cannot feed it, for the grid's configurations
        (decided once from the data; such cells are reported, never run)."""
        return {name: reason for name in self.grid.configs
                if (reason := missing_features(get_config(name), self.data)) is not None}

    @property
    def run_dir(self) -> RunDirectory:
        if self._run_dir is None:
            manifest = {"fingerprint": described(self.grid.splits, self.grid.configs),
                        "data_sha256": self.data.sha256,
                        "grid": self.grid.to_dict(), "versions": self.env["versions"],
                        "evaluation": self.evaluation.to_dict(),
                        "suite_version": current_suite_version(), "machine": machine()}
            if self.evaluation.ranking == EXCLUDE_SEEN:
                from harness.model.training import TrainOptions
                from harness.run.cell import check_exclusion

                check_exclusion(self.data, self.grid.splits, self.grid.seeds,
                                TrainOptions.test_fraction)
            if self.tuned_path is not None:
                self.tuned = read_tuned(self.tuned_path, expected_by_run(self.data.sha256),
                                        self.dataset)
                manifest["tuned_sha256"] = self.tuned.sha256
                for cell in self.cells:  # every tuned cell has its choice, before any runs
                    if cell.protocol == TUNED and cell.config not in self.unavailable:
                        self.tuned.cell(cell.split, cell.config)
            path = self.config.getoption("run_dir")
            if path is None:
                run_id = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()
                                        ).hexdigest()[:12]
                base = self.results_dir or Path(self.config.rootpath) / ".ctxbench"
                path = base / ".runs" / run_id
            self._run_dir = RunDirectory(path, manifest)
        return self._run_dir

    def progress(self, cell: Cell, what: str) -> None:
        self.done += 1
        line = (f"[ctxbench {self.done}/{len(self.selected)}] {cell.group} seed {cell.seed}: "
                f"{what}")
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capture is None:
            print(line, file=sys.stderr)
            return
        with capture.global_and_fixture_disabled():  # visible while the test runs
            reporter.ensure_newline()
            reporter.write_line(line)

    def entries(self) -> list[dict]:
        """Every stored benchmark entry of the selected cells, in grid order."""
        entries = []
        for cell in self.selected:
            record = self.run_dir.load(cell)
            if record is not None:
                entries += record["entries"]
        return entries

    def header(self) -> dict:
        """The run-level record: the grid asked for and what this session cost."""
        selected = replace(self.grid, selected=frozenset(self.selected))
        return {"grid": selected.to_dict(), "suite_version": current_suite_version(),
                "command": self.env["command"], "dataset": self.data.dataset,
                "data_source": self.data.source,
                **({"skipped_configs": dict(self.skipped)} if self.skipped else {}),
                "data_sha256": self.data.sha256, "run_dir": str(self.run_dir.path),
                "session": {
                    "wall_seconds": time.perf_counter() - self.started,
                    "peak_rss_mb": peak_rss_mib(),
                    "cells_resumed": self.resumed,
                    "utc_start": self.utc_start,
                }}


@pytest.fixture(scope="session")
def grid_run(request) -> GridRun:
    grid = request.config.stash[GRID_RUN]
    try:
        _ = grid.run_dir  # loads the data and opens (or refuses) the run directory
    except USER_ERRORS as error:
        pytest.exit(f"error: {error}", returncode=2)
    return grid


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark's (trylast) reads the options
def pytest_configure(config):
    benchmark_json = config.getoption("benchmark_json", None)
    results_dir = config.getoption("results_dir")
    try:
        if benchmark_json is not None:
            if not isinstance(benchmark_json, (str, Path)):
                # pytest-benchmark < 5.3 opened (and emptied) the file while parsing options.
                raise UserError("--benchmark-json needs pytest-benchmark >= 5.3 (this one "
                                "opens the file before ctxbench can refuse to overwrite it)")
            if Path(benchmark_json).exists() and not config.getoption("overwrite"):
                raise UserError(f"{benchmark_json} exists; pass --overwrite to replace it")
            # pytest-benchmark opens it without making folders.
            Path(benchmark_json).parent.mkdir(parents=True, exist_ok=True)
        grid = GridRun(config)
    except OSError as error:
        raise pytest.UsageError(f"cannot write {benchmark_json}: {error.strerror}") from None
    except USER_ERRORS as error:
        raise pytest.UsageError(str(error)) from None
    if benchmark_json is None and results_dir is not None:
        # pytest-benchmark builds its JSON (and calls the hooks that complete it) only for
        # --benchmark-json: give it a file of our own, removed at the end of the session.
        grid.scratch = Path(tempfile.mkdtemp(prefix="ctxbench-")) / "benchmark.json"
        config.option.benchmark_json = grid.scratch
    config.stash[GRID_RUN] = grid


def pytest_generate_tests(metafunc):
    grid = metafunc.config.stash[GRID_RUN]
    if "cell" in metafunc.fixturenames:
        cells = [c for c in grid.cells if c.config not in BASELINES]
        metafunc.parametrize("cell", cells, ids=[c.key for c in cells])
    if "baseline_cell" in metafunc.fixturenames:
        cells = [c for c in grid.cells if c.config in BASELINES]
        metafunc.parametrize("baseline_cell", cells, ids=[c.key for c in cells])


def _item_cell(item) -> Cell | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    return callspec.params.get("cell") or callspec.params.get("baseline_cell")


def pytest_collection_modifyitems(config, items):
    # Train and inference of a cell run back to back, so each model is freed at once.
    grid = config.stash[GRID_RUN]
    order = {cell: index for index, cell in enumerate(grid.cells)}

    def key(item):
        cell = _item_cell(item)
        if cell is None:
            # The side-by-side speed-up first, in a process not yet filled by the grid;
            # the scaling sweep (the largest memory) last.
            return (-1 if item.path.name == "test_speedup.py" else 1, 0, 0)
        return (0, order[cell], 0 if item.originalname == "test_train" else 1)

    items.sort(key=key)


def pytest_collection_finish(session):
    grid = session.config.stash[GRID_RUN]
    selected = {_item_cell(item) for item in session.items} - {None}
    grid.selected = [cell for cell in grid.cells if cell in selected]


def pytest_benchmark_update_machine_info(config, machine_info):
    """The machine, once per file: ISA, caches, cores and this session's GEMM rate."""
    machine_info["ctxbench"] = {**machine(), "gemm_gflops": gemm_gflops()}


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """The grid's entries come from the run directory (fresh, resumed and failed cells
    alike); the benchmarks that are not cells (speed-up, scaling) stay as timed."""
    grid = config.stash[GRID_RUN]
    if grid._run_dir is not None:  # a grid cell was asked for (not only --scaling)
        others = [entry for entry in output_json.get("benchmarks", [])
                  if (entry.get("extra_info") or {}).get("kind") not in KINDS]
        output_json["benchmarks"] = grid.entries() + others
        output_json["ctxbench"] = grid.header()
    # pytest-benchmark writes this dict itself: redact it in place (no credentials or
    # home directory in any record).
    redacted = to_jsonable(output_json)
    output_json.clear()
    output_json.update(redacted)
    grid.output_json = output_json


def _json_of_a_session_without_benchmarks(config) -> dict:
    """The JSON pytest-benchmark would write, through its own hooks, when no benchmark
    ran this session (every cell resumed): it writes none then."""
    hook = config.hook
    machine_info = hook.pytest_benchmark_generate_machine_info(config=config)
    hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine_info)
    commit_info = hook.pytest_benchmark_generate_commit_info(config=config)
    hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    output = hook.pytest_benchmark_generate_json(
        config=config, benchmarks=[], include_data=True, machine_info=machine_info,
        commit_info=commit_info)
    hook.pytest_benchmark_update_json(config=config, benchmarks=[], output_json=output)
    return output


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    grid = config.stash.get(GRID_RUN, None)
    if grid is None:
        return
    written = []
    try:
        # The user's --benchmark-json, or ctxbench's scratch file for --results-dir.
        benchmark_json = config.getoption("benchmark_json", None)
        if grid.output_json is None and grid._run_dir is not None and benchmark_json:
            output = _json_of_a_session_without_benchmarks(config)
            if grid.scratch is None:
                written.append(write_json_atomic(benchmark_json, output))
        if grid.results_dir is not None and grid.output_json is not None:
            from harness.report.report import render_report

            path = write_json_atomic(grid.results_dir / "benchmark.json", grid.output_json)
            render_report([path], grid.results_dir)
            written += [path, grid.results_dir / "results.md",
                        grid.results_dir / "accuracy.png", grid.results_dir / "tables"]
    except USER_ERRORS as error:
        print(f"ctxbench: could not write the results: {error}", file=sys.stderr)
        session.exitstatus = 2
        return
    finally:
        if grid.scratch is not None:
            shutil.rmtree(grid.scratch.parent, ignore_errors=True)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and written:
        reporter.write_line("ctxbench: wrote " + ", ".join(str(p) for p in written))
