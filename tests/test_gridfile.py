"""Grid files (--grid-file), baselines named in --configs, and pytest benchmarks --help."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest
from benchrun import ROOT, run_benchmarks, write_interactions_file

from harness.cli import main
from harness.data.table import DEFAULT_DATASET
from harness.errors import UnknownNameError, UserError
from harness.run.gridfile import read_grid_file
from harness.run.settings import GridSettings, split_configs

GRID = """\
splits = ["random", "temporal"]
configs = ["baseline", "popularity"]
seeds = 2
epochs = 2
protocol = "tutorial"
fit_on = "train"
exclude_seen = true
segment_bands = [10, 50]
tuned = "tuned.json"
"""


def _write(path, text: str):
    path.write_text(text)
    return path


def test_a_grid_file_sets_the_grid(tmp_path):
    path = _write(tmp_path / "grid.toml", GRID)
    settings = read_grid_file(path)
    grid = settings.to_grid()
    assert grid.splits == ("random", "temporal") and grid.seeds == (0, 1)
    assert grid.configs == ("baseline",) and grid.baselines == ("popularity",)
    assert grid.epochs == 2 and grid.fit_on == ("train",)
    assert settings.evaluation().bands == (10, 50)
    assert settings.exclude_seen is True
    assert settings.tuned == str(tmp_path / "tuned.json")  # beside the file
    assert settings.grid_file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_flag_overrides_the_file(tmp_path):
    file = read_grid_file(_write(tmp_path / "grid.toml", GRID))
    settings = GridSettings(seeds=1, configs=("ease",)).with_file(file)
    grid = settings.to_grid()
    assert grid.seeds == (0,) and grid.baselines == ("ease",) and grid.configs == ()
    assert grid.splits == ("random", "temporal")  # not given: the file's
    assert settings.grid_file_sha256 == file.grid_file_sha256


@pytest.mark.parametrize("text, message", [
    ("seedz = 3\n", "unknown key 'seedz'; valid: splits, configs, seeds"),
    ("seeds = \"three\"\n", "seeds must be a positive integer"),
    ("epochs = 0\n", "epochs must be a positive integer"),
    ("exclude_seen = 1\n", "exclude_seen must be true or false"),
    ("configs = [\"nope\"]\n", "unknown feature configuration or baseline 'nope'"),
    ("splits = [\"random\", \"nope\"]\n", "unknown split 'nope'"),
    ("protocol = \"some\"\n", "protocol must be one of tutorial, logq, tuned, all, both, or"),
    ("splits = [\n", "not a TOML file"),
])
def test_a_bad_grid_file_is_one_line(tmp_path, text, message):
    path = _write(tmp_path / "grid.toml", text)
    with pytest.raises(UserError, match=re.escape(message)) as raised:
        read_grid_file(path)
    assert str(raised.value).startswith(f"--grid-file {path}: ")
    assert "\n" not in str(raised.value).strip()


def test_a_bad_grid_file_exits_2_from_the_cli_and_is_refused_by_pytest(tmp_path, capsys):
    path = _write(tmp_path / "grid.toml", "seedz = 3\n")
    assert main(["tune", "--grid-file", str(path), "--out", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'seedz'" in err
    result = run_benchmarks("--grid-file", str(path), "--collect-only")
    assert result.returncode == 4  # pytest's usage error
    assert "unknown key 'seedz'" in result.stderr and "Traceback" not in result.stderr


def test_tune_and_budget_take_the_file_where_no_flag_is_given(tmp_path, monkeypatch):
    import harness.cli.train_commands as train_commands

    path = _write(tmp_path / "grid.toml", GRID.replace('protocol = "tutorial"',
                                                       'protocol = "both"'))
    seen = {}

    def stop_before_loading(args):
        seen.update(vars(args))
        raise UserError("stop")

    monkeypatch.setattr(train_commands, "load_data", stop_before_loading)
    assert main(["budget", "--grid-file", str(path), "--splits", "random",
                 "--out", str(tmp_path)]) == 2
    assert seen["splits"] == "random" and seen["configs"] == "baseline"
    assert seen["tuned"] == str(tmp_path / "tuned.json")
    assert main(["tune", "--grid-file", str(path), "--out", str(tmp_path / "t.json")]) == 2
    assert seen["splits"] == "random,temporal" and seen["dataset"] == DEFAULT_DATASET


def test_configs_name_baselines():
    assert split_configs(("ease",), quick=True) == ((), ("ease",))
    assert split_configs(("popularity", "baseline"), quick=False) == (("baseline",),
                                                                      ("popularity",))
    # Feature configurations alone keep the default baselines.
    assert split_configs(("baseline",), quick=False)[1] == ("popularity", "ease")
    assert split_configs(("item_knn", "baseline"), quick=False) == (("baseline",),
                                                                    ("item_knn",))
    assert split_configs(("baseline",), quick=True)[1] == ("popularity",)
    with pytest.raises(UnknownNameError) as raised:
        split_configs(("nope",), quick=False)
    assert "ease" in str(raised.value) and "popularity" in str(raised.value)
    assert "timestamp" in str(raised.value)


def test_a_quick_grid_can_run_ease_alone(tmp_path):
    result = run_benchmarks("--quick", "--configs", "ease", "--collect-only")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    ids = re.findall(r"::(test_\w+\[[^\]]+\])", result.stdout)
    # No learned configuration: test_train's parametrization is empty (pytest names its
    # one skipped item differently across versions), so only ids that are cell keys count.
    cells = [name for name in ids if re.search(r"\[\w+-\w+-\w+-s\d+\]$", name)]
    assert cells and all("-ease-" in name for name in cells), cells


@pytest.mark.slow
def test_the_grid_file_sha256_lands_in_the_header(tmp_path):
    dataset = write_interactions_file(tmp_path / "inter.csv")
    path = _write(tmp_path / "grid.toml",
                  f'splits = ["random"]\nconfigs = ["popularity"]\nseeds = 1\n'
                  f'dataset = "{dataset}"\n')
    result = run_benchmarks("--quick", "--grid-file", str(path), "--no-speedup", "--run-dir",
                            str(tmp_path / "run"), "--benchmark-json",
                            str(tmp_path / "out.json"), env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    expected = {"path": "~/grid.toml", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert json.loads((tmp_path / "out.json").read_text())["ctxbench"]["grid_file"] == expected


def _ctxbench_options() -> list[str]:
    """Every option benchmarks/conftest.py adds."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_conftest",
                                                  ROOT / "benchmarks" / "conftest.py")
    benchmarks_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmarks_conftest)
    names: list[str] = []

    class Group:
        def addoption(self, *flags, **_):
            names.extend(flags)

    class Parser:
        def getgroup(self, *_):
            return Group()

    benchmarks_conftest.pytest_addoption(Parser())
    return names


def test_pytest_benchmarks_help_lists_every_option():
    result = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--help",
                             "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    options = _ctxbench_options()
    assert "--grid-file" in options and "--fresh" in options
    for option in options:
        assert option in result.stdout, option
    assert "20% of users" in result.stdout
