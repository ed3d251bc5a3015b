"""A benchmark run, read back from a pytest-benchmark JSON file.

``pytest benchmarks --benchmark-json out.json`` writes one entry per timed benchmark; a
ctxbench entry carries its cell (split, config, fit_on, seed), status, metrics, throughput,
leakage diagnostics and provenance in ``extra_info``. :func:`load_run` validates the file
and groups the entries by cell; every malformed input raises :class:`UserError` with one
line naming the file and what is wrong. Entries without a cell (speed-up or scaling
benchmarks) are kept aside in :attr:`Run.other`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.errors import UserError
from harness.records import read_json

POPULARITY = "popularity"
CELL_KINDS = ("train", "inference")
STATUSES = ("ok", "failed")
# Without a declared grid, fit_on="default" means what harness.grid runs: train for every
# configuration plus all for the tutorial's two (duplicated so reading needs no registry).
_DEFAULT_FIT_ON_ALL = ("baseline", "timestamp")
_REQUIRED = {"config": str, "seed": int, "fit_on": str, "epochs": int, "kind": str, "status": str}

_TYPE_NAMES = {str: "a string", int: "an integer"}

GroupKey = tuple[str, str, str]
"""(split, config, fit_on): the cells of one configuration over seeds."""
CellKey = tuple[str, str, str, int]
"""(split, config, fit_on, seed): one cell."""


@dataclass(frozen=True)
class SeedResult:
    """What one cell (one seed) produced, merged over its train and inference entries.

    Attributes:
        seed: the cell's seed.
        status: "failed" when any of its entries failed, else "ok".
        error: the first failed entry's error, or None.
        metrics: flat metrics, JSON null read as NaN (empty for most failures).
        examples_per_second: training throughput (None for popularity or when absent).
        queries_per_second: inference throughput, from the inference entry when there
            is one, else from the train entry.
        epochs: training epochs of the cell.
        source: the file it was read from.
    """

    seed: int
    status: str
    error: str | None
    metrics: dict[str, float]
    examples_per_second: float | None
    queries_per_second: float | None
    epochs: int
    source: Path


@dataclass
class CellGroup:
    """One (split, config, fit_on) over seeds.

    Attributes:
        split, config, fit_on: the group.
        seeds: seed -> :class:`SeedResult`, every seed that has an entry.
    """

    split: str
    config: str
    fit_on: str
    seeds: dict[int, SeedResult] = field(default_factory=dict)

    @property
    def key(self) -> GroupKey:
        return (self.split, self.config, self.fit_on)

    @property
    def ok_seeds(self) -> list[int]:
        """Seeds whose cell succeeded, ascending."""
        return sorted(seed for seed, result in self.seeds.items() if result.status == "ok")

    @property
    def failures(self) -> list[SeedResult]:
        return [self.seeds[s] for s in sorted(self.seeds) if self.seeds[s].status != "ok"]

    def metric(self, name: str, seeds: Iterable[int] | None = None) -> np.ndarray:
        """[len(seeds)] values of metric ``name`` (NaN where absent).

        Args:
            name: a metric key, e.g. "test/top_100_categorical_accuracy".
            seeds: which seeds, in order (default: :attr:`ok_seeds`); a seed without an
                ok result gives NaN, so two groups can be paired on the same seeds.
        """
        seeds = self.ok_seeds if seeds is None else list(seeds)
        values = []
        for seed in seeds:
            result = self.seeds.get(seed)
            ok = result is not None and result.status == "ok"
            values.append(result.metrics.get(name, math.nan) if ok else math.nan)
        return np.asarray(values, dtype=np.float64)

    def throughput(self, kind: str) -> np.ndarray:
        """[n_ok_seeds] examples/s (``kind="train"``) or queries/s (``"inference"``)."""
        attribute = "examples_per_second" if kind == "train" else "queries_per_second"
        values = [getattr(self.seeds[s], attribute) for s in self.ok_seeds]
        return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)

    @property
    def epochs(self) -> set[int]:
        return {result.epochs for result in self.seeds.values()}


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


@dataclass
class Run:
    """One or more benchmark JSON files, grouped by cell.

    Attributes:
        path: the (first) file.
        sources: every file merged into this run.
        cells: (split, config, fit_on) -> :class:`CellGroup`, in run order.
        leakage: split -> seed -> leakage diagnostics.
        provenance: the first entry's provenance, overridden by the top-level
            ``ctxbench`` fields (command, data_source, data_sha256, session: the
            session's wall seconds, peak RSS and resumed cells).
        grid: the expected :class:`Grid`.
        datetime: pytest-benchmark's top-level time stamp, if any.
        other: benchmark entries that are not ctxbench cells, unchanged.
    """

    path: Path
    sources: tuple[Path, ...]
    cells: dict[GroupKey, CellGroup]
    leakage: dict[str, dict[int, dict[str, float]]]
    provenance: dict
    grid: Grid
    datetime: str | None = None
    other: list[dict] = field(default_factory=list)

    @property
    def present(self) -> set[CellKey]:
        return {(*key, seed) for key, group in self.cells.items() for seed in group.seeds}

    @property
    def missing(self) -> list[CellKey]:
        """Expected cells with no entry at all, in grid order."""
        present = self.present
        order = _orderer(self.grid)
        return sorted((cell for cell in self.grid.cells if cell not in present), key=order)

    @property
    def splits(self) -> list[str]:
        return _unique(key[0] for key in self.cells)

    @property
    def configs(self) -> list[str]:
        return _unique(key[1] for key in self.cells)

    @property
    def fit_ons(self) -> list[str]:
        return _unique(key[2] for key in self.cells)

    @property
    def epochs(self) -> set[int]:
        """Epochs of every cell, plus the declared grid's."""
        found = {e for group in self.cells.values() for e in group.epochs}
        return found | ({self.grid.epochs} if self.grid.epochs is not None else set())

    @property
    def tf_version(self) -> str:
        return str(self.provenance.get("versions", {}).get("tensorflow", "unknown"))

    @property
    def data_sha256(self) -> str | None:
        return self.provenance.get("data_sha256")


def _unique(items: Iterable) -> list:
    return list(dict.fromkeys(items))


def _orderer(grid: Grid):
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


def is_cell_entry(entry: dict) -> bool:
    """Whether a benchmark entry is a ctxbench cell (has a split and a train/inference kind).

    An entry with a ``split`` but no ``kind`` counts as a cell, so that its missing key is
    reported rather than the entry silently ignored.
    """
    extra = entry.get("extra_info")
    return isinstance(extra, dict) and "split" in extra and extra.get("kind", "train") in CELL_KINDS


def _entry_fields(path: Path, index: int, entry: dict) -> dict:
    """Validated ``extra_info`` of a cell entry."""
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


def _merge_seed(entries: list[dict], path: Path) -> SeedResult:
    """One cell's train and inference entries -> a :class:`SeedResult`."""
    by_kind = {fields["kind"]: fields for fields in entries}
    failed = [f for f in entries if f["status"] != "ok"]
    with_metrics = [f for f in entries if f["metrics"] and f["status"] == "ok"]
    training = by_kind.get("train", {})
    queries = by_kind.get("inference", {}).get("queries_per_second")
    if queries is None:
        queries = training.get("queries_per_second")
    return SeedResult(
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
        source=path,
    )


def _as_seeds(value, where: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return tuple(range(value))  # harness.grid stores a count: seeds 0 .. n - 1
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


def _expected_grid(path: Path, declared: dict | None, cells: dict[GroupKey, CellGroup]) -> Grid:
    """The declared grid, or one inferred from the cells present (every present split,
    configuration and seed, with each configuration's fit_on settings as found)."""
    declared = declared or {}
    if not isinstance(declared, dict):
        raise UserError(f"{path}: ctxbench.grid must be an object")
    where = str(path)
    seen_fit_on: dict[str, set[str]] = {}
    for _split, config, fit_on in cells:
        seen_fit_on.setdefault(config, set()).add(fit_on)
    splits = _as_names(declared.get("splits"), where, "splits") or tuple(
        _unique(k[0] for k in cells)
    )
    configs = _as_names(declared.get("configs"), where, "configs") or tuple(
        _unique(k[1] for k in cells)
    )
    seeds = _as_seeds(declared.get("seeds"), where) or tuple(
        sorted({s for group in cells.values() for s in group.seeds})
    )
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
    all_fit_on = _unique([*(fit_on or ()), *found])
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


def load_run(path: str | os.PathLike) -> Run:
    """Reads and validates a pytest-benchmark JSON file of ctxbench cells.

    Args:
        path: a file written by ``pytest benchmarks --benchmark-json``.

    Returns:
        The :class:`Run`.

    Raises:
        UserError: the file is missing, unreadable, not JSON, truncated, not a
            pytest-benchmark file, has a malformed ctxbench entry, lists a cell twice,
            or mixes data sets.
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
    entries: dict[CellKey, list[dict]] = {}
    other: list[dict] = []
    first_provenance: dict | None = None
    for index, entry in enumerate(benchmarks):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: benchmarks[{index}] is not an object")
        if not is_cell_entry(entry):
            other.append(entry)
            continue
        fields = _entry_fields(path, index, entry)
        cell = (fields["split"], fields["config"], fields["fit_on"], fields["seed"])
        same = entries.setdefault(cell, [])
        if any(f["kind"] == fields["kind"] for f in same):
            raise UserError(
                f"{path}: benchmarks[{index}]: a second {fields['kind']} entry "
                f"for cell {'/'.join(map(str, cell))}"
            )
        same.append(fields)
        if first_provenance is None and fields["provenance"]:
            first_provenance = fields["provenance"]

    cells: dict[GroupKey, CellGroup] = {}
    leakage: dict[str, dict[int, dict[str, float]]] = {}
    hashes: set[str] = set()
    for (split, config, fit_on, seed), same in entries.items():
        group = cells.setdefault((split, config, fit_on), CellGroup(split, config, fit_on))
        group.seeds[seed] = _merge_seed(same, path)
        for fields in same:
            if fields["leakage"]:
                leakage.setdefault(split, {}).setdefault(seed, fields["leakage"])
            sha = fields["provenance"].get("data_sha256")
            if isinstance(sha, str):
                hashes.add(sha)
    provenance = dict(first_provenance or {})
    for key in ("command", "data_source", "data_sha256", "session"):
        if header.get(key) is not None:
            provenance[key] = header[key]
    if isinstance(header.get("data_sha256"), str):
        hashes.add(header["data_sha256"])
    if len(hashes) > 1:
        raise UserError(
            f"{path}: entries were run on different data (sha256 "
            f"{', '.join(sorted(h[:12] for h in hashes))})"
        )
    grid = _expected_grid(path, header.get("grid"), cells)
    order = _orderer(grid)
    ordered = dict(sorted(cells.items(), key=lambda item: order((*item[0], 0))))
    return Run(
        path=path,
        sources=(path,),
        cells=ordered,
        leakage=leakage,
        provenance=provenance,
        grid=grid,
        datetime=data.get("datetime") if isinstance(data.get("datetime"), str) else None,
        other=other,
    )


def merge_runs(runs: list[Run]) -> Run:
    """Several runs as one (e.g. a fit_on=train run and a fit_on=all run).

    Args:
        runs: at least one run; the first one's provenance is kept.

    Returns:
        A :class:`Run` with every cell, the union of the expected grids and
        ``sources`` listing every file.

    Raises:
        UserError: the runs used different data (sha256) or epochs, or two runs hold
            the same cell.
    """
    if not runs:
        raise UserError("no benchmark JSON file given")
    first = runs[0]
    for run in runs[1:]:
        if first.data_sha256 and run.data_sha256 and first.data_sha256 != run.data_sha256:
            raise UserError(
                f"{run.path}: data sha256 {run.data_sha256[:12]} differs from "
                f"{first.path}'s {first.data_sha256[:12]}; cannot merge results "
                "of different data"
            )
        if first.epochs and run.epochs and first.epochs != run.epochs:
            raise UserError(
                f"{run.path}: epochs {sorted(run.epochs)} differ from "
                f"{first.path}'s {sorted(first.epochs)}; cannot merge"
            )
        if None not in (first.grid.quick, run.grid.quick) and first.grid.quick != run.grid.quick:
            raise UserError(
                f"{run.path}: a {'quick' if run.grid.quick else 'full'} run cannot be merged "
                f"with {first.path}, a {'quick' if first.grid.quick else 'full'} run"
            )
    cells: dict[GroupKey, CellGroup] = {}
    leakage: dict[str, dict[int, dict[str, float]]] = {}
    for run in runs:
        for key, group in run.cells.items():
            merged = cells.setdefault(key, CellGroup(*key))
            for seed, result in group.seeds.items():
                if seed in merged.seeds:
                    raise UserError(
                        f"{result.source}: cell {'/'.join(key)}/seed {seed} is "
                        f"also in {merged.seeds[seed].source}; pass each cell "
                        "once"
                    )
                merged.seeds[seed] = result
        for split, by_seed in run.leakage.items():
            for seed, values in by_seed.items():
                leakage.setdefault(split, {}).setdefault(seed, values)
    grids = [run.grid for run in runs]
    grid = Grid(
        splits=tuple(_unique(s for g in grids for s in g.splits)),
        configs=tuple(_unique(c for g in grids for c in g.configs)),
        seeds=tuple(sorted({s for g in grids for s in g.seeds})),
        fit_on=tuple(_unique(f for g in grids for f in g.fit_on)),
        epochs=next((g.epochs for g in grids if g.epochs is not None), None),
        declared=all(g.declared for g in grids),
        cells=frozenset().union(*(g.cells for g in grids)),
        quick=True if any(g.quick for g in grids) else grids[0].quick,
    )
    order = _orderer(grid)
    ordered = dict(sorted(cells.items(), key=lambda item: order((*item[0], 0))))
    provenance = dict(first.provenance)
    if not provenance.get("data_sha256"):
        provenance["data_sha256"] = next((r.data_sha256 for r in runs if r.data_sha256), None)
    return Run(
        path=first.path,
        sources=tuple(p for r in runs for p in r.sources),
        cells=ordered,
        leakage=leakage,
        provenance=provenance,
        grid=grid,
        datetime=first.datetime,
        other=[e for r in runs for e in r.other],
    )


__all__ = [
    "POPULARITY",
    "CellGroup",
    "CellKey",
    "Grid",
    "GroupKey",
    "Run",
    "SeedResult",
    "is_cell_entry",
    "load_run",
    "merge_runs",
]
