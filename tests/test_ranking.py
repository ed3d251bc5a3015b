"""The one-pass rank kernel: exact ranks, ties in the true candidate's favour."""

from __future__ import annotations

import numpy as np
import pytest
from floats import dot_error_bound

from harness.evaluation.ranking import count_higher


def _ranks_float64(queries, candidates, true_rows):
    scores = queries.astype(np.float64) @ candidates.T.astype(np.float64)
    true_scores = scores[np.arange(len(true_rows)), true_rows]
    return (scores > true_scores[:, None]).sum(axis=1)


# Odd query counts (the last step is padded), candidate counts that are and are not
# multiples of the vector width, and three dimensions: one that no vector width divides,
# a small power of two and the towers' 32. Each dimension compiles its own kernel (seconds
# in a cold cache, more for wider ones), so the shapes share these three.
SHAPES = [(1, 1, 3), (7, 5, 3), (64, 16, 32), (101, 37, 32), (500, 1_000, 8), (33, 300, 32)]


@pytest.mark.parametrize("num_queries, num_candidates, dim", SHAPES)
def test_integer_embeddings_give_exact_ranks_with_ties(num_queries, num_candidates, dim):
    # Small integers: every score is exact in float32, so the ranks must equal the
    # float64 ones exactly, and ties (frequent here) must not count against the query.
    rng = np.random.default_rng(num_candidates)
    queries = rng.integers(-2, 3, (num_queries, dim)).astype(np.float32)
    candidates = rng.integers(-2, 3, (num_candidates, dim)).astype(np.float32)
    true_rows = rng.integers(0, num_candidates, num_queries)
    expected = _ranks_float64(queries, candidates, true_rows)
    np.testing.assert_array_equal(count_higher(queries, candidates, true_rows), expected)


@pytest.mark.parametrize("cap", [1, 5, 64, 100, 129])
def test_capped_ranks_are_exact_below_the_cap(cap):
    # 1,000 candidates (15 full blocks and a partial one), ranks spread over the whole
    # range: a pair of queries stops scanning only when both have reached the cap.
    rng = np.random.default_rng(cap)
    queries = rng.integers(-3, 4, (257, 8)).astype(np.float32)
    candidates = rng.integers(-3, 4, (1_000, 8)).astype(np.float32)
    true_rows = rng.integers(0, 1_000, 257)
    # A quarter of the queries get their best-scoring candidate: rank 0.
    true_rows[::4] = (queries[::4] @ candidates.T).argmax(axis=1)
    exact = _ranks_float64(queries, candidates, true_rows)
    assert (exact < cap).any() and (exact >= cap).any()
    np.testing.assert_array_equal(count_higher(queries, candidates, true_rows, cap),
                                  np.minimum(exact, cap))


@pytest.mark.parametrize("num_queries, num_candidates, dim", SHAPES)
def test_float_embeddings_match_float64_ranks_away_from_rounding_ties(
        num_queries, num_candidates, dim):
    rng = np.random.default_rng(dim)
    queries = rng.standard_normal((num_queries, dim)).astype(np.float32)
    candidates = rng.standard_normal((num_candidates, dim)).astype(np.float32)
    true_rows = rng.integers(0, num_candidates, num_queries)
    scores = queries.astype(np.float64) @ candidates.T.astype(np.float64)
    gaps = np.abs(scores - scores[np.arange(num_queries), true_rows][:, None])
    gaps[np.arange(num_queries), true_rows] = np.inf
    # No other candidate within float32 rounding of the true score (a near-tie, whose
    # order depends on the summation order and so on the CPU).
    clear = (gaps > dot_error_bound(queries, candidates)).all(axis=1)
    assert clear.mean() > 0.5
    ranks = count_higher(queries, candidates, true_rows)
    np.testing.assert_array_equal(ranks[clear],
                                  _ranks_float64(queries, candidates, true_rows)[clear])


@pytest.mark.parametrize("num_candidates", [1, 15, 16, 17, 1_664])
def test_true_candidate_never_outranks_itself(num_candidates):
    # Every candidate is the same vector, so every score equals the true score exactly
    # if (and only if) all are computed alike: a true score rounded differently from
    # the rest (as FactorizedTopK's reduce_sum against its matmul) gives ranks > 0.
    rng = np.random.default_rng(num_candidates)
    queries = rng.standard_normal((301, 32)).astype(np.float32)
    candidates = np.repeat(rng.standard_normal((1, 32)).astype(np.float32),
                           num_candidates, axis=0)
    true_rows = rng.integers(0, num_candidates, 301)
    np.testing.assert_array_equal(count_higher(queries, candidates, true_rows), 0)


def test_a_read_only_tensor_buffer_reuses_the_compiled_kernel():
    from harness.evaluation.ranking import _compiled

    rng = np.random.default_rng(0)
    queries = rng.standard_normal((10, 4)).astype(np.float32)
    candidates = rng.standard_normal((6, 4)).astype(np.float32)
    true_rows = rng.integers(0, 6, 10)
    expected = count_higher(queries, candidates, true_rows)
    compiled = len(_compiled(4).signatures)
    queries.flags.writeable = False
    true_rows.flags.writeable = False
    np.testing.assert_array_equal(count_higher(queries, candidates, true_rows), expected)
    assert len(_compiled(4).signatures) == compiled


def test_no_queries_gives_no_ranks():
    ranks = count_higher(np.zeros((0, 4), np.float32), np.ones((3, 4), np.float32),
                         np.zeros(0, np.int64))
    assert ranks.shape == (0,) and ranks.dtype == np.int64


@pytest.mark.parametrize("queries, candidates, true_rows, message", [
    (np.ones((2, 3)), np.ones((4, 5)), [0, 1], "must be"),
    (np.ones((2, 0)), np.ones((4, 0)), [0, 1], "dim >= 1"),
    (np.ones(3), np.ones((4, 3)), [0], "must be"),
    (np.ones((2, 3)), np.ones((4, 3)), [0], "true rows"),
    (np.ones((2, 3)), np.ones((4, 3)), [0, 4], r"\[0, 4\)"),
    (np.ones((2, 3)), np.ones((4, 3)), [-1, 0], r"\[0, 4\)"),
    (np.full((2, 3), np.nan), np.ones((4, 3)), [0, 1], "finite"),
    (np.ones((2, 3)), np.full((4, 3), np.inf), [0, 1], "finite"),
])
def test_bad_input_is_refused(queries, candidates, true_rows, message):
    with pytest.raises(ValueError, match=message):
        count_higher(queries, candidates, np.asarray(true_rows))


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="cap must be at least 1"):
        count_higher(np.ones((2, 3)), np.ones((4, 3)), np.array([0, 1]), cap=0)


def _check_kernel(run, dim: int) -> None:
    rng = np.random.default_rng(dim)
    queries = rng.integers(-2, 3, (9, dim)).astype(np.float32)
    candidates = rng.integers(-2, 3, (20, dim)).astype(np.float32)
    true_rows = rng.integers(0, 20, 10)[:9]
    ranks = np.empty(10, np.int64)
    padded_queries = np.concatenate([queries, queries[-1:]])
    padded_rows = np.concatenate([true_rows, true_rows[-1:]])
    nothing_seen = np.zeros(10, np.int64)
    run(padded_queries, np.ascontiguousarray(candidates.T), padded_rows, 20, nothing_seen,
        nothing_seen, np.zeros(0, np.int64), ranks, 2)
    np.testing.assert_array_equal(ranks[:9], _ranks_float64(queries, candidates, true_rows))


def test_the_compiled_kernel_is_cached_on_disk_for_later_processes(tmp_path, monkeypatch):
    from harness.data.sources import CACHE_DIR_ENV
    from harness.evaluation.ranking import _compiled

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    _check_kernel(_compiled.__wrapped__(3), 3)  # not the process-wide functools cache
    cached = {path.name.split(".")[1].split("-")[0]
              for path in (tmp_path / "numba" / "__pycache__").glob("*.nbi")}
    assert cached == {"kernel", "run"}


def test_an_unwritable_cache_compiles_in_memory(tmp_path, monkeypatch):
    from harness.data.sources import CACHE_DIR_ENV
    from harness.evaluation.ranking import _compiled

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker))  # mkdir under a file fails
    _check_kernel(_compiled.__wrapped__(3), 3)
