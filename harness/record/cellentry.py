"""A cell's benchmark entries: the ``extra_info`` its writer builds and its reader checks.

:func:`entry_info` builds a benchmark entry's ``extra_info`` from a
:class:`~harness.record.cell.CellResult`, :func:`benchmark_entry` the entry itself, and
:func:`parse_entry` / :func:`merge_entries` read a cell's entries back into its result. The
entries that are not cells have their records in :mod:`harness.record.kinds`.

No TensorFlow here: the reader imports this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.record.cell import PROTOCOLS, TUTORIAL, Cell, CellResult
from harness.record.peruser import PerUser

KINDS = ("train", "inference")  # the benchmarks of a cell
STATUSES = ("ok", "failed")


def entry_info(result: CellResult, kind: str, rate: float | None) -> dict:
    """The ``extra_info`` of a cell's benchmark entry: the one place it is built.

    Args:
        result: the cell's result.
        kind: "train" or "inference".
        rate: the benchmark's throughput, examples/s (train) or queries/s (inference).
    """
    cell = result.cell
    rate_key = "examples_per_second" if kind == "train" else "queries_per_second"
    return {"split": cell.split, "config": cell.config, "seed": cell.seed,
            "fit_on": cell.fit_on, "protocol": cell.protocol, "epochs": result.epochs, "kind": kind,
            "status": result.status, "error": result.error, "model": result.model,
            # Copies: the entries of a cell must not share (and co-mutate) one object.
            "metrics": dict(result.metrics), rate_key: rate, "timings": dict(result.timings),
            "leakage": dict(result.leakage), "provenance": dict(result.provenance),
            # Once per cell: in the inference entry, which every finished cell has.
            **({"per_user": result.per_user.to_dict()}
               if kind == "inference" and result.per_user is not None else {})}


def benchmark_group(cell: Cell, kind: str) -> str:
    """The pytest-benchmark group of a cell's ``kind`` benchmark: training (one round)
    and inference (several) apart, so neither's statistics mix with the other's."""
    return f"{cell.group}/{kind}"


def benchmark_entry(cell: Cell, kind: str, extra_info: dict, stats: dict,
                    options: dict | None = None) -> dict:
    """A pytest-benchmark JSON entry of a cell, as ``benchmarks/test_grid.py`` makes it:
    pytest-benchmark's own entry for a benchmark that ran, this for one that raised
    (pytest-benchmark drops those) and for test fixtures.

    Args:
        cell: the cell.
        kind: "train" or "inference".
        extra_info: :func:`entry_info`.
        stats: pytest-benchmark's stats block (with ``data`` and ``iterations``).
        options: pytest-benchmark's options block.
    """
    from harness.record.grid import BASELINES  # the registries: the writer's, not the reader's

    # The test that made it: a baseline's one benchmark is test_baseline's.
    test = "test_baseline" if cell.config in BASELINES else f"test_{kind}"
    return {"group": benchmark_group(cell, kind), "name": f"{test}[{cell.key}]",
            "fullname": f"benchmarks/test_grid.py::{test}[{cell.key}]",
            "params": {"cell": cell.key}, "param": cell.key, "extra_info": extra_info,
            "options": options or {}, "stats": stats}


def is_cell_entry(entry: dict) -> bool:
    """Whether a benchmark entry is a ctxbench cell (has a split and a train/inference kind).

    An entry with a ``split`` but no ``kind`` counts as a cell, so that its missing key is
    reported rather than the entry silently ignored.
    """
    extra = entry.get("extra_info")
    return isinstance(extra, dict) and "split" in extra and extra.get("kind", "train") in KINDS


@dataclass(frozen=True)
class EntryFields:
    """One cell entry's validated ``extra_info``."""

    cell: Cell
    kind: str
    status: str
    error: str | None
    epochs: int
    model: str
    metrics: dict[str, float]
    examples_per_second: float | None
    queries_per_second: float | None
    timings: dict[str, float]
    leakage: dict[str, float]
    provenance: dict
    per_user: PerUser | None = None


_REQUIRED = {"split": str, "config": str, "seed": int, "fit_on": str, "epochs": int,
             "kind": str, "status": str}
_TYPE_NAMES = {str: "a string", int: "an integer"}


def _number(value, where: str) -> float:
    """A JSON number or null (NaN) as a float."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{where} must be a number or null, got {value!r:.40}")
    return float(value)


def _numbers(value, where: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where} must be an object, got {type(value).__name__}")
    return {str(k): _number(v, f"{where}[{k!r}]") for k, v in value.items()}


def parse_entry(path: Path, index: int, entry: dict) -> EntryFields:
    """Validates a cell entry's ``extra_info`` (one for which :func:`is_cell_entry` holds).

    Raises:
        UserError: a required key is missing or a field has the wrong type; one line
            naming the file, the entry and what is wrong.
    """
    extra = entry["extra_info"]
    where = f"{path}: benchmarks[{index}] ({str(entry.get('name', '?'))[:60]})"
    values = {}
    for key, kind in _REQUIRED.items():
        if key not in extra:
            raise UserError(f"{where}: extra_info has no {key!r}")
        value = extra[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(
                f"{where}: extra_info.{key} must be {_TYPE_NAMES[kind]}, got {value!r:.40}")
        values[key] = value
    if values["status"] not in STATUSES:
        raise UserError(f"{where}: extra_info.status must be one of {', '.join(STATUSES)}, "
                        f"got {values['status']!r:.40}")
    error = extra.get("error")
    if error is not None and not isinstance(error, str):
        raise UserError(f"{where}: extra_info.error must be a string or null")
    provenance = extra.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise UserError(f"{where}: extra_info.provenance must be an object")
    rates = {key: _number(extra.get(key), f"{where}: extra_info.{key}")
             for key in ("examples_per_second", "queries_per_second")}
    model = extra.get("model")
    protocol = extra.get("protocol", TUTORIAL)  # files from before protocols: the tutorial's
    if protocol not in PROTOCOLS:
        raise UserError(f"{where}: extra_info.protocol must be one of {', '.join(PROTOCOLS)}, "
                        f"got {protocol!r:.40}")
    return EntryFields(
        cell=Cell(values["split"], values["config"], values["fit_on"], values["seed"],
                  protocol),
        kind=values["kind"], status=values["status"], error=error, epochs=values["epochs"],
        model=model if isinstance(model, str) else "two_tower",
        metrics=_numbers(extra.get("metrics"), f"{where}: extra_info.metrics"),
        **{key: None if math.isnan(rate) else rate for key, rate in rates.items()},
        timings=_numbers(extra.get("timings"), f"{where}: extra_info.timings"),
        leakage=_numbers(extra.get("leakage"), f"{where}: extra_info.leakage"),
        provenance=provenance,
        per_user=None if extra.get("per_user") is None
        else PerUser.from_dict(extra["per_user"], f"{where}: extra_info.per_user"))


def merge_entries(entries: list[EntryFields], source: Path | None = None) -> CellResult:
    """One cell's train and inference entries as its :class:`CellResult`: failed when any
    entry failed; training throughput from the train entry, inference throughput from
    the inference entry."""
    by_kind = {fields.kind: fields for fields in entries}
    failed = [f for f in entries if f.status != "ok"]
    with_metrics = [f for f in entries if f.metrics and f.status == "ok"]
    first = entries[0]
    training, inference = by_kind.get("train"), by_kind.get("inference")
    return CellResult(
        cell=first.cell,
        status="failed" if failed else "ok",
        error=next((f.error for f in failed if f.error),
                   "failed without an error message" if failed else None),
        model=first.model,
        epochs=first.epochs,
        metrics=with_metrics[0].metrics if with_metrics else {},
        examples_per_second=training.examples_per_second if training else None,
        queries_per_second=next((f.queries_per_second for f in (inference, training)
                                 if f is not None and f.queries_per_second is not None),
                                None),
        timings=first.timings,
        leakage=next((f.leakage for f in entries if f.leakage), {}),
        provenance=next((f.provenance for f in entries if f.provenance), {}),
        source=source,
        per_user=next((f.per_user for f in entries if f.per_user is not None), None),
    )


__all__ = ["KINDS", "STATUSES", "EntryFields", "benchmark_entry", "benchmark_group",
           "entry_info", "is_cell_entry", "merge_entries", "parse_entry"]
