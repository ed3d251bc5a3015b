"""The one-pass exact top-k kernel against float64, TFRS's BruteForce, and adversarial ties.

Random float embeddings: every float32 path (this kernel, BruteForce's matmul) is within
``dot_error_bound / 2`` of the exact score, so the returned set may differ from the
float64 top k only by candidates whose exact score lies within the bound of the k-th
(``assert_same_set_up_to_near_ties``), and each position only by such a near-tie
(``assert_top_k_up_to_near_ties``, the order). Integer embeddings and duplicated rows give
exact ties: there the ids must equal the reference exactly, lowest row first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from floats import dot_error_bound
from test_retrieve import assert_top_k_up_to_near_ties, assert_valid_top_k, float64_reference

from harness.evaluation.topk import CHUNK, QUERY_BLOCK, ExactTopK, top_k

ROOT = Path(__file__).resolve().parent.parent


def assert_same_set_up_to_near_ties(ids, queries, candidates, k) -> int:
    """The returned set is the float64 top k but for candidates within the rounding bound
    of the k-th exact score (either side of it). Returns how many ids differ."""
    exact, reference = float64_reference(queries, candidates, k)
    tolerance = dot_error_bound(queries, candidates).max(axis=1)
    kth = exact[np.arange(len(queries)), reference[:, -1]]
    differing = 0
    for row in range(len(queries)):
        changed = set(ids[row].tolist()) ^ set(reference[row].tolist())
        differing += len(changed) // 2
        for candidate in changed:
            gap = abs(exact[row, candidate] - kth[row])
            assert gap <= tolerance[row], (
                f"query {row}: candidate {candidate} in one set only, {gap:.3g} from the "
                f"k-th score (tolerance {tolerance[row]:.3g})")
    return differing


@pytest.mark.parametrize(("num_queries", "num_candidates", "dim", "k"), [
    (2_001, 1_664, 32, 100),  # MovieLens's catalogue, an odd number of queries
    (3 * QUERY_BLOCK + 5, 3 * CHUNK + 17, 8, 100),  # several chunks and query blocks
    (40, 5_000, 8, 700),  # the pool fills and is cut back inside a chunk
    (9, 2_500, 3, CHUNK + 100),  # k beyond the first chunk: no first-chunk bound
    (7, 30, 8, 100),  # k beyond the catalogue: every candidate, ordered
    (1, 1, 3, 1),
])
def test_matches_float64_reference_up_to_near_ties(num_queries, num_candidates, dim, k):
    rng = np.random.default_rng(num_candidates + k)
    queries = rng.standard_normal((num_queries, dim)).astype(np.float32)
    candidates = rng.standard_normal((num_candidates, dim)).astype(np.float32)
    ids, scores = top_k(queries, candidates, k)
    assert_valid_top_k(ids, num_queries, num_candidates, k)
    assert_top_k_up_to_near_ties(ids, queries, candidates, k)
    assert_same_set_up_to_near_ties(ids, queries, candidates, k)
    # The scores returned are the kernel's float32 scores of the ids returned.
    exact = np.take_along_axis(queries.astype(np.float64) @ candidates.T.astype(np.float64),
                               ids.astype(np.int64), axis=1)
    bound = np.take_along_axis(dot_error_bound(queries, candidates), ids.astype(np.int64), 1)
    assert np.all(np.abs(scores - exact) <= bound)
    assert np.all(np.diff(scores, axis=1) <= 0)  # best first


def test_rising_scores_make_every_candidate_enter_and_the_pool_is_cut_back():
    """Scores that grow with the row: each candidate beats all before it, so the pool
    overflows again and again (the worst case for a running threshold)."""
    rng = np.random.default_rng(5)
    queries = np.abs(rng.standard_normal((6, 8))).astype(np.float32) + 1
    steps = np.linspace(0.0, 1.0, 3 * CHUNK, dtype=np.float32)[:, None]
    candidates = (steps * np.ones((1, 8), np.float32)).astype(np.float32)
    ids, _ = top_k(queries, candidates, 150)
    assert_top_k_up_to_near_ties(ids, queries, candidates, 150)
    np.testing.assert_array_equal(ids[:, 0], 3 * CHUNK - 1)


def test_agrees_with_tfrs_brute_force_up_to_near_ties():
    from harness.tfcompat import tf, tfrs

    rng = np.random.default_rng(11)
    queries = rng.standard_normal((2_000, 32)).astype(np.float32)
    candidates = rng.standard_normal((1_664, 32)).astype(np.float32)
    layer = tfrs.layers.factorized_top_k.BruteForce(k=100)
    layer.index(tf.constant(candidates), tf.range(len(candidates)))
    _, tfrs_ids = layer(tf.constant(queries))
    tfrs_ids = tfrs_ids.numpy()
    ids, _ = top_k(queries, candidates, 100)
    exact = queries.astype(np.float64) @ candidates.T.astype(np.float64)
    tolerance = dot_error_bound(queries, candidates).max(axis=1, keepdims=True)
    # Where the two float32 paths return different ids, those ids' exact scores are
    # within rounding of each other (each path is within half the bound of exact).
    gap = np.abs(np.take_along_axis(exact, ids.astype(np.int64), 1)
                 - np.take_along_axis(exact, tfrs_ids.astype(np.int64), 1))
    assert np.all(gap[ids != tfrs_ids] <= np.broadcast_to(tolerance, gap.shape)[ids != tfrs_ids])
    assert np.mean(ids == tfrs_ids) > 0.99  # near-ties are rare on random embeddings


def test_exact_ties_come_lowest_row_first():
    # Small integers: every score is exact in float32 in any order, hundreds of
    # candidates share each score, and the reference is a stable sort.
    rng = np.random.default_rng(3)
    queries = rng.integers(-2, 3, size=(65, 6)).astype(np.float32)
    candidates = rng.integers(-2, 3, size=(3_000, 6)).astype(np.float32)
    ids, _ = top_k(queries, candidates, 200)
    exact, reference = float64_reference(queries, candidates, 200)
    kth = np.take_along_axis(exact, reference[:, -1:], axis=1)
    assert np.mean((exact == kth).sum(axis=1) > 1) > 0.5  # the cut falls inside a tie
    np.testing.assert_array_equal(ids, reference)


def test_duplicate_rows_tie_exactly_and_come_in_row_order():
    rng = np.random.default_rng(8)
    base = rng.standard_normal((400, 32)).astype(np.float32)
    candidates = np.concatenate([base, base, base])  # rows r, r + 400, r + 800 alike
    queries = rng.standard_normal((50, 32)).astype(np.float32)
    ids, scores = top_k(queries, candidates, 90)
    for row_ids, row_scores in zip(ids, scores, strict=True):
        for position in range(len(row_ids) - 1):
            if row_ids[position] % 400 == row_ids[position + 1] % 400:
                assert row_scores[position] == row_scores[position + 1]
                assert row_ids[position] < row_ids[position + 1]
        # Each returned vector's copies follow it at once, lowest row first.
        first = row_ids[:-2:3]
        np.testing.assert_array_equal(row_ids[1::3][:len(first)], first + 400)
        np.testing.assert_array_equal(row_ids[2::3][:len(first)], first + 800)


def test_signed_zero_scores_tie():
    """A zero query scores -0.0 against negative candidates and +0.0 against others:
    equal scores, so the rows decide (a key that kept the sign would put +0.0 first)."""
    candidates = np.where(np.arange(40)[:, None] % 2 == 0, -1.0, 1.0) * np.ones((40, 4))
    ids, scores = top_k(np.zeros((3, 4), np.float32), candidates.astype(np.float32), 10)
    np.testing.assert_array_equal(ids, np.tile(np.arange(10), (3, 1)))
    assert np.all(scores == 0)


def test_a_collapsed_catalogue_returns_the_lowest_rows():
    candidates = np.repeat(np.random.default_rng(2).standard_normal((1, 8)), 3_000, axis=0)
    queries = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    ids, _ = top_k(queries, candidates.astype(np.float32), 100)
    np.testing.assert_array_equal(ids, np.tile(np.arange(100), (5, 1)))


def test_same_input_twice_gives_identical_results():
    rng = np.random.default_rng(4)
    queries = rng.standard_normal((301, 32)).astype(np.float32)
    index = ExactTopK(rng.standard_normal((4_000, 32)).astype(np.float32))
    first, second = index.search(queries, 100), index.search(queries, 100)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_no_queries_give_an_empty_result():
    ids, scores = top_k(np.zeros((0, 4), np.float32), np.ones((3, 4), np.float32), 2)
    assert ids.shape == scores.shape == (0, 2)


@pytest.mark.parametrize(("queries", "candidates", "k", "message"), [
    (np.ones((2, 3)), np.ones((0, 3)), 5, "catalogue is empty"),
    (np.ones((2, 3)), np.ones((4, 5)), 5, r"must be \[n, 5\]"),
    (np.ones((2, 3)), np.ones(3), 5, "must be"),
    (np.ones((2, 3)), np.ones((4, 3)), 0, "positive integer"),
    (np.ones((2, 3)), np.ones((4, 3)), True, "positive integer"),
    (np.ones((2, 3)), np.ones((4, 3)), 2.0, "positive integer"),
    (np.full((2, 3), np.nan), np.ones((4, 3)), 2, "query embeddings are not all finite"),
    (np.ones((2, 3)), np.full((4, 3), np.inf), 2, "candidate embeddings are not all finite"),
    (np.full((2, 3), 1e20), np.full((4, 3), 1e20), 2, "overflow"),
])
def test_bad_input_is_refused(queries, candidates, k, message):
    with pytest.raises(ValueError, match=message):
        top_k(queries, candidates, k)


def test_the_kernel_and_scanns_numpy_api_never_load_tensorflow():
    probe = ("import sys; from harness.evaluation.topk import top_k; "
             "from harness.scanncompat import scann_pybind; scann_pybind(); "
             "top_k([[1.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]], 1); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('tensorflow', 'tf_keras', 'tensorflow_recommenders')))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
