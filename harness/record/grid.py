"""The grid: the cells a run sets out to produce, as the benchmark options give them and
as a results file declares them (``ctxbench.grid``, read by :mod:`harness.record.declared`).

No TensorFlow here: the reader imports this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import UserError
from harness.model.features import FIT_ON  # the rows preprocessing may be fitted on
from harness.model.registry import POPULARITY, non_learned_names
from harness.record.cell import FIXED_OPTIONS, PROTOCOLS, TUTORIAL, Cell

# The non-learned references: one cell per (split, seed), preprocessing irrelevant.
BASELINES = non_learned_names()  # the registry's, as it stands at import
# Those a grid runs when it names none: popularity and EASE^R (the history-aware scorers
# run when named, as the causal configurations do).
DEFAULT_BASELINES = non_learned_names(default_only=True)
# The tutorial's two configurations, also run with preprocessing fitted on all rows.
TUTORIAL_CONFIGS = ("baseline", "timestamp")
DEFAULT_FIT_ON = "default"  # train for every configuration, plus all for the tutorial's
# The CI smoke grid (--quick): the tutorial's configurations and popularity (EASE needs
# no TensorFlow, so a TF-version smoke run has nothing to learn from it).
QUICK_CONFIGS = TUTORIAL_CONFIGS
QUICK_BASELINES = (POPULARITY,)
QUICK_USER_FRACTION = 0.2
QUICK_SEEDS = 3
DEFAULT_SEEDS = 5  # seeds 0 .. 4: the grid's, and the seeds a tuning tunes a seeded split for


def unique(items: Iterable) -> list:
    """``items`` without repeats, in first-seen order."""
    return list(dict.fromkeys(items))


def fit_on_for(fit_on: tuple[str, ...], config: str, protocol: str = TUTORIAL
               ) -> tuple[str, ...]:
    """The fit_on settings a configuration runs under: the baselines ignore preprocessing;
    ``("default",)`` means train for every configuration, plus all for the tutorial's under
    the tutorial protocol (the leak of fitting on every row is measured once, where the
    tutorial made it); an explicit fit_on holds under every protocol of the tutorial's
    fixed budget; the tuned protocol fits on the training split only (tuning chose on
    train alone)."""
    if config in BASELINES or protocol not in FIXED_OPTIONS:
        return ("train",)
    if fit_on == (DEFAULT_FIT_ON,):
        tutorials = config in TUTORIAL_CONFIGS and protocol == TUTORIAL
        return ("train", "all") if tutorials else ("train",)
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
    baselines: tuple[str, ...] = DEFAULT_BASELINES
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
            raise UserError(f"--protocol must be one of {', '.join(PROTOCOLS)}, all; got "
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


__all__ = ["BASELINES", "DEFAULT_BASELINES", "DEFAULT_FIT_ON", "DEFAULT_SEEDS",
           "QUICK_BASELINES", "QUICK_CONFIGS", "QUICK_SEEDS", "QUICK_USER_FRACTION",
           "TUTORIAL_CONFIGS", "Grid", "fit_on_for", "unique"]
