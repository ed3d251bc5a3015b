"""The benchmark grid and its resumable run directory.

A grid is every (split, fit_on, configuration, seed) cell plus a popularity cell per
(split, seed). A run directory keeps one JSON file per finished cell, written atomically
the moment the cell ends, and a manifest of what produced it (code hash, data sha256,
options). Re-running the same command in the same directory skips finished cells; a
directory made by different code, data or options is refused with what differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.errors import UserError
from harness.model.features import CONFIGS, FIT_ON
from harness.run.records import REPO_ROOT, read_json, write_json_atomic
from splits import SPLITS

# The tutorial's two configurations, also run with preprocessing fitted on all rows.
TUTORIAL_CONFIGS = ("baseline", "timestamp")
QUICK_CONFIGS = TUTORIAL_CONFIGS
QUICK_USER_FRACTION = 0.2
QUICK_SEEDS = 3
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Cell:
    """One unit of work. ``config`` is "popularity" for the non-learned baseline."""

    split: str
    config: str
    fit_on: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.split}-{self.config}-{self.fit_on}-s{self.seed}"

    @property
    def group(self) -> str:
        return f"{self.split}/{self.config}/fit_on={self.fit_on}"


@dataclass(frozen=True)
class GridSpec:
    """What a run covers; serialised into the run's manifest and its JSON.

    Attributes:
        splits, configs: registered names, in run order.
        seeds: number of seeds; the seeds are 0 .. seeds - 1.
        epochs: training epochs per cell.
        fit_on: "train", "all", or "default" (train for every configuration, plus
            all for the tutorial's baseline and timestamp: the tutorial's protocol).
        quick: a deterministic users subsample (``QUICK_USER_FRACTION``) for smoke runs.
        popularity: include the popularity baseline cells.
    """

    splits: tuple[str, ...] = field(default_factory=lambda: tuple(SPLITS))
    configs: tuple[str, ...] = field(default_factory=lambda: tuple(CONFIGS))
    seeds: int = 5
    epochs: int = 3
    fit_on: str = "default"
    quick: bool = False
    popularity: bool = True

    def __post_init__(self):
        SPLITS.resolve(self.splits)
        CONFIGS.resolve(self.configs)
        if not self.splits or not self.configs:
            raise UserError("the grid needs at least one split and one configuration")
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise UserError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise UserError(f"--epochs must be a positive integer, got {self.epochs!r}")
        if self.fit_on not in (*FIT_ON, "default"):
            raise UserError(f"--fit-on must be one of train, all, default; got {self.fit_on!r}")

    def fit_on_for(self, config: str) -> tuple[str, ...]:
        if self.fit_on != "default":
            return (self.fit_on,)
        return ("train", "all") if config in TUTORIAL_CONFIGS else ("train",)

    def cells(self) -> list[Cell]:
        """Every cell, grouped by split, then configuration and fit_on, then seed."""
        cells = []
        for split in self.splits:
            if self.popularity:
                cells += [Cell(split, "popularity", "train", s) for s in range(self.seeds)]
            for config in self.configs:
                for fit_on in self.fit_on_for(config):
                    cells += [Cell(split, config, fit_on, s) for s in range(self.seeds)]
        return cells

    def to_dict(self) -> dict:
        values = asdict(self)
        values["splits"], values["configs"] = list(self.splits), list(self.configs)
        return values


def code_fingerprint(root: Path = REPO_ROOT) -> str:
    """sha256 of the harness, splits and benchmarks sources: what computes a cell."""
    digest = hashlib.sha256()
    for package in ("harness", "splits", "benchmarks"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class RunDirectory:
    """One file per finished cell under ``path/cells``, plus ``path/manifest.json``.

    Args:
        path: the directory (created if needed).
        manifest: what this run is: {"code": ..., "data_sha256": ..., "grid": ...}.

    Raises:
        UserError: the directory belongs to a run with a different manifest, or
            cannot be written.
    """

    def __init__(self, path: str | Path, manifest: dict):
        self.path = Path(path)
        self.cells_dir = self.path / "cells"
        manifest_path = self.path / MANIFEST
        if manifest_path.exists():
            existing = read_json(manifest_path)
            differences = _differences(existing, manifest)
            if differences:
                raise UserError(
                    f"run directory {self.path} was made by a different run ("
                    + "; ".join(differences)
                    + "): pass another --run-dir, or delete it to start afresh")
        else:
            write_json_atomic(manifest_path, manifest)
        try:
            self.cells_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot create {self.cells_dir}: {error.strerror}") from None
        self.manifest = manifest

    def _file(self, cell: Cell) -> Path:
        return self.cells_dir / f"{cell.key}.json"

    def load(self, cell: Cell) -> dict | None:
        """The stored record of a finished cell, or None (a damaged file counts as none)."""
        path = self._file(cell)
        if not path.exists():
            return None
        try:
            record = read_json(path)
        except UserError:
            return None
        return record if isinstance(record, dict) and "entries" in record else None

    def store(self, cell: Cell, record: dict) -> None:
        """Atomically writes a finished cell: {"entries": [...], "result": {...}}."""
        write_json_atomic(self._file(cell), record)

    def completed(self, cell: Cell) -> bool:
        """Whether the cell finished successfully (a failed cell is run again)."""
        record = self.load(cell)
        return record is not None and record.get("status") == "ok"


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _differences(old: dict, new: dict) -> list[str]:
    differences = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key == "grid" and isinstance(old.get(key), dict) and isinstance(new.get(key),
                                                                               dict):
                differences += [f"grid.{k}: {old[key].get(k)!r} != {new[key].get(k)!r}"
                                for k in sorted(set(old[key]) | set(new[key]))
                                if old[key].get(k) != new[key].get(k)]
            else:
                differences.append(f"{key}: {_short(old.get(key))} != {_short(new.get(key))}")
    return differences
