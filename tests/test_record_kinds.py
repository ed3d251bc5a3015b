"""harness.record.kinds: the non-cell entries' records, their registry, and the readers that
dispatch on an entry's kind (harness.record.entries, the report's measurement sections).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from benchrun import TENSORFLOW, heavy_imports

from harness.errors import UserError
from harness.record.kinds import (
    KINDS_BY_NAME,
    DatasetScaleRecord,
    ScalingRecord,
    ServingRecord,
    SpeedupRecord,
    SpeedupRound,
    UnknownKindError,
    eval_timings,
    parse_extra,
)
from harness.record.reader import load_run
from harness.report.report import render_report

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
WHERE = "run.json: benchmarks[7] (test_x)"


def _round(scale: float = 1.0) -> SpeedupRound:
    return SpeedupRound(
        reference_train_seconds=40.0 * scale, harness_train_seconds=1.5 * scale,
        reference_examples_per_second=6_000.0, harness_examples_per_second=160_000.0,
        reference_eval_seconds=1.6, harness_eval_seconds=0.012,
        reference_queries_per_second=12_500.0, harness_queries_per_second=1_650_000.0,
        reference_warm_queries_per_second=15_000.0, harness_warm_queries_per_second=1.5e6,
        train_speedup=26.7 / scale, eval_speedup=132.0, warm_eval_speedup=100.0)


SPEEDUP = SpeedupRecord(
    split="random", config="timestamp", seed=0, fit_on="all", epochs=3, n_train=80_000,
    n_test=20_000, median=_round(), rounds=(_round(1.1), _round(), _round(0.9)),
    warm_evals=3, batch_size=2048, harness_steps=120, harness_seconds_per_step=0.0125,
    softmax_seconds_per_step=0.004, softmax_share=0.32,
    targets={"train_speedup": 20.0, "eval_speedup": 100.0},
    targets_met={"train_speedup": True, "eval_speedup": True},
    reference_top_100=0.2463, harness_top_100=0.2531,
    reference_metrics={"test/top_100_categorical_accuracy": 0.2463},
    harness_metrics={"test/top_100_categorical_accuracy": 0.2531},
    data_source="grouplens:ml-100k.zip", data_sha256="5e2a" * 16,
    versions={"python": "3.11.7", "tensorflow": "2.21.0"}, git_commit="0123456789ab",
    git_dirty=False, command="pytest benchmarks")
SCALING = [ScalingRecord(
    n_interactions=n, n_items=1_000, n_users=900, n_train=int(0.8 * n), n_test=n // 5,
    config="baseline", epochs=1, train_seconds=n / 100_000, examples_per_second=1e5,
    eval_seconds=0.25, queries_per_second=80_000.0,
    rank_seconds={"all": 0.1, "exclude_seen": 0.12}, peak_rss_mib=900.0 + n / 1e4,
    metrics={"test/top_100_categorical_accuracy": 0.5}, data_sha256="ab" * 32)
    for n in (10_000, 100_000, 1_000_000)]
SERVING = ServingRecord(
    n_items=1_664, n_queries=20, embeddings={"generator": "synthetic_embeddings", "dim": 32},
    k=100, num_queries=20, num_candidates=1_664, rounds=3,
    retrievers={"exact_one_pass": {"queries_per_second": 1e6, "recall_at_100": 1.0,
                                   "build_seconds": 0.01, "index_bytes": 2**20,
                                   "build_rss_bytes": 0, "seconds": [0.1, 0.1, 0.1]}},
    exact_speedup_over_tf=4.0, scann_skipped="scann is not installed", peak_rss_mib=800.0)
DATASET_SCALE = DatasetScaleRecord.from_dict(
    json.loads((FIXTURES / "dataset_scale_25m.json").read_text()), "dataset_scale_25m.json")
RECORDS = [SPEEDUP, SCALING[0], SERVING, DATASET_SCALE]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.KIND)
def test_each_kind_round_trips(record):
    data = json.loads(json.dumps(record.to_dict()))  # through JSON, as a file holds it
    assert data["kind"] == record.KIND and list(data)[0] == "kind"
    assert type(record).from_dict(data, WHERE) == record
    assert parse_extra(record.KIND, data, WHERE) == record


def test_the_committed_entries_read_and_write_back_key_for_key():
    # New files must have the shape today's files have: every non-cell entry of the
    # committed results reads into its record and writes back the same dict, same order.
    document = json.loads((ROOT / "results" / "benchmark.json").read_text())
    seen = set()
    for index, entry in enumerate(document["benchmarks"]):
        extra = entry["extra_info"]
        if extra.get("kind") in KINDS_BY_NAME:
            record = parse_extra(extra["kind"], extra, f"benchmarks[{index}]")
            assert list(record.to_dict().items()) == list(extra.items()), entry["name"]
            seen.add(record.KIND)
    # tox -e bench writes every kind but dataset_scale, which bench-full adds.
    assert seen >= set(KINDS_BY_NAME) - {"dataset_scale"}, seen


def test_the_registry_holds_every_kind_once():
    assert KINDS_BY_NAME == {"speedup": SpeedupRecord, "scaling": ScalingRecord,
                             "serving": ServingRecord, "dataset_scale": DatasetScaleRecord}


def test_optional_fields_default_and_scann_skipped_is_written_only_when_set():
    ran = ServingRecord(n_items=10, retrievers={})
    assert "scann_skipped" not in ran.to_dict() and ran.k == 100
    assert SERVING.to_dict()["scann_skipped"] == "scann is not installed"
    # An older file without the rounds, targets or provenance still reads.
    old = SpeedupRecord.from_dict({"kind": "speedup", "train_speedup": 20.0,
                                   "eval_speedup": 90.0}, WHERE)
    assert old.rounds == () and old.targets == {} and old.split is None


def test_rank_timings_are_written_one_key_per_ranking():
    data = SCALING[0].to_dict()
    assert data["rank_seconds_all"] == 0.1 and data["rank_seconds_exclude_seen"] == 0.12
    assert "rank_seconds" not in data
    timings = {"eval_seconds": 0.25, "queries_per_second": 8e4, "rank_seconds_all": 0.1}
    assert eval_timings(timings)["rank_seconds"] == {"all": 0.1}
    with pytest.raises(ValueError, match="decode_seconds"):
        eval_timings({**timings, "decode_seconds": 1.0})  # would be lost silently


def _with(record, **changes) -> dict:
    return {**record.to_dict(), **changes}


@pytest.mark.parametrize(("kind", "data", "field", "expected"), [
    ("speedup", _with(SPEEDUP, train_speedup="fast"), "extra_info.train_speedup",
     "a number"),
    ("speedup", _with(SPEEDUP, epochs=3.5), "extra_info.epochs", "an integer"),
    ("speedup", _with(SPEEDUP, seed=True), "extra_info.seed", "an integer"),
    ("speedup", _with(SPEEDUP, git_dirty="no"), "extra_info.git_dirty", "true or false"),
    ("speedup", _with(SPEEDUP, targets=[20.0]), "extra_info.targets", "an object"),
    ("speedup", _with(SPEEDUP, rounds=[{"train_speedup": 1.0, "eval_speedup": "x"}]),
     "extra_info.rounds[0].eval_speedup", "a number"),
    ("speedup", _with(SPEEDUP, eval_speedup=math.nan), "extra_info.eval_speedup", "a number"),
    ("scaling", _with(SCALING[0], n_items="1000"), "extra_info.n_items", "an integer"),
    ("scaling", _with(SCALING[0], rank_seconds_all="slow"), "extra_info.rank_seconds_all",
     "a number"),
    ("scaling", _with(SCALING[0], metrics={"test/x": "high"}), "extra_info.metrics['test/x']",
     "a number"),
    ("serving", _with(SERVING, retrievers="exact"), "extra_info.retrievers", "an object"),
    ("serving", _with(SERVING, scann_skipped=3), "extra_info.scann_skipped", "a string"),
    ("dataset_scale", _with(DATASET_SCALE, load_seconds=[161.2]), "extra_info.load_seconds",
     "a number"),
])
def test_a_wrong_type_is_one_line_naming_the_entry_and_the_field(kind, data, field, expected):
    with pytest.raises(UserError, match="must be") as raised:
        parse_extra(kind, data, WHERE)
    message = str(raised.value)
    assert message.startswith(f"{WHERE}: {field} must be {expected}")
    assert "\n" not in message


@pytest.mark.parametrize(("record", "field"), [
    (SPEEDUP, "train_speedup"), (SCALING[0], "eval_seconds"), (SERVING, "retrievers"),
    (SERVING, "n_items")])
def test_a_missing_required_field_is_named(record, field):
    data = record.to_dict()
    del data[field]
    with pytest.raises(UserError, match=rf"^{re.escape(WHERE)}: extra_info has no '{field}'$"):
        type(record).from_dict(data, WHERE)


def test_a_record_refuses_a_dict_of_another_kind_or_none():
    with pytest.raises(UserError, match="kind must be 'scaling', got 'serving'"):
        ScalingRecord.from_dict({**SCALING[0].to_dict(), "kind": "serving"}, WHERE)
    keys_look_right = SCALING[0].to_dict()
    del keys_look_right["kind"]
    with pytest.raises(UserError, match="kind must be 'scaling', got None"):
        ScalingRecord.from_dict(keys_look_right, WHERE)


def test_an_unknown_kind_names_itself_and_the_known_ones():
    with pytest.raises(UnknownKindError, match=r"unknown entry kind 'latency' \(known: "
                                               r"dataset_scale, scaling, serving, speedup\)"):
        parse_extra("latency", {"kind": "latency"}, WHERE)


def _document(*entries: dict) -> dict:
    document = json.loads((FIXTURES / "run_train.json").read_text())
    document["benchmarks"] += list(entries)
    return document


def _render(tmp_path, *entries: dict) -> str:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_document(*entries)))
    return render_report([path])


def _entry(name: str, extra: dict) -> dict:
    return {"name": name, "extra_info": extra, "stats": {"median": 1.25}}


def test_the_report_renders_each_kind_from_its_record(tmp_path):
    markdown = _render(
        tmp_path, _entry("test_speedup", SPEEDUP.to_dict()),
        *[_entry(f"test_scaling[{r.n_interactions}]", r.to_dict()) for r in SCALING],
        _entry("test_serving[1664items]", SERVING.to_dict()),
        _entry("test_dataset_scale", DATASET_SCALE.to_dict()))
    speedup = markdown.split("## Speed-up over the tutorial's code")[1].split("\n## ")[0]
    assert "| training, examples/s " in speedup and "| 26.7x " in speedup
    assert "| 20x " in speedup and "| 132.0x " in speedup
    assert "Training per round: 24.3x, 26.7x, 29.7x (the tutorial's 3 epochs" in speedup
    assert "(batch 2048): 12.5 ms a step" in speedup and "takes 4.0 ms (32%)" in speedup
    scaling = markdown.split("## Scaling")[1].split("\n## ")[0]
    assert "train_seconds vs n_interactions at n_items = 1,000: 1.00" in scaling
    assert re.search(r"\| +peak RSS MiB \|", scaling) and "|          1,000 |" in scaling
    assert "25,000,095" in scaling  # the dataset-scale point, in its own table
    serving = markdown.split("## Serving")[1].split("\n## ")[0]
    assert "1,664 items: ScaNN skipped (scann is not installed)" in serving
    other = markdown.split("## Other benchmarks")[1]
    assert "test_speedup |" not in other and "test_scaling[" not in other
    assert "test_serving[" not in other and "test_dataset_scale" not in other


def test_the_reader_parses_each_entry_once_into_its_record(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_document(_entry("test_speedup", SPEEDUP.to_dict()),
                                         _entry("s", SCALING[1].to_dict()))))
    run = load_run(path)
    assert run.measurements == [SPEEDUP, SCALING[1]]
    assert run.measured(ScalingRecord) == [SCALING[1]]


def _without_kind(record) -> dict:
    data = record.to_dict()
    del data["kind"]
    return data


@pytest.mark.parametrize("record", [SCALING[0], SERVING, DATASET_SCALE], ids=lambda r: r.KIND)
def test_an_entry_without_its_kind_is_not_taken_for_one(tmp_path, record):
    # Every key of the record but "kind": the reader must not recognise it by its keys.
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_document(_entry("lookalike", _without_kind(record)))))
    run = load_run(path)
    assert run.measurements == []
    assert [other.name for other in run.other][-1] == "lookalike"
    assert run.other[-1].unknown_kind is None


def test_a_speedup_entry_without_its_kind_is_refused_as_a_cell_without_one(tmp_path):
    # It has a split, so it reads as a cell (harness.record.cellentry.is_cell_entry) whose
    # missing kind is named; it is never taken for a speed-up.
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_document(_entry("lookalike", _without_kind(SPEEDUP)))))
    with pytest.raises(UserError, match=r"\(lookalike\): extra_info has no 'kind'"):
        load_run(path)


def test_an_unknown_kind_is_listed_under_other_benchmarks_with_a_note(tmp_path):
    markdown = _render(tmp_path, _entry("test_latency[a]", {"kind": "latency", "p99": 3}),
                       _entry("test_latency[b]", {"kind": "latency", "p99": 4}))
    other = markdown.split("## Other benchmarks")[1]
    assert re.search(r"\| test_latency\[a\] +\| 1\.2500 +\| kind=latency, p99=3 ", other)
    assert ("Unknown entry kind `latency` (test_latency[a], test_latency[b]): listed as "
            "recorded; this ctxbench reads the kinds dataset_scale, scaling, serving, "
            "speedup beside its cells.") in other
    # The fixture's old-shaped speedup entry is a known kind: listed, without the note.
    assert "kind=speedup, speedup=1.8, workers=2" in other and "`speedup`" not in other


def test_a_known_kind_that_does_not_read_is_listed_as_recorded_not_rendered(tmp_path):
    broken = _with(SCALING[0], eval_seconds="slow")
    markdown = _render(tmp_path, _entry("test_scaling[broken]", broken))
    assert "## Scaling" not in markdown
    other = markdown.split("## Other benchmarks")[1]
    assert "test_scaling[broken]" in other and "eval_seconds=slow" in other


def test_the_record_package_loads_neither_tensorflow_nor_optuna():
    assert heavy_imports(["harness.record.kinds"], (*TENSORFLOW, "optuna")) == []
