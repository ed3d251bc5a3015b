"""harness.report.verdicts, the accuracy tables and the findings with and without per-user
data: families and Holm named, marks by the adjusted p, user × seed where recorded, a
deterministic model's user-level interval, and compare's notice between the two kinds of
file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest

from harness.evaluation.correction import holm
from harness.record.peruser import PerUser
from harness.record.reader import load_run
from harness.report.compare import compare
from harness.report.findings import findings_section
from harness.report.regressions import Thresholds
from harness.report.report import render_report
from harness.report.tables import Table
from harness.report.verdicts import FEATURES, Verdict, verdict_table

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRAIN = FIXTURES / "run_train.json"
USERS = 40


def _record(split: str, config: str, seed: int) -> dict:
    """Per-user hits of one cell: the same users and queries for every configuration of a
    (split, seed); popularity the same in every seed; timestamp one hit above baseline for
    36 of 40 users (a difference every user shares)."""
    rng = np.random.default_rng([seed, len(split)])
    base = rng.integers(0, 4, USERS)
    hits = {"baseline": base, "timestamp": base + (np.arange(USERS) < 36),
            "popularity": np.arange(USERS) % 5}[config]
    ranks = np.concatenate([np.where(np.arange(6) < h, 0, 500) for h in hits])
    users = np.repeat(np.arange(USERS) * 3, 6)
    return PerUser.of(users, ranks, np.ones(users.size, bool)).to_dict()


def _with_per_user(path: Path, tmp_path: Path) -> Path:
    document = json.loads(TRAIN.read_text(encoding="utf-8"))
    for entry in document["benchmarks"]:
        extra = entry["extra_info"]
        if extra.get("kind") == "inference" and extra.get("status") == "ok":
            extra["per_user"] = _record(extra["split"], extra["config"], extra["seed"])
    path = tmp_path / path.name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_mark_follows_the_adjusted_p():
    verdict = Verdict("timestamp", "random", FEATURES, 0.01, 0.001, 0.02, 0.01, 0.06, 5, None)
    assert verdict.mark(adjusted=False) == "▲" and verdict.mark() == "·"
    significant = Verdict("timestamp", "random", FEATURES, -0.01, -0.02, -0.001, 0.001, 0.01,
                          5, None)
    assert significant.mark() == "▼"


def test_seed_only_tables_adjust_each_family_by_holm():
    run = load_run(TRAIN)
    table = verdict_table(run, "tutorial", "train")
    assert table.user_level == "none"
    for family in ("feature", "baseline"):
        cells = table.family(family)
        assert len(cells) == 2  # timestamp (or popularity) on random and temporal
        assert [v.adjusted for v in cells] == pytest.approx(holm([v.p_value for v in cells]))
    assert "seed-only: this run has no per-user data" in table.description()
    assert "family: the 2 (configuration, split) cells" in table.description()


def test_user_level_verdicts_and_intervals_where_the_file_has_per_user_data(tmp_path):
    run = load_run(_with_per_user(TRAIN, tmp_path))
    table = verdict_table(run, "tutorial", "train")
    assert table.user_level == "all" and "user × seed" in table.description()
    random = table.verdicts[("timestamp", "random")]
    # 36 of 40 users gain one hit of 6 in each of 3 seeds: +36 / 240 = +0.15.
    assert random.mean == pytest.approx(36 / 240)
    assert (random.users, random.seeds) == (USERS, 3)
    assert random.p_value < 0.001 and random.mark() == "▲"
    temporal = table.verdicts[("timestamp", "temporal")]
    assert temporal.seeds == 2  # seed 2 failed: paired on 0 and 1 only
    markdown = render_report([_with_per_user(TRAIN, tmp_path)])
    assert "seed-only" not in markdown.split("## Does the feature help?")[1].split("## Find")[0]
    assert "(3 seeds × 40 users)" in markdown
    # popularity on temporal is the same in both of its seeds: one value, an interval over
    # its 40 users ((0 + 1 + 2 + 3 + 4) / 5 = 2 hits of 6 on average: 1/3), never a ± 0.
    match = re.search(r"\| popularity +\| [^|]+\| 0\.3333 \[(0\.\d+), (0\.\d+)\] "
                      r"\(40 users; same in all 2 seeds\)", markdown)
    assert match and float(match[1]) < 1 / 3 < float(match[2])


def test_a_user_level_verdict_can_disagree_with_the_seeds(tmp_path):
    # Per-user data where seeds agree and users do not: baseline hits 3 of 6 for every user,
    # timestamp 6 for 21 users and 0 for 19, the same in every seed (+6 / 240 = +0.025 a
    # seed). The fixture's metrics (seed-only) say significant; per user it is a coin flip.
    document = json.loads(_with_per_user(TRAIN, tmp_path).read_text(encoding="utf-8"))
    users = np.repeat(np.arange(USERS) * 3, 6)
    for entry in document["benchmarks"]:
        extra = entry["extra_info"]
        if extra.get("per_user") and extra["config"] in ("baseline", "timestamp"):
            hits = (np.where(np.arange(USERS) < 21, 6, 0) if extra["config"] == "timestamp"
                    else np.full(USERS, 3))
            ranks = np.concatenate([np.where(np.arange(6) < h, 0, 500) for h in hits])
            extra["per_user"] = PerUser.of(users, ranks, np.ones(users.size, bool)).to_dict()
    path = tmp_path / "disagree.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    verdict = verdict_table(load_run(path), "tutorial", "train").verdicts[("timestamp", "random")]
    assert verdict.mean == pytest.approx(18 / 720)
    assert verdict.users == USERS and verdict.p_value > 0.2 and verdict.mark() == "·"
    seed_only = verdict_table(load_run(TRAIN), "tutorial", "train").verdicts[
        ("timestamp", "random")]
    assert seed_only.p_value < 0.001 and seed_only.mark() == "▲"


def test_findings_count_the_marks_before_and_after_correction():
    run = load_run(TRAIN)
    items = findings_section(run)
    counts = next(item for item in items if isinstance(item, Table))
    # timestamp: random ▲ (raw p < 0.001, adjusted 0.002), temporal · (p = 1).
    assert counts.rows == [["tutorial", "train", "all test users", "2",
                            "Holm (family-wise error rate)", "1", "0", "1", "0", "seed-only"]]
    assert any("`timestamp` on random ▲" in str(item) for item in items)


def test_findings_count_the_changes_between_protocols():
    document = json.loads(TRAIN.read_text(encoding="utf-8"))
    tuned = copy.deepcopy(document["benchmarks"])
    for entry in tuned:
        extra = entry.get("extra_info", {})
        if extra.get("config") in ("baseline", "timestamp"):
            extra["protocol"] = "tuned"
            entry["name"] = entry["name"] + "-tuned"
        if extra.get("config") == "timestamp" and extra.get("split") == "random":
            extra["metrics"] = {k: v - 0.03 if isinstance(v, float) else v
                                for k, v in extra["metrics"].items()}  # ▲ becomes ▼
    document["benchmarks"] += [e for e in tuned if e.get("extra_info", {}).get("protocol")
                               == "tuned"]
    document.pop("ctxbench", None)
    items = findings_section(_load(document))
    changes = [item for item in items if isinstance(item, Table)][1]
    assert changes.rows == [["tutorial → tuned", "train", "all test users", "2", "1", "1"]]


def _load(document: dict):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return load_run(path)


def test_compare_says_in_one_line_what_it_cannot_compare(tmp_path):
    with_data = _with_per_user(TRAIN, tmp_path)
    markdown, status = compare([TRAIN, with_data], Thresholds())
    notices = [line for line in markdown.splitlines() if line.startswith("Not compared")]
    assert notices == [f"Not compared: user-level intervals ({TRAIN.name} has no per-user "
                       f"data); accuracy is compared over seeds, as between any two runs."]
    assert status == 0 and "## Verdict" in markdown  # the rest is compared
    same, _ = compare([with_data, with_data], Thresholds())
    assert "Not compared" not in same
