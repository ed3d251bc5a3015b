"""What a run is made of: the grid, the cell, the cell's result and its benchmark entries.

One definition of each, used by the writer (``benchmarks/``), the reader
(:mod:`harness.results.runs`) and the test fixtures alike, so that none of them can drift
from the others:

- :class:`Cell` — (split, configuration, fit_on, seed, protocol), with its key
  ``"<split>-<config>-<fit_on>-s<seed>"`` under the tutorial protocol and
  ``"<split>-<config>-<fit_on>-<protocol>-s<seed>"`` under another (registered names
  hold no ``-``, so a key parses back exactly, and files from before protocols read as
  the tutorial's);
- :class:`Grid` — the cells a run sets out to produce, as the benchmark options give
  them and as a results file declares them (``ctxbench.grid``);
- :class:`CellResult` — what one cell measured;
- :func:`entry_info` builds a benchmark entry's ``extra_info`` from a result, and
  :func:`parse_entry` / :func:`merge_entries` read entries back into a result;
- :func:`differences` says how two descriptions of a run differ (a run directory's
  manifest against the current run, or two results files before comparing them).

No TensorFlow here: the reader imports this module.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UserError
from harness.model.features import FIT_ON  # the rows preprocessing may be fitted on
from harness.model.registry import EASE, POPULARITY, non_learned_names
from harness.record.peruser import PerUser

# The non-learned references: one cell per (split, seed), preprocessing irrelevant.
BASELINES = non_learned_names()  # the registry's, as it stands at import: (POPULARITY, EASE)
# The tutorial's two configurations, also run with preprocessing fitted on all rows.
TUTORIAL_CONFIGS = ("baseline", "timestamp")
DEFAULT_FIT_ON = "default"  # train for every configuration, plus all for the tutorial's
KINDS = ("train", "inference")  # the benchmarks of a cell
STATUSES = ("ok", "failed")
# How a cell's hyperparameters are chosen: the TFRS tutorial's fixed ones (3 epochs of
# Adagrad(0.1), batch 2048), or each (split, configuration)'s own, tuned on its validation
# slice (``results/tuned.json``, :mod:`harness.run.tuned`). The non-learned baselines have
# nothing to tune: they run once, under the tutorial protocol, and stand in both tables.
TUTORIAL, TUNED = "tutorial", "tuned"
PROTOCOLS = (TUTORIAL, TUNED)
BUDGET_FORMAT = "ctxbench-budget/1"  # budget.json (harness.run.budget, harness.report.budget)
# The CI smoke grid (--quick): the tutorial's configurations and popularity (EASE needs
# no TensorFlow, so a TF-version smoke run has nothing to learn from it).
QUICK_CONFIGS = TUTORIAL_CONFIGS
QUICK_BASELINES = (POPULARITY,)
QUICK_USER_FRACTION = 0.2
QUICK_SEEDS = 3

GroupKey = tuple[str, str, str, str]
"""(split, config, fit_on, protocol): the cells of one configuration over seeds."""

_KEY = re.compile(r"(?P<split>[^-]+)-(?P<config>[^-]+)-(?P<fit_on>[^-]+)"
                  rf"(?:-(?P<protocol>{'|'.join(p for p in PROTOCOLS if p != TUTORIAL)}))?"
                  r"-s(?P<seed>\d+)")


def group_label(key: GroupKey) -> str:
    """"split/config/fit_on", with "/protocol" unless it is the tutorial's."""
    return "/".join(key[:3] if key[3] == TUTORIAL else key)


def unique(items: Iterable) -> list:
    """``items`` without repeats, in first-seen order."""
    return list(dict.fromkeys(items))


@dataclass(frozen=True, order=True)
class Cell:
    """One unit of work: a configuration (or a baseline, ``BASELINES``) trained with
    preprocessing fitted on ``fit_on`` rows, on one split, with one seed, under one
    protocol (``PROTOCOLS``)."""

    split: str
    config: str
    fit_on: str
    seed: int
    protocol: str = TUTORIAL

    @property
    def key(self) -> str:
        protocol = "" if self.protocol == TUTORIAL else f"-{self.protocol}"
        return f"{self.split}-{self.config}-{self.fit_on}{protocol}-s{self.seed}"

    @property
    def group(self) -> str:
        protocol = "" if self.protocol == TUTORIAL else f"/{self.protocol}"
        return f"{self.split}/{self.config}/fit_on={self.fit_on}{protocol}"

    @property
    def group_key(self) -> GroupKey:
        return (self.split, self.config, self.fit_on, self.protocol)

    @classmethod
    def in_group(cls, key: GroupKey, seed: int) -> Cell:
        """The cell of seed ``seed`` in the group ``key`` (:attr:`group_key`)."""
        split, config, fit_on, protocol = key
        return cls(split, config, fit_on, seed, protocol)

    @classmethod
    def from_key(cls, key: str) -> Cell:
        """The cell of a :attr:`key`.

        Raises:
            ValueError: ``key`` is not of the form ``split-config-fit_on-sSEED``.
        """
        match = _KEY.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(f"malformed cell key {key!r:.60}")
        return cls(match["split"], match["config"], match["fit_on"], int(match["seed"]),
                   match["protocol"] or TUTORIAL)


def fit_on_for(fit_on: tuple[str, ...], config: str, protocol: str = TUTORIAL
               ) -> tuple[str, ...]:
    """The fit_on settings a configuration runs under: the baselines ignore preprocessing;
    ``("default",)`` means train for every configuration plus all for the tutorial's; the
    tuned protocol fits on the training split only (tuning chose on train alone)."""
    if config in BASELINES or protocol != TUTORIAL:
        return ("train",)
    if fit_on == (DEFAULT_FIT_ON,):
        return ("train", "all") if config in TUTORIAL_CONFIGS else ("train",)
    return fit_on


@dataclass(frozen=True)
class Grid:
    """The cells a run sets out to produce, in run order.

    Attributes:
        splits, configs: names in run order (``configs`` holds learned configurations;
            the non-learned ones are :attr:`baselines`).
        seeds: the seeds.
        epochs: training epochs (None when a results file does not say).
        fit_on: ``("default",)``, or the fit_on settings every configuration runs under.
        baselines: the non-learned baselines run, one cell per (split, seed).
        protocols: ``PROTOCOLS`` the learned configurations run under.
        quick: a users subsample for smoke runs (None when a file does not say).
        selected: the exact cells, when they are fewer than the product above (pytest
            ``-k``, a file that lists them, or a grid inferred from the cells present).
        declared: False for a grid inferred from the cells of a file that declared none.
    """

    splits: tuple[str, ...]
    configs: tuple[str, ...]
    seeds: tuple[int, ...]
    epochs: int | None = 3
    fit_on: tuple[str, ...] = (DEFAULT_FIT_ON,)
    baselines: tuple[str, ...] = BASELINES
    quick: bool | None = False
    selected: frozenset[Cell] | None = None
    declared: bool = True
    protocols: tuple[str, ...] = (TUTORIAL,)

    def fit_on_for(self, config: str, protocol: str = TUTORIAL) -> tuple[str, ...]:
        return fit_on_for(self.fit_on, config, protocol)

    def protocols_for(self, config: str) -> tuple[str, ...]:
        """The protocols a configuration runs under (a baseline: once, as the tutorial's)."""
        return (TUTORIAL,) if config in BASELINES else self.protocols

    @property
    def all_configs(self) -> tuple[str, ...]:
        """Configurations in run order, the baselines first."""
        return self.baselines + self.configs

    def cells(self) -> list[Cell]:
        """Every cell, grouped by split, then configuration, protocol and fit_on, then
        seed."""
        cells = [Cell(split, config, fit_on, seed, protocol)
                 for split in self.splits
                 for config in self.all_configs
                 for protocol in self.protocols_for(config)
                 for fit_on in self.fit_on_for(config, protocol)
                 for seed in self.seeds]
        if self.selected is None:
            return cells
        listed = set(cells)
        return ([cell for cell in cells if cell in self.selected]
                + sorted(self.selected - listed, key=self.order))

    def order(self, cell: Cell) -> tuple:
        """A sort key putting cells in this grid's order; names it does not list go last."""
        configs = self.all_configs
        fit_ons = ("train", "all")
        return (
            self.splits.index(cell.split) if cell.split in self.splits else len(self.splits),
            cell.split,
            configs.index(cell.config) if cell.config in configs else len(configs),
            cell.config,
            PROTOCOLS.index(cell.protocol) if cell.protocol in PROTOCOLS else len(PROTOCOLS),
            cell.protocol,
            fit_ons.index(cell.fit_on) if cell.fit_on in fit_ons else len(fit_ons),
            cell.fit_on,
            cell.seed,
        )

    def validate(self) -> Grid:
        """Checks what a user asked for against the registries; returns the grid.

        Raises:
            UserError, UnknownNameError: an unknown name or an impossible value.
        """
        from harness.model.features import CONFIGS
        from splits import SPLITS

        SPLITS.resolve(self.splits)
        CONFIGS.resolve(self.configs)
        if not self.splits or not (self.configs or self.baselines):
            raise UserError("the grid needs at least one split and one configuration "
                            "or baseline")
        if not self.seeds:
            raise UserError("--seeds must be a positive integer")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise UserError(f"--epochs must be a positive integer, got {self.epochs!r}")
        if self.fit_on not in ((DEFAULT_FIT_ON,), *((f,) for f in FIT_ON)):
            raise UserError(f"--fit-on must be one of {', '.join(FIT_ON)}, "
                            f"{DEFAULT_FIT_ON}; got {'/'.join(self.fit_on)!r}")
        unknown = [p for p in self.protocols if p not in PROTOCOLS]
        if not self.protocols or unknown:
            raise UserError(f"--protocol must be one of {', '.join(PROTOCOLS)}, both; got "
                            f"{'/'.join(self.protocols)!r}")
        return self

    def to_dict(self) -> dict:
        """The grid as results files and run-directory manifests store it."""
        seeds = self.seeds
        values = {
            "splits": list(self.splits),
            "configs": list(self.configs),
            # A count when the seeds are 0 .. n - 1 (the benchmark option), else a list.
            "seeds": len(seeds) if seeds == tuple(range(len(seeds))) else list(seeds),
            "epochs": self.epochs,
            "fit_on": self.fit_on[0] if len(self.fit_on) == 1 else list(self.fit_on),
            "quick": self.quick,
            "baselines": list(self.baselines),
            "protocols": list(self.protocols),
        }
        if self.selected is not None:
            values["cells"] = [cell.key for cell in self.cells()]
        return values

    @classmethod
    def read(cls, declared: object, present: Iterable[Cell], where: str) -> Grid:
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
        seen_fit_on: dict[str, list[str]] = {}
        for cell in present:
            if cell.protocol != TUTORIAL:
                continue
            seen_fit_on.setdefault(cell.config, [])
            if cell.fit_on not in seen_fit_on[cell.config]:
                seen_fit_on[cell.config].append(cell.fit_on)
        names = _names(declared.get("configs"), where, "configs")
        listed = _names(declared.get("baselines"), where, "baselines")
        if listed is None:  # files from before EASE: a popularity flag, or the cells found
            listed = tuple(b for b in BASELINES
                           if b in (names or ()) or b in seen_fit_on
                           or (b == POPULARITY and declared.get("popularity") is True))
        baselines = tuple(unique([*listed, *(b for b in BASELINES if b in seen_fit_on)]))
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
                if protocol != TUTORIAL:
                    return {"train"}
                seen = set(seen_fit_on.get(config, ()))
                if fit_on is None or config in BASELINES:
                    return seen or {"train"}
                return set(fit_on_for(fit_on, config)) | seen

            selected = frozenset(
                Cell(split, config, f, seed, protocol) for split in splits
                for config in all_configs
                for protocol in ((TUTORIAL,) if config in BASELINES else protocols)
                for f in expected_fit_on(config, protocol) for seed in seeds)
        return cls(splits=splits, configs=configs, seeds=seeds, epochs=epochs,
                   fit_on=fit_on or (DEFAULT_FIT_ON,), baselines=baselines,
                   quick=quick if isinstance(quick, bool) else None,
                   selected=selected, declared=bool(declared), protocols=protocols)

    @classmethod
    def union(cls, grids: list[Grid]) -> Grid:
        """Several runs' grids as one: names in first-seen order, every cell of each, the
        first known epochs, declared only if all were, quick if any was."""
        return cls(
            splits=tuple(unique(s for g in grids for s in g.splits)),
            configs=tuple(unique(c for g in grids for c in g.configs)),
            seeds=tuple(sorted({s for g in grids for s in g.seeds})),
            epochs=next((g.epochs for g in grids if g.epochs is not None), None),
            fit_on=tuple(unique(f for g in grids for f in g.fit_on)),
            baselines=tuple(unique(b for g in grids for b in g.baselines)),
            quick=True if any(g.quick for g in grids) else grids[0].quick,
            selected=frozenset(itertools.chain.from_iterable(g.cells() for g in grids)),
            declared=all(g.declared for g in grids),
            protocols=tuple(unique(p for g in grids for p in g.protocols)),
        )


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


@dataclass(frozen=True)
class CellResult:
    """What one cell measured: written by :mod:`harness.run.cell`, read back by
    :func:`merge_entries`.

    Attributes:
        cell: the cell.
        status: "ok" or "failed" (then ``error`` says why and ``metrics`` may be empty).
        error: the failure, or None.
        model: "two_tower", or the baseline's name.
        epochs: training epochs.
        metrics: flat split-prefixed metrics, e.g. ``test/top_100_categorical_accuracy``
            (JSON null read back as NaN).
        examples_per_second: training throughput (None for a baseline or a failure).
        queries_per_second: inference throughput (the inference benchmark's, when read
            back from one).
        timings: seconds and throughputs of the cell's own measurement.
        sizes: row and vocabulary counts, the training losses per epoch.
        leakage: the split's diagnostics (``splits.leakage_diagnostics``).
        provenance: configuration, options, data source and sha256, versions, git
            commit, command and UTC time.
        source: the file it was read from (None when just measured).
        per_user: the test users' hits (in the inference entry), or None.
    """

    cell: Cell
    status: str = "ok"
    error: str | None = None
    model: str = "two_tower"
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    examples_per_second: float | None = None
    queries_per_second: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, object] = field(default_factory=dict)
    leakage: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, object] = field(default_factory=dict)
    source: Path | None = None
    per_user: PerUser | None = None


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
    return {"group": benchmark_group(cell, kind), "name": f"test_{kind}[{cell.key}]",
            "fullname": f"benchmarks/test_grid.py::test_{kind}[{cell.key}]",
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


def _text(value) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(map(str, value)) or "none"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """How two descriptions of a run differ: one "key: old != new" phrase per differing
    key (nested objects by dotted key), empty when they agree.

    The one comparison of runs: a run directory's manifest against the run resuming
    it, and two results files before ``compare`` or a merge reads them together.
    """
    found = []
    for key in sorted(set(old) | set(new), key=lambda k: (k not in old, list(old).index(k)
                                                           if k in old else 0, k)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}: {_text(a)} != {_text(b)}")
    return found


__all__ = ["BASELINES", "BUDGET_FORMAT", "DEFAULT_FIT_ON", "EASE", "FIT_ON", "KINDS",
           "POPULARITY", "PROTOCOLS", "QUICK_BASELINES", "QUICK_CONFIGS", "QUICK_SEEDS",
           "QUICK_USER_FRACTION", "STATUSES", "TUNED", "TUTORIAL", "TUTORIAL_CONFIGS", "Cell",
           "CellResult", "EntryFields", "Grid", "GroupKey", "benchmark_entry", "benchmark_group",
           "differences", "entry_info", "fit_on_for", "group_label", "is_cell_entry",
           "merge_entries", "parse_entry", "unique"]
