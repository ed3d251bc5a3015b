"""A benchmark run in memory: its cells grouped by (split, config, fit_on, protocol).

:class:`Run` is what :func:`harness.record.reader.load_run` reads from a pytest-benchmark
JSON file and :func:`harness.record.merge.merge_runs` joins several of; :class:`CellGroup`
holds one group's seeds. :func:`group_cells` and :func:`leakage_by_split` build a run's
cells and leakage from the cell results both of them gather.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from harness.errors import UserError
from harness.record.cell import FIXED_OPTIONS, Cell, CellResult, GroupKey, group_label
from harness.record.entries import OtherEntry
from harness.record.fields import JsonRecord
from harness.record.grid import Grid, unique
from harness.record.kinds import Record


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
        """The fixed budget: epochs of every cell of a fixed-budget protocol (the
        tutorial's, logq), plus the declared grid's (a tuned cell's epochs are its own,
        chosen on validation)."""
        found = {e for group in self.cells.values() if group.protocol in FIXED_OPTIONS
                 for e in group.epochs}
        return found | ({self.grid.epochs} if self.grid.epochs is not None else set())

    def identity(self) -> dict:
        """What two runs must share to be compared or merged (see
        :func:`harness.record.fingerprint.differences`)."""
        return {"splits": sorted(self.splits), "configs": sorted(self.configs),
                "fit_on": sorted(self.fit_ons), "protocols": sorted(self.protocols),
                "epochs": sorted(self.epochs),
                "quick": self.grid.quick, "data_sha256": self.data_sha256,
                "suite_version": self.suite_version, "ranking": self.rankings}

    @property
    def rankings(self) -> list[str]:
        """The rankings of the cells' headline metrics (``all`` for a cell that does not
        record its ranking)."""
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
        """The ctxbench version that made the run; "unknown" for a file that does not
        record it."""
        version = self.provenance.get("suite_version")
        return version if isinstance(version, str) and version else "unknown"


def group_cells(results: Iterable[CellResult], grid: Grid) -> dict[GroupKey, CellGroup]:
    """Results grouped by (split, config, fit_on, protocol), in ``grid`` order.

    Raises:
        UserError: a cell is given twice (both sources are named).
    """
    cells: dict[GroupKey, CellGroup] = {}
    for result in results:
        group = cells.setdefault(result.cell.group_key, CellGroup(*result.cell.group_key))
        seed = result.cell.seed
        if seed in group.seeds:
            raise UserError(f"{result.source}: cell {group_label(group.key)}/seed {seed} is "
                            f"also in {group.seeds[seed].source}; pass each cell once")
        group.seeds[seed] = result
    return dict(sorted(cells.items(), key=lambda item: grid.order(Cell.in_group(item[0], 0))))


def leakage_by_split(results: Iterable[CellResult]) -> dict[str, dict[int, dict[str, float]]]:
    """split -> seed -> the leakage diagnostics of the first result that recorded them."""
    leakage: dict[str, dict[int, dict[str, float]]] = {}
    for result in results:
        if result.leakage:
            leakage.setdefault(result.cell.split, {}).setdefault(result.cell.seed,
                                                                 result.leakage)
    return leakage


__all__ = ["CellGroup", "Run", "group_cells", "leakage_by_split"]
