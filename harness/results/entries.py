"""One ctxbench benchmark entry: its validated fields, and one cell's entries merged.

A ctxbench cell writes a train entry and, when it times inference separately, an
inference entry; each carries the cell (split, config, fit_on, seed), status, metrics,
throughput, leakage diagnostics and provenance in ``extra_info``. :func:`entry_fields`
checks one entry's ``extra_info`` and raises :class:`UserError` with one line naming the
file, the entry and what is wrong; :func:`merge_seed` merges one cell's entries into the
fields of a :class:`harness.results.runs.SeedResult`.
"""

from __future__ import annotations

import math
from pathlib import Path

from harness.errors import UserError

STATUSES = ("ok", "failed")
_REQUIRED = {"config": str, "seed": int, "fit_on": str, "epochs": int, "kind": str, "status": str}

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


def entry_fields(path: Path, index: int, entry: dict) -> dict:
    """Validated ``extra_info`` of a cell entry.

    Args:
        path: the file, for messages.
        index: the entry's position in ``benchmarks``, for messages.
        entry: a benchmark entry for which :func:`harness.results.runs.is_cell_entry` holds.

    Returns:
        split, config, seed, fit_on, epochs, kind, status, error, metrics, leakage,
        examples_per_second, queries_per_second (None when absent) and provenance.

    Raises:
        UserError: a required key is missing or any field has the wrong type.
    """
    extra = entry["extra_info"]
    where = f"{path}: benchmarks[{index}] ({str(entry.get('name', '?'))[:60]})"
    fields = {}
    for key, kind in {"split": str, **_REQUIRED}.items():
        if key not in extra:
            raise UserError(f"{where}: extra_info has no {key!r}")
        value = extra[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(
                f"{where}: extra_info.{key} must be {_TYPE_NAMES[kind]}, got {value!r:.40}"
            )
        fields[key] = value
    if fields["status"] not in STATUSES:
        raise UserError(
            f"{where}: extra_info.status must be one of {', '.join(STATUSES)}, "
            f"got {fields['status']!r:.40}"
        )
    error = extra.get("error")
    if error is not None and not isinstance(error, str):
        raise UserError(f"{where}: extra_info.error must be a string or null")
    fields["error"] = error
    fields["metrics"] = _numbers(extra.get("metrics"), f"{where}: extra_info.metrics")
    fields["leakage"] = _numbers(extra.get("leakage"), f"{where}: extra_info.leakage")
    for key in ("examples_per_second", "queries_per_second"):
        value = _number(extra.get(key), f"{where}: extra_info.{key}")
        fields[key] = None if math.isnan(value) else value
    provenance = extra.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise UserError(f"{where}: extra_info.provenance must be an object")
    fields["provenance"] = provenance
    return fields


def merge_seed(entries: list[dict]) -> dict:
    """One cell's train and inference entries (as :func:`entry_fields`) merged.

    Returns:
        The fields of a :class:`harness.results.runs.SeedResult` but its ``source``: seed,
        status ("failed" when any entry failed), error, metrics, examples_per_second,
        queries_per_second (the inference entry's, else the train entry's) and epochs.
    """
    by_kind = {fields["kind"]: fields for fields in entries}
    failed = [f for f in entries if f["status"] != "ok"]
    with_metrics = [f for f in entries if f["metrics"] and f["status"] == "ok"]
    training = by_kind.get("train", {})
    queries = by_kind.get("inference", {}).get("queries_per_second")
    if queries is None:
        queries = training.get("queries_per_second")
    return dict(
        seed=entries[0]["seed"],
        status="failed" if failed else "ok",
        error=next(
            (f["error"] for f in failed if f["error"]),
            None if not failed else "failed without an error message",
        ),
        metrics=with_metrics[0]["metrics"] if with_metrics else {},
        examples_per_second=training.get("examples_per_second"),
        queries_per_second=queries,
        epochs=entries[0]["epochs"],
    )


__all__ = ["STATUSES", "entry_fields", "merge_seed"]
