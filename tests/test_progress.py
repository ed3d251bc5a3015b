"""The house progress bar: on stderr, with a time-left estimate, silent when idle."""

from __future__ import annotations

from harness.run.progress import progress, say


def test_a_bar_writes_done_total_and_time_left_to_stderr_only(capsys):
    with progress(3, "tune", unit="trial") as bar:
        bar.update(3)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "tune" in captured.err and "3/3" in captured.err and "trial" in captured.err
    # tqdm's time-left estimate: "[elapsed<remaining, rate]".
    assert "<00:00" in captured.err


def test_no_work_no_bar(capsys):
    with progress(0, "budget") as bar:
        assert bar.disable
        bar.update(0)
    assert capsys.readouterr().err == ""


def test_say_prints_a_whole_line_on_stderr(capsys):
    with progress(2, "budget", unit="epoch") as bar:
        say("budget temporal/baseline: epoch 1")
        bar.update(1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "budget temporal/baseline: epoch 1\n" in captured.err


# ---------------------------------------------------------------------------------------
# The long commands count only the work that will run.

class _Bars:
    """Records every bar the commands build (through the one helper they share), in
    ``harness.run.progress`` and in the ``users`` that imported it by name."""

    def __init__(self, monkeypatch, *users):
        import harness.run.progress as module

        self.bars = []
        real = module.progress

        def spy(total, desc, **options):
            bar = real(total, desc, **options)
            self.bars.append(bar)
            return bar

        for user in (module, *users):
            monkeypatch.setattr(user, "progress", spy)

    def by_desc(self, desc: str):
        (bar,) = [bar for bar in self.bars if bar.desc.startswith(desc)]
        return bar


def test_tune_counts_the_trials_left_after_a_resume(tmp_path, monkeypatch, capsys):
    import optuna
    import pytest
    from tuning_worker import cheap_objective, small_table

    import harness.run.tuning as tuning
    from harness.record.fingerprint import tuning_identity

    # Each trial costs a gc; one seed: random's one study, seed 0's.
    settings = tuning.TuneSettings(trials=4, startup_trials=2, seeds=1)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage = tuning.open_storage(url)
    data = small_table()
    # The code's identity as it starts (the stand-in objective below would change it).
    produced_by = tuning_identity(data.sha256, settings.to_dict(), ("random", "temporal"),
                                  ("baseline", "timestamp"))

    def stopped_after_two(*args):  # an interrupted tuning: 2 trials of one study done
        run = cheap_objective(*args, seconds=0.0)

        def trial(t):
            if t.number == 2:
                raise KeyboardInterrupt
            return run(t)
        return trial

    with pytest.raises(KeyboardInterrupt):
        tuning.tune_study(data, "random", "baseline", settings, storage,
                          objective_of=stopped_after_two, produced_by=produced_by, seed=0)
    done = optuna.load_study(study_name="random-baseline-seed0", storage=url).get_trials(
        states=tuning.FINISHED)
    assert len(done) == 2
    seen = []  # the bar's count as each trial starts: one step per trial

    def watched(*args):
        run = cheap_objective(*args, seconds=0.0)

        def trial(t):
            seen.append(bars.by_desc("tune").n)
            return run(t)
        return trial

    monkeypatch.setattr(tuning, "objective", watched)
    bars = _Bars(monkeypatch)
    document = tuning.tune_all(data, ("random",), ("baseline", "timestamp"), settings, url,
                               produced_by=produced_by)
    assert set(document["cells"]) == {"random-baseline-seed0", "random-timestamp-seed0"}
    bar = bars.by_desc("tune")
    left = 2 * settings.trials - 2
    assert (bar.total, bar.n) == (left, left)
    assert seen == list(range(left))
    err = capsys.readouterr().err
    assert f"{left}/{left}" in err and "trial" in err
    # Trials another worker runs meanwhile count as done once their study ends.
    def another_worker_finishes_timestamp(*args):
        run = cheap_objective(*args, seconds=0.0)

        def trial(t):
            if args[2] == "baseline" and not seen_other:
                seen_other.append(True)
                tuning.tune_study(data, "temporal", "timestamp", settings, storage, worker=1,
                                  objective_of=lambda *a: cheap_objective(*a, seconds=0.0),
                                  produced_by=produced_by)
            return run(t)
        return trial

    seen_other: list[bool] = []
    monkeypatch.setattr(tuning, "objective", another_worker_finishes_timestamp)
    tuning.tune_all(data, ("temporal",), ("baseline", "timestamp"), settings, url,
                    produced_by=produced_by)
    assert seen_other and (bars.bars[-1].total, bars.bars[-1].n) == (2 * settings.trials,) * 2
    # A finished tuning run again has nothing left: no bar at all.
    tuning.tune_all(data, ("random",), ("baseline", "timestamp"), settings, url,
                    produced_by=produced_by)
    assert bars.bars[-1].total == 0 and bars.bars[-1].disable


def test_budget_counts_every_epoch_it_trains(monkeypatch, capsys):
    from types import SimpleNamespace

    import harness.run.budget as budget
    from harness.model.training import TrainOptions

    # Training stands in: each "epoch" is one call of the validation callback.
    monkeypatch.setattr(budget, "prepare_cell", lambda data, split, config, seed, options:
                        options)
    monkeypatch.setattr(budget, "fit_cell", lambda options, validate: [
        validate(None) for _ in range(options.epochs)])
    monkeypatch.setattr(budget, "validation_score", lambda cell, model: 0.5)
    monkeypatch.setattr(budget, "test_score", lambda cell, model: 0.4)
    tuned = SimpleNamespace(sha256="0" * 64, cell=lambda split, config, seed: SimpleNamespace(
        options=lambda epochs: TrainOptions(epochs=epochs, learning_rate=0.2)))
    data = SimpleNamespace(source="synthetic", sha256="1" * 64)
    bars = _Bars(monkeypatch, budget)
    document = budget.budget_curves(data, ("random", "temporal"), ("baseline",),
                                    max_epochs=3, tuned=tuned)
    assert len(document["curves"]) == 4  # 2 splits x 1 config x tutorial and tuned
    bar = bars.by_desc("budget")
    assert (bar.total, bar.n) == (12, 12)
    err = capsys.readouterr().err
    assert "12/12" in err and "epoch" in err
