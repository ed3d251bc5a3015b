"""The expected grid of a run: the cells it set out to produce, and their order.

A benchmark JSON file may declare its grid in ``ctxbench.grid`` (splits, configs, seeds,
fit_on, epochs, popularity, quick, or the exact ``cells``); :func:`expected_grid` reads
it, or infers one from the cells present, into a :class:`Grid`. :func:`cell_order` sorts
cells in grid order (splits, configurations and fit_on settings as the grid lists them).
Every malformed declaration raises :class:`UserError` with one line naming the file.
(The grid that runs cells, and its run directory, is :mod:`harness.run.rundir`.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from harness.errors import UserError

POPULARITY = "popularity"
# Without a declared grid, fit_on="default" means what harness.run.rundir runs: train for every
# configuration plus all for the tutorial's two (duplicated so reading needs no registry).
_DEFAULT_FIT_ON_ALL = ("baseline", "timestamp")

GroupKey = tuple[str, str, str]
"""(split, config, fit_on): the cells of one configuration over seeds."""
CellKey = tuple[str, str, str, int]
"""(split, config, fit_on, seed): one cell."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class Grid:
    """The cells a run set out to produce.

    Attributes:
        splits, configs: names in run order (configs include "popularity" when run).
        seeds: the seeds.
        fit_on: fit_on settings of the learned configurations.
        epochs: training epochs (None when unknown).
        declared: True when read from the file's ``ctxbench.grid``, False when inferred
            from the entries present.
        cells: every expected (split, config, fit_on, seed): the declared
            ``grid.cells`` when listed, else the product of the above.
        quick: the declared ``grid.quick`` (a users subsample for smoke runs), if any.
    """

    splits: tuple[str, ...]
    configs: tuple[str, ...]
    seeds: tuple[int, ...]
    fit_on: tuple[str, ...]
    epochs: int | None
    declared: bool
    cells: frozenset[CellKey]
    quick: bool | None = None


def unique(items: Iterable) -> list:
    """``items`` without repeats, in first-seen order."""
    return list(dict.fromkeys(items))


def cell_order(grid: Grid) -> Callable[[CellKey], tuple]:
    """A sort key putting cells in ``grid``'s order; names it does not list go last."""
    splits = {name: i for i, name in enumerate(grid.splits)}
    configs = {name: i for i, name in enumerate(grid.configs)}
    fit_ons = {name: i for i, name in enumerate(grid.fit_on)}

    def order(cell: CellKey):
        split, config, fit_on, seed = cell
        return (
            splits.get(split, len(splits)),
            split,
            configs.get(config, len(configs)),
            config,
            fit_ons.get(fit_on, len(fit_ons)),
            fit_on,
            seed,
        )

    return order


def in_grid_order(groups: dict[GroupKey, _T], grid: Grid) -> dict[GroupKey, _T]:
    """``groups`` re-keyed in ``grid``'s order (see :func:`cell_order`)."""
    order = cell_order(grid)
    return dict(sorted(groups.items(), key=lambda item: order((*item[0], 0))))


def _as_seeds(value, where: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return tuple(range(value))  # harness.run.rundir stores a count: seeds 0 .. n - 1
    if isinstance(value, list) and all(
        isinstance(s, int) and not isinstance(s, bool) for s in value
    ):
        return tuple(value)
    raise UserError(f"{where}: ctxbench.grid.seeds must be a list of integers or a count")


def _as_names(value, where: str, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise UserError(f"{where}: ctxbench.grid.{key} must be a list of names")


def _listed_cells(path: Path, keys, splits: tuple[str, ...]) -> list[CellKey] | None:
    """Parses ``ctxbench.grid.cells``: keys "<split>-<config>-<fit_on>-s<seed>"."""
    if keys is None:
        return None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise UserError(f"{path}: ctxbench.grid.cells must be a list of cell keys")
    cells = []
    for key in keys:
        parts = key.rsplit("-", 2)
        if len(parts) != 3 or not re.fullmatch(r"s\d+", parts[2]):
            raise UserError(f"{path}: ctxbench.grid.cells has a malformed key {key!r:.60}")
        head, fit_on, seed = parts[0], parts[1], int(parts[2][1:])
        # Split names may hold hyphens only if registered so: match the declared ones first.
        split = next((s for s in splits if head.startswith(f"{s}-")), head.split("-")[0])
        config = head[len(split) + 1 :]
        if not config:
            raise UserError(f"{path}: ctxbench.grid.cells has a malformed key {key!r:.60}")
        cells.append((split, config, fit_on, seed))
    return cells


def expected_grid(path: Path, declared: dict | None, present: list[CellKey]) -> Grid:
    """The declared grid, or one inferred from the cells present (every present split,
    configuration and seed, with each configuration's fit_on settings as found).

    Args:
        path: the file, for messages.
        declared: the file's ``ctxbench.grid``, if any.
        present: every cell that has an entry, in the file's order.

    Raises:
        UserError: ``declared`` or one of its fields is malformed.
    """
    declared = declared or {}
    if not isinstance(declared, dict):
        raise UserError(f"{path}: ctxbench.grid must be an object")
    where = str(path)
    seen_fit_on: dict[str, set[str]] = {}
    for _split, config, fit_on, _seed in present:
        seen_fit_on.setdefault(config, set()).add(fit_on)
    splits = _as_names(declared.get("splits"), where, "splits") or tuple(
        unique(k[0] for k in present)
    )
    configs = _as_names(declared.get("configs"), where, "configs") or tuple(
        unique(k[1] for k in present)
    )
    seeds = _as_seeds(declared.get("seeds"), where) or tuple(sorted({k[3] for k in present}))
    fit_on = _as_names(declared.get("fit_on"), where, "fit_on")
    run_popularity = (
        declared.get("popularity", False) is True
        or POPULARITY in configs
        or POPULARITY in seen_fit_on
    )
    if run_popularity and POPULARITY not in configs:
        configs = (POPULARITY, *configs)
    epochs = declared.get("epochs")
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool)):
        raise UserError(f"{path}: ctxbench.grid.epochs must be an integer")

    def fit_on_for(config: str) -> set[str]:
        seen = seen_fit_on.get(config, set())
        if fit_on is None or config == POPULARITY:  # popularity ignores preprocessing
            return seen or {"train"}
        if fit_on == ("default",):
            return {"train"} | ({"all"} if config in _DEFAULT_FIT_ON_ALL else set()) | seen
        return set(fit_on) | seen

    listed = _listed_cells(path, declared.get("cells"), splits)
    if listed is not None:  # the exact cells the run selected (harness.grid.Cell.key)
        expected = frozenset(listed)
    else:
        expected = frozenset(
            (split, config, f, seed)
            for split in splits
            for config in configs
            for f in fit_on_for(config)
            for seed in seeds
        )
    found = sorted({c[2] for c in expected}, key=lambda f: (f != "train", f != "all", f))
    all_fit_on = unique([*(fit_on or ()), *found])
    return Grid(
        splits=splits,
        configs=configs,
        seeds=seeds,
        fit_on=tuple(f for f in all_fit_on if f != "default"),
        epochs=epochs,
        declared=bool(declared),
        cells=expected,
        quick=declared.get("quick") if isinstance(declared.get("quick"), bool) else None,
    )


def merge_grids(grids: list[Grid]) -> Grid:
    """The union of several runs' grids (names in first-seen order; the first known
    epochs; declared only if all were; quick if any was, else the first's)."""
    return Grid(
        splits=tuple(unique(s for g in grids for s in g.splits)),
        configs=tuple(unique(c for g in grids for c in g.configs)),
        seeds=tuple(sorted({s for g in grids for s in g.seeds})),
        fit_on=tuple(unique(f for g in grids for f in g.fit_on)),
        epochs=next((g.epochs for g in grids if g.epochs is not None), None),
        declared=all(g.declared for g in grids),
        cells=frozenset().union(*(g.cells for g in grids)),
        quick=True if any(g.quick for g in grids) else grids[0].quick,
    )


__all__ = [
    "POPULARITY",
    "CellKey",
    "Grid",
    "GroupKey",
    "cell_order",
    "expected_grid",
    "in_grid_order",
    "merge_grids",
    "unique",
]
