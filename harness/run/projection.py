"""On paper: the full default grid and the tuning at MovieLens-25M's shape on W workers.

The model, from measured costs only:

- a learned cell's training at 25M = its measured 100k train seconds (the committed grid,
  every protocol, each cell's own hyperparameters and epochs) x R, where R = one
  25M-shaped epoch of the tutorial's ``baseline`` on the random split
  (``harness.run.datascale``) / one 100k epoch of the same model (the median over seeds of
  that cell's train seconds per epoch): an epoch's cost grows with its rows at fixed
  hyperparameters (in-batch negatives: the catalogue does not enter);
- every cell adds the 25M-shaped split and features (``prepare_seconds``) and exact
  evaluation of its test side against the whole catalogue (the measured queries/s, times
  the split's test queries scaled from 100k's);
- popularity on a time split is computed once for all seeds (:mod:`harness.run.reuse`);
  a baseline with catalogue x catalogue matrices is left out (EASE^R: the size guard
  skips it at 62,423 titles);
- a tuning trial = its measured 100k seconds x R plus the split and features; a study's
  trials run one after another (each TPE draw reads the ones before), studies in parallel;
- each worker loads the table once; cells (studies) go longest first to the worker free
  soonest (LPT); no transfer of the table, no failures.
"""

from __future__ import annotations

import heapq
import statistics
from collections import defaultdict

from harness.errors import UserError
from harness.model.registry import get_retriever
from harness.record.cell import Cell
from harness.record.grid import BASELINES
from harness.record.peruser import PerUser
from harness.run.reuse import source_of


def makespan(tasks: list[float], workers: int, start: float) -> float:
    """Seconds until ``workers`` finish ``tasks`` taken longest first by the worker free
    soonest, each worker starting after ``start`` seconds (its table load)."""
    free = [start] * workers
    for task in sorted(tasks, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + task)
    return max(free)


def _cells(benchmark: dict):
    """(cell, extra_info) of every finished cell entry of a grid's benchmark document."""
    for entry in benchmark.get("benchmarks", []):
        info = entry.get("extra_info", {})
        if info.get("kind") in ("train", "inference") and info.get("status") == "ok":
            yield Cell(info["split"], info["config"], info["fit_on"], info["seed"],
                       info.get("protocol", "tutorial")), info


def projection(benchmark: dict, tuned: dict, scale: dict,
               workers: tuple[int, ...]) -> dict:
    """The model's inputs and, per worker count, the grid's and the tuning's wall time.

    Raises:
        UserError: a document lacks what the model reads.
    """
    try:
        trains, epochs, tests, baselines = {}, {}, defaultdict(list), []
        for cell, info in _cells(benchmark):
            if info["kind"] == "train":
                trains[cell], epochs[cell] = info["timings"]["train_seconds"], info["epochs"]
            elif cell.config in BASELINES:
                baselines.append(cell)
            if "per_user" in info:
                tests[cell.split].append(int(PerUser.from_dict(
                    info["per_user"], cell.key).queries.sum()))
        epoch_100k = statistics.median(
            seconds / epochs[cell] for cell, seconds in trains.items()
            if (cell.split, cell.config, cell.protocol, cell.fit_on)
            == ("random", "baseline", "tutorial", "train"))
        n_test = {split: max(counts) for split, counts in tests.items()}
        ratio = scale["train_seconds"] / epoch_100k
        prepare, load = scale["prepare_seconds"], scale["load_seconds"]
        full_eval = scale["full_eval_seconds_estimate"]
    except (KeyError, TypeError, ValueError, statistics.StatisticsError) as error:
        raise UserError(f"cannot project: {type(error).__name__}: {error}") from None

    def evaluation(split: str) -> float:
        return full_eval * n_test[split] / n_test["random"]

    grid = [prepare + seconds * ratio + evaluation(cell.split)
            for cell, seconds in trains.items()]
    # A baseline with catalogue x catalogue matrices is left out (EASE^R: 232 GiB at 25M's
    # titles); one that reads no seed runs once (harness.run.reuse).
    grid += [prepare + evaluation(cell.split) for cell in baselines
             if not get_retriever(cell.config).item_matrices
             and source_of(cell, baselines) is None]
    studies = [sum(prepare + trial["seconds"] * ratio for trial in study["trials"])
               for study in tuned["cells"].values()]
    rows = [{"workers": count, "grid_hours": makespan(grid, count, load) / 3600,
             "tuning_hours": makespan(studies, count, load) / 3600}
            for count in (1, *workers)]
    return {"inputs": {"epoch_seconds_100k": epoch_100k,
                       "epoch_seconds_25m": scale["train_seconds"], "ratio": ratio,
                       "prepare_seconds": prepare, "load_seconds": load,
                       "full_eval_seconds_random": full_eval,
                       "worker_memory_mib": scale["peak_rss_mib"]},
            "grid_cells": len(grid), "studies": len(studies),
            "trials": sum(len(study["trials"]) for study in tuned["cells"].values()),
            "grid_work_hours": sum(grid) / 3600, "tuning_work_hours": sum(studies) / 3600,
            "longest_cell_hours": max(grid) / 3600, "longest_study_hours": max(studies) / 3600,
            "rows": rows}


def render_projection(plan: dict) -> str:
    """The projection's Markdown section."""
    inputs = plan["inputs"]
    lines = [
        "## The full default grid and the tuning at MovieLens-25M's shape (projected)",
        "",
        f"From measured costs (the model: `harness/run/projection.py`): one 25M-shaped epoch "
        f"{inputs['epoch_seconds_25m']:.0f} s against one 100k epoch "
        f"{inputs['epoch_seconds_100k']:.2f} s of the same model (R = "
        f"{inputs['ratio']:.0f}); each cell and trial adds the split and features "
        f"({inputs['prepare_seconds']:.0f} s), each cell exact evaluation "
        f"({inputs['full_eval_seconds_random']:.0f} s on the random split's test side); "
        f"each worker loads the table once ({inputs['load_seconds']:.0f} s) and needs "
        f"{inputs['worker_memory_mib'] / 1024:.1f} GiB. {plan['grid_cells']} grid cells "
        f"({plan['grid_work_hours']:.0f} machine-hours; EASE^R skipped by the size guard), "
        f"{plan['studies']} studies of {plan['trials']} trials "
        f"({plan['tuning_work_hours']:.0f} machine-hours).",
        "",
        "| workers | grid | tuning |",
        "| ---: | ---: | ---: |",
        *(f"| {row['workers']} | {row['grid_hours']:.1f} h | {row['tuning_hours']:.1f} h |"
          for row in plan["rows"]),
        "",
        f"The grid's floor is its longest cell ({plan['longest_cell_hours']:.1f} h); the "
        f"tuning's its longest study ({plan['longest_study_hours']:.1f} h), whose trials "
        "run one after another: past as many workers as studies, more workers do not help.",
    ]
    return "\n".join(lines)


__all__ = ["makespan", "projection", "render_projection"]
