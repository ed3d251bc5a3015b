"""The history grid's cost measurement (harness.run.historyscale): every stage measured on
a generated interactions file, the memory guard choosing item-kNN's neighbour cut and
skipping EASE^R when the stated limit is too small for their item matrices."""

from __future__ import annotations

import pytest
from benchrun import write_interactions_file

from harness.record.machine import MEMORY_LIMIT_ENV
from harness.run.historyscale import NEIGHBOURS, measure, render

STAGES = ("load", "split", "feature_pass", "item_knn_fit", "item_knn_rank")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    return write_interactions_file(tmp_path_factory.mktemp("data") / "inter.csv")


def test_every_stage_is_measured_and_rendered(dataset, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    record = measure(dataset)
    for stage in (*STAGES, "ease_history_fit", "ease_history_rank"):
        assert record[stage]["seconds"] > 0 and record[stage]["peak_rss_mib"] > 0, stage
        assert (stage == "load") == ("peak_alloc_mib" not in record[stage]), stage
    assert record["item_knn_fit"]["variant"] == "dense cosine"
    assert record["feature_pass"]["rows"] == record["n_train"] + record["n_test"]
    assert record["item_knn_rank"]["queries"] == record["n_test"]  # all: under the sample
    markdown = render({"command": "c", "machine": {"cpu": "x"}, "tables": [record]})
    assert f"| EASE^R ranking | {record['ease_history_rank']['seconds']:,.1f} |" in markdown
    assert "every test query" in markdown


def test_the_memory_guard_cuts_item_knn_and_skips_ease(dataset, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, str(1 / 1024))  # 1 MiB: 199 titles need more
    record = measure(dataset)
    assert record["item_knn_fit"]["variant"].startswith(
        f"cosine cut to {NEIGHBOURS} neighbours (dense: item_knn needs ")
    assert "ease_history_fit" not in record
    assert record["ease_history_skipped"].startswith("ease_history needs 0.00236 GiB")
    assert "| EASE^R | | | | skipped: ease_history needs" in render(
        {"command": "c", "machine": {"cpu": "x"}, "tables": [record]})


def test_the_committed_costs_are_their_json_rendered():
    """results/history/scale.md is what render() makes of the committed scale.json, which
    holds both tables: the 25M shape's item-kNN cut and EASE^R skipped by the guard."""
    import json

    from benchrun import ROOT

    document = json.loads((ROOT / "results/history/scale.json").read_text())
    assert (ROOT / "results/history/scale.md").read_text() == render(document)
    small, large = document["tables"]
    assert small["n_items"] == 1664 and large["n_interactions"] == 25_000_095
    assert small["item_knn_fit"]["variant"] == "dense cosine" and "ease_history_fit" in small
    assert large["item_knn_fit"]["variant"].startswith(f"cosine cut to {NEIGHBOURS}")
    assert large["ease_history_skipped"].startswith("ease_history needs 232 GiB")
