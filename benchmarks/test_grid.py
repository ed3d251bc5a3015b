"""The seed x split x configuration grid: a training and an inference benchmark per cell.

Both benchmarks of a cell share one trained model. Each finished cell is written to the
run directory at once, so an interrupted run resumes where it stopped.

The modules that load TensorFlow are imported by the cells that use them, not at
collection: ``--collect-only``, ``--help`` and a grid refused before its first cell
(a tuned file that does not fit, a run directory of another grid) end in about a second
instead of paying TensorFlow's import.
"""

from __future__ import annotations

import time

import pytest

from harness.evaluation.keys import accuracy_key
from harness.record.cellentry import benchmark_entry, benchmark_group, entry_info
from harness.run.publish import benchmark_entry_of, one_round_stats

INFERENCE_ROUNDS = 5
SERVING_ROUNDS = 3  # timed searches per serving retriever, after one warm-up each


def _prepare(grid_run, cell):
    """The cell's split and features, with the options of its protocol
    (:func:`~harness.run.prepare.cell_options`)."""
    from harness.run.prepare import cell_options, prepare_cell

    options, tuning = cell_options(cell, grid_run.grid.epochs, grid_run.tuned)
    return prepare_cell(grid_run.data, cell.split, cell.config, cell.seed, options,
                        protocol=cell.protocol, tuning=tuning, evaluation=grid_run.evaluation)


def _failed_entry(cell, kind: str, seconds: float, extra_info: dict) -> dict:
    """A benchmark entry for a cell that raised: pytest-benchmark drops those."""
    return benchmark_entry(cell, kind, extra_info, one_round_stats(seconds))


def _entry(benchmark, cell) -> dict:
    """The benchmark's pytest-benchmark JSON entry, with the cell as plain params."""
    entry = benchmark_entry_of(benchmark)
    entry["params"] = {"cell": cell.key}
    entry["param"] = cell.key
    return entry


def _skip(grid_run, cell) -> None:
    """A configuration the dataset cannot feed is reported, a finished cell resumed."""
    reason = grid_run.skip_reason(cell)
    if reason is not None:
        pytest.skip(reason)


def _median_seconds(benchmark) -> float:
    return benchmark_entry_of(benchmark)["stats"]["median"]


def test_train(benchmark, grid_run, cell):
    _skip(grid_run, cell)
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell_per_user
    from harness.run.result import failed_result, result_of

    benchmark.group = benchmark_group(cell, "train")
    prepared = _prepare(grid_run, cell)
    start = time.perf_counter()
    try:
        trained = benchmark.pedantic(fit_cell, args=(prepared,), rounds=1, iterations=1)
    except Exception as error:  # NaN loss or any other failure: record it, go on
        result = failed_result(prepared, error, grid_run.env)
        info = entry_info(result, "train", None)
        grid_run.store(cell, "failed",
                       [_failed_entry(cell, "train", time.perf_counter() - start, info)],
                       f"FAILED: {error}")
        raise
    try:
        metrics, timings, per_user = evaluate_cell_per_user(prepared, trained)
    except Exception as error:
        grid_run.progress(cell, f"FAILED in evaluation: {error}")
        raise
    result = result_of(prepared, trained, metrics, timings, grid_run.env, per_user)
    benchmark.extra_info.update(entry_info(result, "train", trained.examples_per_second))
    summary = (f"trained at {trained.examples_per_second:,.0f} examples/s, test top-100 "
               f"{metrics[accuracy_key(100)]:.4f}")
    grid_run.live[cell.key] = (prepared, trained, result, _entry(benchmark, cell), summary)


def test_inference(benchmark, grid_run, cell):
    _skip(grid_run, cell)
    from harness.model.twotower import infer_top_k
    from harness.run.serving import cell_serving

    if cell.key not in grid_run.live:
        pytest.skip("no trained model: the training benchmark of this cell did not finish")
    prepared, trained, result, train_entry, summary = grid_run.live.pop(cell.key)
    benchmark.group = benchmark_group(cell, "inference")
    try:
        benchmark.pedantic(infer_top_k, args=(prepared, trained), rounds=INFERENCE_ROUNDS,
                           warmup_rounds=1, iterations=1)
    except Exception as error:
        grid_run.progress(cell, f"FAILED in inference: {error}")
        raise
    queries_per_second = prepared.split.test.size / _median_seconds(benchmark)
    benchmark.extra_info.update(entry_info(result, "inference", queries_per_second))
    # The serving retrievers (exact one-pass, TF brute force, ScaNN) side by side on the
    # same embeddings, after the timed TF path: one key of their own.
    try:
        serving = cell_serving(prepared, trained, rounds=SERVING_ROUNDS)
    except ValueError as error:  # e.g. embeddings that are not finite: keep the cell
        serving = {"error": f"{type(error).__name__}: {error}"}
    benchmark.extra_info["serving"] = serving
    grid_run.store(cell, "ok", [train_entry, _entry(benchmark, cell)],
                   f"{summary}, {queries_per_second:,.0f} queries/s")


def test_baseline(benchmark, grid_run, baseline_cell):
    cell = baseline_cell
    _skip(grid_run, cell)
    from harness.model.training import TrainOptions
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell_per_user, left_out
    from harness.run.prepare import prepare_cell
    from harness.run.result import result_of

    benchmark.group = benchmark_group(cell, "inference")
    try:
        baseline = prepare_cell(grid_run.data, cell.split, cell.config, cell.seed,
                                TrainOptions(epochs=grid_run.grid.epochs),
                                evaluation=grid_run.evaluation)
        fitted = fit_cell(baseline)
        # The inference workload: rank every test query's item under the baseline (the
        # headline ranking: with exclude_seen, each query's seen titles left out).
        rank = baseline.retriever.ranker(baseline, fitted, "test")
        benchmark.pedantic(rank,
                           args=(left_out(baseline, "test", grid_run.evaluation.ranking),),
                           rounds=INFERENCE_ROUNDS, warmup_rounds=1, iterations=1)
        metrics, timings, per_user = evaluate_cell_per_user(baseline, fitted)
        result = result_of(baseline, fitted, metrics, timings, grid_run.env, per_user)
    except Exception as error:
        grid_run.progress(cell, f"FAILED: {error}")
        raise
    queries_per_second = baseline.split.test.size / _median_seconds(benchmark)
    benchmark.extra_info.update(entry_info(result, "inference", queries_per_second))
    grid_run.store(cell, "ok", [_entry(benchmark, cell)],
                   f"{cell.config} test top-100 {result.metrics[accuracy_key(100)]:.4f}")
