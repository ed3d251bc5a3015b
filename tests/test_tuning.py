"""Equal-budget tuning (harness.run.tuning): shared and resumed studies, equal budgets,
blindness to test, and the tuned file's checks."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from tuning_worker import SETTINGS, cheap_objective, small_table

from harness.cli import main
from harness.data.splitdata import split_data, validation_split
from harness.errors import UserError
from harness.record.fingerprint import tuning_identity
from harness.run.tuned import FORMAT, expected_by_run, read_tuned
from harness.run.tunespace import TUTORIAL_PARAMS, TuneSettings, study_name
from harness.run.tunetrial import prepare_study, trial_options
from harness.run.tuning import open_storage, studies, tune_all, tune_study
from splits import SPLITS

ROOT = Path(__file__).resolve().parent.parent


def _sqlite(tmp_path: Path, name: str = "study.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def test_two_processes_share_one_sqlite_study(tmp_path):
    storage, ready = _sqlite(tmp_path), tmp_path / "ready"
    ready.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    workers = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "tuning_worker.py"),
                                 storage, str(ready), str(n), "2", str(tmp_path / f"{n}.json")],
                                env=env, stderr=subprocess.PIPE, text=True)
               for n in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
    first, second = (json.loads((tmp_path / f"{n}.json").read_text()) for n in range(2))
    # Both processes end with the same summary of the same budget.
    assert first == second
    assert first["trials_counted"] == SETTINGS.trials
    trials = optuna.load_study(study_name="random-baseline", storage=storage).get_trials()
    finished = [t for t in trials if t.state.is_finished()]
    assert len({t.number for t in finished}) == len(finished)
    # Both processes ran trials of the one study, and the tutorial's trial ran once.
    assert len({t.user_attrs["pid"] for t in finished}) == 2
    assert sum(t.params == TUTORIAL_PARAMS for t in finished) == 1


@pytest.mark.parametrize("worker, tutorial_trials", [(0, 1), (1, 0)])
def test_only_worker_0_enqueues_the_tutorials_trial(tmp_path, worker, tutorial_trials):
    """Two processes that both found a study new used to enqueue it both (SQLite has no
    row lock), and it ran twice; now only worker 0 does, the others join its study."""
    def quick(*args):
        return cheap_objective(*args, seconds=0.0)

    storage = open_storage(_sqlite(tmp_path))
    tune_study(small_table(), "random", "baseline", SETTINGS, storage, worker=worker,
               objective_of=quick)
    trials = optuna.load_study(study_name="random-baseline", storage=storage).get_trials()
    assert sum(t.params == TUTORIAL_PARAMS for t in trials) == tutorial_trials


def test_a_trial_another_process_finished_first_is_not_an_error(tmp_path):
    # The race of two processes that both popped the enqueued tutorial trial
    # (optuna/optuna#4621), made deterministic: "another process" completes trial 0 while
    # this one runs it, so this one's tell finds it COMPLETE. The tuning goes on to its
    # budget with the trial recorded once.
    storage = open_storage(_sqlite(tmp_path))

    def racing(*args):
        run = cheap_objective(*args, seconds=0.0)

        def trial(t):
            value = run(t)
            if t.number == 0:
                t.study._storage.set_trial_state_values(
                    t._trial_id, optuna.trial.TrialState.COMPLETE, [value])
            return value
        return trial

    summary = tune_study(small_table(), "random", "baseline", SETTINGS, storage,
                         objective_of=racing)
    assert summary["trials_counted"] == SETTINGS.trials
    study = optuna.load_study(study_name="random-baseline", storage=storage)
    assert sum(t.params == TUTORIAL_PARAMS for t in study.get_trials()) == 1


def test_an_interrupted_tuning_resumes_where_it_stopped(tmp_path):
    storage = open_storage(_sqlite(tmp_path))
    calls = []

    def interrupted(*args):
        run = cheap_objective(*args, seconds=0.0)

        def trial(t):
            if len(calls) == 3:
                raise KeyboardInterrupt
            calls.append(t.number)
            return run(t)
        return trial

    with pytest.raises(KeyboardInterrupt):
        tune_study(small_table(), "random", "baseline", SETTINGS, storage,
                   objective_of=interrupted)
    before = optuna.load_study(study_name="random-baseline", storage=storage)
    done = {t.number: t.value for t in before.get_trials(states=(
        optuna.trial.TrialState.COMPLETE,))}
    assert len(done) == 3
    resumed = []

    def counting(*args):
        run = cheap_objective(*args, seconds=0.0)
        return lambda t: resumed.append(t.number) or run(t)

    summary = tune_study(small_table(), "random", "baseline", SETTINGS, storage,
                         objective_of=counting)
    assert summary["trials_counted"] == SETTINGS.trials
    assert len(resumed) == SETTINGS.trials - 3  # the finished trials were not re-run
    kept = {t["number"]: t["value"] for t in summary["trials"] if t["number"] in done}
    assert kept == done


def test_every_configuration_gets_the_same_budget_and_the_same_start(tmp_path):
    storage = open_storage(_sqlite(tmp_path))
    data = small_table()
    for config in ("baseline", "timestamp"):
        summary = tune_study(data, "random", config, SETTINGS, storage,
                             objective_of=lambda *a: cheap_objective(*a, seconds=0.0))
        assert summary["trials_counted"] == SETTINGS.trials
    studies = [optuna.load_study(study_name=f"random-{c}", storage=storage)
               for c in ("baseline", "timestamp")]
    starts = [[t.params for t in s.get_trials()[:SETTINGS.startup_trials]] for s in studies]
    assert starts[0][0] == TUTORIAL_PARAMS  # the tutorial's hyperparameters come first
    assert starts[0] == starts[1]  # then the same seeded random draws for everyone


def test_a_study_made_by_another_tuning_is_refused(tmp_path):
    storage = open_storage(_sqlite(tmp_path))
    quick = lambda *a: cheap_objective(*a, seconds=0.0)  # noqa: E731
    tune_study(small_table(), "random", "baseline", SETTINGS, storage, objective_of=quick)
    other = dataclasses.replace(SETTINGS, patience=5)
    with pytest.raises(UserError, match="another tuning.*patience"):
        tune_study(small_table(), "random", "baseline", other, storage, objective_of=quick)


def test_a_study_of_a_split_now_described_otherwise_is_refused(tmp_path, monkeypatch):
    from splits import SPLITS

    storage = open_storage(_sqlite(tmp_path))
    quick = lambda *a: cheap_objective(*a, seconds=0.0)  # noqa: E731
    tune_study(small_table(), "random", "baseline", SETTINGS, storage, objective_of=quick)
    # The registry has no public replacement (registering twice is an error).
    monkeypatch.setitem(SPLITS._items, "random",
                        dataclasses.replace(SPLITS["random"], description="another rule"))
    with pytest.raises(UserError, match="another tuning.*split.description"):
        tune_study(small_table(), "random", "baseline", SETTINGS, storage, objective_of=quick)


def _with_titles_moved(data, rows):
    """``data`` with the title of each of ``rows`` replaced by the next catalogue title."""
    titles = data.candidate_titles
    ratings = dict(data.ratings)
    moved = ratings["movie_title"].copy()
    moved[rows] = titles[(data.title_codes[rows] + 1) % titles.size]
    ratings["movie_title"] = moved
    return dataclasses.replace(data, ratings=ratings)


@pytest.mark.slow
def test_tuning_is_blind_to_test(tmp_path):
    from harness.data.synthetic import synthetic_movielens

    # More titles than the top 100, so that a validation score can be below 1.
    data = synthetic_movielens(np.random.default_rng(1), n_interactions=6000, n_items=400,
                               n_users=150)
    settings = TuneSettings(trials=3, max_epochs=2, patience=1, startup_trials=2)
    split, _ = split_data(data, "temporal", 0, settings.test_fraction)
    validation = validation_split(data, "temporal", split, 0, settings.validation_fraction)

    def tuned(table, name):
        summary = tune_study(table, "temporal", "baseline", settings,
                             open_storage(_sqlite(tmp_path, name)))
        return [(t["params"], t["epoch_scores"]) for t in summary["trials"]], summary

    reference, summary = tuned(data, "a.db")
    assert 0.0 < summary["validation_score"] < 1.0  # a score that can move
    every_test_row_changed, changed = tuned(_with_titles_moved(data, split.test), "b.db")
    assert every_test_row_changed == reference
    assert (changed["params"], changed["epochs"], changed["validation_score"]) == (
        summary["params"], summary["epochs"], summary["validation_score"])
    # The comparison can fail: moving the validation rows' titles moves the scores.
    validation_changed, _ = tuned(_with_titles_moved(data, validation.test), "c.db")
    assert validation_changed != reference


def _tuned_by_plan(path: Path, data, settings: TuneSettings) -> Path:
    """The tuned file a tuning of every split's baseline under ``settings`` writes: one
    cell per study of its plan (the choices themselves do not matter here)."""
    cells = {study_name(split, config, seed): {
        "split": split, "config": config, **({} if seed is None else {"seed": seed}),
        "epochs": 1, "validation_score": 0.5, "trials_counted": 1, "tuning_seconds": 1.0,
        "params": TUTORIAL_PARAMS} for split, config, seed in studies(
            tuple(SPLITS), ("baseline",), settings)}
    path.write_text(json.dumps({"format": FORMAT, "identity": tuning_identity(
        data.sha256, settings.to_dict(), list(SPLITS), ["baseline"]), "cells": cells}))
    return path


def test_no_test_row_of_any_seed_reaches_its_tuning(tmp_path):
    """For every split and grid seed, the study the grid takes that seed's
    hyperparameters from (the plan a tuning runs, the tuned file's lookup) fits and
    validates on rows the seed's test set does not hold (the rows a trial is given,
    :func:`prepare_study`); a warm-only split validates on warm rows only."""
    from harness.data.synthetic import synthetic_movielens

    data = synthetic_movielens(np.random.default_rng(2), n_interactions=3000, n_items=200,
                               n_users=120)
    settings = TuneSettings()
    tuned = read_tuned(_tuned_by_plan(tmp_path / "tuned.json", data, settings),
                       expected_by_run(data.sha256))
    options = trial_options(settings, TUTORIAL_PARAMS)
    users, items = data.user_codes, data.title_codes
    for split in SPLITS:
        for seed in range(settings.seeds):
            chosen = tuned.cell(split, "baseline", seed)
            study = prepare_study(data, split, "baseline", chosen.seed, options)
            test = split_data(data, split, seed, settings.test_fraction)[0].test
            seen = np.union1d(study.train_rows, study.validation_rows)
            assert np.intersect1d(seen, test).size == 0, f"{split} seed {seed}"
            if SPLITS[split].warm_of is not None:
                fit = study.train_rows
                assert np.isin(users[study.validation_rows], users[fit]).all()
                assert np.isin(items[study.validation_rows], items[fit]).all()
    assert settings.seeds > 1 and SPLITS["random"].seeded  # the case a shared study fails


def test_a_seeded_split_is_tuned_once_per_seed_on_that_seeds_rows(tmp_path, monkeypatch):
    """The tuning runs the plan: each random study's trials are given its own seed's
    split, and the tuned file records which seed each study chose for."""
    from harness.data.synthetic import synthetic_movielens
    from harness.run import tunetrial

    data = synthetic_movielens(np.random.default_rng(3), n_interactions=1500, n_items=120,
                               n_users=60)
    given = []

    def spy(data, split, config, seed, options):
        given.append((split, seed))
        return prepare_study(data, split, config, seed, options)

    monkeypatch.setattr(tunetrial, "prepare_study", spy)
    settings = TuneSettings(trials=1, max_epochs=1, patience=1, seeds=2, startup_trials=1,
                            prune_after=1)
    document = tune_all(data, ("random", "temporal"), ("baseline",), settings,
                        _sqlite(tmp_path))
    assert given == [("random", 0), ("random", 1), ("temporal", None)]
    assert {key: cell.get("seed") for key, cell in document["cells"].items()} == {
        "random-baseline-seed0": 0, "random-baseline-seed1": 1, "temporal-baseline": None}


def _document(tmp_path, data_sha256="d" * 64, **changes) -> Path:
    cell = {"split": "temporal", "config": "baseline", "epochs": 4, "validation_score": 0.3,
            "trials_counted": 16, "tuning_seconds": 12.5,
            "params": {"learning_rate": 0.05, "embedding_dim": 64, "batch_size": 512,
                       "logq": True}}
    cell["params"].update(changes.pop("params", {}))
    cell.update(changes)
    document = {"format": FORMAT, "identity": tuning_identity(
        data_sha256, TuneSettings().to_dict(), ["temporal"], ["baseline"]),
        "cells": {"temporal-baseline": cell}}
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps(document))
    return path


def test_a_tuned_file_gives_each_cell_its_options(tmp_path):
    tuned = read_tuned(_document(tmp_path), expected_by_run("d" * 64, 0.2))
    options = tuned.cell("temporal", "baseline", 0).options()
    assert (options.learning_rate, options.embedding_dim, options.batch_size, options.logq,
            options.epochs, options.fit_on, options.patience) == (
        0.05, 64, 512, True, 4, "train", None)
    with pytest.raises(UserError, match="no tuned hyperparameters for user_temporal-baseline"):
        tuned.cell("user_temporal", "baseline", 0)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "absent.json",
     "does not exist: run `python -m harness tune --out .*absent.json` first"),
    (lambda p: (p / "t.json").write_text("{not json") and p / "t.json", "JSON"),
    (lambda p: (p / "t.json").write_text('{"format": "x"}') and p / "t.json",
     "not a ctxbench tuned file"),
    (lambda p: _document(p, data_sha256="e" * 64), "tuned on other data.*data_sha256"),
    (lambda p: _document(p, params={"learning_rate": -1.0}),
     r"learning_rate -1.0 is outside the search space \[0.01, 1.0\]"),
    (lambda p: _document(p, params={"batch_size": 300}), "batch_size 300 is outside"),
    (lambda p: _document(p, params={"batch_size": "big"}), "batch_size must be int"),
    (lambda p: _document(p, params={"logq": 1}), "logq must be bool"),
    (lambda p: _document(p, epochs=0), "epochs must be a positive integer"),
])
def test_a_bad_tuned_file_is_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(UserError, match=message) as raised:
        read_tuned(path, expected_by_run("d" * 64, 0.2))
    assert "\n" not in str(raised.value) and path.name in str(raised.value)


@pytest.mark.parametrize("args, message", [
    (["--storage", "postgresql://alice:s3cret@127.0.0.1:9/ctxbench"],
     "cannot open the study storage postgresql://alice:***@"),
    (["--storage", "sqlite:////nonexistent/dir/study.db"], "cannot open the study storage"),
    (["--storage", "not a url"], "cannot open the study storage"),
    (["--trials", "0"], "--trials must be a positive integer"),
    (["--configs", "baseline,nope"], "nope"),
    (["--splits", "sideways"], "sideways"),
])
def test_bad_tune_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    status = main(["tune", "--out", str(tmp_path / "tuned.json"), *args])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert "s3cret" not in err


def test_tune_refuses_to_overwrite_its_output(tmp_path, capsys):
    out = tmp_path / "tuned.json"
    out.write_text("{}")
    assert main(["tune", "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "{}"
