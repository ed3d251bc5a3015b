"""The report's layout: which tables it has, which rows they hold, which cells fill them.

A report has one accuracy table (and one verdict table) per (protocol, fit_on) that the
learned configurations ran under; its rows are the configurations, the non-learned
scorers first; a scorer that ignores fit_on and the protocol fills every table from
whichever of its cell groups was run.
"""

from __future__ import annotations

from harness.record.cell import TUTORIAL
from harness.record.grid import BASELINES
from harness.record.runs import CellGroup, Run


def group_for(run: Run, split: str, config: str, fit_on: str, protocol: str = TUTORIAL
              ) -> CellGroup | None:
    """The cells of (split, config, fit_on, protocol); a baseline ignores fit_on and the
    protocol, so any of its groups stands in for those it was not run under."""
    group = run.cells.get((split, config, fit_on, protocol))
    if group is None and config in BASELINES:
        group = next((g for k, g in run.cells.items() if k[:2] == (split, config)), None)
    return group


def row_configs(run: Run) -> list[str]:
    """The configurations of the run, in grid order, the baselines first."""
    configs = [c for c in run.grid.all_configs if any(k[1] == c for k in run.cells)]
    configs += [c for c in run.configs if c not in configs]
    return sorted(configs, key=lambda c: c not in BASELINES)  # stable: baselines first


def table_keys(run: Run) -> list[tuple[str, str]]:
    """(protocol, fit_on) of each table: those the learned configurations ran under."""
    found = [(p, f) for p in run.protocols for f in run.fit_ons
             if any(k[3] == p and k[2] == f and k[1] not in BASELINES for k in run.cells)]
    return found or [(TUTORIAL, f) for f in run.fit_ons]


def table_title(protocol: str, fit_on: str) -> str:
    """The heading of one (protocol, fit_on) table."""
    return f"{protocol} protocol, fit_on={fit_on}"


__all__ = ["group_for", "row_configs", "table_keys", "table_title"]
