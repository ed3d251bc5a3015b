"""harness.record.peruser: per-user hits from per-interaction ranks, their compact encoding
read back exactly, its checks, and the alignment of seeds on one axis of users."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.errors import UserError
from harness.record.peruser import PerUser, align, decode_array, encode_array

# Five test interactions of users 7, 3, 7, 9, 3 (codes), ranked 0, 150, 99, 100, 4.
USERS = [7, 3, 7, 9, 3]
RANKS = [0, 150, 99, 100, 4]
WARM = [True, False, True, True, False]


def test_of_counts_per_user_by_hand():
    record = PerUser.of(USERS, RANKS, WARM, ks=(10, 100))
    assert record.users.tolist() == [3, 7, 9]
    assert record.queries.tolist() == [2, 2, 1]
    assert record.warm.tolist() == [False, True, True]
    assert record.hits[100].tolist() == [1, 2, 0]  # rank 99 is a hit at 100, rank 100 not
    assert record.hits[10].tolist() == [1, 1, 0]


@pytest.mark.parametrize("values", [[], [0], [255], [256, 3], [70_000, 1], [2**32 - 1]])
def test_arrays_round_trip_in_the_smallest_dtype(values):
    text = encode_array(values)
    assert decode_array(text, "x").tolist() == values
    top = max(values, default=0)
    assert text.startswith("u1:" if top < 256 else "u2:" if top < 65536 else "u4:")


def test_encode_refuses_what_it_cannot_hold():
    for values in ([-1], [2**32]):
        with pytest.raises(ValueError, match="2\\*\\*32"):
            encode_array(values)


def test_record_round_trips_through_json():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 943, 5000)
    record = PerUser.of(users, rng.integers(0, 1700, 5000), users % 3 > 0)
    data = json.loads(json.dumps(record.to_dict()))
    assert set(data) == {"version", "users", "queries", "warm", "hits"}
    back = PerUser.from_dict(data, "entry")
    assert back == record
    assert back.users.dtype == np.int64 and back.hits[100].sum() == record.hits[100].sum()
    assert back != PerUser.of(users, rng.integers(0, 1700, 5000), users % 3 > 0)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(version=2), "version must be 1"),
    (lambda d: d.update(users=12), "users must be a string"),
    (lambda d: d.update(queries="u1:@@@"), "queries is not base64"),
    (lambda d: d.update(warm=encode_array([1])), "warm has 1 values for 3 users"),
    (lambda d: d["hits"].update({"100": encode_array([9, 9, 9])}), "more hits than"),
    (lambda d: d.update(hits=[]), "hits must be an object"),
])
def test_a_malformed_record_is_one_line_naming_the_field(change, message):
    data = PerUser.of(USERS, RANKS, WARM).to_dict()
    change(data)
    with pytest.raises(UserError, match=message) as raised:
        PerUser.from_dict(data, "run.json: benchmarks[3]")
    assert str(raised.value).startswith("run.json: benchmarks[3]")
    assert "\n" not in str(raised.value)


def test_align_puts_seeds_on_one_axis_of_users():
    first = PerUser.of([1, 1, 4], [0, 200, 3], [True, True, False])
    second = PerUser.of([4, 6], [500, 1], [True, True])
    users, hits, queries = align([first, second], 100)
    assert users.tolist() == [1, 4, 6]
    assert hits.tolist() == [[1, 1, 0], [0, 0, 1]]
    assert queries.tolist() == [[2, 1, 0], [0, 1, 1]]
    # Warm only: user 4 is cold in the first seed, warm in the second.
    _, hits, queries = align([first, second], 100, warm_only=True)
    assert hits.tolist() == [[1, 0, 0], [0, 0, 1]]
    assert queries.tolist() == [[2, 0, 0], [0, 1, 1]]


def test_a_cell_result_carries_its_per_user_record_once_through_its_entries(tmp_path):
    """The writer puts the record in the inference entry only (every finished cell has
    one), and the reader gives it back on the merged cell."""
    from harness.record.cell import Cell, CellResult
    from harness.record.cellentry import benchmark_entry, entry_info, merge_entries, parse_entry

    record = PerUser.of(USERS, RANKS, WARM)
    result = CellResult(Cell("temporal", "baseline", "train", 0),
                        metrics={"test/top_100_categorical_accuracy": 0.6}, per_user=record)
    stats = {"data": [1.0], "iterations": 1}
    entries = [json.loads(json.dumps(benchmark_entry(result.cell, kind,
                                                     entry_info(result, kind, 1.0), stats)))
               for kind in ("train", "inference")]
    assert "per_user" not in entries[0]["extra_info"]
    assert "per_user" in entries[1]["extra_info"]
    path = tmp_path / "run.json"
    back = merge_entries([parse_entry(path, i, e) for i, e in enumerate(entries)], path)
    assert back.per_user == record
    del entries[1]["extra_info"]["per_user"]
    assert merge_entries([parse_entry(path, i, e) for i, e in enumerate(entries)]).per_user is None


@pytest.mark.parametrize("ranking", ["all", "exclude_seen"])
def test_a_cells_per_user_hits_add_up_to_its_headline_metrics(ranking):
    """From the same ranks as the headline metrics: summed over users they are the cell's
    top-k accuracy, and over warm users its user_warm segment's."""
    from harness.data.synthetic import synthetic_movielens
    from harness.evaluation.keys import accuracy_key
    from harness.evaluation.segments import Evaluation, segment_accuracy_key
    from harness.model.training import TrainOptions
    from harness.record.peruser import PER_USER_KS
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell_per_user
    from harness.run.prepare import prepare_cell

    data = synthetic_movielens(np.random.default_rng(0), n_users=60, n_items=300,
                               n_interactions=3000)
    cell = prepare_cell(data, "temporal", "popularity", 0, TrainOptions(),
                        evaluation=Evaluation(ranking=ranking))
    metrics, _, record = evaluate_cell_per_user(cell, fit_cell(cell))
    assert tuple(record.hits) == PER_USER_KS
    assert record.queries.sum() == cell.split.test.size
    for k in PER_USER_KS:
        assert record.hits[k].sum() / record.queries.sum() == pytest.approx(
            metrics[accuracy_key(k)], abs=1e-12)
        warm = record.warm
        assert record.hits[k][warm].sum() / record.queries[warm].sum() == pytest.approx(
            metrics[segment_accuracy_key(k, ranking, "user_warm")], abs=1e-12)
