"""Several benchmark runs joined into one, and what two runs must share to be joined or
compared (:meth:`harness.record.runs.Run.identity`)."""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import UserError
from harness.record.fingerprint import differences
from harness.record.grid import Grid
from harness.record.runs import Run, group_cells, leakage_by_split


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
        cells=group_cells(results, grid),
        leakage=leakage_by_split(results),
        provenance=provenance,
        grid=grid,
        datetime=first.datetime,
        measurements=[m for r in runs for m in r.measurements],
        other=[e for r in runs for e in r.other],
    )


__all__ = ["incompatibilities", "merge_runs"]
