"""One grid run: its settings, data, run directory, progress and results.

:class:`GridSession` is what ``pytest benchmarks`` runs; ``benchmarks/conftest.py`` only
turns pytest's options into :class:`~harness.run.settings.GridSettings` and its hooks into
calls here. A session:

- checks its settings and outputs before anything runs (an existing result without
  ``overwrite``, an unwritable directory, a missing tuned file);
- opens the resumable run directory (:mod:`harness.run.rundir`; by default
  ``<root>/.ctxbench/runs/<id>``, one per manifest) and says where it is;
- skips the cells finished there (all of them measured again with ``fresh``);
- stores each cell the moment it ends and shows a progress bar (tqdm, stderr) of the
  cells left to run, with a time-left estimate;
- publishes the results (:mod:`harness.run.publish`) only when it completes. An
  interrupted or crashed session writes nothing into the results directory or over the
  benchmark JSON; its finished cells stay in the run directory, and the same command
  resumes from them.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import time
import uuid
from pathlib import Path

from harness.data.datasets import check_dataset_name
from harness.data.table import DEFAULT_DATASET
from harness.errors import UserError
from harness.evaluation.segments import EXCLUDE_SEEN
from harness.model.features import get_config, missing_features
from harness.model.registry import get_retriever
from harness.record.cell import TUNED, Cell
from harness.record.files import read_json, write_json_atomic
from harness.record.machine import machine, stated_need, too_large
from harness.record.provenance import current_suite_version, environment
from harness.record.redaction import redact
from harness.run.cluster import (
    connect,
    describe_cluster,
    parse_cluster,
    run_on_cluster,
    worker_memory,
)
from harness.run.gemm import gemm_gflops, inversion_seconds
from harness.run.gridcell import load_grid_data
from harness.run.progress import Progress
from harness.run.publish import check_outputs
from harness.run.reuse import share, source_of
from harness.run.rundir import RunDirectory, cell_identity, run_id
from harness.run.settings import GridSettings
from harness.run.tuned import DEFAULT_TUNED, expected_by_run, read_tuned, tune_command

RUNS_DIR = Path(".ctxbench") / "runs"  # under the root: the default run directories
FRESH_MARKER = "fresh.json"  # a --fresh pass not yet completed, and its token


class GridSession:
    """A grid run from its settings to its published results.

    Args:
        settings: what was asked for.
        root: the directory default run directories go under.
        terminal: a context manager factory inside which stderr reaches the user (pytest
            suspends its output capture there); nothing by default.

    Raises:
        UserError, UnknownNameError: a bad setting, an existing result without
            ``overwrite``, an unwritable results directory, a missing tuned file.
    """

    def __init__(self, settings: GridSettings, root: Path,
                 terminal=contextlib.nullcontext):
        self.settings = settings
        self.grid = settings.to_grid()
        self.evaluation = settings.evaluation()
        self.dataset = check_dataset_name(settings.dataset or DEFAULT_DATASET)
        self.root = Path(root)
        self._progress = Progress(terminal)
        self.results_dir, self.benchmark_json = check_outputs(settings)
        if settings.cluster:
            parse_cluster(settings.cluster)  # a bad value refused before anything runs
        self.tuned_path = settings.tuned_path(DEFAULT_TUNED)
        if self.tuned_path is not None and not self.tuned_path.is_file():
            raise UserError(f"--protocol {settings.protocol} needs the tuned hyperparameters: "
                            f"{self.tuned_path} does not exist (run "
                            f"{tune_command(self.dataset, self.tuned_path)}, or pass --tuned "
                            "FILE)")
        self.tuned = None  # harness.run.tuned.Tuned, read when the run directory opens
        self.env = environment()
        self.cells = self.grid.cells()
        self.selected: list[Cell] = self.cells
        self.to_run: list[Cell] = []
        self.skipped: dict[str, str] = {}  # configuration -> why the dataset cannot run it
        self.live: dict[str, object] = {}  # cell key -> its training (gridcell.Live)
        self.elsewhere: dict[str, object] = {}  # cell key -> its outcome on the cluster
        self.others: list[dict] = []  # entries of benchmarks that are not cells
        self.resumed = 0
        self.refused = False  # the data or run directory was refused: not an interruption
        self._data = None
        self.client = None  # the cluster's distributed.Client, while it runs cells
        self._cluster = contextlib.ExitStack()
        self._run_dir: RunDirectory | None = None
        self.fresh_token: str | None = None
        self.started = time.perf_counter()
        self.utc_start = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")

    @property
    def data(self):
        if self._data is None:
            self._data = load_grid_data(self.dataset, self.settings.data_dir, self.grid.quick)
        return self._data

    @property
    def context(self):
        """What each cell reads (:class:`harness.run.gridcell.CellContext`)."""
        from harness.run.gridcell import CellContext

        return CellContext(self.data, self.grid.epochs, self.tuned, self.evaluation, self.env)

    @functools.cached_property
    def unavailable(self) -> dict[str, str]:
        """Configuration or baseline -> why it cannot run here, decided before any cell
        starts (reported, never run): the dataset lacks a feature it needs, or its item
        matrices need more memory than the machine has (not left to the OOM killer)."""
        reasons = {name: missing_features(get_config(name), self.data)
                   for name in self.grid.configs}
        num_items = int(self.data.candidate_titles.size)
        memory = None if self.client is None else worker_memory(self.client)
        reasons |= {name: too_large(name, num_items, memory) for name in self.grid.baselines}
        return {name: reason for name, reason in reasons.items() if reason is not None}

    def grid_file(self) -> dict | None:
        """The grid file's redacted path and sha256, when one was read."""
        if self.settings.grid_file is None:
            return None
        return {"path": redact(self.settings.grid_file),
                "sha256": self.settings.grid_file_sha256}

    def _manifest(self) -> dict:
        """What every cell of the run directory shares (a different one is refused there);
        not the grid's names: each cell is stored with its own :meth:`cell_identity`."""
        return {"data_sha256": self.data.sha256, "epochs": self.grid.epochs,
                "quick": self.grid.quick, "versions": self.env["versions"],
                "evaluation": self.evaluation.to_dict(),
                "suite_version": current_suite_version(), "machine": machine()}

    def cell_identity(self, cell: Cell) -> dict:
        """:func:`harness.run.rundir.cell_identity`, with this session's tuned file."""
        return cell_identity(cell, None if cell.config in self.unavailable else self.tuned)

    @property
    def opened(self) -> bool:
        """Whether the run directory was opened (a grid cell was asked for)."""
        return self._run_dir is not None

    @functools.cached_property
    def gemm_gflops(self) -> float:
        """This machine's GEMM rate during the session (a rate, not its identity)."""
        return gemm_gflops()

    @property
    def run_dir(self) -> RunDirectory:
        """The run directory, opened (and the data loaded) on first use."""
        if self._run_dir is None:
            self.open()
        return self._run_dir

    def select(self, cells: set[Cell]) -> None:
        """Keeps the grid's cells that pytest selected (-k), in grid order."""
        self.selected = [cell for cell in self.cells if cell in cells]

    def open(self) -> None:
        """Loads the data, joins the cluster if asked, checks the tuned file, opens the run
        directory, says where it is and how many cells are left to run."""
        if self.settings.cluster:
            self.client = self._cluster.enter_context(connect(self.settings.cluster))
        if self.evaluation.ranking == EXCLUDE_SEEN:
            from harness.model.training import TrainOptions
            from harness.run.prepare import check_exclusion

            check_exclusion(self.data, self.grid.splits, self.grid.seeds,
                            TrainOptions.test_fraction)
        if self.tuned_path is not None:
            self.tuned = read_tuned(self.tuned_path, expected_by_run(self.data.sha256),
                                    self.dataset)
            for cell in self.cells:  # every tuned cell has its choice, before any runs
                if cell.protocol == TUNED and cell.config not in self.unavailable:
                    self.tuned.cell(cell.split, cell.config, cell.seed)
        manifest = self._manifest()
        path = self.settings.run_dir
        if path is None:
            path = self.root / RUNS_DIR / run_id(manifest)
        self._run_dir = RunDirectory(path, manifest)
        if self.settings.fresh:
            marker = self._run_dir.path / FRESH_MARKER
            existing = read_json(marker) if marker.exists() else None
            self.fresh_token = (existing.get("token") if isinstance(existing, dict)
                                else None) or uuid.uuid4().hex
            write_json_atomic(marker, {"token": self.fresh_token})
        runnable = [cell for cell in self.selected if cell.config not in self.unavailable]
        self.to_run = [cell for cell in runnable if not self.finished(cell)]
        self.resumed = len(runnable) - len(self.to_run)
        skipped = sorted({self.unavailable[cell.config] for cell in self.selected
                          if cell.config in self.unavailable})
        needs = self.needs({cell.config for cell in runnable})
        self._progress.start("\n".join([
            *(f"ctxbench: skipped: {reason}" for reason in skipped),
            *(f"ctxbench: {need}" for need in needs),
            *([describe_cluster(self.client, self.settings.cluster)] if self.client else []),
            f"ctxbench: run directory {self._run_dir.path}: {len(self.to_run)} of "
            f"{len(self.selected)} cells to run, {self.resumed} resumed"
            + (" (--fresh: finished cells measured again)" if self.settings.fresh else "")]),
            len(self.to_run))

    def needs(self, names: set[str]) -> list[str]:
        """What each of the retrievers ``names`` that states its needs needs here
        (:func:`harness.record.machine.stated_need`), one inversion timed if any states
        a time."""
        names = sorted(name for name in names if get_retriever(name).item_matrices)
        num_items = int(self.data.candidate_titles.size)
        inversion = (inversion_seconds(num_items)
                     if any(get_retriever(name).solves for name in names) else None)
        return [stated_need(name, num_items, inversion) for name in names]

    def finished(self, cell: Cell) -> bool:
        """Whether the run directory holds the cell finished (by this --fresh pass, with
        ``fresh``)."""
        record = self.run_dir.load(cell)
        if (record is None or record.get("status") != "ok"
                or record.get("identity") != self.cell_identity(cell)):
            return False
        return self.fresh_token is None or record.get("fresh") == self.fresh_token

    def skip_reason(self, cell: Cell) -> str | None:
        """Why a cell's benchmark does not run: its configuration needs what the dataset
        lacks, or it finished in an earlier run of the run directory."""
        reason = self.unavailable.get(cell.config)
        if reason is not None:
            self.skipped[cell.config] = reason
            return reason
        if self.finished(cell):
            outcome = self.elsewhere.get(cell.key)
            return ("finished in an earlier run of this run directory" if outcome is None
                    else f"ran on the cluster: {outcome.summary}")
        return share(self, cell)

    def run_elsewhere(self) -> None:
        """Runs the cells left on the cluster (each deterministic one's first seed only),
        then leaves it; the tests report what came back."""
        if self.client is not None:
            try:
                run_on_cluster(self, [cell for cell in self.to_run
                                      if source_of(cell, self.selected) is None])
            finally:
                self.close()

    def close(self) -> None:
        """Leaves the cluster (a local one stops)."""
        self.client = None
        self._cluster.close()

    def store(self, cell: Cell, outcome) -> None:
        """Writes a cell that ended (a :class:`harness.run.gridcell.Outcome`, "ok" or
        "failed", unless not ``kept``) and advances the progress bar."""
        if outcome.kept:
            record = {"status": outcome.status, "entries": outcome.entries,
                      "identity": self.cell_identity(cell)}
            if self.fresh_token is not None:
                record["fresh"] = self.fresh_token
            self.run_dir.store(cell, record)
        self.progress(cell, outcome.summary)

    def progress(self, cell: Cell, what: str) -> None:
        """One line about a cell that ended, and one more cell on the bar."""
        self._progress.cell(f"ctxbench {cell.group} seed {cell.seed}: {what}")

    def say(self, line: str) -> None:
        self._progress.say(line)

    def entries(self) -> list[dict]:
        """Every stored benchmark entry of the selected cells, in grid order."""
        entries = []
        for cell in self.selected:
            record = self.run_dir.load(cell)
            if record is not None:
                entries += record["entries"]
        return entries

    def kept(self) -> str:
        """"N of M cells kept in DIR": what a rerun of the same command resumes from."""
        if self._run_dir is None:
            return f"0 of {len(self.selected)} cells kept: none had run"
        kept = sum(self.finished(cell) for cell in self.selected)
        return f"{kept} of {len(self.selected)} cells kept in {self._run_dir.path}"


__all__ = ["FRESH_MARKER", "RUNS_DIR", "GridSession"]
