"""One tuning trial: hyperparameters drawn from the search space, a model trained on the
split's training side less its validation slice, and the slice scored after every epoch.

A trial stops early after ``patience`` epochs without improvement, and reports its running
best to Optuna after every epoch so that the pruner can stop a trial that trails the
others. Its value is the best validation top-100 accuracy it reached; test rows choose
nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import optuna

from harness.data.sources import MovieLens
from harness.errors import TrainingError
from harness.model.training import TrainOptions
from harness.model.twotower import validation_score
from harness.run.cell import fit_cell
from harness.run.prepare import PreparedCell, prepare_cell
from harness.run.tunespace import (
    BATCH_SIZES,
    EMBEDDING_DIMS,
    LEARNING_RATE,
    LOGQ,
    TuneSettings,
    split_seed,
)


def suggest(trial: optuna.Trial) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", *LEARNING_RATE, log=True),
        "embedding_dim": trial.suggest_categorical("embedding_dim", EMBEDDING_DIMS),
        "batch_size": trial.suggest_categorical("batch_size", BATCH_SIZES),
        "logq": trial.suggest_categorical("logq", LOGQ),
    }


def trial_options(settings: TuneSettings, params: dict) -> TrainOptions:
    """A trial's training: ``params``, early stopping on the validation slice, and
    preprocessing fitted on the training side."""
    return TrainOptions(
        epochs=settings.max_epochs, patience=settings.patience, fit_on="train",
        test_fraction=settings.test_fraction,
        validation_fraction=settings.validation_fraction, **params)


def prepare_study(data: MovieLens, split: str, config: str, seed: int | None,
                  options: TrainOptions) -> PreparedCell:
    """A study's rows and encoding: the split at the study's seed
    (:func:`harness.run.tunespace.study_seed`); a trial fits ``train_rows`` and scores
    ``validation_rows``, both from that split's training side."""
    return prepare_cell(data, split, config, split_seed(seed), options)


def objective(data: MovieLens, split: str, config: str, settings: TuneSettings,
              seed: int | None = None) -> Callable[[optuna.Trial], float]:
    """The function a study maximises: a trial's best validation top-100 accuracy."""
    prepared: dict[int, PreparedCell] = {}  # by embedding size: the split and encoding

    def run(trial: optuna.Trial) -> float:
        params = suggest(trial)
        options = trial_options(settings, params)
        dim = params["embedding_dim"]
        if dim not in prepared:
            prepared[dim] = prepare_study(data, split, config, seed, options)
        cell = dataclasses.replace(prepared[dim], options=options)
        scores: list[float] = []

        def validate(model) -> float:
            scores.append(validation_score(cell, model))
            trial.set_user_attr("epoch_scores", scores)
            trial.report(max(scores), len(scores))  # the running best: what is kept
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {len(scores)}: {max(scores):.4f}")
            return scores[-1]

        start = time.perf_counter()
        try:
            fit_cell(cell, validate=validate)
        except TrainingError as error:  # diverged: what it reached before counts
            trial.set_user_attr("diverged", str(error))
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - start)
        if not scores:  # diverged in its first epoch
            return 0.0
        trial.set_user_attr("best_epoch", scores.index(max(scores)) + 1)
        return max(scores)

    return run


__all__ = ["objective", "prepare_study", "suggest", "trial_options"]
