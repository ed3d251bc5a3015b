"""The resumable run directory: one JSON file per finished cell, and a manifest.

A run directory keeps one JSON file per finished cell, written atomically the moment the
cell ends, and a manifest of what all its cells share: the suite version, the data's
sha256, the epochs, the evaluation, library versions and machine. Each cell's own
identity (its split's and configuration's descriptions, its tuned hyperparameters) is
stored in its file (:func:`cell_identity`), so grids that
share cells share them here. What is computed, never the bytes of the code: a refactor
resumes, a change that can move a number bumps the suite version and starts afresh.
Re-running the same command in the same directory skips finished cells; a directory made
under a different manifest is refused with what differs
(:func:`harness.record.fingerprint.differences`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.errors import UserError
from harness.model.features import CONFIGS
from harness.model.history_specs import SPECS
from harness.record.cell import TUNED, Cell
from harness.record.files import read_json, write_json_atomic
from harness.record.fingerprint import config_description, differences, split_description

MANIFEST = "manifest.json"
RUN_ID_CHARS = 12  # hex digits of a run id: distinct enough for one machine's runs


def run_id(identity: dict) -> str:
    """A default run directory's name: a digest of what the run is (a grid run's
    manifest, a tuning's shared identity), so that the same command finds its directory
    again and a changed one starts afresh."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return digest[:RUN_ID_CHARS]


def cell_identity(cell: Cell, tuned=None) -> dict:
    """What one cell computes beyond its run directory's manifest: its split's and
    configuration's (or history-aware scorer's) descriptions and, under the tuned
    protocol, its hyperparameters (``tuned``: the session's
    :class:`harness.run.tuned.Tuned`, None when it has none). A stored cell whose identity
    differs from the code's runs again."""
    identity = {"split": split_description(cell.split)}
    if cell.config in CONFIGS:
        identity["config"] = config_description(cell.config)
    elif cell.config in SPECS:
        identity["scorer"] = SPECS[cell.config].to_dict()
    if cell.protocol == TUNED and tuned is not None:
        chosen = tuned.cell(cell.split, cell.config, cell.seed)
        identity["tuned"] = {"params": chosen.params, "epochs": chosen.epochs}
    return identity


class RunDirectory:
    """One file per finished cell under ``path/cells``, plus ``path/manifest.json``.

    Args:
        path: the directory (created if needed).
        manifest: what this run is: {"fingerprint": ..., "data_sha256": ...,
            "grid": ..., "suite_version": ...}.

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
            found = differences(existing, manifest) if isinstance(existing, dict) else [
                "its manifest is not an object"]
            if found:
                raise UserError(
                    f"run directory {self.path} was made by a different run ("
                    + "; ".join(found)
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
        """Atomically writes a finished cell: {"status": "ok" | "failed", "entries": [...]}
        (its benchmark entries, :func:`harness.record.cellentry.benchmark_entry`)."""
        write_json_atomic(self._file(cell), record)

    def completed(self, cell: Cell) -> bool:
        """Whether the cell finished successfully (a failed cell is run again)."""
        record = self.load(cell)
        return record is not None and record.get("status") == "ok"
