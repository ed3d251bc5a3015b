"""A grid cell's benchmarks, run the same way under pytest and on a cluster worker.

``benchmarks/test_grid.py`` times them with pytest-benchmark's fixture
(:class:`BenchmarkTimer`); a cluster worker (:mod:`harness.run.cluster`) with
:class:`PlainTimer`, which builds the same entries with pytest-benchmark's own ``Stats``
(:func:`harness.run.publish.stats_of`), so a cell's record does not depend on where it
ran.

A learned cell is two benchmarks sharing one model: :func:`train_cell` (one timed round of
fitting, then the evaluation) and :func:`infer_cell` (``INFERENCE_ROUNDS`` timed rounds of
top-k inference, then the serving retrievers); a baseline is one, :func:`baseline_cell`.
:func:`run_cell_entries` runs a whole cell and never raises (a worker's way).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.evaluation.keys import accuracy_key
from harness.record.cellentry import benchmark_entry, benchmark_group, entry_info
from harness.record.grid import BASELINES, QUICK_USER_FRACTION
from harness.run.publish import benchmark_entry_of, stats_of

INFERENCE_ROUNDS = 5
SERVING_ROUNDS = 3  # timed searches per serving retriever, after one warm-up each
# The options pytest-benchmark's fixture records with its default settings, for the
# entries timed outside pytest (``pedantic`` uses none of them but the timer).
FIXTURE_OPTIONS = {"disable_gc": False, "timer": "perf_counter", "min_rounds": 5,
                   "max_time": 1.0, "min_time": 5e-06, "precision": None, "confidence": None,
                   "warmup": False}


@dataclass(frozen=True)
class CellContext:
    """What a cell needs from its grid: the table, epochs, tuned file, evaluation and the
    code's environment (``records.environment()``, computed once per run)."""

    data: object
    epochs: int
    tuned: object
    evaluation: object
    env: dict


@dataclass(frozen=True)
class Outcome:
    """A cell that ended: "ok" or "failed", its benchmark entries and a one-line summary;
    ``kept``: whether the run directory stores it (a fit that raised is recorded; a
    failure elsewhere, or a worker lost, is not, so the next run tries again)."""

    status: str
    entries: list
    summary: str
    kept: bool = True


class FitFailed(Exception):
    """A cell's fitting raised (NaN loss or any other error): its failed record."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.summary)
        self.outcome = outcome


@dataclass
class Live:
    """A trained learned cell, until its inference benchmark."""

    prepared: object
    trained: object
    result: object
    train_entry: dict
    summary: str


class PlainTimer:
    """Times a function as pytest-benchmark's ``pedantic`` does (warm-up rounds, then
    ``rounds`` timed calls of one iteration), outside pytest."""

    def __init__(self, cell, kind: str):
        self.cell, self.kind, self.stats = cell, kind, None

    def time(self, fn, args=(), rounds: int = 1, warmup_rounds: int = 0):
        for _ in range(warmup_rounds):
            fn(*args)
        seconds, result = [], None
        for _ in range(rounds):
            start = time.perf_counter()
            result = fn(*args)
            seconds.append(time.perf_counter() - start)
        self.stats = stats_of(seconds)
        return result

    def entry(self, extra_info: dict) -> dict:
        return benchmark_entry(self.cell, self.kind, extra_info, self.stats,
                               dict(FIXTURE_OPTIONS))


class BenchmarkTimer(PlainTimer):
    """pytest-benchmark's ``benchmark`` fixture, in its group, behind the same calls."""

    def __init__(self, benchmark, cell, kind: str):
        super().__init__(cell, kind)
        self.benchmark = benchmark
        benchmark.group = benchmark_group(cell, kind)

    def time(self, fn, args=(), rounds: int = 1, warmup_rounds: int = 0):
        result = self.benchmark.pedantic(fn, args=args, rounds=rounds,
                                         warmup_rounds=warmup_rounds, iterations=1)
        self.stats = benchmark_entry_of(self.benchmark)["stats"]
        return result

    def entry(self, extra_info: dict) -> dict:
        """The fixture's entry, with the cell as plain params."""
        self.benchmark.extra_info.update(extra_info)
        entry = benchmark_entry_of(self.benchmark)
        entry["params"] = {"cell": self.cell.key}
        entry["param"] = self.cell.key
        return entry


def load_grid_data(dataset: str, data_dir: str | None, quick: bool):
    """A grid's table: the dataset, and with ``quick`` its users subsample."""
    from harness.data.datasets import load_dataset
    from harness.data.sources import subsample_users

    data = load_dataset(dataset, data_dir)
    return subsample_users(data, QUICK_USER_FRACTION, seed=0) if quick else data


def _prepare(context: CellContext, cell):
    """The cell's split and features, with the options of its protocol."""
    from harness.model.training import TrainOptions
    from harness.run.prepare import cell_options, prepare_cell

    if cell.config in BASELINES:
        return prepare_cell(context.data, cell.split, cell.config, cell.seed,
                            TrainOptions(epochs=context.epochs),
                            evaluation=context.evaluation)
    options, tuning = cell_options(cell, context.epochs, context.tuned)
    return prepare_cell(context.data, cell.split, cell.config, cell.seed, options,
                        protocol=cell.protocol, tuning=tuning, evaluation=context.evaluation)


def train_cell(context: CellContext, cell, timer: PlainTimer) -> Live:
    """Fits a learned cell (one timed round) and evaluates it.

    Raises:
        FitFailed: the fitting raised; its outcome is the failed record to keep.
    """
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell_per_user
    from harness.run.result import failed_result, result_of

    prepared = _prepare(context, cell)
    start = time.perf_counter()
    try:
        trained = timer.time(fit_cell, args=(prepared,))
    except Exception as error:  # NaN loss or any other failure: record it, go on
        info = entry_info(failed_result(prepared, error, context.env), "train", None)
        entry = benchmark_entry(cell, "train", info,
                                stats_of([time.perf_counter() - start]))
        raise FitFailed(Outcome("failed", [entry], f"FAILED: {error}")) from error
    metrics, timings, per_user = evaluate_cell_per_user(prepared, trained)
    result = result_of(prepared, trained, metrics, timings, context.env, per_user)
    entry = timer.entry(entry_info(result, "train", trained.examples_per_second))
    summary = (f"trained at {trained.examples_per_second:,.0f} examples/s, test top-100 "
               f"{metrics[accuracy_key(100)]:.4f}")
    return Live(prepared, trained, result, entry, summary)


def infer_cell(live: Live, timer: PlainTimer) -> Outcome:
    """Times a trained cell's top-k inference, then its serving retrievers."""
    from harness.model.twotower import infer_top_k
    from harness.run.serving import cell_serving

    prepared, trained = live.prepared, live.trained
    timer.time(infer_top_k, args=(prepared, trained), rounds=INFERENCE_ROUNDS,
               warmup_rounds=1)
    queries_per_second = prepared.split.test.size / timer.stats["median"]
    info = entry_info(live.result, "inference", queries_per_second)
    # The serving retrievers (exact one-pass, TF brute force, ScaNN) side by side on the
    # same embeddings, after the timed TF path: one key of their own.
    try:
        info["serving"] = cell_serving(prepared, trained, rounds=SERVING_ROUNDS)
    except ValueError as error:  # e.g. embeddings that are not finite: keep the cell
        info["serving"] = {"error": f"{type(error).__name__}: {error}"}
    return Outcome("ok", [live.train_entry, timer.entry(info)],
                   f"{live.summary}, {queries_per_second:,.0f} queries/s")


def baseline_cell(context: CellContext, cell, timer: PlainTimer) -> Outcome:
    """Fits a non-learned retriever and times its ranking of every test query (the
    headline ranking: with exclude_seen, each query's seen titles left out)."""
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell_per_user, left_out
    from harness.run.result import result_of

    baseline = _prepare(context, cell)
    fitted = fit_cell(baseline)
    rank = baseline.retriever.ranker(baseline, fitted, "test")
    timer.time(rank, args=(left_out(baseline, "test", context.evaluation.ranking),),
               rounds=INFERENCE_ROUNDS, warmup_rounds=1)
    metrics, timings, per_user = evaluate_cell_per_user(baseline, fitted)
    result = result_of(baseline, fitted, metrics, timings, context.env, per_user)
    queries_per_second = baseline.split.test.size / timer.stats["median"]
    return Outcome("ok", [timer.entry(entry_info(result, "inference", queries_per_second))],
                   f"{cell.config} test top-100 {result.metrics[accuracy_key(100)]:.4f}")


def run_cell_entries(context: CellContext, cell) -> Outcome:
    """A whole cell outside pytest; an error is its outcome, never raised."""
    try:
        if cell.config in BASELINES:
            return baseline_cell(context, cell, PlainTimer(cell, "inference"))
        live = train_cell(context, cell, PlainTimer(cell, "train"))
        return infer_cell(live, PlainTimer(cell, "inference"))
    except FitFailed as failed:
        return failed.outcome
    except Exception as error:
        return Outcome("failed", [], f"FAILED: {type(error).__name__}: {error}", kept=False)


__all__ = ["INFERENCE_ROUNDS", "SERVING_ROUNDS", "BenchmarkTimer", "CellContext", "FitFailed",
           "Live", "Outcome", "PlainTimer", "baseline_cell", "infer_cell", "load_grid_data",
           "run_cell_entries", "train_cell"]
