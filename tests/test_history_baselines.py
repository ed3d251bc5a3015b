"""The history-aware scorers as retrievers (harness.model.history_baselines): each reads
the past its protocol lets in, strictly before the query, as a loop over rows says it
should; and the report's "Context from the past alone" section
(harness.report.history)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pasttable import whole_day_table

from harness.evaluation.segments import ALL, EXCLUDE_SEEN
from harness.model.history_scorers import (
    history_ranks,
    item_cosine,
    item_cosine_neighbours,
    padded_matrix,
)
from harness.model.history_specs import SPECS
from harness.record.grid import Grid
from harness.record.runs import Run, group_cells
from harness.report.history import history_section, same_information
from harness.report.tables import Table
from harness.report.verdicts import HEADLINE

LENGTH = 20  # the registered item-kNN's history length
ENV = {"test": True}  # a non-empty env: {} would look the environment up (git, CPU)


@pytest.fixture(scope="module")
def table():
    return whole_day_table(late_users=5)


def _cell(data, name: str, split: str = "temporal"):
    from harness.model.training import TrainOptions
    from harness.run.cell import fit_cell
    from harness.run.prepare import prepare_cell

    cell = prepare_cell(data, split, name, 0, TrainOptions())
    return cell, fit_cell(cell)


def _reference_pasts(data, queries: np.ndarray, pool: np.ndarray) -> list[list[int]]:
    """Each query's earlier items, most recent first, by a loop over rows: the pool's rows
    of its user with a strictly earlier timestamp (a second's rows by table position)."""
    users, times, items = (data.user_codes, data.ratings["timestamp"], data.title_codes)
    pasts = []
    for row in queries:
        earlier = [r for r in pool if users[r] == users[row] and times[r] < times[row]]
        earlier.sort(key=lambda r: (times[r], r), reverse=True)
        pasts.append([int(items[r]) for r in earlier])
    return pasts


@pytest.mark.parametrize("name", ["item_knn", "item_knn_trainside"])
def test_item_knn_ranks_the_last_items_of_the_past_its_protocol_lets_in(table, name):
    from harness.run.evaluate import left_out

    cell, fitted = _cell(table, name)
    split = cell.split
    pool = (np.union1d(split.train, split.test) if SPECS[name].protocol == "online"
            else split.train)
    queries = split.test
    pasts = _reference_pasts(table, queries, pool)
    num_items = table.candidate_titles.size
    padded = np.full((queries.size, LENGTH), -1)
    for i, past in enumerate(pasts):
        padded[i, :min(LENGTH, len(past))] = past[:LENGTH]
    seen = padded_matrix(np.array([p + [-1] * (max(map(len, pasts)) + 1 - len(p))
                                   for p in pasts]), num_items)
    times, titles = table.ratings["timestamp"], table.title_codes
    cosine = item_cosine(table.user_codes[split.train], titles[split.train],
                         num_users=int(table.user_codes.max()) + 1, num_items=num_items)
    expected = history_ranks(cosine, padded_matrix(padded, num_items), titles[queries],
                             times[queries], titles[pool], times[pool], num_items, seen)
    rank = cell.retriever.ranker(cell, fitted, "test")
    for ranking in (ALL, EXCLUDE_SEEN):
        np.testing.assert_array_equal(rank(left_out(cell, "test", ranking)),
                                      expected.ranks[ranking], err_msg=ranking)
    described = cell.retriever.describe(cell, fitted)
    assert described["cold_queries"] == sum(not past for past in pasts) > 0
    assert described["cold_fallback"] == "popularity so far"
    if name == "item_knn":  # online: only a cold user's first second has no past
        assert described["cold_users"] == 5
        assert described["cold_queries"] < np.isin(table.user_codes[queries], range(5)).sum()


def test_the_neighbour_cut_keeps_each_items_largest_similarities(table):
    import scipy.sparse

    from harness.data.splitdata import split_data

    split, _ = split_data(table, "temporal", 0, 0.2)
    users, titles = table.user_codes[split.train], table.title_codes[split.train]
    sizes = {"num_users": int(table.user_codes.max()) + 1,
             "num_items": table.candidate_titles.size}
    dense = item_cosine(users, titles, **sizes)
    whole = item_cosine_neighbours(users, titles, **sizes, neighbours=sizes["num_items"],
                                   block_size=7)  # blocks that do not divide the catalogue
    np.testing.assert_allclose(whole.toarray(), dense, rtol=1e-12, atol=0)
    cut = item_cosine_neighbours(users, titles, **sizes, neighbours=3, block_size=7)
    for item, kept in enumerate(cut.toarray()):
        largest = np.sort(dense[item])[::-1][:3]
        np.testing.assert_allclose(np.sort(kept[kept > 0])[::-1], largest[largest > 0],
                                   rtol=1e-12)
    # The sparse matrix ranks as the same matrix dense does (weights on a 2^-10 grid, so
    # that sums in any order are exact and the two products agree bit for bit).
    weights = scipy.sparse.csr_array(np.round(cut.toarray() * 1024) / 1024)
    true_items = table.title_codes[split.test]
    history = padded_matrix((true_items[:, None] + np.arange(1, 4)) % sizes["num_items"],
                            sizes["num_items"])
    pool = (titles, table.ratings["timestamp"][split.train], sizes["num_items"])
    when = table.ratings["timestamp"][split.test]
    np.testing.assert_array_equal(
        history_ranks(weights, history, true_items, when, *pool).ranks[ALL],
        history_ranks(weights.toarray(), history, true_items, when, *pool).ranks[ALL])


def test_a_causal_configuration_is_judged_against_scorers_that_see_no_more_than_it():
    scorers = ["popularity", "ease", "popularity_so_far", "item_knn", "item_knn_trainside",
               "ease_history_trainside"]
    assert same_information("causal", scorers) == scorers
    assert same_information("causal_trainside", scorers) == [
        "popularity", "ease", "item_knn_trainside", "ease_history_trainside"]


LEARNED = ("baseline", "history", "history_shuffled")
SCORERS = ("popularity", "item_knn", "item_knn_shuffled", "item_knn_trainside")


@pytest.fixture(scope="module")
def history_run(table):
    """A run of the history grid's shape on the synthetic table: two seeds, one epoch."""
    from harness.model.training import TrainOptions
    from harness.run.cell import run_cell

    results = [run_cell(table, "temporal", config, seed,
                        TrainOptions(epochs=1, batch_size=512), env=ENV)
               for config in SCORERS + LEARNED for seed in (0, 1)]
    grid = Grid(splits=("temporal",), configs=LEARNED, seeds=(0, 1), baselines=SCORERS,
                fit_on=("train",))
    return Run(path=Path("history.json"), sources=(), cells=group_cells(results, grid),
               leakage={}, provenance={}, grid=grid)


# A printed difference (4 decimals) against the difference of the two means, which the
# verdict computes another way (pooled per-user hits): half a printed unit, plus slack.
ROUNDING = 0.5e-4 + 1e-9


def _printed(cell: str) -> float:
    """The difference a verdict cell prints first ("+0.0123 [...] ...")."""
    return float(cell.split()[0])


def _mean(run: Run, config: str) -> float:
    return float(np.mean(run.cells[("temporal", config, "train", "tutorial")].metric(HEADLINE)))


def test_the_history_section_names_the_strongest_same_history_scorer_and_the_order_gain(
        history_run):
    tables = {t.name: t for t in history_section(history_run) if isinstance(t, Table)}
    rows = {row[0]: row for row in tables["history_same_information"].rows}
    assert set(rows) == {"history", "history_shuffled"}
    means = {s: _mean(history_run, s) for s in SCORERS}
    strongest = max(means, key=means.__getitem__)
    for config, row in rows.items():
        assert row[1] == "online" and row[4] == strongest
        assert _printed(row[6]) == pytest.approx(
            _mean(history_run, config) - means[strongest], abs=ROUNDING)
        assert _printed(row[7]) == pytest.approx(
            _mean(history_run, config) - means["popularity"], abs=ROUNDING)
    order = {row[0]: row[1] for row in tables["history_order_control"].rows}
    gain = _mean(history_run, "history") - _mean(history_run, "history_shuffled")
    assert _printed(order["history − history_shuffled"]) == pytest.approx(gain, abs=ROUNDING)
    assert "item_knn − item_knn_shuffled" in order
    assert "family: these 2 cells" in tables["history_order_control"].title
    def counted(column: int) -> str:  # the marks of a column's cells, as the line counts
        marks = [next(m for m in "▲▼·" if f" {m} " in row[column]) for row in rows.values()]
        return ", ".join(f"{marks.count(m)} {m}" for m in "▲▼·") + f" of {len(marks)} cells"

    assert (f"- Against the strongest same-history scorer, after correction: {counted(6)}; "
            f"against popularity: {counted(7)}.") in history_section(history_run)


def test_a_run_without_history_has_no_history_section(history_run):
    grid = Grid(splits=("temporal",), configs=("baseline",), seeds=(0, 1),
                baselines=("popularity",), fit_on=("train",))
    cells = {key: group for key, group in history_run.cells.items()
             if key[1] in ("baseline", "popularity")}
    run = dataclasses.replace(history_run, cells=cells, grid=grid)
    assert history_section(run) == []
