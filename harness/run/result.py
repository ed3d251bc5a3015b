"""A cell's last stage: its record (:class:`harness.record.cell.CellResult`), the same for
every retriever, with what the retriever adds (:meth:`Retriever.record`,
:meth:`Retriever.describe`) and the cell's provenance."""

from __future__ import annotations

from harness.record.cell import TUTORIAL, Cell, CellResult
from harness.record.peruser import PerUser
from harness.record.provenance import current_suite_version, environment, utc_now
from harness.run.prepare import PreparedCell


def provenance(cell: PreparedCell, env: dict | None, fitted=None) -> dict:
    """The record's provenance: the retriever's description, the split, seed, options,
    evaluation, data, environment and time; a learned retriever's also says how its
    options were chosen (``protocol``, and ``tuning`` under the tuned one)."""
    options, data = cell.options, cell.data
    record = {
        "config": cell.retriever.describe(cell, fitted), "split": cell.split_name,
        "seed": cell.seed, "fit_on": options.fit_on, "epochs": options.epochs,
        "options": options.to_dict(), **cell.evaluation.to_dict(),
        "dataset": data.dataset, "data_source": data.source, "data_sha256": data.sha256,
        **(environment() if env is None else env), "utc_time": utc_now(),
        "suite_version": current_suite_version(),
    }
    if cell.retriever.learned:
        record["protocol"] = cell.protocol
        if cell.tuning is not None:
            record["tuning"] = cell.tuning
    return record


def cell_of(cell: PreparedCell) -> Cell:
    """The cell's key: a non-learned retriever runs once per (split, seed), on the
    training rows, under the tutorial protocol (``schema.fit_on_for``)."""
    learned = cell.retriever.learned
    return Cell(cell.split_name, cell.retriever.name,
                cell.options.fit_on if learned else "train", cell.seed,
                cell.protocol if learned else TUTORIAL)


def sizes(cell: PreparedCell, fitted=None) -> dict[str, object]:
    """Row counts, then what the retriever adds (vocabularies, losses per epoch)."""
    return {"n_train": float(cell.train_rows.size), "n_test": float(cell.split.test.size),
            "n_candidates": float(cell.data.candidate_titles.size),
            **cell.retriever.record(cell, fitted).sizes}


def result_of(cell: PreparedCell, fitted, metrics: dict[str, float],
              timings: dict[str, float], env: dict | None = None,
              per_user: PerUser | None = None) -> CellResult:
    """Assembles the record of a fitted and evaluated cell.

    Args:
        fitted: what the cell's retriever's ``fit`` returned.
        metrics, timings: :func:`harness.run.evaluate.evaluate_cell`'s.
        env: ``records.environment()``, to compute it once per run.
        per_user: the test users' hits
            (:func:`harness.run.evaluate.evaluate_cell_per_user`'s), or None.
    """
    added = cell.retriever.record(cell, fitted)
    return CellResult(
        cell=cell_of(cell), model=cell.retriever.model, epochs=cell.options.epochs,
        metrics={**metrics, **added.metrics},
        examples_per_second=added.examples_per_second,
        queries_per_second=timings.get("queries_per_second"),
        timings={**added.timings, **timings}, sizes=sizes(cell, fitted),
        leakage=cell.leakage, provenance=provenance(cell, env, fitted), per_user=per_user,
    )


def failed_result(cell: PreparedCell, error: BaseException, env: dict | None = None
                  ) -> CellResult:
    """The record of a cell whose fitting raised: status "failed" and the error."""
    return CellResult(
        cell=cell_of(cell), status="failed", model=cell.retriever.model,
        epochs=cell.options.epochs, error=f"{type(error).__name__}: {error}",
        sizes=sizes(cell), leakage=cell.leakage, provenance=provenance(cell, env),
    )


__all__ = ["cell_of", "failed_result", "provenance", "result_of", "sizes"]
