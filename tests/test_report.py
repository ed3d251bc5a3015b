"""harness.report.report and harness.record.runs against small golden JSON fixtures.

``tests/fixtures/run_train.json``: fit_on=train, splits random and temporal, popularity,
baseline and timestamp, seeds 0-2; temporal/timestamp seed 2 failed, temporal/popularity
seed 2 is missing, temporal/baseline seed 1 has a null top-50 accuracy, and one
speed-up entry is not a cell. ``run_all.json``: fit_on=all, baseline and timestamp, with
the grid declared the way ``harness.run.rundir`` writes it. The golden Markdown files are the
expected reports; regenerate them with ``CTXBENCH_UPDATE_GOLDEN=1 pytest tests/test_report.py``
after a deliberate change, and review the diff.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.record.cell import Cell
from harness.record.reader import load_run
from harness.report.report import render_report

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRAIN = FIXTURES / "run_train.json"
ALL = FIXTURES / "run_all.json"
ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _golden(name: str, text: str) -> str:
    path = FIXTURES / name
    if os.environ.get("CTXBENCH_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def _write(path: Path, document) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _fixture(path: Path = TRAIN) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_single_run_matches_golden():
    markdown = render_report([TRAIN])
    assert markdown == _golden("report_train.md", markdown)


def test_merged_runs_match_golden():
    markdown = render_report([TRAIN, ALL])
    assert markdown == _golden("report_merged.md", markdown)


def test_report_is_deterministic_and_independent_of_the_directory(tmp_path):
    copy_path = tmp_path / TRAIN.name
    copy_path.write_bytes(TRAIN.read_bytes())
    assert render_report([copy_path]) == render_report([TRAIN])


def test_hand_computed_cells():
    markdown = render_report([TRAIN])
    # random/baseline top-100: [0.22, 0.225, 0.215] -> mean 0.22, std 0.005,
    # 95% half-width 4.3027 * 0.005 / sqrt(3) = 0.0124.
    assert "| baseline        | 0.2200 ± 0.0124 (n=3) |" in markdown
    # temporal/popularity: seeds 0 and 1 only, both 0.09: one value, never a fake ± 0.
    assert ("| popularity      | 0.1503 ± 0.0038 (n=3) | 0.0900 (same in all 2 seeds; "
            "interval n/a) |") in markdown
    assert "± 0.0000" not in markdown.split("## Accuracy")[1].split("## Does")[0]
    # temporal/timestamp seed 2 failed: two seeds, [0.079, 0.086], half-width
    # 12.706 * 0.00495 / sqrt(2) = 0.0445.
    assert "0.0825 ± 0.0445 (n=2)" in markdown
    # The null top-50 accuracy of temporal/baseline seed 1 is dropped: n=2 there only.
    top50 = markdown.split("### Top-50 test accuracy, tutorial protocol, fit_on=train")[1]
    top50 = top50.split("###")[0]
    assert re.search(r"\| baseline +\| 0\.1650 ± 0\.0093 \(n=3\) \| 0\.0592 ± 0\.0095 \(n=2\) +\|",
                     top50)


def test_feature_help_table_shows_timestamps_help_on_random_only():
    markdown = render_report([TRAIN])
    section = markdown.split("## Does the feature help?")[1].split("## Leakage")[0]
    timestamp = next(line for line in section.splitlines() if line.startswith("| timestamp"))
    # random: d = [0.02, 0.021, 0.022], mean 0.021, std 0.001, half 4.3027 * 0.001 / sqrt(3);
    # t = 0.021 sqrt(3) / 0.001 on 2 df, p = 1 - t / sqrt(2 + t^2) = 0.00076. The family is
    # timestamp's 2 cells (popularity's are the baselines' own): Holm doubles it, 0.0015.
    t = 0.021 * 3**0.5 / 0.001
    assert f"{2 * (1 - t / (2 + t * t) ** 0.5):.3f}" == "0.002"
    assert "+0.0210 [+0.0185, +0.0235] ▲ p<0.001, adj. p=0.002 (n=3 seeds)" in timestamp
    # temporal: paired on seeds 0 and 1 only (seed 2 failed): d = [-0.001, +0.001].
    assert "+0.0000 [-0.0127, +0.0127] · p=1.000, adj. p=1.000 (n=2 seeds)" in timestamp
    # No per-user data in the fixture: the tables say so, and name family and correction.
    assert "seed-only: this run has no per-user data" in section
    assert "family: the 2 (configuration, split) cells" in section
    assert "correction: Holm" in section


def test_failures_missing_leakage_and_other_sections():
    markdown = render_report([TRAIN])
    failures = markdown.split("## Failures")[1].split("## Missing cells")[0]
    assert ("| temporal | timestamp       | train    | tutorial   | 2      | TrainingError: "
            "loss became NaN") in failures
    missing = markdown.split("## Missing cells")[1].split("## Other")[0]
    assert "| temporal | popularity      | train    | tutorial   | 2       |" in missing
    assert missing.count("\n| ") == 2  # header and that one row
    leakage = markdown.split("## Leakage diagnostics")[1].split("## Throughput")[0]
    assert "| temporal | train        | 3       | 80000     | 20000    | 0.2000 " in leakage
    assert "| 0.7910 " in leakage  # random: mean of 0.790, 0.791, 0.792
    assert "| test_speedup[random] | 2.1000 " in markdown
    assert "kind=speedup, speedup=1.8, workers=2" in markdown


def test_throughput_median_and_iqr():
    markdown = render_report([TRAIN])
    # random/baseline examples/s: 40000 x [1, 1.02, 1.04] -> median 40,800; IQR of three
    # values (linear quartiles at 40,400 and 41,200) = 800.
    assert ("| random   | baseline        | train    | tutorial   | 40,800 (IQR 800; n=3) |"
            in markdown)
    # popularity trains nothing: no examples/s, but queries/s from its inference entry.
    assert ("| random   | popularity      | train    | tutorial   | —                     "
            "| 1,980,000") in markdown


def test_merged_report_has_one_table_per_fit_on_and_both_provenance_columns():
    markdown = render_report([TRAIN, ALL])
    assert "### Top-100 test accuracy, tutorial protocol, fit_on=train" in markdown
    assert "### Top-100 test accuracy, tutorial protocol, fit_on=all" in markdown
    header = next(line for line in markdown.splitlines() if line.startswith("| field"))
    assert header.split("|")[2].strip() == "run_train.json"
    assert "| run_all.json " in markdown
    # run_all.json declares its cells, and every one of them is present.
    missing = markdown.split("## Missing cells")[1].split("## Other")[0]
    assert "| temporal | popularity      | train    | tutorial   | 2       |" in missing
    assert "all " not in missing


def test_writes_results_and_a_valid_png_atomically(tmp_path):
    out = tmp_path / "results"
    (out).mkdir()
    (out / "results.md").write_text("old", encoding="utf-8")
    markdown = render_report([TRAIN, ALL], out, overwrite=True)
    assert (out / "results.md").read_text(encoding="utf-8") == markdown
    png = (out / "accuracy.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 300 and height > 300
    assert sorted(p.name for p in out.iterdir()) == ["accuracy.png", "results.md", "tables"]
    # Every table of the report, in LaTeX and CSV, and nothing else.
    names = sorted(p.name for p in (out / "tables").iterdir())
    tables = markdown.count("\nTable: ")
    # 14, and the findings' two (counts, and the changes between protocols: none here).
    assert tables == 15 and len(names) == 2 * tables
    assert "accuracy_top100_fit_on_all.tex" in names and "missing_cells.csv" in names


def test_unwritable_out_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(UserError, match="not a directory"):
        render_report([TRAIN], blocker)
    with pytest.raises(UserError, match="cannot write"):
        render_report([TRAIN], blocker / "sub")


def test_grid_is_inferred_without_the_ctxbench_header(tmp_path):
    document = _fixture()
    del document["ctxbench"]
    run = load_run(_write(tmp_path / "old.json", document))
    assert not run.grid.declared
    assert run.missing == [Cell("temporal", "popularity", "train", 2)]
    assert run.data_sha256 == document["benchmarks"][0]["extra_info"]["provenance"]["data_sha256"]
    assert "Cells of the grid inferred from the cells present" in render_report(
        [tmp_path / "old.json"]
    )


def _one_cell_document(grid: dict) -> dict:
    """run_train.json's random/baseline/seed 0 cell, renamed to user_temporal/genres."""
    document = _fixture()
    entries = [
        copy.deepcopy(e)
        for e in document["benchmarks"]
        if e["extra_info"].get("config") == "baseline" and e["extra_info"]["seed"] == 0
    ][:2]
    for entry in entries:
        entry["extra_info"].update(split="user_temporal", config="genres")
    document["benchmarks"] = entries
    document["ctxbench"]["grid"] = grid
    return document


def test_declared_cell_keys_define_the_expected_grid(tmp_path):
    # harness.run.rundir declares the exact cells as "<split>-<config>-<fit_on>-s<seed>".
    grid = {
        "splits": ["user_temporal"],
        "configs": ["genres"],
        "seeds": 2,
        "epochs": 3,
        "fit_on": "default",
        "popularity": True,
        "cells": [
            "user_temporal-popularity-train-s0",
            "user_temporal-genres-train-s0",
            "user_temporal-genres-train-s1",
        ],
    }
    run = load_run(_write(tmp_path / "grid.json", _one_cell_document(grid)))
    assert run.grid.seeds == (0, 1)
    assert run.missing == [
        Cell("user_temporal", "popularity", "train", 0),
        Cell("user_temporal", "genres", "train", 1),
    ]


def test_default_fit_on_expects_all_for_the_tutorial_configs(tmp_path):
    grid = {
        "splits": ["user_temporal"],
        "configs": ["genres", "baseline"],
        "seeds": 1,
        "epochs": 3,
        "fit_on": "default",
        "popularity": False,
    }
    run = load_run(_write(tmp_path / "grid.json", _one_cell_document(grid)))
    assert run.missing == [
        Cell("user_temporal", "baseline", "train", 0),
        Cell("user_temporal", "baseline", "all", 0),
    ]


def test_run_groups_cells_and_keeps_other_entries():
    run = load_run(TRAIN)
    assert run.splits == ["random", "temporal"]
    assert run.configs == ["popularity", "baseline", "timestamp"]
    assert run.tf_version == "2.19.0"
    group = run.cells[("temporal", "timestamp", "train", "tutorial")]
    assert group.ok_seeds == [0, 1]
    assert group.failures[0].cell.seed == 2 and "NaN" in group.failures[0].error
    assert group.metric("test/top_100_categorical_accuracy").tolist() == [0.079, 0.086]
    assert [entry.name for entry in run.other] == ["test_speedup[random]"]
    assert run.leakage["random"][2]["test_items_unseen"] == 7.0


def test_entries_without_cell_info_never_crash(tmp_path):
    document = _fixture()
    document["benchmarks"] += [
        {"name": "bare", "stats": {"median": 0.5}},
        {"name": "scaling", "extra_info": {"kind": "scaling", "split": "random", "n": 4}},
        {"name": "odd", "extra_info": {"nested": {"a": 1}}, "stats": "not stats"},
    ]
    markdown = render_report([_write(tmp_path / "extra.json", document)])
    assert "| bare                 | 0.5000 " in markdown
    assert "kind=scaling, n=4, split=random" in markdown


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["benchmarks"][0]["extra_info"].update(seed="zero"), "seed must be an integer"),
        (lambda d: d["benchmarks"][0]["extra_info"].pop("fit_on"), "has no 'fit_on'"),
        (lambda d: d["benchmarks"][0]["extra_info"].update(status="maybe"), "status must be"),
        (lambda d: d["benchmarks"][0]["extra_info"]["metrics"].update(x="high"), "number"),
        (
            lambda d: d["benchmarks"].append(d["benchmarks"][0]),
            r"a second \w+ entry for cell random/popularity/train/0",
        ),
        (lambda d: d["benchmarks"].append(3), r"benchmarks\[\d+\] is not an object"),
        (lambda d: d["ctxbench"]["grid"].update(seeds="many"), "seeds"),
        (
            lambda d: d["benchmarks"][0]["extra_info"]["provenance"].update(data_sha256="ab"),
            "different data",
        ),
    ],
)
def test_malformed_entries_name_the_file_and_the_problem(tmp_path, mutate, message):
    document = _fixture()
    mutate(document)
    path = _write(tmp_path / "bad.json", document)
    with pytest.raises(UserError, match=message) as raised:
        load_run(path)
    assert str(path) in str(raised.value)
    assert "\n" not in str(raised.value)


def _with_sha(document: dict, sha: str) -> dict:
    document = copy.deepcopy(document)
    document["ctxbench"]["data_sha256"] = sha
    for entry in document["benchmarks"]:
        entry["extra_info"]["provenance"]["data_sha256"] = sha
    return document


def test_merging_runs_of_different_data_is_refused(tmp_path):
    other = _write(tmp_path / "other.json", _with_sha(_fixture(ALL), "f" * 64))
    with pytest.raises(UserError, match="data_sha256: 5e2ab1c0.* != ffffffff"):
        render_report([TRAIN, other])


def test_merging_the_same_cell_twice_is_refused(tmp_path):
    twin = tmp_path / "twin.json"
    twin.write_bytes(ALL.read_bytes())
    with pytest.raises(UserError, match="also in"):
        render_report([ALL, twin])


def test_merging_different_epochs_is_refused(tmp_path):
    document = _fixture(ALL)
    document["ctxbench"]["grid"]["epochs"] = 5
    for entry in document["benchmarks"]:
        entry["extra_info"]["epochs"] = 5
    with pytest.raises(UserError, match="epochs"):
        render_report([TRAIN, _write(tmp_path / "five.json", document)])


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not json\n", "not valid JSON"),
        (TRAIN.read_bytes()[:5000], "truncated?"),
        (b'{"machine_info": {}, "datetime": "2025-06-01"}', "no 'benchmarks' list"),
        (b"[1, 2, 3]", "top level is a list"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
    ],
)
def test_cli_report_bad_file_exits_2_with_one_line(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = _cli("report", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}")
    assert reason in lines[0]


def test_cli_report_missing_file_exits_2(tmp_path):
    result = _cli("report", str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'absent.json'}: no such file"


def test_cli_report_prints_the_golden_markdown():
    result = _cli("report", str(TRAIN))
    assert result.returncode == 0, result.stderr
    # Byte for byte what --out writes to results.md: no extra trailing newline.
    assert result.stdout == render_report([TRAIN])


def test_speedup_scaling_and_session_get_their_own_sections(tmp_path):
    document = _fixture()
    document["ctxbench"] = {**document.get("ctxbench", {}),
                            "session": {"wall_seconds": 402.0, "peak_rss_mb": 1420.9,
                                        "cells_resumed": 3}}
    speedup = {"kind": "speedup", "split": "random", "config": "timestamp", "seed": 0,
               "fit_on": "all", "epochs": 3,
               "reference_examples_per_second": 10_000.0,
               "harness_examples_per_second": 230_000.0, "train_speedup": 23.0,
               "reference_queries_per_second": 14_000.0,
               "harness_queries_per_second": 420_000.0, "eval_speedup": 30.0,
               "reference_top_100": 0.2463, "harness_top_100": 0.2531,
               "targets": {"train_speedup": 20.0, "eval_speedup": 100.0},
               "batch_size": 2048, "harness_steps": 120, "harness_seconds_per_step": 0.0125,
               "softmax_seconds_per_step": 0.01,
               "rounds": [{"train_speedup": t, "eval_speedup": e,
                           "reference_train_seconds": r, "harness_train_seconds": h}
                          for t, e, r, h in ((21.0, 31.0, 40.0, 1.9), (23.0, 30.0, 41.5, 1.8),
                                             (26.0, 29.0, 52.0, 2.0))]}
    points = [{"kind": "scaling", "n_interactions": n, "n_items": 1000,
               "train_seconds": n / 100_000, "examples_per_second": 100_000.0,
               "eval_seconds": 0.1, "queries_per_second": 1e6}
              for n in (10_000, 100_000, 1_000_000)]
    document["benchmarks"] += [{"name": "test_speedup", "extra_info": speedup}] + [
        {"name": f"test_scaling[{p['n_interactions']}]", "extra_info": p} for p in points]
    markdown = render_report([_write(tmp_path / "more.json", document)])
    assert "| session wall time, peak RSS | 6.7 min, 1,421 MB (3 cells resumed" in markdown
    section = markdown.split("## Speed-up over the tutorial's code")[1].split("## ")[0]
    assert "| training, examples/s" in section and "| 23.0x " in section
    assert "| 30.0x " in section and "| 100x " in section
    assert "(batch 2048): 12.5 ms a step" in section and "takes 10.0 ms (80%)" in section
    assert ("median of 3 interleaved rounds" in section
            and "Training per round: 21.0x, 23.0x, 26.0x (the tutorial's 3 epochs "
                "40.0 s–52.0 s, the harness's 1.80 s–2.00 s); evaluation (first call) "
                "29.0x–31.0x." in section)
    scaling = markdown.split("## Scaling")[1].split("## ")[0]
    assert "|      1,000,000 |" in scaling.replace("| 1,000,000 |", "|      1,000,000 |")
    # train seconds grow exactly linearly in the points above: slope 1.00.
    assert "train_seconds vs n_interactions at n_items = 1,000: 1.00" in scaling
    # Recognised entries leave the catch-all section.
    other = markdown.split("## Other benchmarks")[-1]
    assert not re.search(r"\| test_speedup\s+\|", other)
    assert "test_scaling[" not in other


RESULTS = ROOT / "results"


def test_the_committed_results_render_byte_for_byte(tmp_path):
    # results/results.md and results/tables/ are what people copy tables from: they must be
    # exactly what the committed JSON renders to, with the code as it is now. One render
    # (the slowest thing a test reads) checks both.
    markdown = render_report([RESULTS / "benchmark.json"], tmp_path)
    assert markdown == (RESULTS / "results.md").read_text(encoding="utf-8")
    committed = RESULTS / "tables"

    def files(directory):  # the report's tables (the budget curve's live in budget/)
        return sorted(p.name for p in directory.iterdir() if p.is_file())

    assert files(committed) == files(tmp_path / "tables")
    for name in files(committed):
        assert (committed / name).read_bytes() == (tmp_path / "tables" / name).read_bytes(), name


def test_the_committed_cross_version_table_renders_byte_for_byte():
    from harness.report.compare import compare
    from harness.report.regressions import Thresholds

    files = sorted((RESULTS / "tf").glob("quick-tf*.json"))
    markdown, _ = compare(files, Thresholds())
    assert markdown == (RESULTS / "cross_version.md").read_text(encoding="utf-8")


def test_a_report_of_an_old_file_shows_no_home_directory_or_password(tmp_path):
    # Files written before ctxbench redacted its records still render redacted.
    document = _fixture()
    home = str(Path.home())
    for entry in document["benchmarks"]:
        provenance = (entry.get("extra_info") or {}).get("provenance")
        if isinstance(provenance, dict):
            provenance["data_source"] = f"grouplens:{home}/movielens"
    document["ctxbench"]["data_source"] = f"grouplens:{home}/movielens"
    document["ctxbench"]["command"] = "pytest benchmarks --storage postgresql://u:pw1234@db/x"
    markdown = render_report([_write(tmp_path / "old.json", document)])
    assert home + "/" not in markdown and "pw1234" not in markdown
    assert "grouplens:~/movielens" in markdown


def test_dataset_scale_and_skipped_configurations_are_reported(tmp_path):
    """The MovieLens-25M-shaped point renders in the scaling section; a configuration the
    dataset cannot feed is one line with its reason, not a missing cell."""
    document = _fixture()
    grid = document["ctxbench"]["grid"]
    grid["configs"] = [*grid["configs"], "user_profile"]
    reason = ("configuration user_profile needs user_profile, which dataset "
              "interactions:x.csv does not provide")
    document["ctxbench"]["skipped_configs"] = {"user_profile": reason}
    document["ctxbench"]["dataset"] = "interactions:x.csv"
    # The measurement the README quotes (python -m harness.run.datascale).
    point = json.loads((FIXTURES / "dataset_scale_25m.json").read_text())
    document["benchmarks"].append({"name": "test_dataset_scale", "extra_info": point})
    markdown = render_report([_write(tmp_path / "run.json", document)])
    scaling = markdown.split("## Scaling")[1]
    assert "MovieLens-25M shape" in scaling and "25,000,095" in scaling
    assert re.search(r"\| load s\s+\|\s+161.2 \|", scaling)
    assert re.search(r"\| peak RSS, MiB\s+\|\s+6,801 \|", scaling)
    assert "test_dataset_scale" not in markdown  # not again under "Other benchmarks"
    assert f"Skipped: {reason}." in markdown
    missing = markdown.split("## Missing cells")[1].split("## ")[0]
    assert "user_profile" not in missing.split("Skipped:")[0]
    assert "| dataset " in markdown and "interactions:x.csv" in markdown


# ---------------------------------------------------------------------------------------
# Files that are not ctxbench runs, and an --out that holds another run's report.

FOREIGN = {  # a valid pytest-benchmark file of another suite: no cell, no ctxbench mark
    "machine_info": {"node": "host", "python_version": "3.11.9"},
    "commit_info": {"id": "0123abc", "dirty": False},
    "benchmarks": [{"group": None, "name": "test_sort", "fullname": "t.py::test_sort",
                    "params": None, "param": None, "extra_info": {},
                    "stats": {"min": 0.1, "max": 0.2, "mean": 0.15, "median": 0.15,
                              "rounds": 5}}],
    "datetime": "2025-06-01T12:00:00", "version": "5.1.0"}


@pytest.mark.parametrize("command", ["report", "compare"])
def test_another_suites_file_is_refused_in_one_line(tmp_path, command):
    path = _write(tmp_path / "other.json", FOREIGN)
    files = [str(path)] if command == "report" else [str(TRAIN), str(path)]
    result = _cli(command, *files)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {path} holds no ctxbench cells (a pytest-benchmark file from another "
        "suite?)"]


def test_a_file_of_ctxbench_entries_that_are_not_cells_still_renders(tmp_path):
    # What pytest benchmarks --scaling alone writes: no cell and no run header.
    document = {**FOREIGN, "benchmarks": [
        {"name": "test_scaling[10000]", "extra_info": {
            "kind": "scaling", "n_interactions": 10_000, "n_items": 1000,
            "train_seconds": 0.1, "examples_per_second": 1e5, "eval_seconds": 0.01,
            "queries_per_second": 1e6}}]}
    assert "## Scaling" in render_report([_write(tmp_path / "scaling.json", document)])
    # ctxbench's plugin marks the machine of every session it ran.
    document = {**FOREIGN, "machine_info": {"ctxbench": {"cpu": "x"}}}
    assert render_report([_write(tmp_path / "marked.json", document)]).startswith(
        "# ctxbench results")


def test_out_refuses_to_replace_another_runs_report(tmp_path):
    out = tmp_path / "results"
    render_report([TRAIN], out)  # a fresh folder: no report to replace
    before = (out / "results.md").read_bytes()
    result = _cli("report", str(ALL), "--out", str(out))
    assert result.returncode == 2
    line, = result.stderr.splitlines()
    assert line == (f"error: {out} already holds a report (results.md and tables) and it "
                    "holds no benchmark.json to say which run it reports; pass --overwrite "
                    "to replace it, or another --out")
    assert (out / "results.md").read_bytes() == before  # nothing replaced
    # Its own benchmark.json, but another file given: refused as well.
    (out / "benchmark.json").write_bytes(TRAIN.read_bytes())
    with pytest.raises(UserError, match="its benchmark.json is not among the files given"):
        render_report([ALL], out)
    (out / "results.md").unlink()
    with pytest.raises(UserError, match=r"already holds a report \(tables\)"):
        render_report([ALL], out)
    result = _cli("report", str(ALL), "--out", str(out), "--overwrite")
    assert result.returncode == 0, result.stderr
    assert (out / "results.md").read_text(encoding="utf-8") == render_report([ALL])


def test_out_rerenders_its_own_benchmark_json(tmp_path):
    # What tox -e bench does after a run: results/benchmark.json into results/.
    out = tmp_path / "results"
    out.mkdir()
    own = out / "benchmark.json"
    own.write_bytes(TRAIN.read_bytes())
    render_report([own], out)
    (out / "results.md").write_text("stale", encoding="utf-8")
    assert render_report([own], out) == (out / "results.md").read_text(encoding="utf-8")
    # A copy elsewhere of the very same bytes is the same run.
    result = _cli("report", str(TRAIN), "--out", str(out))
    assert result.returncode == 0, result.stderr
