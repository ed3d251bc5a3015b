"""Training and evaluation cost against interactions and catalogue size (``--scaling``).

Two sweeps over synthetic data, one epoch of the ``baseline`` configuration each:
interactions 10^4, 10^5, 10^6 at 10^3 items, and items 10^3, 10^4, 10^5 at 10^5
interactions (their common point runs once). The full cross-product would add the
10^6 x 10^5 point, whose evaluation alone scores 2e5 x 1e5 pairs.
"""

from __future__ import annotations

import pytest

from harness.cell import fit_cell
from harness.scaling import evaluate_test, peak_rss_mib, prepare_scaling_cell, scaling_table

INTERACTIONS_SWEEP = [(n, 1_000) for n in (10_000, 100_000, 1_000_000)]
ITEMS_SWEEP = [(100_000, n) for n in (10_000, 100_000)]  # (10^5, 10^3) is above
POINTS = INTERACTIONS_SWEEP + ITEMS_SWEEP


@pytest.fixture(scope="module")
def scaling_entries(request):
    """Collects the points' entries; prints the table once the module is done."""
    if not request.config.getoption("scaling"):
        pytest.skip("scaling benchmarks run only with --scaling")
    entries: list[dict] = []
    yield entries
    if entries:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("\nctxbench scaling (synthetic, 1 epoch, baseline):\n"
                                + scaling_table(entries))


@pytest.mark.parametrize(("n_interactions", "n_items"), POINTS,
                         ids=[f"{n}x{m}" for n, m in POINTS])
def test_scaling(benchmark, scaling_entries, n_interactions, n_items):
    benchmark.group = "scaling"
    cell = prepare_scaling_cell(n_interactions, n_items, seed=0)
    trained = benchmark.pedantic(fit_cell, args=(cell,), rounds=1, iterations=1)
    metrics, timings = evaluate_test(cell, trained)
    entry = {
        "kind": "scaling", "n_interactions": n_interactions, "n_items": n_items,
        "n_users": int(cell.fitted.vocabularies["user_id"].size),
        "n_train": int(cell.split.train.size), "n_test": int(cell.split.test.size),
        "config": cell.config.name, "epochs": cell.options.epochs,
        "eval_block_size": cell.options.eval_batch_size,
        "train_seconds": trained.seconds, "examples_per_second": trained.examples_per_second,
        **timings, "peak_rss_mib": peak_rss_mib(), "metrics": metrics,
        "data_sha256": cell.data.sha256,
    }
    benchmark.extra_info.update(entry)
    scaling_entries.append(entry)
