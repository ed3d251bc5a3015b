"""Training and evaluation cost against interactions and catalogue size (``--scaling``),
and the serving retrievers against catalogue size.

Synthetic data, one epoch of the ``baseline`` configuration per point: interactions
10^4, 10^5, 10^6 crossed with catalogues of 10^3, 10^4, 10^5 items. The largest point
scores 2e5 test queries against 1e5 items; evaluation scores them in blocks sized to the
catalogue (``harness.evaluation.retrieval.capped_block_size``), so memory stays bounded. On two CPU
cores the whole sweep takes about two minutes.

``test_serving`` (``-k serving`` alone) times the serving retrievers of
:mod:`harness.evaluation.serving` side by side on clustered synthetic embeddings
(:func:`harness.run.serving.synthetic_embeddings`, dimension 32) at MovieLens's 1,664
items and at 10^5 and 10^6: queries/s, recall@100 against the exact top 100, build
seconds and index bytes. The benchmark's own time is the whole side-by-side measurement,
builds included; the numbers are in its ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.record.kinds import DatasetScaleRecord, ScalingRecord, ServingRecord, eval_timings
from harness.record.provenance import peak_rss_mib
from harness.report.scaling import scaling_table, serving_table

INTERACTIONS = (10_000, 100_000, 1_000_000)
ITEMS = (1_000, 10_000, 100_000)
# Smallest first, so the process's peak memory after a point is that point's (or less).
POINTS = sorted(((n, m) for n in INTERACTIONS for m in ITEMS), key=lambda p: (p[0] * p[1],
                                                                               p[0]))
# Catalogue size -> test queries (fewer where each query scans more).
SERVING_POINTS = {1_664: 20_000, 100_000: 5_000, 1_000_000: 2_000}
SCANN_LEAVES = (10, 25, 100, 200)  # the tree's recall / speed curve (rule of thumb: 50)


@pytest.fixture(scope="module")
def scaling_entries(request):
    """Collects the points' records; prints the table once the module is done."""
    if not request.config.getoption("scaling"):
        pytest.skip("scaling benchmarks run only with --scaling")
    entries: list[ScalingRecord] = []
    yield entries
    if entries:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():  # else pytest swallows the lines
                reporter.write_line("\nctxbench scaling (synthetic, 1 epoch, baseline):\n"
                                    + scaling_table(entries))


@pytest.mark.parametrize(("n_interactions", "n_items"), POINTS,
                         ids=[f"{n}x{m}" for n, m in POINTS])
def test_scaling(benchmark, scaling_entries, n_interactions, n_items):
    benchmark.group = "scaling"
    from harness.run.cell import fit_cell  # TensorFlow: with the first point, not at collection
    from harness.run.evaluate import evaluate_cell
    from harness.run.prepare import prepare_scaling_cell

    cell = prepare_scaling_cell(n_interactions, n_items, seed=0)
    trained = benchmark.pedantic(fit_cell, args=(cell,), rounds=1, iterations=1)
    metrics, timings = evaluate_cell(cell, trained, prefixes=("test",))
    record = ScalingRecord(
        n_interactions=n_interactions, n_items=n_items,
        n_users=int(cell.fitted.vocabularies["user_id"].size),
        n_train=int(cell.split.train.size), n_test=int(cell.split.test.size),
        config=cell.config.name, epochs=cell.options.epochs,
        train_seconds=trained.seconds, examples_per_second=trained.examples_per_second,
        **eval_timings(timings), peak_rss_mib=peak_rss_mib(), metrics=metrics,
        data_sha256=cell.data.sha256,
    )
    benchmark.extra_info.update(record.to_dict())
    scaling_entries.append(record)


@pytest.fixture(scope="module")
def serving_entries(request):
    """Collects the serving points' records; prints their table once the module is done."""
    if not request.config.getoption("scaling"):
        pytest.skip("serving benchmarks run only with --scaling")
    entries: list[ServingRecord] = []
    yield entries
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if entries and reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nctxbench serving (synthetic embeddings, top 100):\n"
                                + serving_table(entries))


@pytest.mark.parametrize("n_items", list(SERVING_POINTS), ids=[f"{n}items" for n in
                                                               SERVING_POINTS])
def test_serving(benchmark, serving_entries, n_items):
    benchmark.group = "serving"
    from harness.run.serving import measure_serving, synthetic_embeddings  # TensorFlow

    queries, candidates, spec = synthetic_embeddings(np.random.default_rng(0), n_items,
                                                     SERVING_POINTS[n_items])
    result = benchmark.pedantic(measure_serving, args=(queries, candidates, 100, 3),
                                kwargs={"scann_leaves": SCANN_LEAVES}, rounds=1, iterations=1)
    record = ServingRecord(n_items=n_items, n_queries=len(queries), embeddings=spec, **result,
                           peak_rss_mib=peak_rss_mib())
    benchmark.extra_info.update(record.to_dict())
    serving_entries.append(record)


def test_dataset_scale(benchmark, request, tmp_path):
    """MovieLens-25M's shape through the movielens-25m loader, the split and one cell
    (:mod:`harness.run.datascale`), in a process of its own so its peak RSS is its own."""
    if not request.config.getoption("dataset_scale"):
        pytest.skip("the MovieLens-25M-shaped measurement runs only with --dataset-scale")
    import json
    import subprocess
    import sys

    benchmark.group = "dataset_scale"
    out = tmp_path / "datascale.json"
    benchmark.pedantic(subprocess.run, args=([sys.executable, "-m", "harness.run.datascale",
                                              "--workdir", str(tmp_path), "--out", str(out)],),
                       kwargs={"check": True}, rounds=1, iterations=1)
    benchmark.extra_info.update(
        DatasetScaleRecord.from_dict(json.loads(out.read_text()), str(out)).to_dict())
