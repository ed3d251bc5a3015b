"""``python -m harness compare`` on synthetic benchmark JSON files.

The runs are built with ``tests/fixtures/benchjson.py``: 2 splits x (popularity, baseline,
timestamp) x 5 seeds, with hand-chosen top-100 accuracies per seed.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.evaluation.keys import mrr_key
from harness.record.grid import Grid

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("ctxbench_benchjson", FIXTURES / "benchjson.py")
benchjson = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchjson)

SEEDS = 5
# Base top-100 test accuracy per seed: std about 0.003, the spread of real seeds.
BASE = {
    ("random", "popularity"): [0.150, 0.152, 0.149, 0.151, 0.148],
    ("random", "baseline"): [0.220, 0.224, 0.218, 0.222, 0.216],
    ("random", "timestamp"): [0.240, 0.246, 0.237, 0.243, 0.239],
    ("temporal", "popularity"): [0.090, 0.090, 0.090, 0.090, 0.090],
    ("temporal", "baseline"): [0.080, 0.085, 0.078, 0.082, 0.081],
    ("temporal", "timestamp"): [0.079, 0.086, 0.080, 0.083, 0.082],
}
ACCURACY_KEY = "test/top_{}_categorical_accuracy"


def build(
    values=BASE,
    *,
    tf_version="2.19.0",
    epochs=3,
    sha=benchjson.SHA,
    examples=40_000.0,
    queries=150_000.0,
    failed=(),
) -> dict:
    """A benchmark document; ``failed`` lists (split, config, seed) cells that failed."""
    entries = []
    for (split, config), per_seed in values.items():
        for seed, top100 in enumerate(per_seed):
            is_failed = (split, config, seed) in failed
            kinds = ("inference",) if config == "popularity" else ("train", "inference")
            entries += benchjson.cell_entries(
                split,
                config,
                seed,
                None if is_failed else top100,
                kinds=("train",) if is_failed else kinds,
                epochs=epochs,
                sha=sha,
                tf_version=tf_version,
                examples_per_second=examples * (1 + 0.01 * seed),
                queries_per_second=queries * (1 + 0.01 * seed),
                error="TrainingError: loss became NaN",
            )
    grid = Grid(splits=tuple(sorted({s for s, _ in values})), configs=("baseline", "timestamp"),
                seeds=tuple(range(SEEDS)), epochs=epochs, fit_on=("train",),
                baselines=("popularity",))
    return benchjson.benchmark_file(entries, grid=grid.to_dict(), sha=sha)


def shifted(document: dict, shift: float, ks=(1, 5, 10, 50, 100)) -> dict:
    """A copy whose test top-k accuracies (for ``ks``) all move by ``shift``."""
    document = copy.deepcopy(document)
    for entry in document["benchmarks"]:
        metrics = entry["extra_info"]["metrics"]
        for k in ks:
            if ACCURACY_KEY.format(k) in metrics:
                metrics[ACCURACY_KEY.format(k)] += shift
    return document


def write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def compare(capsys, *paths: Path, options: tuple[str, ...] = ()) -> tuple[int, str, str]:
    status = main(["compare", *map(str, paths), *options])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def base(tmp_path) -> Path:
    return write(tmp_path / "base.json", build())


def test_identical_files_exit_0(capsys, base):
    status, out, err = compare(capsys, base, base)
    assert status == 0, out
    assert err == ""
    assert "No regression" in out
    # Identical samples (even temporal/popularity's constant ones) have Welch p = 1.
    assert out.count("| p=1.000   | no ") == 6


def test_identical_copies_exit_0(capsys, base, tmp_path):
    twin = tmp_path / "twin.json"
    twin.write_bytes(base.read_bytes())
    assert compare(capsys, base, twin)[0] == 0


def test_better_run_exits_0(capsys, base, tmp_path):
    better = write(tmp_path / "new.json", shifted(build(), +0.03))
    status, out, _ = compare(capsys, base, better)
    assert status == 0
    assert "yes ▲" in out


def test_worse_by_005_in_every_accuracy_exits_1(capsys, base, tmp_path):
    worse = write(tmp_path / "new.json", shifted(build(), -0.05))
    status, out, _ = compare(capsys, base, worse)
    assert status == 1
    regressions = [line for line in out.splitlines() if line.startswith("- REGRESSION")]
    # 6 cells x 5 top-k accuracies.
    assert len(regressions) == 30
    assert any(
        "random/baseline/train: top-100 test accuracy fell 0.2200 -> 0.1700" in line
        for line in regressions
    )
    assert "yes ▼ regression" in out


def test_a_drop_in_a_non_headline_accuracy_is_a_regression(capsys, base, tmp_path):
    worse = write(tmp_path / "new.json", shifted(build(), -0.05, ks=(10,)))
    status, out, _ = compare(capsys, base, worse)
    assert status == 1
    assert "top-10 test accuracy fell" in out
    assert "top-100 test accuracy fell" not in out


def test_noisy_but_not_significant_exits_0(capsys, base, tmp_path):
    noisy = {key: list(values) for key, values in BASE.items()}
    # Mean 0.202 (0.018 below base) but std 0.038: Welch p is about 0.37.
    noisy[("random", "baseline")] = [0.250, 0.170, 0.230, 0.150, 0.210]
    path = write(tmp_path / "new.json", build(noisy))
    status, out, _ = compare(capsys, base, path)
    assert status == 0, out
    row = next(line for line in out.splitlines() if line.startswith("| random   | baseline"))
    assert row.rstrip().endswith("| no            |")
    # The same data is a regression once alpha admits p of 0.37.
    assert compare(capsys, base, path, options=("--alpha", "0.5"))[0] == 1


def test_significant_drop_smaller_than_min_drop_exits_0(capsys, base, tmp_path):
    slightly = write(tmp_path / "new.json", shifted(build(), -0.005))
    status, out, _ = compare(capsys, base, slightly)
    assert status == 0
    assert "yes ▼ (< min-drop)" in out
    assert compare(capsys, base, slightly, options=("--min-drop", "0.001"))[0] == 1


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"examples": 40_000.0 * 0.5}, 1),  # training at half speed
        ({"queries": 150_000.0 * 0.5}, 1),  # inference at half speed
        ({"examples": 40_000.0 * 0.8}, 0),  # 20% slower: within --max-slowdown 0.25
        ({"examples": 40_000.0 * 2.0}, 0),  # faster
    ],
)
def test_throughput_regressions(capsys, base, tmp_path, options, expected):
    status, out, _ = compare(capsys, base, write(tmp_path / "new.json", build(**options)))
    assert status == expected, out
    if expected:
        assert "REGRESSION" in out and "fell" in out and "0.50×" in out


def test_max_slowdown_option(capsys, base, tmp_path):
    slower = write(tmp_path / "new.json", build(examples=40_000.0 * 0.8))
    assert compare(capsys, base, slower, options=("--max-slowdown", "0.1"))[0] == 1


def test_newly_failed_cell_exits_1(capsys, base, tmp_path):
    path = write(tmp_path / "new.json", build(failed={("temporal", "timestamp", 3)}))
    status, out, _ = compare(capsys, base, path)
    assert status == 1
    assert "temporal/timestamp/train: seed(s) 3 failed (TrainingError" in out


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (build(epochs=5), "epochs: 3 != 5"),
        (build(sha="f" * 64), "data_sha256: 5e2ab1c0"),
        (
            build({k: v for k, v in BASE.items() if k[0] == "random"}),
            "splits: random, temporal != random",
        ),
        (
            build({k: v for k, v in BASE.items() if k[1] != "timestamp"}),
            "configs: baseline, popularity, timestamp != baseline, popularity",
        ),
    ],
)
def test_incomparable_runs_exit_2_saying_what_differs(capsys, base, tmp_path, document, reason):
    status, out, err = compare(capsys, base, write(tmp_path / "new.json", document))
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "not comparable" in err and reason in err


def test_different_fit_on_is_incomparable(capsys, base, tmp_path):
    document = build()
    for entry in document["benchmarks"]:
        entry["extra_info"]["fit_on"] = "all"
    status, _, err = compare(capsys, base, write(tmp_path / "new.json", document))
    assert status == 2
    assert "fit_on: train != all" in err


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "no such file"), (b"{not json", "not valid JSON"), (b"{}", "no 'benchmarks'")],
)
def test_unreadable_file_exits_2(capsys, base, tmp_path, content, reason):
    path = tmp_path / "new.json"
    if content is not None:
        path.write_bytes(content)
    status, out, err = compare(capsys, base, path)
    assert status == 2
    assert out == ""
    assert err.startswith(f"error: {path}") and reason in err


def test_one_file_or_a_bad_option_exits_2(capsys, base):
    assert compare(capsys, base)[0] == 2
    status, _, err = compare(capsys, base, base, options=("--alpha", "2"))
    assert status == 2 and "--alpha" in err
    status, _, err = compare(capsys, base, base, options=("--metric", "test/nope"))
    assert status == 2 and "test/nope" in err


def test_more_than_two_files_make_one_column_per_tf_version(capsys, tmp_path):
    paths = [
        write(tmp_path / f"tf{version}.json", build(tf_version=version))
        for version in ("2.18.0", "2.19.0", "2.20.0")
    ]
    status, out, _ = compare(capsys, *paths)
    assert status == 0
    header = next(line for line in out.splitlines() if line.startswith("| split"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert columns == ["split", "configuration", "fit_on", "protocol", "TF 2.18.0", "TF 2.19.0",
                       "TF 2.20.0"]
    # random/baseline: mean 0.2200, sd of [0.220, 0.224, 0.218, 0.222, 0.216] = 0.0032.
    assert ("| random   | baseline        | train    | tutorial   | 0.2200 ± 0.0032 "
            "| 0.2200 ± 0.0032 |") in out
    assert "| train examples/s" in out and "| inference queries/s" in out
    assert out.count("## Verdict") == 2


def test_more_than_two_files_judge_each_against_the_first(capsys, tmp_path):
    first = write(tmp_path / "a.json", build(tf_version="2.18.0"))
    second = write(tmp_path / "b.json", build(tf_version="2.19.0"))
    third = write(tmp_path / "c.json", shifted(build(tf_version="2.20.0"), -0.05))
    status, out, _ = compare(capsys, first, second, third)
    assert status == 1
    verdicts = out.split("## Verdict: ")[1:]
    assert verdicts[0].startswith("b.json vs a.json") and "No regression" in verdicts[0]
    assert verdicts[1].startswith("c.json vs a.json") and "REGRESSION" in verdicts[1]


def test_same_tf_version_twice_gets_file_names(capsys, tmp_path):
    paths = [write(tmp_path / f"{name}.json", build()) for name in ("a", "b", "c")]
    _, out, _ = compare(capsys, *paths)
    header = next(line for line in out.splitlines() if line.startswith("| split"))
    columns = [cell.strip() for cell in header.strip("|").split("|")][4:]
    assert columns == ["TF 2.19.0 (a.json)", "TF 2.19.0 (b.json)", "TF 2.19.0 (c.json)"]


def test_out_writes_the_printed_markdown(capsys, base, tmp_path):
    out_file = tmp_path / "reports" / "compare.md"
    status, out, _ = compare(capsys, base, base, options=("--out", str(out_file)))
    assert status == 0
    assert out_file.read_text(encoding="utf-8") == out


def test_metric_option_selects_the_table_and_judges_that_metric(capsys, base, tmp_path):
    # A metric name real runs write (harness.evaluation.keys), not one only fixtures have.
    metric = mrr_key(100)
    status, out, _ = compare(capsys, base, base, options=("--metric", metric))
    assert status == 0 and f"| base {metric} " in out
    # A drop in that metric alone, every top-k accuracy unchanged, is a regression.
    worse = copy.deepcopy(build())
    for entry in worse["benchmarks"]:
        metrics = entry["extra_info"]["metrics"]
        if metric in metrics:
            metrics[metric] -= 0.05
    path = write(tmp_path / "new.json", worse)
    status, out, _ = compare(capsys, base, path, options=("--metric", metric))
    assert status == 1, out
    assert f"random/baseline/train: {metric} fell" in out
    assert compare(capsys, base, path)[0] == 0  # not judged unless asked for


def test_a_metric_no_run_writes_is_refused_listing_the_valid_ones(capsys, base):
    status, _, err = compare(capsys, base, base, options=("--metric", "test/mrr"))
    assert status == 2 and "test/mrr_at_100" in err


def test_pytest_benchmark_compare_accepts_the_fixture(tmp_path):
    # pytest-benchmark only warns on a file it cannot load, so check it listed the entries.
    result = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(FIXTURES / "run_train.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Failed to load" not in result.stdout + result.stderr
    assert "test_inference[random-baseline-train-s0]" in result.stdout
    assert "test_train[temporal-timestamp-train-s2]" in result.stdout


def test_cli_subprocess_exit_codes(tmp_path, base):
    worse = write(tmp_path / "new.json", shifted(build(), -0.05))
    run = [sys.executable, "-m", "harness", "compare"]
    same = subprocess.run([*run, str(base), str(base)], capture_output=True, timeout=120)
    regressed = subprocess.run([*run, str(base), str(worse)], capture_output=True, timeout=120)
    broken = subprocess.run(
        [*run, str(base), str(tmp_path / "x.json")], capture_output=True, timeout=120
    )
    assert (same.returncode, regressed.returncode, broken.returncode) == (0, 1, 2)


def _on_machine(document: dict, **changes) -> dict:
    document = copy.deepcopy(document)
    machine = document["machine_info"].get("ctxbench")
    if changes.get("machine") is None and "machine" in changes:
        document["machine_info"].pop("ctxbench", None)
    else:
        machine.update(changes)
    return document


@pytest.mark.parametrize("changes", [
    {"isa": ["sse4_2", "avx", "avx2", "fma", "avx512f"]},  # another instruction set
    {"caches": {"L1d": 32768, "L1i": 32768, "L2": 1048576, "L3": 16777216}},
    {"cores": 4},
    {"machine": None},  # a run that did not record its machine
], ids=["isa", "caches", "cores", "unrecorded"])
def test_speed_is_never_judged_across_machines(capsys, tmp_path, changes):
    # Half the throughput on a machine other than the baseline's is no regression: the
    # two speeds were measured on different hardware.
    slower = _on_machine(build(examples=40_000.0 * 0.5, queries=150_000.0 * 0.5), **changes)
    status, out, _ = compare(capsys, write(tmp_path / "base.json", build()),
                             write(tmp_path / "new.json", slower))
    assert status == 0, out
    assert "REGRESSION" not in out
    assert "Not compared: a speed holds only for the machine it was measured on" in out
    assert "new.json: " in out


def test_a_cell_run_on_another_machine_is_not_judged_for_speed(capsys, tmp_path):
    # A cluster run: each cell names the worker machine it ran on. Half the throughput
    # is judged where base and new cells share a machine, and not for the group whose
    # cells ran on a worker of another kind (fails if the run's machine alone decides).
    base = build()
    slower = build(examples=40_000.0 * 0.5, queries=150_000.0 * 0.5)
    worker = {**base["machine_info"]["ctxbench"], "cores": 64}
    for entry in slower["benchmarks"]:
        info = entry["extra_info"]
        if (info["split"], info["config"]) == ("temporal", "baseline"):
            info["provenance"]["machine"] = worker
    status, out, _ = compare(capsys, write(tmp_path / "base.json", base),
                             write(tmp_path / "new.json", slower))
    assert status == 1, out
    regressions = [line for line in out.splitlines() if "median train examples/s fell" in line]
    assert any(line.startswith("- random/baseline") or "random/baseline" in line
               for line in regressions), out
    assert not any("temporal/baseline" in line for line in regressions), out


def test_a_different_gemm_rate_alone_is_the_same_machine(capsys, tmp_path):
    # The GEMM rate is a measurement (it varies on a shared machine), not an identity.
    slower = _on_machine(build(examples=40_000.0 * 0.5), gemm_gflops=10.0)
    status, out, _ = compare(capsys, write(tmp_path / "base.json", build()),
                             write(tmp_path / "new.json", slower))
    assert status == 1 and "REGRESSION" in out and "0.50×" in out


def test_several_runs_show_speed_only_for_runs_on_the_first_runs_machine(capsys, tmp_path):
    paths = [write(tmp_path / "a.json", build(tf_version="2.18.0")),
             write(tmp_path / "b.json", build(tf_version="2.19.0")),
             write(tmp_path / "c.json", _on_machine(build(tf_version="2.20.0"), cores=8))]
    status, out, _ = compare(capsys, *paths)
    speed = out[out.index("## Throughput by TensorFlow version"):]
    assert "TF 2.18.0" in speed and "TF 2.19.0" in speed and "TF 2.20.0" not in speed
    assert "c.json: Example CPU @ 2.0GHz, x86_64, 8 cores" in speed


def versioned(document: dict, version: str | None, where: str = "header") -> dict:
    """A copy recording ``version`` as its suite version in the run header or in every
    cell's provenance (the two places a run records it)."""
    document = copy.deepcopy(document)
    if where == "header":
        document["ctxbench"]["suite_version"] = version
    else:
        for entry in document["benchmarks"]:
            entry["extra_info"]["provenance"]["suite_version"] = version
    return document


@pytest.mark.parametrize("where", ["header", "cells"])
def test_runs_of_different_suite_versions_are_refused_naming_both(capsys, tmp_path, where):
    old = write(tmp_path / "old.json", versioned(build(), "0.1.0", where))
    new = write(tmp_path / "new.json", versioned(build(), "0.2.0", where))
    status, out, err = compare(capsys, old, new)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert "old.json: 0.1.0, new.json: 0.2.0" in err and "--allow-version-mismatch" in err


def test_a_file_without_a_version_is_unknown_and_matches_only_unknown(capsys, base, tmp_path):
    # Files from before runs recorded their version still compare with each other
    # (results/tf/*.json do: tox -e compare) ...
    assert compare(capsys, base, write(tmp_path / "twin.json", build()))[0] == 0
    # ... but not with a run that names a version.
    new = write(tmp_path / "new.json", versioned(build(), "0.2.0"))
    status, _, err = compare(capsys, base, new)
    assert status == 2 and "base.json: unknown, new.json: 0.2.0" in err


def test_allow_version_mismatch_compares_and_says_so(capsys, base, tmp_path):
    new = write(tmp_path / "new.json", versioned(shifted(build(), -0.05), "0.2.0"))
    status, out, err = compare(capsys, base, new, options=("--allow-version-mismatch",))
    assert status == 1 and err == ""  # compared, and the drop is still judged
    assert "Compared although the suite versions differ (base.json: unknown, new.json: " \
           "0.2.0): --allow-version-mismatch was given." in out


def test_same_suite_version_compares_without_a_note(capsys, tmp_path):
    paths = [write(tmp_path / f"{name}.json", versioned(build(), "0.2.0"))
             for name in ("a", "b", "c")]
    status, out, _ = compare(capsys, *paths)
    assert status == 0 and "suite versions differ" not in out
