"""The seed x split x configuration grid: a training and an inference benchmark per cell.

Both benchmarks of a cell share one trained model; what they run is
:mod:`harness.run.gridcell`'s, timed here by pytest-benchmark's fixture. Each finished
cell is written to the run directory at once, so an interrupted run resumes where it
stopped. With ``--cluster`` the session has run the cells on the cluster's workers before
the first test (:mod:`harness.run.cluster`); their tests report what came back.

The modules that load TensorFlow are imported by the cells that use them, not at
collection: ``--collect-only``, ``--help`` and a grid refused before its first cell
(a tuned file that does not fit, a run directory of another grid) end in about a second
instead of paying TensorFlow's import.
"""

from __future__ import annotations

import pytest

from harness.run.gridcell import BenchmarkTimer


def _skip(grid_run, cell, kind: str) -> None:
    """A configuration the dataset cannot feed is reported, a finished cell resumed, a
    cell that ran on the cluster reported (a failed one fails its first benchmark)."""
    outcome = grid_run.elsewhere.get(cell.key)
    if outcome is not None and outcome.status != "ok" and kind != "inference":
        pytest.fail(outcome.summary, pytrace=False)
    reason = grid_run.skip_reason(cell)
    if reason is not None:
        pytest.skip(reason)


def test_train(benchmark, grid_run, cell):
    _skip(grid_run, cell, "train")
    from harness.run.gridcell import FitFailed, train_cell

    try:
        grid_run.live[cell.key] = train_cell(grid_run.context, cell,
                                             BenchmarkTimer(benchmark, cell, "train"))
    except FitFailed as failed:
        grid_run.store(cell, failed.outcome)
        raise
    except Exception as error:
        grid_run.progress(cell, f"FAILED: {error}")  # preparing or evaluating it
        raise


def test_inference(benchmark, grid_run, cell):
    _skip(grid_run, cell, "inference")
    from harness.run.gridcell import infer_cell

    if cell.key not in grid_run.live:
        pytest.skip("no trained model: the training benchmark of this cell did not finish")
    try:
        outcome = infer_cell(grid_run.live.pop(cell.key),
                             BenchmarkTimer(benchmark, cell, "inference"))
    except Exception as error:
        grid_run.progress(cell, f"FAILED in inference: {error}")
        raise
    grid_run.store(cell, outcome)


def test_baseline(benchmark, grid_run, baseline_cell):
    cell = baseline_cell
    _skip(grid_run, cell, "baseline")
    from harness.run.gridcell import baseline_cell as run_baseline

    try:
        outcome = run_baseline(grid_run.context, cell,
                               BenchmarkTimer(benchmark, cell, "inference"))
    except Exception as error:
        grid_run.progress(cell, f"FAILED: {error}")
        raise
    grid_run.store(cell, outcome)
