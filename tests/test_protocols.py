"""The protocols end to end on the real data (quick grid): ``python -m harness tune``
writes a tuned file, ``pytest benchmarks --protocol all`` trains each tuned cell at its
tuned hyperparameters and each logq cell at the tutorial's with logQ on, beside the
tutorial's cells, and the report shows each protocol. Also the budget curve."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from benchrun import ROOT, run_benchmarks

from harness.record.files import write_json_atomic
from harness.report.budget import render_budget
from harness.run.budget import budget_curves
from harness.run.tunespace import study_name, study_seed

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
CONFIGS = ("baseline", "timestamp")
SEEDS = 2
# The random split alone: it is tuned once per seed, so a cell's study is its own seed's
# (an unseeded split's single study is the simpler case, read by the same lookup).
GRID = ("--quick", "--seeds", str(SEEDS), "--splits", "random")


def _harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("protocols")
    tuned = tmp / "tuned.json"
    tune = _harness("tune", "--quick", "--splits", "random", "--configs",
                    ",".join(CONFIGS), "--seeds", str(SEEDS),
                    "--trials", "1", "--max-epochs", "1", "--patience",
                    "1", "--out", str(tuned))
    assert tune.returncode == 0, tune.stderr[-3000:]
    run = run_benchmarks(*GRID, "--protocol", "all", "--tuned", str(tuned),
                         "--no-speedup", "--run-dir", str(tmp / "run"), "--results-dir",
                         str(tmp / "results"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return tmp, json.loads(tuned.read_text())


def test_tuned_cells_train_at_their_tuned_hyperparameters(both):
    tmp, tuned = both
    entries = json.loads((tmp / "results" / "benchmark.json").read_text())["benchmarks"]
    train = [e["extra_info"] for e in entries if e["extra_info"].get("kind") == "train"]
    tuned_cells = [e for e in train if e["protocol"] == "tuned"]
    # Every (split, config, seed) once per protocol; the tuned ones fit on train only.
    assert len(tuned_cells) == len(CONFIGS) * SEEDS
    assert {e["fit_on"] for e in tuned_cells} == {"train"}
    assert sum(e["protocol"] == "tutorial" for e in train) == len(tuned_cells)
    for extra in tuned_cells:
        chosen = tuned["cells"][study_name(extra["split"], extra["config"], study_seed(
            extra["split"], extra["seed"]))]  # a random cell's own seed's study
        options = extra["provenance"]["options"]
        assert {k: options[k] for k in chosen["params"]} == chosen["params"]
        assert options["epochs"] == extra["epochs"] == chosen["epochs"]
        assert extra["provenance"]["tuning"]["params"] == chosen["params"]
        assert extra["provenance"]["protocol"] == "tuned"
    # The baselines run once (they have nothing to tune) and stand in every table.
    baselines = [e["extra_info"] for e in entries if e["extra_info"]["config"] == "popularity"]
    assert {e["protocol"] for e in baselines} == {"tutorial"} and len(baselines) == SEEDS


def test_logq_cells_train_at_the_tutorials_budget_with_logq_on(both):
    tmp, _ = both
    entries = json.loads((tmp / "results" / "benchmark.json").read_text())["benchmarks"]
    train = [e["extra_info"] for e in entries if e["extra_info"].get("kind") == "train"]
    logq = [e for e in train if e["protocol"] == "logq"]
    tutorial = {(e["split"], e["config"], e["seed"]): e for e in train
                if e["protocol"] == "tutorial"}
    assert len(logq) == len(tutorial) == len(CONFIGS) * SEEDS
    for extra in logq:
        options = extra["provenance"]["options"]
        assert extra["provenance"]["protocol"] == "logq" and "tuning" not in extra["provenance"]
        twin = tutorial[(extra["split"], extra["config"], extra["seed"])]
        assert options["logq"] is True and twin["provenance"]["options"]["logq"] is False
        assert {**twin["provenance"]["options"], "logq": True} == options


def test_the_report_shows_each_protocol_and_says_which(both):
    tmp, tuned = both
    report = (tmp / "results" / "results.md").read_text()
    assert "### Top-100 test accuracy, tutorial protocol, fit_on=train" in report
    assert "### Top-100 test accuracy, tuned protocol, fit_on=train" in report
    assert "### Top-100 test accuracy, logq protocol, fit_on=train" in report
    assert "- What logQ changed (tutorial → logq), fit_on=train" in report
    assert "- What tuning the budget changed (logq → tuned), fit_on=train" in report
    assert "### tuned protocol, fit_on=train" in report  # does the feature help?
    tuned_table = report.split("tuned protocol, fit_on=train")[1].split("###")[0]
    assert "| popularity" in tuned_table and "| timestamp" in tuned_table
    latex = (tmp / "results" / "tables" / "accuracy_top100_fit_on_train_tuned.tex").read_text()
    assert "Protocol tuned" in latex and "tuned.json sha256" in latex


def test_a_tuned_run_without_its_file_is_a_usage_error(tmp_path):
    result = run_benchmarks(*GRID, "--protocol", "tuned", "--tuned",
                            str(tmp_path / "absent.json"), "--collect-only")
    assert result.returncode == 4  # pytest's usage error
    output = result.stdout + result.stderr
    assert "absent.json does not exist" in output and "Traceback" not in output


def test_a_tuned_file_from_other_data_is_refused(both, tmp_path):
    tuned = copy.deepcopy(both[1])
    tuned["identity"]["data_sha256"] = "0" * 64
    other = tmp_path / "tuned.json"
    other.write_text(json.dumps(tuned))
    result = run_benchmarks(*GRID, "--protocol", "tuned", "--tuned", str(other),
                            "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "tuned on other data" in output and "data_sha256" in output
    assert "Traceback" not in output


def test_a_tuned_file_without_a_cell_of_the_grid_is_refused(both, tmp_path):
    tuned = copy.deepcopy(both[1])
    del tuned["cells"]["random-timestamp-seed1"]
    partial = tmp_path / "tuned.json"
    partial.write_text(json.dumps(tuned))
    result = run_benchmarks(*GRID, "--protocol", "tuned", "--tuned", str(partial),
                            "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "no tuned hyperparameters for random-timestamp-seed1" in output
    assert "Traceback" not in output and "trained at" not in output


def test_budget_curves_render_a_table_and_a_chart(tmp_path):
    from harness.data.synthetic import synthetic_movielens

    data = synthetic_movielens(np.random.default_rng(0), n_interactions=2000, n_items=50,
                               n_users=60)
    document = budget_curves(data, ("temporal",), ("baseline",), max_epochs=3)
    (curve,) = document["curves"]
    assert len(curve["validation"]) == len(curve["test"]) == 3  # never stopped early
    best = int(np.argmax(curve["validation"]))
    assert curve["best_validation_epoch"] == best + 1
    assert curve["test_at_best_validation"] == curve["test"][best]
    markdown = render_budget(write_json_atomic(tmp_path / "budget.json", document), tmp_path)
    assert "| temporal | baseline        | tutorial          |" in markdown
    assert (tmp_path / "budget.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "tables" / "budget" / "budget.tex").exists()


@pytest.mark.parametrize("args, message", [
    (["--max-epochs", "0"], "--max-epochs must be a positive integer"),
    (["--configs", "nope"], "nope"),
    (["--tuned", "/nonexistent/tuned.json"], "does not exist"),
])
def test_bad_budget_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = _harness("budget", "--out", str(tmp_path), *args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and message in lines[0], result.stderr[-2000:]
