"""One study per (split, configuration) and the storage that keeps it.

A study runs (or resumes, or joins) until its budget of trials is spent, with the seeded
TPE sampler, the median pruner and the tutorial's hyperparameters as a trial (the first
of worker 0, the one process that enqueues it), so that a tuned configuration is never
chosen over worse ones than the tutorial's. Studies
live in an Optuna storage: an SQLite file in the run directory, so that an interrupted
tuning resumes where it stopped, or any SQLAlchemy URL (PostgreSQL, MySQL) that several
processes or machines share.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import optuna

from harness.data.sources import MovieLens
from harness.errors import UserError
from harness.record.fingerprint import differences, study_identity, tuning_identity
from harness.record.redaction import redact
from harness.run.tunespace import PARAMS, TUTORIAL_PARAMS, TuneSettings, study_name
from harness.run.tunetrial import objective

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours


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
               objective_of: Callable = objective, produced_by: dict | None = None,
               seed: int | None = None) -> dict:
    """Runs (or resumes, or joins) the study of one (split, configuration) at one study
    seed until its budget is spent, then summarises it.

    Args:
        worker: this process's number among those sharing the storage: TPE is seeded
            with ``sampler_seed + worker``, so that two workers do not draw the same
            start-up trials (one process: 0, deterministic).
        objective_of: (data, split, config, settings, seed) -> the trial function.
        produced_by: :func:`harness.record.fingerprint.tuning_identity` of this tuning
            (describing at least this split and configuration), computed once
            when it started (default: now).
        seed: the study's seed (:func:`harness.run.tunespace.study_seed`): a seeded
            split's grid seed, None for the study every seed shares.

    Raises:
        UserError: the storage holds this study from another suite version, data,
            settings or description of its split or configuration.
    """
    name = study_name(split, config, seed)
    label = f"{split}/{config}" + ("" if seed is None else f" seed {seed}")
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
    elif differences(found, wanted):
        raise UserError(f"study {name} in this storage was made by another tuning ("
                        + "; ".join(differences(found, wanted))
                        + "): pass another --run-dir or --storage")
    if worker == 0:
        # One process only enqueues the tutorial's trial: two that both found the study
        # new could each enqueue it (SQLite has no row lock), and it would run twice.
        study.enqueue_trial(TUTORIAL_PARAMS, skip_if_exists=True)

    def log(study, trial):
        if trial.state in FINISHED:
            _log(f"[tune {label} {len(counted(study, settings.trials))}/"
                 f"{settings.trials}] trial {trial.number}: {_describe(trial)}")

    while len(counted(study, settings.trials)) < settings.trials:
        try:
            study.optimize(objective_of(data, split, config, settings, seed), callbacks=[
                log, optuna.study.MaxTrialsCallback(settings.trials, states=FINISHED)],
                gc_after_trial=True)
        except ValueError as error:
            # Two processes sharing an SQLite study can both pop the one enqueued trial
            # (optuna/optuna#4621: SQLite has no SELECT ... FOR UPDATE); the second to
            # finish it cannot tell it. The trial is recorded once, by the first: go on.
            if not str(error).startswith("Cannot tell a COMPLETE trial"):
                raise
    # Another worker may still be running a trial numbered inside the budget.
    while any(t.state == optuna.trial.TrialState.RUNNING
              for t in study.get_trials(deepcopy=False)):
        time.sleep(1.0)
        optuna.storages.fail_stale_trials(study)
    return summary(study, split, config, settings, seed)


def summary(study: optuna.Study, split: str, config: str, settings: TuneSettings,
            seed: int | None = None) -> dict:
    """A study's entry in ``tuned.json``: the best counted trial's hyperparameters and
    epoch, its validation score, every counted trial and the tuning cost."""
    trials = counted(study, settings.trials)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE
                and "best_epoch" in t.user_attrs]
    if not complete:
        raise UserError(f"study {study_name(split, config, seed)} has no completed trial "
                        "that trained an epoch")
    best = max(complete, key=lambda t: (t.value, -t.number))  # a tie keeps the earlier
    return {
        "split": split, "config": config, **({} if seed is None else {"seed": seed}),
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


__all__ = ["FINISHED", "counted", "open_storage", "summary", "tune_study"]
