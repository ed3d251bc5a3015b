"""A benchmark run, read back from a pytest-benchmark JSON file.

``pytest benchmarks --benchmark-json out.json`` writes one entry per timed benchmark; a
ctxbench entry carries its cell (split, config, fit_on, seed), status, metrics, throughput,
leakage diagnostics and provenance in ``extra_info`` (:mod:`harness.run.schema` defines
it). :func:`load_run` reads a file in four steps — validate each entry, group the entries
by cell, check that one data set produced them, read the declared (or infer the) grid —
and every malformed input raises :class:`UserError` with one line naming the file and
what is wrong. Entries without a cell are read by their kind into the typed records of
:mod:`harness.record.kinds` (:attr:`Run.measurements`: the speed-up, scaling, serving and
dataset-scale benchmarks); any other entry is kept as recorded in :attr:`Run.other`.
A file with no mark of ctxbench at all (another suite's pytest-benchmark file) is refused
rather than reported as an empty run. :func:`merge_runs` joins several runs into one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from harness.errors import UserError
from harness.record.fields import JsonRecord
from harness.record.kinds import KINDS_BY_NAME, Record
from harness.results.entries import OtherEntry, read_measurement
from harness.run.records import read_json
from harness.run.schema import (
    TUTORIAL,
    Cell,
    CellResult,
    EntryFields,
    Grid,
    GroupKey,
    differences,
    group_label,
    is_cell_entry,
    merge_entries,
    parse_entry,
    unique,
)

# The kinds of ctxbench's benchmark entries that are not cells (benchmarks/test_speedup.py,
# benchmarks/test_scaling.py): a file of these alone (``--scaling``) is still a ctxbench run.


@dataclass
class CellGroup:
    """One (split, config, fit_on, protocol) over seeds.

    Attributes:
        split, config, fit_on, protocol: the group.
        seeds: seed -> :class:`CellResult`, every seed that has an entry.
    """

    split: str
    config: str
    fit_on: str
    protocol: str
    seeds: dict[int, CellResult] = field(default_factory=dict)

    @property
    def key(self) -> GroupKey:
        return (self.split, self.config, self.fit_on, self.protocol)

    @property
    def ok_seeds(self) -> list[int]:
        """Seeds whose cell succeeded, ascending."""
        return sorted(seed for seed, result in self.seeds.items() if result.status == "ok")

    @property
    def failures(self) -> list[CellResult]:
        return [self.seeds[s] for s in sorted(self.seeds) if self.seeds[s].status != "ok"]

    def metric(self, name: str, seeds: Iterable[int] | None = None) -> np.ndarray:
        """[len(seeds)] values of metric ``name`` (NaN where absent).

        Args:
            name: a metric key, e.g. "test/top_100_categorical_accuracy".
            seeds: which seeds, in order (default: :attr:`ok_seeds`); a seed without an
                ok result gives NaN, so two groups can be paired on the same seeds.
        """
        seeds = self.ok_seeds if seeds is None else list(seeds)
        values = []
        for seed in seeds:
            result = self.seeds.get(seed)
            ok = result is not None and result.status == "ok"
            values.append(result.metrics.get(name, math.nan) if ok else math.nan)
        return np.asarray(values, dtype=np.float64)

    def throughput(self, kind: str) -> np.ndarray:
        """[n_ok_seeds] examples/s (``kind="train"``) or queries/s (``"inference"``)."""
        attribute = "examples_per_second" if kind == "train" else "queries_per_second"
        values = [getattr(self.seeds[s], attribute) for s in self.ok_seeds]
        return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)

    @property
    def epochs(self) -> set[int]:
        return {result.epochs for result in self.seeds.values()}


R = TypeVar("R", bound=JsonRecord)


@dataclass
class Run:
    """One or more benchmark JSON files, grouped by cell.

    Attributes:
        path: the (first) file.
        sources: every file merged into this run.
        cells: (split, config, fit_on, protocol) -> :class:`CellGroup`, in run order.
        leakage: split -> seed -> leakage diagnostics.
        provenance: the first entry's provenance, overridden by the top-level
            ``ctxbench`` fields (command, data_source, data_sha256, suite_version,
            session: the session's wall seconds, peak RSS and resumed cells); the git
            commit from pytest-benchmark's ``commit_info`` where no entry names one.
        grid: the expected :class:`Grid`.
        datetime: pytest-benchmark's top-level time stamp, if any.
        measurements: the entries that are not cells, as typed records, in file order.
        other: the entries that are neither cells nor records.
    """

    path: Path
    sources: tuple[Path, ...]
    cells: dict[GroupKey, CellGroup]
    leakage: dict[str, dict[int, dict[str, float]]]
    provenance: dict
    grid: Grid
    datetime: str | None = None
    measurements: list[Record] = field(default_factory=list)
    other: list[OtherEntry] = field(default_factory=list)

    def measured(self, kind: type[R]) -> list[R]:
        """The measurements of one record type, in file order."""
        return [record for record in self.measurements if isinstance(record, kind)]

    @property
    def present(self) -> set[Cell]:
        return {Cell.in_group(key, seed) for key, group in self.cells.items()
                for seed in group.seeds}

    @property
    def missing(self) -> list[Cell]:
        """Expected cells with no entry at all, in grid order."""
        present = self.present
        return [cell for cell in self.grid.cells() if cell not in present]

    @property
    def splits(self) -> list[str]:
        return unique(key[0] for key in self.cells)

    @property
    def configs(self) -> list[str]:
        return unique(key[1] for key in self.cells)

    @property
    def fit_ons(self) -> list[str]:
        return unique(key[2] for key in self.cells)

    @property
    def protocols(self) -> list[str]:
        return unique(key[3] for key in self.cells)

    @property
    def epochs(self) -> set[int]:
        """The fixed budget: epochs of every tutorial-protocol cell, plus the declared
        grid's (a tuned cell's epochs are its own, chosen on validation)."""
        found = {e for group in self.cells.values() if group.protocol == TUTORIAL
                 for e in group.epochs}
        return found | ({self.grid.epochs} if self.grid.epochs is not None else set())

    def identity(self) -> dict:
        """What two runs must share to be compared or merged (see
        :func:`harness.run.schema.differences`)."""
        return {"splits": sorted(self.splits), "configs": sorted(self.configs),
                "fit_on": sorted(self.fit_ons), "protocols": sorted(self.protocols),
                "epochs": sorted(self.epochs),
                "quick": self.grid.quick, "data_sha256": self.data_sha256,
                "suite_version": self.suite_version, "ranking": self.rankings}

    @property
    def rankings(self) -> list[str]:
        """The rankings of the cells' headline metrics (``all`` for a cell recorded
        before runs could leave the seen titles out)."""
        return sorted({str(result.provenance.get("ranking", "all"))
                       for group in self.cells.values() for result in group.seeds.values()})

    @property
    def tf_version(self) -> str:
        return str(self.provenance.get("versions", {}).get("tensorflow", "unknown"))

    @property
    def data_sha256(self) -> str | None:
        return self.provenance.get("data_sha256")

    @property
    def suite_version(self) -> str:
        """The ctxbench version that made the run; "unknown" for a file written before
        runs recorded it."""
        version = self.provenance.get("suite_version")
        return version if isinstance(version, str) and version else "unknown"


def _group(results: Iterable[CellResult]) -> dict[GroupKey, CellGroup]:
    """Results grouped by (split, config, fit_on, protocol); a cell given twice is
    refused."""
    cells: dict[GroupKey, CellGroup] = {}
    for result in results:
        group = cells.setdefault(result.cell.group_key, CellGroup(*result.cell.group_key))
        seed = result.cell.seed
        if seed in group.seeds:
            raise UserError(f"{result.source}: cell {group_label(group.key)}/seed {seed} is "
                            f"also in {group.seeds[seed].source}; pass each cell once")
        group.seeds[seed] = result
    return cells


def _in_order(cells: dict[GroupKey, CellGroup], grid: Grid) -> dict[GroupKey, CellGroup]:
    return dict(sorted(cells.items(), key=lambda item: grid.order(Cell.in_group(item[0], 0))))


def _leakage(results: Iterable[CellResult]) -> dict[str, dict[int, dict[str, float]]]:
    leakage: dict[str, dict[int, dict[str, float]]] = {}
    for result in results:
        if result.leakage:
            leakage.setdefault(result.cell.split, {}).setdefault(result.cell.seed,
                                                                 result.leakage)
    return leakage


def _read_entries(path: Path, benchmarks: list
                  ) -> tuple[list[CellResult], list[Record], list[OtherEntry]]:
    """Validates every entry; returns each cell's result, the measurements (entries of no
    cell, typed by their kind) and the entries of neither."""
    by_cell: dict[Cell, list[EntryFields]] = {}
    measurements: list[Record] = []
    other: list[OtherEntry] = []
    for index, entry in enumerate(benchmarks):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: benchmarks[{index}] is not an object")
        if not is_cell_entry(entry):
            read = read_measurement(path, index, entry)
            (other if isinstance(read, OtherEntry) else measurements).append(read)
            continue
        fields = parse_entry(path, index, entry)
        same = by_cell.setdefault(fields.cell, [])
        if any(f.kind == fields.kind for f in same):
            raise UserError(f"{path}: benchmarks[{index}]: a second {fields.kind} entry "
                            f"for cell {group_label(fields.cell.group_key)}/{fields.cell.seed}")
        same.append(fields)
    results = [merge_entries(entries, source=path) for entries in by_cell.values()]
    return results, measurements, other


def _is_ctxbench(data: dict, results: list[CellResult], measurements: list[Record],
                 other: list[OtherEntry]) -> bool:
    """Whether a pytest-benchmark file was written by ctxbench: it holds a cell, the run
    header, the machine record of ctxbench's plugin, or an entry of a ctxbench kind (read
    as its record, or of a known kind in an older shape)."""
    machine_info = data.get("machine_info")
    return bool(results or measurements or data.get("ctxbench")
                or (isinstance(machine_info, dict) and "ctxbench" in machine_info)
                or any(isinstance(entry.entry.get("extra_info"), dict)
                       and entry.entry["extra_info"].get("kind") in KINDS_BY_NAME
                       for entry in other))


def load_run(path: str | os.PathLike) -> Run:
    """Reads and validates a pytest-benchmark JSON file of ctxbench cells.

    Args:
        path: a file written by ``pytest benchmarks --benchmark-json``.

    Returns:
        The :class:`Run`.

    Raises:
        UserError: the file is missing, unreadable, not JSON, truncated, not a
            pytest-benchmark file, holds nothing of ctxbench (another suite's file),
            has a malformed ctxbench entry, lists a cell twice, or mixes data sets.
    """
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise UserError(
            f"{path}: not a pytest-benchmark JSON file (top level is a "
            f"{type(data).__name__}, not an object)"
        )
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, list):
        raise UserError(f"{path}: not a pytest-benchmark JSON file (no 'benchmarks' list)")
    header = data.get("ctxbench") or {}
    if not isinstance(header, dict):
        raise UserError(f"{path}: 'ctxbench' must be an object")
    results, measurements, other = _read_entries(path, benchmarks)
    if not _is_ctxbench(data, results, measurements, other):
        raise UserError(f"{path} holds no ctxbench cells (a pytest-benchmark file from "
                        "another suite?)")

    found = [result.provenance.get("data_sha256") for result in results]
    hashes = {sha for sha in [*found, header.get("data_sha256")] if isinstance(sha, str)}
    if len(hashes) > 1:
        raise UserError(
            f"{path}: entries were run on different data (sha256 "
            f"{', '.join(sorted(h[:12] for h in hashes))})"
        )
    provenance = dict(next((r.provenance for r in results if r.provenance), {}))
    for key in ("command", "dataset", "data_source", "data_sha256", "session",
                "suite_version", "skipped_configs"):
        if header.get(key) is not None:
            provenance[key] = header[key]
    commit_info = data.get("commit_info")  # pytest-benchmark's, when no cell names one
    if not provenance.get("git_commit") and isinstance(commit_info, dict):
        if isinstance(commit_info.get("id"), str):
            provenance["git_commit"] = commit_info["id"]
            provenance["git_dirty"] = commit_info.get("dirty")
    machine_info = data.get("machine_info")
    if isinstance(machine_info, dict) and isinstance(machine_info.get("ctxbench"), dict):
        provenance["machine"] = machine_info["ctxbench"]  # harness.run.machine.machine()
        # The session's GEMM rate (files from before it moved there: in machine_info).
        session = header.get("session")
        if isinstance(session, dict) and "gemm_gflops" in session:
            provenance["machine"] = {**provenance["machine"],
                                     "gemm_gflops": session["gemm_gflops"]}
    grid = Grid.read(header.get("grid"), [r.cell for r in results], str(path))
    return Run(
        path=path,
        sources=(path,),
        cells=_in_order(_group(results), grid),
        leakage=_leakage(results),
        provenance=provenance,
        grid=grid,
        datetime=data.get("datetime") if isinstance(data.get("datetime"), str) else None,
        measurements=measurements,
        other=other,
    )


def incompatibilities(first: Run, second: Run, keys: Iterable[str]) -> list[str]:
    """How two runs differ in the :meth:`Run.identity` fields ``keys`` that both know
    (a file that does not say its epochs or data hash differs from none)."""
    mine, theirs = first.identity(), second.identity()
    known = [k for k in keys if mine[k] not in (None, []) and theirs[k] not in (None, [])]
    return differences({k: mine[k] for k in known}, {k: theirs[k] for k in known})


def merge_runs(runs: list[Run]) -> Run:
    """Several runs as one (e.g. a fit_on=train run and a fit_on=all run).

    Args:
        runs: at least one run; the first one's provenance is kept.

    Returns:
        A :class:`Run` with every cell, the union of the expected grids and
        ``sources`` listing every file.

    Raises:
        UserError: the runs used different data (sha256), epochs, quick settings,
            suite versions (one report carries one version in its captions) or headline
            rankings, or two runs hold the same cell.
    """
    if not runs:
        raise UserError("no benchmark JSON file given")
    first = runs[0]
    for run in runs[1:]:
        found = incompatibilities(first, run, ("data_sha256", "epochs", "quick",
                                               "suite_version", "ranking"))
        if found:
            raise UserError(f"{run.path} cannot be merged with {first.path}: "
                            + "; ".join(found))
    results = [r for run in runs for group in run.cells.values() for r in group.seeds.values()]
    grid = Grid.union([run.grid for run in runs])
    provenance = dict(first.provenance)
    if not provenance.get("data_sha256"):
        provenance["data_sha256"] = next((r.data_sha256 for r in runs if r.data_sha256), None)
    return Run(
        path=first.path,
        sources=tuple(p for r in runs for p in r.sources),
        cells=_in_order(_group(results), grid),
        leakage=_leakage(results),
        provenance=provenance,
        grid=grid,
        datetime=first.datetime,
        measurements=[m for r in runs for m in r.measurements],
        other=[e for r in runs for e in r.other],
    )


__all__ = ["CellGroup", "Run", "incompatibilities", "load_run", "merge_runs"]
