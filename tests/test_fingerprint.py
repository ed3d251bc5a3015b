"""Behavioural fingerprints (harness.record.fingerprint): a tuned file and a run directory are
tied to what is computed — suite version, data, settings and search space, each split's and
configuration's description — never to the bytes of the source; and the tuned file is read
without Optuna or TensorFlow, with advice that fits the user's dataset."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harness.run.tuned as tuned_module
from harness.data.table import DEFAULT_DATASET
from harness.errors import UserError
from harness.model.features import CONFIGS
from harness.record.fingerprint import described, study_identity, tuning_identity
from harness.record.provenance import current_suite_version
from harness.run import tunespace
from harness.run.tuned import DEFAULT_TUNED, FORMAT, expected_by_run, read_tuned
from harness.run.tunespace import TuneSettings, search, study_name, study_seeds
from splits import SPLITS

ROOT = Path(__file__).resolve().parent.parent
SHA = "d" * 64
# TuneSettings().to_dict() without constructing one (its check of the fractions loads
# TensorFlow, which nothing here needs).
SETTINGS = {field.name: field.default for field in dataclasses.fields(TuneSettings)} | search()
CELL = {"epochs": 4, "validation_score": 0.3, "trials_counted": 16, "tuning_seconds": 12.5,
        "params": {"learning_rate": 0.05, "embedding_dim": 64, "batch_size": 512,
                   "logq": True}}


def _write(path: Path, identity: dict) -> Path:
    cells = {study_name(split, "baseline", seed): {
        "split": split, "config": "baseline", **({} if seed is None else {"seed": seed}),
        **CELL} for split in identity["splits"]
        for seed in study_seeds(split, identity["settings"]["seeds"])}
    path.write_text(json.dumps({"format": FORMAT, "identity": identity, "cells": cells}))
    return path


def _tuned_file(tmp_path: Path, **changes) -> Path:
    """A tuned file of random/baseline (a study per seed), temporal/baseline and
    temporal_warm/baseline made by today's code, with ``changes`` applied to its identity
    (dotted keys)."""
    identity = tuning_identity(SHA, SETTINGS, ["random", "temporal", "temporal_warm"],
                               ["baseline"])
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = identity
        for key in parents:
            node = node[key]
        node[last] = value
    return _write(tmp_path / "tuned.json", identity)


# (a) What does not move a number does not invalidate.

_PROBE = """
import dataclasses, json
from harness.model.features import CONFIGS
from harness.record.fingerprint import described, tuning_identity
from harness.run.tuned import expected_by_run
from harness.run.tunespace import TuneSettings, search
from splits import SPLITS
settings = {f.name: f.default for f in dataclasses.fields(TuneSettings)} | search()
print(json.dumps([tuning_identity("d" * 64, settings, SPLITS.names(), CONFIGS.names()),
                  described(SPLITS.names(), CONFIGS.names()), expected_by_run("d" * 64)]))
"""


def _fingerprints(root: Path) -> list:
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=root, capture_output=True,
                            text=True, timeout=120, env={"PYTHONPATH": str(root),
                                                         "PYTHONHASHSEED": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def _source_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([*(root / "harness").rglob("*.py"), *(root / "splits").rglob("*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_a_comment_or_a_rename_changes_no_fingerprint(tmp_path):
    """A copy of the code with comments edited and names renamed in the modules that
    define the splits, the configurations and the search: every fingerprint is the same
    (the old design hashed these files' bytes, so each edit invalidated the tuning)."""
    for name in ("harness", "splits"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")  # the suite version
    edits = {
        "splits/strategies.py": [("VALIDATION_FRACTION = 0.1",
                                  "VALIDATION_FRACTION = 0.1  # an edited comment")],
        "harness/model/features.py": [  # a renamed variable
            ("for _config in (", "for _configuration in ("),
            ("register(_config.name, _config)", "register(_configuration.name, _configuration)")],
        "harness/run/tunespace.py": [("# The search space.", "# The space searched.")],
        "harness/model/training.py": [("def adagrad(", "def adagrad_optimizer("),
                                      ("optimizer=adagrad(", "optimizer=adagrad_optimizer(")],
    }
    for name, replacements in edits.items():
        path = tmp_path / name
        text = path.read_text()
        for old, new in replacements:
            assert old in text, (name, old)
            text = text.replace(old, new)
        path.write_text(text)
    assert _source_digest(tmp_path) != _source_digest(ROOT)  # the bytes did change
    assert _fingerprints(tmp_path) == _fingerprints(ROOT)


# (b) What can move a number invalidates, and the refusal names it.

@pytest.mark.parametrize("change", [
    lambda: tuning_identity("e" * 64, SETTINGS, ["random"], ["baseline"]),
    lambda: tuning_identity(SHA, {**SETTINGS, "patience": 5}, ["random"], ["baseline"]),
    lambda: tuning_identity(SHA, {**SETTINGS, "space": {}}, ["random"], ["baseline"]),
    lambda: tuning_identity(SHA, SETTINGS, ["temporal"], ["baseline"]),
    lambda: tuning_identity(SHA, SETTINGS, ["random"], ["timestamp"]),
])
def test_each_input_changes_the_identity(change):
    assert change() != tuning_identity(SHA, SETTINGS, ["random"], ["baseline"])


def test_a_new_suite_version_changes_the_identity(monkeypatch):
    before = tuning_identity(SHA, SETTINGS, ["random"], ["baseline"])
    monkeypatch.setattr("harness.record.fingerprint.current_suite_version", lambda: "99.0.0")
    assert tuning_identity(SHA, SETTINGS, ["random"], ["baseline"]) == {
        **before, "suite_version": "99.0.0"}


def test_todays_file_is_accepted(tmp_path):
    tuned = read_tuned(_tuned_file(tmp_path), expected_by_run(SHA))
    assert tuned.cell("temporal_warm", "baseline", 0).split == "temporal_warm"  # its own
    assert [tuned.cell("random", "baseline", seed).seed for seed in range(5)] == [
        0, 1, 2, 3, 4]  # a seeded split's seed is chosen for by its own study
    assert tuned.cell("temporal", "baseline", 3).seed is None  # one study for every seed


def test_a_seed_the_tuning_did_not_cover_is_refused_saying_how_to_tune_it(tmp_path):
    tuned = read_tuned(_tuned_file(tmp_path), expected_by_run(SHA))
    with pytest.raises(UserError, match=r"random-baseline-seed7 \(a seeded split is tuned "
                       r"per seed: tune --seeds 8 or more\)"):
        tuned.cell("random", "baseline", 7)
    assert tuned.cell("temporal", "baseline", 7).epochs == 4  # not seeded: shared


@pytest.mark.parametrize("changes, expected, named", [
    ({"suite_version": "0.3.0"}, None, f"suite_version: 0.3.0 != {current_suite_version()}"),
    ({}, expected_by_run("e" * 64), "data_sha256: dddd"),
    ({}, expected_by_run(SHA, test_fraction=0.3), "settings.test_fraction: 0.2 != 0.3"),
    ({"settings.space.embedding_dim": [16, 32]}, None, "settings.space.embedding_dim"),
    ({"settings.first_trial.batch_size": 1024}, None, "settings.first_trial.batch_size"),
    ({"settings.trials": 8}, {"settings": {"trials": 16}}, "settings.trials: 8 != 16"),
])
def test_a_file_made_under_another_identity_is_refused_naming_what_differs(
        tmp_path, changes, expected, named):
    path = _tuned_file(tmp_path, **changes)
    with pytest.raises(UserError, match="tuned on other data") as raised:
        read_tuned(path, expected or expected_by_run(SHA))
    assert named in str(raised.value) and "\n" not in str(raised.value)


def test_the_budget_is_the_tuners_choice_and_a_run_accepts_it(tmp_path):
    # tests/test_protocols.py tunes with --trials 2 for the quick grid: a run must use it.
    path = _tuned_file(tmp_path, **{"settings.trials": 2, "settings.max_epochs": 2})
    assert read_tuned(path, expected_by_run(SHA)).cell("random", "baseline", 0).trials == 16


def test_todays_search_is_required(tmp_path, monkeypatch):
    """A file from before a change of the search space is refused by today's code."""
    path = _tuned_file(tmp_path)
    monkeypatch.setattr(tunespace, "EMBEDDING_DIMS", (*tunespace.EMBEDDING_DIMS, 256))
    with pytest.raises(UserError, match=r"settings\.space\.embedding_dim: 16, 32, 64, 128 "
                                        r"!= 16, 32, 64, 128, 256"):
        read_tuned(path, expected_by_run(SHA))


def test_a_new_suite_version_refuses_the_file(tmp_path, monkeypatch):
    path = _tuned_file(tmp_path)
    monkeypatch.setattr(tuned_module, "current_suite_version", lambda: "99.0.0")
    with pytest.raises(UserError, match="suite_version: .* != 99.0.0"):
        read_tuned(path, expected_by_run(SHA))


def _redescribed(monkeypatch, registry, name: str, **fields) -> None:
    # The registries have no public way to replace an entry (adding one is a registration,
    # never a replacement); the test swaps one for its duration only.
    monkeypatch.setitem(registry._items, name, dataclasses.replace(registry[name], **fields))


def test_a_split_described_otherwise_refuses_only_its_own_cells(tmp_path, monkeypatch):
    tuned = read_tuned(_tuned_file(tmp_path), expected_by_run(SHA))
    _redescribed(monkeypatch, SPLITS, "temporal", time_ordered="per_user")
    with pytest.raises(UserError, match="temporal/baseline was tuned under another "
                       "description") as raised:
        tuned.cell("temporal", "baseline", 0)
    assert "splits.temporal.time_ordered: global != per_user" in str(raised.value)
    assert tuned.cell("random", "baseline", 0).epochs == 4  # its study is unchanged


def test_a_configuration_described_otherwise_is_refused(tmp_path, monkeypatch):
    tuned = read_tuned(_tuned_file(tmp_path), expected_by_run(SHA))
    _redescribed(monkeypatch, CONFIGS, "baseline", hidden_layers=(64,))
    with pytest.raises(UserError, match=r"configs\.baseline\.hidden_layers: none != 64"):
        tuned.cell("random", "baseline", 0)


def test_a_cell_the_identity_does_not_describe_is_refused(tmp_path):
    path = _tuned_file(tmp_path)
    document = json.loads(path.read_text())
    del document["identity"]["splits"]["temporal"]
    path.write_text(json.dumps(document))
    with pytest.raises(UserError, match="splits.temporal: null"):
        read_tuned(path, expected_by_run(SHA)).cell("temporal", "baseline", 0)


def test_a_study_is_tied_to_its_own_cell_only():
    """A study resumed by a tuning of more cells still matches; one whose split is now
    described otherwise does not."""
    one = tuning_identity(SHA, SETTINGS, ["random"], ["baseline"])
    more = tuning_identity(SHA, SETTINGS, ["random", "temporal"], ["baseline", "genres"])
    assert study_identity(one, "random", "baseline") == study_identity(
        more, "random", "baseline")
    assert study_identity(more, "temporal", "baseline") != study_identity(
        more, "random", "baseline")


def test_an_old_format_file_gets_one_line_on_what_to_do(tmp_path):
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"format": "ctxbench-tuned/1", "identity": {"code": "0" * 64},
                                "cells": {}}))
    with pytest.raises(UserError) as raised:
        read_tuned(path, expected_by_run(SHA))
    message = str(raised.value)
    assert "predates behavioural fingerprints" in message and "\n" not in message
    assert f"python -m harness tune --out {path} --overwrite" in message
    assert "git log -- results/tuned.json" in message  # how results/tuned.json migrated


# (c), (d) The committed file, read as the benchmarks read it.

_BENCH_READ = """
import json, sys
from harness.model.features import DEFAULT_CONFIGS
from harness.run.tuned import DEFAULT_TUNED, expected_by_run, read_tuned
from splits import SPLITS
header = json.loads(open("results/benchmark.json").read())["ctxbench"]
tuned = read_tuned(DEFAULT_TUNED, expected_by_run(header["data_sha256"]), header["dataset"])
for split in SPLITS:
    for config in DEFAULT_CONFIGS:
        for seed in range(header["grid"]["seeds"]):
            tuned.cell(split, config, seed)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
                        ("optuna", "tensorflow", "tf_keras", "tensorflow_recommenders"))))
"""


def test_reading_the_tuned_file_loads_neither_optuna_nor_tensorflow():
    result = subprocess.run([sys.executable, "-c", _BENCH_READ], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("tuned_file, results", [
    (DEFAULT_TUNED, "results/benchmark.json"),
    ("results/tuned-history.json", "results/history/benchmark.json"),
])
def test_the_committed_tuned_file_is_accepted_by_the_tuned_protocol(monkeypatch, tuned_file,
                                                                    results):
    """What ``pytest benchmarks --protocol tuned`` checks before any cell runs
    (benchmarks/conftest.py: read_tuned with expected_by_run, then every tuned cell), on
    the real data's sha256 as the grid's committed results record it: the default grid's
    and the history grid's (benchmarks/history.toml)."""
    monkeypatch.chdir(ROOT)  # DEFAULT_TUNED is relative to the working directory
    header = json.loads((ROOT / results).read_text())["ctxbench"]
    tuned = read_tuned(tuned_file, expected_by_run(header["data_sha256"]),
                       header["dataset"])
    for split in header["grid"]["splits"]:
        for config in header["grid"]["configs"]:
            for seed in range(header["grid"]["seeds"]):
                tuned.cell(split, config, seed)  # every grid cell's own study, or refused
    assert tuned.identity == tuning_identity(header["data_sha256"], SETTINGS,
                                             header["grid"]["splits"],
                                             header["grid"]["configs"])


def test_the_tuned_files_test_fraction_is_the_grids():
    from harness.model.training import TrainOptions

    assert TuneSettings.test_fraction == TrainOptions.test_fraction
    assert TuneSettings().to_dict() == SETTINGS


# (f) Advice that fits the user's dataset and file.

def test_the_advice_for_an_interactions_dataset_names_its_tune_command(tmp_path):
    path = _tuned_file(tmp_path)
    dataset = "interactions:/data/my inter.csv"
    with pytest.raises(UserError) as raised:
        read_tuned(path, expected_by_run("e" * 64), dataset)
    message = str(raised.value)
    assert (f"python -m harness tune --dataset 'interactions:/data/my inter.csv' --out "
            f"{path} --overwrite") in message
    assert "tox -e tune" not in message
    with pytest.raises(UserError, match="--dataset 'interactions:/data/my inter.csv'"):
        read_tuned(path, expected_by_run(SHA), dataset).cell("random", "genres", 0)
    with pytest.raises(UserError, match="run `python -m harness tune --dataset"):
        read_tuned(tmp_path / "absent.json", None, dataset)


def test_the_advice_for_the_default_dataset_and_file_is_tox(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    DEFAULT_TUNED.parent.mkdir()
    _write(DEFAULT_TUNED, tuning_identity(SHA, SETTINGS, ["random"], ["baseline"]))
    with pytest.raises(UserError, match=r"tune again \(tox -e tune\)$"):
        read_tuned(DEFAULT_TUNED, expected_by_run("e" * 64), DEFAULT_DATASET)
    # The same default file used with the user's own data: tox would tune MovieLens.
    with pytest.raises(UserError, match=r"tune again \(python -m harness tune --dataset "
                       r"interactions:inter\.csv --overwrite\)$"):
        read_tuned(DEFAULT_TUNED, expected_by_run("e" * 64), "interactions:inter.csv")


def test_the_run_directory_is_described_by_what_its_grid_computes():
    grid = described(["random", "temporal_warm"], ["baseline"])
    assert grid["splits"]["temporal_warm"]["warm_of"] == "temporal"
    assert grid["configs"]["baseline"] == {**CONFIGS["baseline"].to_dict(),
                                           "hidden_layers": []}
    assert "fn" not in grid["splits"]["random"]  # code, not a description
