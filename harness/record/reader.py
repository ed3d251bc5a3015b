"""A benchmark run read back from a pytest-benchmark JSON file.

``pytest benchmarks --benchmark-json out.json`` writes one entry per timed benchmark; a
ctxbench entry carries its cell (split, config, fit_on, seed), status, metrics, throughput,
leakage diagnostics and provenance in ``extra_info`` (:mod:`harness.record.cellentry` defines
it). :func:`load_run` reads a file in four steps — validate each entry, group the entries
by cell, check that one data set produced them, read the declared (or infer the) grid —
and every malformed input raises :class:`UserError` with one line naming the file and
what is wrong. Entries without a cell are read by their kind into the typed records of
:mod:`harness.record.kinds` (:attr:`Run.measurements`: the speed-up, scaling, serving and
dataset-scale benchmarks); any other entry is kept as recorded in :attr:`Run.other`.
A file with no mark of ctxbench at all (another suite's pytest-benchmark file) is refused
rather than reported as an empty run.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import UserError
from harness.record.cell import Cell, CellResult, group_label
from harness.record.cellentry import EntryFields, is_cell_entry, merge_entries, parse_entry
from harness.record.declared import read_grid
from harness.record.entries import OtherEntry, read_measurement
from harness.record.files import read_json
from harness.record.kinds import KINDS_BY_NAME, Record
from harness.record.runs import Run, group_cells, leakage_by_split


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
        provenance["machine"] = machine_info["ctxbench"]  # harness.record.machine.machine()
        # The session's GEMM rate (files from before it moved there: in machine_info).
        session = header.get("session")
        if isinstance(session, dict) and "gemm_gflops" in session:
            provenance["machine"] = {**provenance["machine"],
                                     "gemm_gflops": session["gemm_gflops"]}
    grid = read_grid(header.get("grid"), [r.cell for r in results], str(path))
    return Run(
        path=path,
        sources=(path,),
        cells=group_cells(results, grid),
        leakage=leakage_by_split(results),
        provenance=provenance,
        grid=grid,
        datetime=data.get("datetime") if isinstance(data.get("datetime"), str) else None,
        measurements=measurements,
        other=other,
    )


__all__ = ["load_run"]
