"""Equal-budget tuning of every (split, configuration) on its own validation slice, with
Optuna.

One study per (split, configuration), and for a seeded split (``random``) one per grid
seed, since each seed's test rows lie in the other seeds' training sides
(:mod:`harness.run.tunestudy`), all with the same settings: the same number of trials,
the same search space, the same seeded TPE sampler (so every configuration's random
start-up trials draw the same hyperparameters) and the same pruner
(:mod:`harness.run.tunespace`). The tutorial's hyperparameters are always a trial (a
single process's first).
Each trial (:mod:`harness.run.tunetrial`) trains on the training side of its study's split
less its validation slice (the split's own rule: :mod:`splits`; a warm-only split's slice
holds warm users only) and scores the slice after every epoch with the exact ranking. No
test row of any seed chooses that seed's hyperparameters.

Studies live in an Optuna storage: by default an SQLite file in the run directory, so an
interrupted tuning resumes where it stopped; any SQLAlchemy URL (PostgreSQL, MySQL) lets
several processes or machines share the studies — run the same command on each. With
``--cluster`` each study runs whole on one Dask worker (:func:`run_study`), seeded as a
single process's, so it draws the trials a serial tuning draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna

from harness.data.sources import MovieLens
from harness.errors import UserError
from harness.record.fingerprint import tuning_identity
from harness.record.redaction import redact
from harness.run.cluster import as_they_end, version_mismatch, worker_table
from harness.run.tunespace import TuneSettings, study_name, study_seeds
from harness.run.tunestudy import FINISHED, counted, open_storage, summary, tune_study
from harness.run.tunetrial import objective, suggest


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


@dataclass(frozen=True)
class StudyJob:
    """One tuning study for a worker: the table's names, the study and its storage (a
    URL every worker reaches)."""

    dataset: str
    data_dir: str | None
    quick: bool
    sha256: str
    study: tuple  # (split, configuration, study seed)
    settings: object
    storage: str
    produced_by: dict
    versions: dict


def run_study(job: StudyJob) -> dict:
    """Runs (or resumes) one study on this worker: its summary for the tuned file. Its
    TPE is seeded as a single process's (worker 0), so it draws what a serial tuning does.

    Raises:
        UserError: the worker's versions or data differ from the driver's.
    """
    differ = version_mismatch(job.versions)
    if differ:
        raise UserError(differ)
    split, config, seed = job.study
    return tune_study(worker_table(job), split, config, job.settings,
                      open_storage(job.storage), 0, produced_by=job.produced_by, seed=seed)


def tune_on_cluster(client, jobs: dict, done) -> dict:
    """Runs each study (name -> :class:`StudyJob`) on the cluster, ``done(name)`` as each
    ends: name -> its summary."""
    results = {}
    for name, future in as_they_end(client, run_study, jobs):
        results[name] = future.result()
        done(name)
    return results


def studies(splits: tuple[str, ...], configs: tuple[str, ...], settings: TuneSettings
            ) -> list[tuple[str, str, int | None]]:
    """Every (split, configuration, study seed) a tuning runs: a seeded split once per
    grid seed, any other once (:func:`harness.run.tunespace.study_seeds`)."""
    return [(split, config, seed) for split in splits for config in configs
            for seed in study_seeds(split, settings.seeds)]


def tune_all(data: MovieLens, splits: tuple[str, ...], configs: tuple[str, ...],
             settings: TuneSettings, storage_url: str, worker: int = 0,
             produced_by: dict | None = None, client=None,
             source: tuple | None = None) -> dict:
    """Every (split, configuration)'s study, one after another (or on a cluster's
    workers): the ``tuned.json`` document (:mod:`harness.run.tuned` reads it).

    ``produced_by`` is :func:`harness.record.fingerprint.tuning_identity` of this tuning when
    the caller has computed it already (default: computed here). With ``client`` (a
    ``distributed.Client``), each study runs on a worker, which loads the table ``source``
    names ((dataset, data_dir, quick)) once; ``storage_url`` must reach every worker.

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
    # The trials each study still needs: a resumed study's finished ones are done.
    left = {study: _trials_left(storage, study_name(*study), settings.trials)
            for study in studies(splits, configs, settings)}
    if client is None:
        cells = _tune_here(data, settings, storage, worker, produced_by, left)
    else:  # each study on a worker, written in the order a serial run writes them
        with progress(len(left), "tune", unit="study") as bar:
            found = tune_on_cluster(client, {study_name(*study): StudyJob(
                *source, data.sha256, study, settings, storage_url, produced_by,
                environment()["versions"]) for study in left}, lambda name: bar.update(1))
        cells = {study_name(*study): found[study_name(*study)] for study in left}
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
                       "peak_rss_mb": peak_rss_mib(),
                       **({"cluster": client.scheduler.address} if client else {})},
    }


def _tune_here(data: MovieLens, settings: TuneSettings, storage, worker: int,
               produced_by: dict, left: dict) -> dict:
    """The studies ``left`` (study -> trials still to run) one after another in this
    process: name -> its summary."""
    from harness.run.progress import progress

    cells = {}
    with progress(sum(left.values()), "tune", unit="trial") as bar:
        expected = 0
        for (split, config, seed), trials in left.items():
            bar.set_postfix_str(study_name(split, config, seed), refresh=False)
            cells[study_name(split, config, seed)] = tune_study(
                data, split, config, settings, storage, worker, produced_by=produced_by,
                objective_of=_counting(objective, bar.update), seed=seed)
            expected += trials  # other workers sharing the storage ran the rest
            bar.update(max(0, expected - bar.n))
    return cells


# The tuning's callers need only this module: the study's and the trial's names too.
__all__ = ["FINISHED", "StudyJob", "TuneSettings", "counted", "objective", "open_storage",
           "run_study", "studies", "suggest", "summary", "tune_all", "tune_on_cluster",
           "tune_study"]
