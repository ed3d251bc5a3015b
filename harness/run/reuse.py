"""A deterministic retriever on a deterministic split, computed once per grid.

A non-learned retriever that reads no seed (popularity, EASE^R, the history scorers but
the order control: :attr:`harness.model.retriever.RetrieverEntry.seeded`) on a split that
reads none either (every split but ``random``) gives the same record for every seed: its
first seed's cell runs, and each other seed's record is that one's with the seed changed
and ``provenance.computed_once`` naming the cell it was computed in (its timings are that
cell's, not measured again). On a 9,742-title catalogue EASE^R took 3 minutes a cell; a
grid of 5 seeds paid it 5 times.
"""

from __future__ import annotations

from harness.record.cell import Cell
from harness.record.cellentry import benchmark_entry
from harness.record.grid import BASELINES


def reads_no_seed(cell: Cell) -> bool:
    """Whether the cell's retriever and split both ignore its seed."""
    from harness.model.registry import get_retriever
    from splits import SPLITS

    return (cell.config in BASELINES and not get_retriever(cell.config).seeded
            and not SPLITS[cell.split].seeded)


def source_of(cell: Cell, cells: list[Cell]) -> Cell | None:
    """The cell of ``cells`` whose record ``cell`` shares (the lowest seed of its group),
    or None when it computes its own."""
    if not reads_no_seed(cell):
        return None
    first = min((other for other in cells
                 if (other.split, other.config, other.fit_on, other.protocol)
                 == (cell.split, cell.config, cell.fit_on, cell.protocol)),
                key=lambda other: other.seed, default=cell)
    return None if first == cell else first


def shared_entries(entries: list[dict], source: Cell, cell: Cell) -> list[dict]:
    """``source``'s benchmark entries as ``cell``'s: its seed, names and provenance."""
    shared = []
    for entry in entries:
        extra = entry["extra_info"]
        provenance = {**extra.get("provenance", {}), "seed": cell.seed,
                      "computed_once": source.key}
        info = {**extra, "seed": cell.seed, "provenance": provenance}
        shared.append(benchmark_entry(cell, extra["kind"], info, entry["stats"],
                                      entry.get("options")))
    return shared


def share(session, cell: Cell) -> str | None:
    """Stores ``cell`` as its source's record when that one is finished in the
    session's run directory (:class:`~harness.run.session.GridSession`); returns why the
    cell's benchmark does not run, or None when it computes its own."""
    from harness.run.gridcell import Outcome

    source = source_of(cell, session.selected)
    if source is None or not session.finished(source):
        return None
    entries = shared_entries(session.run_dir.load(source)["entries"], source, cell)
    session.store(cell, Outcome("ok", entries, f"computed once, in {source.key}"))
    return (f"computed once: {cell.config} on {cell.split} reads no seed, so "
            f"{source.key}'s record stands for this seed")


__all__ = ["reads_no_seed", "share", "shared_entries", "source_of"]
