"""Equal-budget tuning of every (split, configuration) on its own validation slice, with
Optuna.

One study per (split, configuration), all with the same settings: the same number of
trials, the same search space, the same seeded TPE sampler (so every configuration's
random start-up trials draw the same hyperparameters) and the same pruner. The first
trial is always the tutorial's hyperparameters, so a tuned configuration is never chosen
over worse ones than the tutorial's. Each trial trains on the training side of seed 0's
split less its validation slice (the split's own rule: :mod:`splits`), scores the slice
after every epoch with the exact ranking, stops early after ``patience`` epochs without
improvement, and reports the running best to Optuna so that its pruner can stop a trial
that trails the others. Test rows choose nothing.

Studies live in an Optuna storage: by default an SQLite file in the run directory, so an
interrupted tuning resumes where it stopped; any SQLAlchemy URL (PostgreSQL, MySQL) lets
several processes or machines share the studies — run the same command on each.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable

import optuna

from harness.data.sources import MovieLens
from harness.errors import TrainingError, UserError
from harness.model.training import TrainOptions
from harness.record.fingerprint import differences, study_identity, tuning_identity
from harness.record.redaction import redact
from harness.run.cell import PreparedCell, fit_cell, prepare_cell, validation_score
from harness.run.tunespace import (
    BATCH_SIZES,
    EMBEDDING_DIMS,
    LEARNING_RATE,
    LOGQ,
    PARAMS,
    TUTORIAL_PARAMS,
    TuneSettings,
)

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours


def suggest(trial: optuna.Trial) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", *LEARNING_RATE, log=True),
        "embedding_dim": trial.suggest_categorical("embedding_dim", EMBEDDING_DIMS),
        "batch_size": trial.suggest_categorical("batch_size", BATCH_SIZES),
        "logq": trial.suggest_categorical("logq", LOGQ),
    }


def objective(data: MovieLens, split: str, config: str, settings: TuneSettings
              ) -> Callable[[optuna.Trial], float]:
    """The function a study maximises: a trial's best validation top-100 accuracy."""
    prepared: dict[int, PreparedCell] = {}  # by embedding size: the split and encoding

    def run(trial: optuna.Trial) -> float:
        params = suggest(trial)
        options = TrainOptions(
            epochs=settings.max_epochs, patience=settings.patience, fit_on="train",
            test_fraction=settings.test_fraction,
            validation_fraction=settings.validation_fraction, **params)
        dim = params["embedding_dim"]
        if dim not in prepared:
            prepared[dim] = prepare_cell(data, split, config, settings.seed, options)
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


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna RDB storage with heartbeats (a trial of a killed process is failed after
    the grace period, so a resumed or shared study does not wait for it forever).

    Raises:
        UserError: the URL is malformed or its database unreachable (the password, if
            any, redacted from the message).
    """
    for attempt in range(3):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" (Optuna 2.9+)
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, heartbeat_interval=30,
                                                  grace_period=120)
        except Exception as error:  # SQLAlchemy's errors vary by driver
            text = str(error).strip()
            # Two workers creating a new database's tables (and its schema version row)
            # at once: one wins, the other finds them made; opening it again succeeds.
            racing = "already exists" in text or type(error).__name__ == "IntegrityError"
            if racing and attempt < 2:
                time.sleep(0.5)
                continue
            first = text.splitlines()[0] if text else type(error).__name__
            raise UserError(redact(f"cannot open the study storage {url}: {first}")) from None
    raise AssertionError("unreachable")


def _log(message: str) -> None:
    from harness.run.progress import say  # above tune_all's progress bar, not through it

    say(message)


def _describe(trial: optuna.trial.FrozenTrial) -> str:
    p = trial.params
    text = (f"lr {p.get('learning_rate', 0):.4f} dim {p.get('embedding_dim')} batch "
            f"{p.get('batch_size')} logq {'on' if p.get('logq') else 'off'}: ")
    scores = trial.user_attrs.get("epoch_scores") or []
    best = max(scores) if scores else float("nan")
    state = "pruned" if trial.state == optuna.trial.TrialState.PRUNED else "best"
    return (text + f"{state} validation top-100 {best:.4f} in {len(scores)} epochs, "
            f"{trial.user_attrs.get('seconds', 0):.1f} s")


def counted(study: optuna.Study, trials: int) -> list[optuna.trial.FrozenTrial]:
    """The trials in the budget: the first ``trials`` finished ones by number (parallel
    workers can finish one more than the budget; it is recorded, not counted)."""
    finished = [t for t in study.get_trials(deepcopy=False, states=FINISHED)]
    return sorted(finished, key=lambda t: t.number)[:trials]


def tune_study(data: MovieLens, split: str, config: str, settings: TuneSettings,
               storage: optuna.storages.BaseStorage, worker: int = 0,
               objective_of: Callable = objective, produced_by: dict | None = None) -> dict:
    """Runs (or resumes, or joins) the study of one (split, configuration) until its
    budget is spent, then summarises it.

    Args:
        worker: this process's number among those sharing the storage: TPE is seeded
            with ``sampler_seed + worker``, so that two workers do not draw the same
            start-up trials (one process: 0, deterministic).
        objective_of: (data, split, config, settings) -> the trial function.
        produced_by: :func:`harness.record.fingerprint.tuning_identity` of this tuning
            (describing at least this split and configuration), computed once
            when it started (default: now).

    Raises:
        UserError: the storage holds this study from another suite version, data,
            settings or description of its split or configuration.
    """
    name = f"{split}-{config}"
    study = optuna.create_study(
        study_name=name, storage=storage, direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=settings.sampler_seed + worker,
                                           n_startup_trials=settings.startup_trials),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=settings.prune_after,
                                           n_warmup_steps=settings.prune_after))
    wanted = study_identity(produced_by or tuning_identity(
        data.sha256, settings.to_dict(), [split], [config]), split, config)
    found = study.user_attrs.get("ctxbench")
    if found is None:
        study.set_user_attr("ctxbench", wanted)
        if not study.trials:
            study.enqueue_trial(TUTORIAL_PARAMS, skip_if_exists=True)
    elif differences(found, wanted):
        raise UserError(f"study {name} in this storage was made by another tuning ("
                        + "; ".join(differences(found, wanted))
                        + "): pass another --run-dir or --storage")

    def log(study, trial):
        if trial.state in FINISHED:
            _log(f"[tune {split}/{config} {len(counted(study, settings.trials))}/"
                 f"{settings.trials}] trial {trial.number}: {_describe(trial)}")

    if len(counted(study, settings.trials)) < settings.trials:
        study.optimize(objective_of(data, split, config, settings), callbacks=[
            log, optuna.study.MaxTrialsCallback(settings.trials, states=FINISHED)],
            gc_after_trial=True)
    # Another worker may still be running a trial numbered inside the budget.
    while any(t.state == optuna.trial.TrialState.RUNNING
              for t in study.get_trials(deepcopy=False)):
        time.sleep(1.0)
        optuna.storages.fail_stale_trials(study)
    return summary(study, split, config, settings)


def summary(study: optuna.Study, split: str, config: str, settings: TuneSettings) -> dict:
    """A study's entry in ``tuned.json``: the best counted trial's hyperparameters and
    epoch, its validation score, every counted trial and the tuning cost."""
    trials = counted(study, settings.trials)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE
                and "best_epoch" in t.user_attrs]
    if not complete:
        raise UserError(f"study {split}-{config} has no completed trial that trained an "
                        "epoch")
    best = max(complete, key=lambda t: (t.value, -t.number))  # a tie keeps the earlier
    return {
        "split": split, "config": config,
        "params": {key: best.params[key] for key in PARAMS},
        "epochs": int(best.user_attrs["best_epoch"]),
        "validation_score": float(best.value), "best_trial": best.number,
        "trials_counted": len(trials),
        "trials_recorded": len(study.get_trials(deepcopy=False, states=FINISHED)),
        "tuning_seconds": float(sum(t.user_attrs.get("seconds", 0.0) for t in trials)),
        "trials": [{"number": t.number, "state": t.state.name, "params": t.params,
                    "value": t.value, "best_epoch": t.user_attrs.get("best_epoch"),
                    "epoch_scores": t.user_attrs.get("epoch_scores", []),
                    "seconds": t.user_attrs.get("seconds"),
                    **({"diverged": t.user_attrs["diverged"]}
                       if "diverged" in t.user_attrs else {})} for t in trials],
    }


def _trials_left(storage: optuna.storages.BaseStorage, name: str, trials: int) -> int:
    """Trials the study ``name`` still needs to spend its budget (all of them when the
    storage does not hold it yet)."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return trials
    finished = storage.get_all_trials(study_id, deepcopy=False, states=FINISHED)
    return max(0, trials - len(finished))


def _counting(objective_of: Callable, done: Callable[[], object]) -> Callable:
    """``objective_of`` whose trial functions call ``done`` as each trial ends."""
    def make(*args) -> Callable[[optuna.Trial], float]:
        run = objective_of(*args)

        def counted_run(trial: optuna.Trial) -> float:
            try:
                return run(trial)
            finally:  # a pruned trial spent its budget too
                done()
        return counted_run
    return make


def tune_all(data: MovieLens, splits: tuple[str, ...], configs: tuple[str, ...],
             settings: TuneSettings, storage_url: str, worker: int = 0,
             produced_by: dict | None = None) -> dict:
    """Every (split, configuration)'s study, one after another: the ``tuned.json``
    document (:mod:`harness.run.tuned` reads it).

    ``produced_by`` is :func:`harness.record.fingerprint.tuning_identity` of this tuning when
    the caller has computed it already (default: computed here).

    Raises:
        UserError: an unreachable storage, or a study in it from another tuning.
    """
    from harness.record.machine import machine
    from harness.record.provenance import environment, peak_rss_mib, utc_now
    from harness.run.progress import progress
    from harness.run.tuned import FORMAT

    storage = open_storage(storage_url)
    start, utc_start = time.perf_counter(), utc_now()
    produced_by = produced_by or tuning_identity(data.sha256, settings.to_dict(), splits,
                                                 configs)
    cells = {}
    # The bar counts the trials still to run: a resumed study's finished ones are done.
    left = {(split, config): _trials_left(storage, f"{split}-{config}", settings.trials)
            for split in splits for config in configs}
    with progress(sum(left.values()), "tune", unit="trial") as bar:
        expected = 0
        for (split, config), trials in left.items():
            bar.set_postfix_str(f"{split}/{config}", refresh=False)
            cells[f"{split}-{config}"] = tune_study(
                data, split, config, settings, storage, worker, produced_by=produced_by,
                objective_of=_counting(objective, bar.update))
            expected += trials  # other workers sharing the storage ran the rest
            bar.update(max(0, expected - bar.n))
    return {
        "format": FORMAT,
        "identity": produced_by,
        "settings": settings.to_dict(),
        "storage": redact(storage_url),
        "cells": cells,
        "provenance": {**environment(), "data_source": data.source,
                       "data_sha256": data.sha256, "machine": machine(),
                       "utc_start": utc_start, "utc_end": utc_now(),
                       "wall_seconds": time.perf_counter() - start,
                       "peak_rss_mb": peak_rss_mib()},
    }


__all__ = ["TuneSettings", "counted", "objective", "open_storage", "suggest", "summary",
           "tune_all", "tune_study"]
