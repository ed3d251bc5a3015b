"""A benchmark run, read back from a pytest-benchmark JSON file.

``pytest benchmarks --benchmark-json out.json`` writes one entry per timed benchmark; a
ctxbench entry carries its cell (split, config, fit_on, seed), status, metrics, throughput,
leakage diagnostics and provenance in ``extra_info``. :func:`load_run` validates the file
(each entry through :mod:`harness.results.entries`, the declared grid through
:mod:`harness.results.expected`) and groups the entries by cell; every malformed input raises
:class:`UserError` with one line naming the file and what is wrong. Entries without a cell
(speed-up or scaling benchmarks) are kept aside in :attr:`Run.other`. :func:`merge_runs`
joins several runs into one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.results.entries import STATUSES, entry_fields, merge_seed
from harness.errors import UserError
from harness.results.expected import (
    POPULARITY,
    CellKey,
    Grid,
    GroupKey,
    cell_order,
    expected_grid,
    in_grid_order,
    merge_grids,
    unique,
)
from harness.run.records import read_json

CELL_KINDS = ("train", "inference")


@dataclass(frozen=True)
class SeedResult:
    """What one cell (one seed) produced, merged over its train and inference entries.

    Attributes:
        seed: the cell's seed.
        status: "failed" when any of its entries failed, else "ok".
        error: the first failed entry's error, or None.
        metrics: flat metrics, JSON null read as NaN (empty for most failures).
        examples_per_second: training throughput (None for popularity or when absent).
        queries_per_second: inference throughput, from the inference entry when there
            is one, else from the train entry.
        epochs: training epochs of the cell.
        source: the file it was read from.
    """

    seed: int
    status: str
    error: str | None
    metrics: dict[str, float]
    examples_per_second: float | None
    queries_per_second: float | None
    epochs: int
    source: Path


@dataclass
class CellGroup:
    """One (split, config, fit_on) over seeds.

    Attributes:
        split, config, fit_on: the group.
        seeds: seed -> :class:`SeedResult`, every seed that has an entry.
    """

    split: str
    config: str
    fit_on: str
    seeds: dict[int, SeedResult] = field(default_factory=dict)

    @property
    def key(self) -> GroupKey:
        return (self.split, self.config, self.fit_on)

    @property
    def ok_seeds(self) -> list[int]:
        """Seeds whose cell succeeded, ascending."""
        return sorted(seed for seed, result in self.seeds.items() if result.status == "ok")

    @property
    def failures(self) -> list[SeedResult]:
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


@dataclass
class Run:
    """One or more benchmark JSON files, grouped by cell.

    Attributes:
        path: the (first) file.
        sources: every file merged into this run.
        cells: (split, config, fit_on) -> :class:`CellGroup`, in run order.
        leakage: split -> seed -> leakage diagnostics.
        provenance: the first entry's provenance, overridden by the top-level
            ``ctxbench`` fields (command, data_source, data_sha256, session: the
            session's wall seconds, peak RSS and resumed cells).
        grid: the expected :class:`Grid`.
        datetime: pytest-benchmark's top-level time stamp, if any.
        other: benchmark entries that are not ctxbench cells, unchanged.
    """

    path: Path
    sources: tuple[Path, ...]
    cells: dict[GroupKey, CellGroup]
    leakage: dict[str, dict[int, dict[str, float]]]
    provenance: dict
    grid: Grid
    datetime: str | None = None
    other: list[dict] = field(default_factory=list)

    @property
    def present(self) -> set[CellKey]:
        return {(*key, seed) for key, group in self.cells.items() for seed in group.seeds}

    @property
    def missing(self) -> list[CellKey]:
        """Expected cells with no entry at all, in grid order."""
        present = self.present
        order = cell_order(self.grid)
        return sorted((cell for cell in self.grid.cells if cell not in present), key=order)

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
    def epochs(self) -> set[int]:
        """Epochs of every cell, plus the declared grid's."""
        found = {e for group in self.cells.values() for e in group.epochs}
        return found | ({self.grid.epochs} if self.grid.epochs is not None else set())

    @property
    def tf_version(self) -> str:
        return str(self.provenance.get("versions", {}).get("tensorflow", "unknown"))

    @property
    def data_sha256(self) -> str | None:
        return self.provenance.get("data_sha256")


def is_cell_entry(entry: dict) -> bool:
    """Whether a benchmark entry is a ctxbench cell (has a split and a train/inference kind).

    An entry with a ``split`` but no ``kind`` counts as a cell, so that its missing key is
    reported rather than the entry silently ignored.
    """
    extra = entry.get("extra_info")
    return isinstance(extra, dict) and "split" in extra and extra.get("kind", "train") in CELL_KINDS


def load_run(path: str | os.PathLike) -> Run:
    """Reads and validates a pytest-benchmark JSON file of ctxbench cells.

    Args:
        path: a file written by ``pytest benchmarks --benchmark-json``.

    Returns:
        The :class:`Run`.

    Raises:
        UserError: the file is missing, unreadable, not JSON, truncated, not a
            pytest-benchmark file, has a malformed ctxbench entry, lists a cell twice,
            or mixes data sets.
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
    entries: dict[CellKey, list[dict]] = {}
    other: list[dict] = []
    first_provenance: dict | None = None
    for index, entry in enumerate(benchmarks):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: benchmarks[{index}] is not an object")
        if not is_cell_entry(entry):
            other.append(entry)
            continue
        fields = entry_fields(path, index, entry)
        cell = (fields["split"], fields["config"], fields["fit_on"], fields["seed"])
        same = entries.setdefault(cell, [])
        if any(f["kind"] == fields["kind"] for f in same):
            raise UserError(
                f"{path}: benchmarks[{index}]: a second {fields['kind']} entry "
                f"for cell {'/'.join(map(str, cell))}"
            )
        same.append(fields)
        if first_provenance is None and fields["provenance"]:
            first_provenance = fields["provenance"]

    cells: dict[GroupKey, CellGroup] = {}
    leakage: dict[str, dict[int, dict[str, float]]] = {}
    hashes: set[str] = set()
    for (split, config, fit_on, seed), same in entries.items():
        group = cells.setdefault((split, config, fit_on), CellGroup(split, config, fit_on))
        group.seeds[seed] = SeedResult(**merge_seed(same), source=path)
        for fields in same:
            if fields["leakage"]:
                leakage.setdefault(split, {}).setdefault(seed, fields["leakage"])
            sha = fields["provenance"].get("data_sha256")
            if isinstance(sha, str):
                hashes.add(sha)
    provenance = dict(first_provenance or {})
    for key in ("command", "data_source", "data_sha256", "session"):
        if header.get(key) is not None:
            provenance[key] = header[key]
    machine_info = data.get("machine_info")
    if isinstance(machine_info, dict) and isinstance(machine_info.get("ctxbench"), dict):
        provenance["machine"] = machine_info["ctxbench"]  # harness.run.machine.machine()
    if isinstance(header.get("data_sha256"), str):
        hashes.add(header["data_sha256"])
    if len(hashes) > 1:
        raise UserError(
            f"{path}: entries were run on different data (sha256 "
            f"{', '.join(sorted(h[:12] for h in hashes))})"
        )
    present = [(*key, seed) for key, group in cells.items() for seed in group.seeds]
    grid = expected_grid(path, header.get("grid"), present)
    return Run(
        path=path,
        sources=(path,),
        cells=in_grid_order(cells, grid),
        leakage=leakage,
        provenance=provenance,
        grid=grid,
        datetime=data.get("datetime") if isinstance(data.get("datetime"), str) else None,
        other=other,
    )


def merge_runs(runs: list[Run]) -> Run:
    """Several runs as one (e.g. a fit_on=train run and a fit_on=all run).

    Args:
        runs: at least one run; the first one's provenance is kept.

    Returns:
        A :class:`Run` with every cell, the union of the expected grids and
        ``sources`` listing every file.

    Raises:
        UserError: the runs used different data (sha256) or epochs, or two runs hold
            the same cell.
    """
    if not runs:
        raise UserError("no benchmark JSON file given")
    first = runs[0]
    for run in runs[1:]:
        if first.data_sha256 and run.data_sha256 and first.data_sha256 != run.data_sha256:
            raise UserError(
                f"{run.path}: data sha256 {run.data_sha256[:12]} differs from "
                f"{first.path}'s {first.data_sha256[:12]}; cannot merge results "
                "of different data"
            )
        if first.epochs and run.epochs and first.epochs != run.epochs:
            raise UserError(
                f"{run.path}: epochs {sorted(run.epochs)} differ from "
                f"{first.path}'s {sorted(first.epochs)}; cannot merge"
            )
        if None not in (first.grid.quick, run.grid.quick) and first.grid.quick != run.grid.quick:
            raise UserError(
                f"{run.path}: a {'quick' if run.grid.quick else 'full'} run cannot be merged "
                f"with {first.path}, a {'quick' if first.grid.quick else 'full'} run"
            )
    cells: dict[GroupKey, CellGroup] = {}
    leakage: dict[str, dict[int, dict[str, float]]] = {}
    for run in runs:
        for key, group in run.cells.items():
            merged = cells.setdefault(key, CellGroup(*key))
            for seed, result in group.seeds.items():
                if seed in merged.seeds:
                    raise UserError(
                        f"{result.source}: cell {'/'.join(key)}/seed {seed} is "
                        f"also in {merged.seeds[seed].source}; pass each cell "
                        "once"
                    )
                merged.seeds[seed] = result
        for split, by_seed in run.leakage.items():
            for seed, values in by_seed.items():
                leakage.setdefault(split, {}).setdefault(seed, values)
    grid = merge_grids([run.grid for run in runs])
    provenance = dict(first.provenance)
    if not provenance.get("data_sha256"):
        provenance["data_sha256"] = next((r.data_sha256 for r in runs if r.data_sha256), None)
    return Run(
        path=first.path,
        sources=tuple(p for r in runs for p in r.sources),
        cells=in_grid_order(cells, grid),
        leakage=leakage,
        provenance=provenance,
        grid=grid,
        datetime=first.datetime,
        other=[e for r in runs for e in r.other],
    )


__all__ = [
    "POPULARITY",
    "CELL_KINDS",
    "STATUSES",
    "CellGroup",
    "CellKey",
    "Grid",
    "GroupKey",
    "Run",
    "SeedResult",
    "is_cell_entry",
    "load_run",
    "merge_runs",
]
