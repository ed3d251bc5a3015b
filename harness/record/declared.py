"""The grid a results file declares (``ctxbench.grid``), or the one its cells imply.

:func:`read_grid` reads every shape a results file has had: files that declare no grid
(inferred from the cells present), files from before EASE (a popularity flag), from before
protocols (every cell the tutorial's), and files whose grid lists its exact cells.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import UserError
from harness.model.registry import POPULARITY
from harness.record.cell import FIXED_OPTIONS, TUTORIAL, Cell
from harness.record.grid import BASELINES, DEFAULT_FIT_ON, Grid, fit_on_for, unique


def read_grid(declared: object, present: Iterable[Cell], where: str) -> Grid:
    """The grid a results file declares in ``ctxbench.grid``, or one inferred from
    the cells present (every present split, configuration and seed, with each
    configuration's fit_on settings as found).

    Args:
        declared: the file's ``ctxbench.grid`` (None when absent).
        present: every cell that has an entry, in the file's order.
        where: the file, for messages.

    Raises:
        UserError: the declaration or one of its fields is malformed.
    """
    present = list(present)
    declared = declared or {}
    if not isinstance(declared, dict):
        raise UserError(f"{where}: ctxbench.grid must be an object")
    seen_fit_on: dict[tuple[str, str], list[str]] = {}  # (config, protocol) -> fit_ons
    for cell in present:
        if cell.protocol not in FIXED_OPTIONS:
            continue
        seen = seen_fit_on.setdefault((cell.config, cell.protocol), [])
        if cell.fit_on not in seen:
            seen.append(cell.fit_on)
    names = _names(declared.get("configs"), where, "configs")
    listed = _names(declared.get("baselines"), where, "baselines")
    if listed is None:  # files from before EASE: a popularity flag, or the cells found
        listed = tuple(b for b in BASELINES
                       if b in (names or ()) or (b, TUTORIAL) in seen_fit_on
                       or (b == POPULARITY and declared.get("popularity") is True))
    baselines = tuple(unique([*listed, *(b for b in BASELINES
                                         if (b, TUTORIAL) in seen_fit_on)]))
    configs = tuple(c for c in names or unique(c.config for c in present)
                    if c not in BASELINES)
    seeds = _seeds(declared.get("seeds"), where) or tuple(sorted({c.seed for c in present}))
    splits = _names(declared.get("splits"), where, "splits") or tuple(
        unique(c.split for c in present))
    protocols = (_names(declared.get("protocols"), where, "protocols")
                 or tuple(unique(c.protocol for c in present)) or (TUTORIAL,))
    epochs = declared.get("epochs")
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool)):
        raise UserError(f"{where}: ctxbench.grid.epochs must be an integer")
    quick = declared.get("quick")
    fit_on = _names(declared.get("fit_on"), where, "fit_on")
    all_configs = baselines + configs
    if declared.get("cells") is not None:  # the exact cells the run selected
        keys = declared["cells"]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise UserError(f"{where}: ctxbench.grid.cells must be a list of cell keys")
        try:
            selected = frozenset(Cell.from_key(key) for key in keys)
        except ValueError as error:
            raise UserError(f"{where}: ctxbench.grid.cells has a {error}") from None
    else:
        # Each configuration under its fit_on settings by the declared rule, and
        # under those found (a file that declares none: only those found).
        def expected_fit_on(config: str, protocol: str) -> set[str]:
            if protocol not in FIXED_OPTIONS:
                return {"train"}
            seen = set(seen_fit_on.get((config, protocol), ()))
            if fit_on is None or config in BASELINES:
                return seen or {"train"}
            return set(fit_on_for(fit_on, config, protocol)) | seen

        selected = frozenset(
            Cell(split, config, f, seed, protocol) for split in splits
            for config in all_configs
            for protocol in ((TUTORIAL,) if config in BASELINES else protocols)
            for f in expected_fit_on(config, protocol) for seed in seeds)
    return Grid(splits=splits, configs=configs, seeds=seeds, epochs=epochs,
                fit_on=fit_on or (DEFAULT_FIT_ON,), baselines=baselines,
                quick=quick if isinstance(quick, bool) else None,
                selected=selected, declared=bool(declared), protocols=protocols)


def _seeds(value, where: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return tuple(range(value))  # the benchmarks store a count: seeds 0 .. n - 1
    if isinstance(value, list) and all(
            isinstance(s, int) and not isinstance(s, bool) for s in value):
        return tuple(value)
    raise UserError(f"{where}: ctxbench.grid.seeds must be a list of integers or a count")


def _names(value, where: str, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise UserError(f"{where}: ctxbench.grid.{key} must be a list of names")


__all__ = ["read_grid"]
