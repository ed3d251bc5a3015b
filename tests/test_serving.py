"""Serving retrievers: ScaNN's configuration rules, its searcher, the side-by-side
measurement, the optional dependency's absence, and the report's Serving table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_report import _fixture, _write
from test_retrieve import assert_top_k_up_to_near_ties

from harness.evaluation.serving import (
    SCANN,
    ScannConfig,
    ScannIndex,
    hit_rate,
    recall_at_k,
    scann_config,
)
from harness.evaluation.topk import top_k
from harness.run.serving import synthetic_embeddings
from harness.scanncompat import unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
needs_scann = pytest.mark.skipif(unavailable_reason() is not None,
                                 reason=str(unavailable_reason()))


@pytest.mark.parametrize(("num_items", "mode", "leaves"), [
    (1_664, "brute_force", None), (19_999, "brute_force", None), (20_000, "ah", None),
    (100_000, "ah", None), (100_001, "tree_ah", 316), (1_000_000, "tree_ah", 1_000)])
def test_scann_config_follows_scanns_rules_of_thumb(num_items, mode, leaves):
    config = scann_config(num_items, k=100)
    assert config.mode == mode and config.num_leaves == leaves
    if mode != "brute_force":
        assert config.dimensions_per_block == 2
        assert config.reorder == 1_000  # rescoring sees more candidates than it returns
    if mode == "tree_ah":
        assert 1 <= config.leaves_to_search < config.num_leaves


def test_recall_and_hit_rate_on_hand_computed_rows():
    ids = np.array([[1, 2, 3], [4, 5, 6]])
    reference = np.array([[3, 2, 9], [7, 8, 9]])
    assert recall_at_k(ids, reference) == 2 / 6
    assert hit_rate(ids, np.array([2, 9])) == 0.5
    with pytest.raises(ValueError, match="same"):
        recall_at_k(ids, reference[:1])
    with pytest.raises(ValueError, match="true rows"):
        hit_rate(ids, np.array([1]))


@needs_scann
def test_scann_brute_force_is_exact_up_to_near_ties():
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((300, 32)).astype(np.float32)
    candidates = rng.standard_normal((1_664, 32)).astype(np.float32)
    index = ScannIndex(candidates, 100)
    assert index.config.mode == "brute_force"
    assert_top_k_up_to_near_ties(index.search(queries), queries, candidates, 100)


@needs_scann
def test_scann_tree_searches_the_leaves_it_is_told():
    queries, candidates, _ = synthetic_embeddings(np.random.default_rng(1), 20_000, 200)
    config = ScannConfig("tree_ah", num_leaves=50, leaves_to_search=50,
                         training_sample_size=20_000, dimensions_per_block=2,
                         anisotropic_quantization_threshold=0.2, reorder=1_000)
    index = ScannIndex(candidates, 100, config)
    exact, _ = top_k(queries, candidates, 100)
    every_leaf = recall_at_k(index.search(queries), exact)
    one_leaf = recall_at_k(index.search(queries, leaves_to_search=1), exact)
    # All leaves: only AH's approximation before exact rescoring of 1,000 candidates
    # can lose an id. One leaf of 50 holds ~2% of the items: most of the top 100 lie
    # in other leaves.
    assert every_leaf > 0.9
    assert one_leaf < every_leaf - 0.2


@needs_scann
@pytest.mark.parametrize(("candidates", "message"), [
    (np.zeros((0, 4), np.float32), "catalogue is empty"),
    (np.full((5, 4), np.nan, np.float32), "not all finite"),
])
def test_scann_refuses_bad_catalogues(candidates, message):
    with pytest.raises(ValueError, match=message):
        ScannIndex(candidates, 3)


@needs_scann
def test_scann_k_beyond_the_catalogue_returns_every_candidate():
    rng = np.random.default_rng(2)
    candidates = rng.standard_normal((30, 8)).astype(np.float32)
    ids = ScannIndex(candidates, 100).search(rng.standard_normal((4, 8)).astype(np.float32))
    assert ids.shape == (4, 30)
    assert all(sorted(row) == list(range(30)) for row in ids.tolist())


def test_measure_serving_scores_each_retriever_and_skips_scann_without_it(monkeypatch):
    import harness.run.serving as serving

    monkeypatch.setattr(serving, "unavailable_reason", lambda: "scann is not installed")
    rng = np.random.default_rng(3)
    queries = rng.standard_normal((301, 16)).astype(np.float32)
    candidates = rng.standard_normal((500, 16)).astype(np.float32)
    true_rows = rng.integers(0, 500, 301)
    result = serving.measure_serving(queries, candidates, 50, rounds=2, true_rows=true_rows)
    assert result["scann_skipped"] == "scann is not installed"
    assert set(result["retrievers"]) == {"exact_one_pass", "tf_brute_force"}
    exact = result["retrievers"]["exact_one_pass"]
    assert exact["recall_at_50"] == 1.0 and len(exact["seconds"]) == 2
    # Same kernel, same input: the delivered accuracy is that of the kernel's ids.
    assert exact["top_50_accuracy"] == hit_rate(top_k(queries, candidates, 50)[0], true_rows)
    assert result["retrievers"]["tf_brute_force"]["recall_at_50"] > 0.99  # near-ties only


def test_scann_missing_gives_a_reason_naming_the_extra(monkeypatch):
    import harness.scanncompat as scanncompat

    monkeypatch.setattr(scanncompat, "_installed", lambda: False)
    assert "python -m pip install scann" in scanncompat.unavailable_reason()
    monkeypatch.setattr("harness.evaluation.serving.unavailable_reason",
                        scanncompat.unavailable_reason)
    with pytest.raises(RuntimeError, match="not installed"):
        ScannIndex(np.ones((3, 2), np.float32), 1)


@needs_scann
def test_tfrs_imports_beside_scann_and_its_numpy_api_works():
    # scann 1.4.2's TensorFlow ops do not load under TF 2.21 (NotFoundError, which
    # TFRS's optional import does not catch): tfcompat must keep TFRS importable.
    probe = ("from harness.tfcompat import tfrs; "
             "from harness.scanncompat import scann_pybind; "
             "import numpy as np; db = np.eye(4, dtype=np.float32); "
             "s = scann_pybind().builder(db, 1, 'dot_product').score_brute_force().build(); "
             "print(s.search_batched(db[::-1].copy())[0].ravel().tolist())")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[3, 2, 1, 0]"


def test_the_report_renders_a_serving_table(tmp_path):
    from harness.report.report import render_report

    def retriever(rate, recall, **more):
        return {"queries_per_second": rate, "recall_at_100": recall, "build_seconds": 0.5,
                "index_bytes": 2**20, "build_rss_bytes": 3 * 2**20, **more}

    point = {"kind": "serving", "n_items": 1_000_000, "num_queries": 2_000, "k": 100,
             "exact_speedup_over_tf": 2.5,
             "retrievers": {
                 "exact_one_pass": retriever(500.0, 1.0),
                 "tf_brute_force": retriever(200.0, 0.9999),
                 SCANN: retriever(20_000.0, 0.95, config={"mode": "tree_ah",
                                                          "num_leaves": 1000},
                                  curve=[{"leaves_to_search": 10, "recall_at_100": 0.8,
                                          "queries_per_second": 50_000.0}])}}
    skipped = {"kind": "serving", "n_items": 1_664, "num_queries": 20, "k": 100,
               "exact_speedup_over_tf": 4.0, "scann_skipped": "scann is not installed",
               "retrievers": {"exact_one_pass": retriever(1e6, 1.0)}}
    document = _fixture()
    document["benchmarks"] += [{"name": "test_serving[a]", "extra_info": point},
                               {"name": "test_serving[b]", "extra_info": skipped}]
    markdown = render_report([_write(tmp_path / "serving.json", document)])
    section = markdown.split("## Serving")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    cells = [[cell.strip() for cell in row.split("|")[1:-1]] for row in rows]
    assert [row[:2] for row in cells] == [
        ["exact_one_pass", "1,664"], ["exact_one_pass", "1,000,000"],
        ["tf_brute_force", "1,000,000"], ["scann", "1,000,000"]]
    assert cells[3][2:] == ["2,000", "20,000", "0.9500", "0.500", "1.0", "3.0"]
    assert "1,000,000 items: exact one-pass 2.5x the queries/s of TF brute force" in section
    assert "mode tree_ah, num_leaves 1000; 10 leaves: recall 0.8000 at 50,000" in section
    assert "1,664 items: ScaNN skipped (scann is not installed)" in section
    assert "test_serving[" not in markdown.split("## Other benchmarks")[-1]


def test_a_malformed_serving_entry_renders_gaps_not_a_crash():
    from harness.record.kinds import ServingRecord
    from harness.report.scaling import serving_table

    # Each retriever's measures are kept as recorded (the record types the point only).
    table = serving_table([ServingRecord(n_items=10, num_queries=None, retrievers={
        "exact_one_pass": "fast", "scann": {"config": [1], "curve": [3, {"x": 1}],
                                            "queries_per_second": None}})])
    assert "| scann " in table and "| exact_one_pass " not in table
    assert "- 10 items, ScaNN; — leaves: recall — at — queries/s" in table
