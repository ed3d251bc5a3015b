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
