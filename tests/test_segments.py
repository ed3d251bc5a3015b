"""Segments by training history, the exclude_seen ranking and the warm-only split,
checked against hand-built examples and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import UserError
from harness.evaluation.metrics import popularity_ranks, true_candidate_ranks
from harness.evaluation.ranking import count_higher
from harness.evaluation.segments import (
    ALL,
    EXCLUDE_SEEN,
    Evaluation,
    History,
    parse_bands,
    segment_accuracy_key,
    segment_masks,
    segment_metrics,
    segment_names,
    share_key,
)
from harness.model.ease import ease_ranks, ease_scores, fit_ease
from splits import SPLITS, make_split, make_validation

# Training side of a hand-built split over 4 users and 6 items: user 0 has seen every
# item but 5, user 1 items 0 and 1 (item 1 twice), user 2 nothing (cold), user 3 25 rows
# of item 2. Items 4 and 5 have no training interaction (cold).
TRAIN_USERS = np.array([0, 0, 0, 0, 1, 1, 1, *[3] * 25])
TRAIN_ITEMS = np.array([0, 1, 2, 3, 0, 1, 1, *[2] * 25])
# Test interactions: (user, true item).
TEST_USERS = np.array([0, 1, 2, 3, 1])
TEST_ITEMS = np.array([5, 4, 0, 2, 1])


def history() -> History:
    return History.of(TRAIN_USERS, TRAIN_ITEMS, num_users=4, num_items=6)


def test_history_lists_each_users_distinct_training_items():
    h = history()
    assert h.user_counts.tolist() == [4, 3, 0, 25]
    assert h.item_counts.tolist() == [2, 3, 26, 1, 0, 0]
    assert [h.items[h.indptr[u]:h.indptr[u + 1]].tolist() for u in range(4)] == [
        [0, 1, 2, 3], [0, 1], [], [2]]
    query, items = h.seen_pairs(TEST_USERS, TEST_ITEMS)
    # The true item is never left out: user 3's only item is its true one, and user 1's
    # second query keeps item 1.
    assert list(zip(query.tolist(), items.tolist(), strict=True)) == [
        (0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (4, 0)]


def test_segments_tag_users_by_training_activity_and_items_by_presence():
    masks = segment_masks(history(), TEST_USERS, TEST_ITEMS, bands=(4, 20))
    assert list(masks) == segment_names((4, 20))
    assert {name: np.flatnonzero(mask).tolist() for name, mask in masks.items()} == {
        "all": [0, 1, 2, 3, 4], "user_cold": [2], "user_warm": [0, 1, 3, 4],
        "user_1_3": [1, 4], "user_4_19": [0], "user_20_plus": [3],
        "item_cold": [0, 1], "item_warm": [2, 3, 4]}


def test_segment_metrics_share_and_accuracy_and_empty_segments():
    masks = segment_masks(history(), TEST_USERS, TEST_ITEMS, bands=(4, 20))
    ranks = {ALL: np.array([3, 0, 7, 1, 2]), EXCLUDE_SEEN: np.array([0, 0, 7, 1, 1])}
    metrics = segment_metrics(ranks, masks, ks=(1, 5))
    assert metrics[share_key("user_1_3")] == pytest.approx(0.4)
    assert metrics[segment_accuracy_key(1, ALL, "user_1_3")] == 0.5
    assert metrics[segment_accuracy_key(1, EXCLUDE_SEEN, "user_warm")] == 0.5
    assert metrics[segment_accuracy_key(5, ALL, "all")] == 0.8
    empty = segment_masks(history(), TEST_USERS[:2], TEST_ITEMS[:2], bands=(4, 20))
    sparse = segment_metrics({ALL: np.zeros(2, int)}, empty, ks=(1,))
    assert sparse[share_key("user_cold")] == 0.0
    assert segment_accuracy_key(1, ALL, "user_cold") not in sparse


def _embeddings():
    """Query embeddings scoring item j as ``-j`` for every user but user 0, who scores
    each item ``j`` as ``j`` (its true item 5 is last among all but first among the
    unseen): integer values, so every score is exact."""
    candidates = np.zeros((6, 2), np.float32)
    candidates[:, 0] = np.arange(6)
    queries = np.zeros((TEST_USERS.size, 2), np.float32)
    queries[:, 0] = -1.0
    queries[:, 1] = 1.0  # non-zero: a zero query would count as constant
    queries[TEST_USERS == 0, 0] = 1.0
    return queries, candidates


def test_exclude_seen_ranks_on_the_hand_built_example():
    queries, candidates = _embeddings()
    h = history()
    plain = true_candidate_ranks(queries, candidates, TEST_ITEMS)
    excluded = true_candidate_ranks(queries, candidates, TEST_ITEMS,
                                    seen=(*h.seen_bounds(TEST_USERS), h.items))
    # User 0 has seen every title but its true one: rank 0 once they are left out.
    assert plain.tolist() == [0, 4, 0, 2, 1]  # user 0 scores j as j: item 5 is top
    queries[0, 0] = -1.0  # now user 0 scores j as -j: item 5 is last of 6
    plain = true_candidate_ranks(queries, candidates, TEST_ITEMS)
    excluded = true_candidate_ranks(queries, candidates, TEST_ITEMS,
                                    seen=(*h.seen_bounds(TEST_USERS), h.items))
    assert plain.tolist() == [5, 4, 0, 2, 1]
    # User 0: items 0-3 left out, item 4 still outscores 5. User 1 (item 4): items 0, 1
    # left out, 2 and 3 remain. User 2 cold: nothing to leave out. User 3: its true
    # item 2 is its only seen one and stays. User 1's item 1: item 0 left out.
    assert excluded.tolist() == [1, 2, 0, 2, 0]
    capped = true_candidate_ranks(queries, candidates, TEST_ITEMS, cap=2,
                                  seen=(*h.seen_bounds(TEST_USERS), h.items))
    assert capped.tolist() == [1, 2, 0, 2, 0]


@pytest.mark.parametrize("dim", [3, 8, 32])
def test_exclusion_matches_brute_force_with_ties(dim):
    rng = np.random.default_rng(dim)
    for _ in range(15):
        n, m = int(rng.integers(1, 40)), int(rng.integers(1, 200))
        # Small integers: many exact ties, and every score exact in float32.
        queries = rng.integers(-2, 3, (n, dim)).astype(np.float32)
        candidates = rng.integers(-2, 3, (m, dim)).astype(np.float32)
        true = rng.integers(0, m, n)
        lists = [np.unique(rng.integers(0, m, int(rng.integers(0, m + 1)))) for _ in range(n)]
        lengths = np.array([len(x) for x in lists])
        starts = np.cumsum(lengths) - lengths
        rows = np.concatenate([*lists, np.zeros(0, np.int64)])
        scores = queries.astype(np.float64) @ candidates.T.astype(np.float64)
        for cap in (None, 1, 4, 50):
            got = count_higher(queries, candidates, true, cap, (starts, starts + lengths, rows))
            for i in range(n):
                keep = np.ones(m, bool)
                keep[lists[i]] = False
                keep[true[i]] = True
                want = np.count_nonzero(scores[i, keep] > scores[i, true[i]])
                assert got[i] == (want if cap is None else min(want, cap)), (i, cap)


def test_exclusion_of_nothing_is_the_plain_ranking():
    rng = np.random.default_rng(1)
    queries = rng.normal(size=(101, 16)).astype(np.float32)
    candidates = rng.normal(size=(300, 16)).astype(np.float32)
    true = rng.integers(0, 300, 101)
    empty = (np.zeros(101, np.int64), np.zeros(101, np.int64), np.zeros(0, np.int64))
    # The same kernel on the same inputs: exactly equal.
    assert (count_higher(queries, candidates, true, 100, empty)
            == count_higher(queries, candidates, true, 100)).all()


def test_exclusion_rejects_malformed_bounds():
    queries = np.ones((2, 4), np.float32)
    candidates = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="seen bounds"):
        count_higher(queries, candidates, np.zeros(2), 10,
                     (np.zeros(3, int), np.zeros(3, int), np.zeros(0, int)))
    with pytest.raises(ValueError, match="seen rows"):
        count_higher(queries, candidates, np.zeros(2), 10,
                     (np.zeros(2, int), np.ones(2, int), np.array([7])))


def test_tied_scorers_earn_nothing_with_or_without_exclusion():
    h = history()
    pairs = h.seen_pairs(TEST_USERS, TEST_ITEMS)
    constant = np.ones(6)
    assert (popularity_ranks(constant, TEST_ITEMS) == 5).all()
    excluded = popularity_ranks(constant, TEST_ITEMS, pairs)
    # Ties count against the true item: it ranks last among what is left.
    assert excluded.tolist() == [1, 3, 5, 5, 4]
    counts = np.bincount(TRAIN_ITEMS, minlength=6).astype(float)
    got = popularity_ranks(counts, TEST_ITEMS, pairs)
    for i, (user, item) in enumerate(zip(TEST_USERS, TEST_ITEMS, strict=True)):
        seen = set(h.items[h.indptr[user]:h.indptr[user + 1]]) - {item}
        others = [j for j in range(6) if j != item and j not in seen]
        assert got[i] == sum(counts[j] >= counts[item] for j in others)


def test_ease_exclusion_matches_brute_force():
    model = fit_ease(TRAIN_USERS, TRAIN_ITEMS, num_users=4, num_items=6, l2=1.0)
    h = history()
    pairs = h.seen_pairs(TEST_USERS, TEST_ITEMS)
    plain = ease_ranks(model, TEST_USERS, TEST_ITEMS)
    scores = ease_scores(model, TEST_USERS)
    want = plain.copy()
    for i in range(TEST_USERS.size):
        left_out = pairs[1][pairs[0] == i]
        # The scores ease_ranks compares: a row of ease_scores is that user's sparse
        # history times the weights, whatever other rows the call holds, so a tie broken
        # by rounding (one gap here is 2e-16) is broken the same way on both sides.
        want[i] -= np.count_nonzero(scores[i, left_out] >= scores[i, TEST_ITEMS[i]])
    for block_size in (None, 2):
        got = ease_ranks(model, TEST_USERS, TEST_ITEMS, block_size=block_size, seen=pairs)
        assert got.tolist() == want.tolist()
    # The cold user 2 scores by popularity (counts 2, 3, 26, 1, 0, 0): items 1 and 2
    # outrank its true item 0, and it has nothing to leave out.
    assert got[2] == plain[2] == 2


@pytest.mark.parametrize("text", ["", " , ", "100,20", "20,20", "-5,10", "1,10", "a,b"])
def test_bad_bands_are_refused_in_one_line(text):
    with pytest.raises(UserError) as error:
        parse_bands(text)
    assert "\n" not in str(error.value) and "band" in str(error.value)


def test_evaluation_checks_its_ranking():
    assert Evaluation().to_dict() == {"ranking": "all", "segment_bands": [20, 100]}
    with pytest.raises(UserError, match="ranking"):
        Evaluation(ranking="unseen")


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 40, n)
    items = rng.integers(0, 30, n)
    times = rng.integers(0, n // 2, n)
    latest = np.argsort(times)[-10:]  # a user and an item first seen at the very end
    users[latest[:5]], items[latest[5:]] = 40, 30
    return users, items, times


def test_temporal_warm_is_temporal_tested_on_warm_rows_only():
    users, items, times = _table()
    temporal = make_split("temporal", users, times)
    warm = make_split("temporal_warm", users, times, item_ids=items)
    assert SPLITS["temporal_warm"].warm_of == "temporal"
    assert (warm.train == temporal.train).all()
    assert set(warm.test) <= set(temporal.test)
    dropped = np.setdiff1d(temporal.test, warm.test)
    seen_users, seen_items = set(users[temporal.train]), set(items[temporal.train])
    assert all(users[r] in seen_users and items[r] in seen_items for r in warm.test)
    assert all(users[r] not in seen_users or items[r] not in seen_items for r in dropped)
    assert dropped.size > 0  # the table has cold test rows: the filter did something


def test_temporal_warm_is_validated_on_warm_rows_only():
    """Its hyperparameters are chosen on warm users, as it is scored: its validation slice
    is temporal's less the rows whose user or item has no row left for fitting."""
    users, items, times = _table()
    temporal = make_split("temporal", users, times)  # by time alone: users and items
    plain = make_validation("temporal", users, times, temporal)  # may change below
    planted = plain.test[:10]
    users[planted[:5]], items[planted[5:]] = 41, 31  # first seen in the validation slice
    warm = make_validation("temporal_warm", users, times, temporal, item_ids=items)
    assert (warm.train == plain.train).all()  # the same rows fit
    fit_users, fit_items = set(users[plain.train]), set(items[plain.train])
    assert set(warm.test) < set(plain.test)
    assert all(users[r] in fit_users and items[r] in fit_items for r in warm.test)
    cold = np.setdiff1d(plain.test, warm.test)
    assert set(planted) <= set(cold)
    assert all(users[r] not in fit_users or items[r] not in fit_items for r in cold)
    with pytest.raises(Exception, match="needs the item"):
        make_validation("temporal_warm", users, times, temporal)


def test_temporal_warm_needs_items():
    users, _, times = _table()
    with pytest.raises(Exception, match="needs the item"):
        make_split("temporal_warm", users, times)


def test_unseen_users_get_a_zero_id_embedding_in_every_configuration():
    from harness.data.synthetic import synthetic_movielens
    from harness.model.training import TrainOptions
    from harness.run.cell import fit_cell
    from harness.run.prepare import prepare_cell

    data = synthetic_movielens(np.random.default_rng(0), n_interactions=3_000, n_items=60,
                               n_users=80)
    rows = []
    for config in ("baseline", "timestamp"):
        for dim in (8, 16):
            cell = prepare_cell(data, "temporal", config, 0,
                                TrainOptions(epochs=1, batch_size=256, embedding_dim=dim))
            trained = fit_cell(cell)
            table = trained.model.query_tower._tables[0][1].numpy()
            trained_ids = np.unique(cell.train_features["user_id"])
            unseen = np.setdiff1d(np.arange(table.shape[0]), trained_ids)
            assert 0 in unseen  # the out-of-vocabulary id
            assert not table[unseen].any()
            assert table[trained_ids].any(axis=1).all()  # trained rows stay non-zero
            rows.append(cell.test_features["user_id"])
    # Cold test users map to the out-of-vocabulary id in every configuration.
    assert all((r == rows[0]).all() for r in rows)


# Planted cold start, without drift (items live the whole span), so the cold segments
# hold what the generator planted. Checked on generator seeds 0 and 1: shares 0.29-0.31
# (users) and 0.20-0.21 (items); top-10 on warm users 0.186-0.192 for the two-tower
# model against 0.058-0.097 for popularity, on cold users 0.009-0.032 against
# 0.062-0.102; cold items 0 for both.
PLANTED = {"n_users": 300, "n_items": 300, "n_interactions": 20_000, "affinity": 0.9,
           "lifetime_fraction": 1.0, "cold_user_rate": 0.3, "cold_item_rate": 0.2}


def test_segments_recover_the_cold_start_the_generator_planted():
    from harness.data.synthetic import synthetic_movielens
    from harness.model.training import TrainOptions
    from harness.run.cell import run_cell

    plain = synthetic_movielens(np.random.default_rng(0), **{
        **PLANTED, "cold_user_rate": 0.0, "cold_item_rate": 0.0})
    data = synthetic_movielens(np.random.default_rng(0), **PLANTED)
    options = TrainOptions(epochs=3, batch_size=512)
    control = run_cell(plain, "temporal", "popularity", 0, options).metrics
    popularity = run_cell(data, "temporal", "popularity", 0, options).metrics
    model = run_cell(data, "temporal", "baseline", 0, options).metrics

    # Without planting, next to no cold start; with it, the planted shares.
    assert control[share_key("user_cold")] < 0.02 and control[share_key("item_cold")] < 0.02
    assert abs(model[share_key("user_cold")] - 0.3) < 0.03
    assert abs(model[share_key("item_cold")] - 0.2) < 0.03

    def top10(metrics, segment):
        return metrics[segment_accuracy_key(10, ALL, segment)]

    # The planted effect: a twin user's taste is its original's, which only an id the
    # model trained on can carry. Personalisation beats popularity on warm users and
    # loses to it on cold ones; a never-trained title is found by neither.
    assert top10(model, "user_warm") > top10(popularity, "user_warm") + 0.04
    assert top10(model, "user_cold") < top10(popularity, "user_cold")
    assert top10(popularity, "item_cold") == 0.0
    assert top10(model, "item_cold") < 0.02 < top10(model, "item_warm")


def _with_segments(document: dict, ranking: str = ALL) -> dict:
    """The report fixture with segment metrics: user_cold holds 30% of each test set
    on the temporal split, none on random (so its column is left out there); the
    exclude_seen accuracy is the all-titles one plus 0.05, warm users 0.1 above cold."""
    from harness.evaluation.segments import segment_names

    for entry in document["benchmarks"]:
        extra = entry["extra_info"]
        if "split" not in extra:
            continue
        extra["provenance"]["segment_bands"] = [20, 100]
        extra["provenance"]["ranking"] = ranking
        cold = 0.3 if extra["split"] == "temporal" else 0.0
        base = extra["metrics"].get("test/top_100_categorical_accuracy")
        if base is None:
            continue
        shares = {"all": 1.0, "user_cold": cold, "user_warm": 1 - cold, "user_1_19": 0.0,
                  "user_20_99": 0.5, "user_100_plus": 0.5 - cold, "item_cold": 0.1,
                  "item_warm": 0.9}
        for segment in segment_names((20, 100)):
            extra["metrics"][share_key(segment)] = shares[segment]
            if not shares[segment]:
                continue
            value = base + (0.1 if segment.startswith("user_") and segment != "user_cold"
                            else 0.0)
            extra["metrics"][segment_accuracy_key(100, ALL, segment)] = value
            extra["metrics"][segment_accuracy_key(100, EXCLUDE_SEEN, segment)] = value + 0.05
        extra["timings"] = {**extra.get("timings", {}), "rank_seconds_all": 0.004,
                            "rank_seconds_exclude_seen": 0.005}
    return document


def _fixture_n_test(path, split: str) -> float:
    import json

    entries = json.loads(path.read_text())["benchmarks"]
    return next(e["extra_info"]["leakage"]["n_test"] for e in entries
                if e["extra_info"].get("split") == split and "leakage" in e["extra_info"])


def test_the_report_shows_segments_both_rankings_and_the_warm_verdict(tmp_path):
    import json
    from pathlib import Path

    from harness.report.report import render_report

    fixture = Path(__file__).parent / "fixtures" / "run_train.json"
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_with_segments(json.loads(fixture.read_text()))))
    markdown = render_report([path])
    section = markdown.split("## Segments: cold start and drift")[1].split("\n## ")[0]
    temporal = section.split("### temporal,")[1].split("###")[0]
    random_table = section.split("### random,")[1].split("###")[0]
    assert "user_cold (30.0%)" in temporal and "user_cold" not in random_table
    assert "user_1_19" not in section  # empty everywhere: left out
    rows = [line for line in temporal.splitlines() if line.startswith("| baseline")]
    assert [row.split("|")[2].strip() for row in rows] == ["all titles", "seen left out"]
    # The cost table: 5 ms against 4 ms, and the test set's size.
    cost = section.split("What leaving the seen titles out costs")[1]
    temporal_row = next(line for line in cost.splitlines() if line.startswith("| temporal"))
    n_test = _fixture_n_test(fixture, "temporal")
    assert [cell.strip() for cell in temporal_row.split("|")[3:7]] == [
        f"{n_test:.0f}", "4.00", "5.00", "1.25×"]
    help_section = markdown.split("## Does the feature help?")[1].split("\n## ")[0]
    assert "warm users only" in help_section
    # Runs of different headline rankings are refused together.
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_with_segments(json.loads(fixture.read_text()),
                                               EXCLUDE_SEEN)))
    with pytest.raises(UserError, match="ranking"):
        render_report([path, other])


def test_exclusion_is_refused_on_a_split_with_cold_test_users():
    from harness.data.synthetic import synthetic_movielens
    from harness.run.prepare import check_exclusion

    data = synthetic_movielens(np.random.default_rng(0), **{**PLANTED, "n_interactions": 4_000})
    with pytest.raises(UserError, match="split temporal .* test users without training"):
        check_exclusion(data, ("user_temporal", "temporal"), (0,), 0.2)
    check_exclusion(data, ("user_temporal", "temporal_warm", "leave_last_out"), (0, 1), 0.2)
