"""One benchmark cell end to end, the same for every retriever: prepare -> fit ->
evaluate -> record (data, split, retriever, seed, options) -> a result record.

The stages live in :mod:`harness.run.prepare`, :mod:`harness.run.evaluate` and
:mod:`harness.run.result` (callers import each from where it is defined); a retriever's
own part is its :class:`harness.model.retriever.Retriever`. This module fits and runs a
cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.data.sources import MovieLens
from harness.errors import UserError
from harness.evaluation.segments import DEFAULT_EVALUATION, Evaluation
from harness.model.training import TrainOptions
from harness.record.cell import CellResult
from harness.run.evaluate import evaluate_cell_per_user
from harness.run.prepare import PreparedCell, prepare_cell
from harness.run.result import result_of


def fit_cell(cell: PreparedCell, strategy=None,
             validate: Callable[[object], float] | None = None):
    """Fits the cell's retriever (the part the training benchmark times; with early
    stopping that includes scoring the validation slice after every epoch, by
    ``validate``: model -> score, :func:`validation_score` unless given).

    Returns:
        What the retriever's ``fit`` returns (the two towers: a ``TrainedModel``), for
        :func:`evaluate_cell` and :func:`result_of`.
    """
    return cell.retriever.fit(cell, strategy=strategy, validate=validate)


def run_cell(data: MovieLens, split_name: str, config_name: str, seed: int,
             options: TrainOptions | None = None, env: dict | None = None,
             strategy=None, evaluation: Evaluation = DEFAULT_EVALUATION) -> CellResult:
    """Runs one cell end to end: split, prepare, fit, evaluate, record.

    Args:
        data: the table.
        split_name: a registered split.
        config_name: a registered retriever: a feature configuration's two towers, or a
            non-learned one ("popularity", "ease").
        seed: sets initialisation, shuffling and, for seeded splits, the split.
        options: hyperparameters (defaults: the tutorial's).
        env: ``records.environment()``, to compute it once per run.
        strategy: optional ``tf.distribute.Strategy`` for training.
        evaluation: the headline ranking and the segments' bands.

    Raises:
        UnknownNameError, SplitError, UserError: bad input.
        TrainingError: the loss became NaN or infinite.
    """
    options = options or TrainOptions()
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    cell = prepare_cell(data, split_name, config_name, seed, options, evaluation=evaluation)
    fitted = fit_cell(cell, strategy)
    metrics, timings, per_user = evaluate_cell_per_user(cell, fitted)
    return result_of(cell, fitted, metrics, timings, env, per_user)


__all__ = ["fit_cell", "run_cell"]
