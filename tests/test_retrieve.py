"""Exact top-k retrieval (the timed inference workload) against a float64 reference.

``retrieve_top_k`` scores in float32 with TensorFlow's matmul and keeps the k best per
query; the reference is ``argsort`` of the float64 scores. float32 rounding can swap
candidates whose scores are closer than its error, so on random embeddings the test
allows a difference in ids only where the float64 scores at that position are within the
rounding bound (``floats.dot_error_bound``). On integer embeddings every float32 score is
exact, ties are exact too, and the ids must equal the reference's exactly, with ties in
the order ``tf.math.top_k`` documents: the lower candidate row first.
"""

from __future__ import annotations

import numpy as np
import pytest
from floats import dot_error_bound


def float64_reference(queries: np.ndarray, candidates: np.ndarray, k: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The k best candidates by float64 score, ties by lower row.

    Returns:
        ([num_queries, num_candidates] float64 scores, [num_queries, k] reference rows).
    """
    exact = queries.astype(np.float64) @ candidates.astype(np.float64).T
    return exact, np.argsort(-exact, axis=1, kind="stable")[:, :k]


def assert_valid_top_k(ids: np.ndarray, num_queries: int, num_candidates: int, k: int) -> None:
    """Shape [num_queries, min(k, num_candidates)], rows in range, no row repeated."""
    assert ids.shape == (num_queries, min(k, num_candidates)), ids.shape
    assert ids.dtype.kind in "iu", ids.dtype
    assert ids.min() >= 0 and ids.max() < num_candidates
    ordered = np.sort(ids, axis=1)
    assert np.all(ordered[:, 1:] != ordered[:, :-1]), "a candidate returned twice"


def assert_top_k_up_to_near_ties(ids: np.ndarray, queries: np.ndarray,
                                 candidates: np.ndarray, k: int) -> int:
    """``ids`` are the float64 top k, up to swaps of candidates closer than float32 error.

    Each float32 score is within e = dot_error_bound / 2 of the exact one (the bound is
    for the difference of two float32 paths). Then the j-th largest float32 score is
    within max e of the j-th largest exact score (order statistics move no more than the
    values), so the exact score of the j-th returned candidate is within 2 max e =
    max dot_error_bound of the reference's j-th exact score. (float64's own error, ~1e-16
    relative, is nine orders of magnitude below.) A wrong id, a reversed order or a
    missing candidate moves some position by a whole gap between scores.

    Returns:
        How many (query, position) ids differ from the reference: swapped near-ties.
    """
    exact, reference = float64_reference(queries, candidates, k)
    assert_valid_top_k(ids, len(queries), len(candidates), k)
    tolerance = dot_error_bound(queries, candidates).max(axis=1, keepdims=True)
    returned_scores = np.take_along_axis(exact, ids.astype(np.int64), axis=1)
    reference_scores = np.take_along_axis(exact, reference, axis=1)
    gap = np.abs(returned_scores - reference_scores)
    worst = np.unravel_index(np.argmax(gap - tolerance), gap.shape)
    within = bool(np.all(gap <= tolerance))  # a bool: no array dump in the message
    assert within, (
        f"query {worst[0]} position {worst[1]}: returned row {ids[worst]} scores "
        f"{returned_scores[worst]!r}, reference row {reference[worst]} scores "
        f"{reference_scores[worst]!r}; tolerance {tolerance[worst[0], 0]:.3g}")
    return int(np.count_nonzero(ids != reference))


@pytest.mark.parametrize(("num_queries", "num_candidates", "dim", "k", "block_size"), [
    (300, 1000, 32, 100, 128),  # several blocks, the last one partial
    (50, 200, 8, 10, 20_000),  # one block
    (7, 30, 16, 100, 3),  # k beyond the catalogue: every candidate, ordered
])
def test_top_k_matches_float64_reference_on_random_embeddings(num_queries, num_candidates,
                                                             dim, k, block_size):
    from harness.evaluation.retrieval import retrieve_top_k

    rng = np.random.default_rng(num_queries)
    queries = rng.normal(size=(num_queries, dim)).astype(np.float32)
    candidates = rng.normal(size=(num_candidates, dim)).astype(np.float32)
    ids = retrieve_top_k(queries, candidates, k, block_size)
    assert_top_k_up_to_near_ties(ids, queries, candidates, k)


def test_near_duplicate_candidates_may_swap_but_nothing_else_moves():
    """Candidates one float32 ulp apart tie within rounding; either order is right."""
    from harness.evaluation.retrieval import retrieve_top_k

    rng = np.random.default_rng(7)
    queries = rng.normal(size=(100, 32)).astype(np.float32)
    base = rng.normal(size=(200, 32)).astype(np.float32)
    candidates = np.concatenate([base, np.nextafter(base, np.float32(np.inf))])
    ids = retrieve_top_k(queries, candidates, 20, block_size=64)
    swaps = assert_top_k_up_to_near_ties(ids, queries, candidates, 20)
    # Each pair's exact scores differ by ~1e-7 of their size and any other candidate is
    # far from both, so the pair is adjacent in the top 20 (either order), unless its
    # second member fell out at the last position.
    partner = np.where(ids < 200, ids + 200, ids - 200)
    for row, partners in zip(ids, partner, strict=True):
        for position, wanted in enumerate(partners[:-1]):
            neighbours = row[max(position - 1, 0):position + 2]
            assert wanted in neighbours, (row, position)
    assert swaps > 0  # float32 did reorder some pairs, and the tolerance accepted it


def test_integer_embeddings_exact_ties_come_in_row_order():
    """Exact scores with many ties: the exact k best, ties broken by lower row first."""
    from harness.evaluation.retrieval import retrieve_top_k

    rng = np.random.default_rng(3)
    # Products of integers in [-2, 2] summed over 6 dimensions: integers in [-24, 24],
    # exact in float32 in any order of summation, so TensorFlow's scores equal the
    # float64 ones exactly and hundreds of candidates share each score.
    queries = rng.integers(-2, 3, size=(64, 6)).astype(np.float32)
    candidates = rng.integers(-2, 3, size=(500, 6)).astype(np.float32)
    k = 50
    ids = retrieve_top_k(queries, candidates, k, block_size=10)
    exact, reference = float64_reference(queries, candidates, k)
    assert_valid_top_k(ids, 64, 500, k)
    # Ties are real: in most rows the k-th best score is shared with candidates left out.
    kth = np.take_along_axis(exact, reference[:, -1:], axis=1)
    assert np.mean((exact == kth).sum(axis=1) > 1) > 0.5
    returned_scores = np.take_along_axis(exact, ids.astype(np.int64), axis=1)
    np.testing.assert_array_equal(returned_scores,
                                  np.take_along_axis(exact, reference, axis=1))
    np.testing.assert_array_equal(ids, reference)  # tf.math.top_k: lower index first


def test_infer_top_k_retrieves_for_every_test_query_over_the_catalogue():
    """The benchmark's workload: test queries of the cell against its whole catalogue."""
    import dataclasses

    from harness.data.synthetic import synthetic_movielens
    from harness.evaluation.retrieval import embed
    from harness.model.towers import build_model
    from harness.model.training import TrainedModel, TrainOptions
    from harness.model.twotower import candidate_embeddings, infer_top_k
    from harness.run.prepare import prepare_cell

    data = synthetic_movielens(np.random.default_rng(1), n_users=60, n_items=120,
                               n_interactions=1500)
    # A small evaluation batch: several query blocks.
    options = dataclasses.replace(TrainOptions(), eval_batch_size=64)
    cell = prepare_cell(data, "random", "time_of_day_week", 0, options)
    # Untrained weights: random but distinct scores are all retrieval needs.
    trained = TrainedModel(model=build_model(cell.fitted, 0), seconds=0.0, examples=0,
                           losses=[])
    k = 25
    ids = infer_top_k(cell, trained, k)
    # The embeddings are this test's inputs, computed by the same calls infer_top_k
    # makes (same batches, so the same values); what is checked is the retrieval and
    # that it runs for the test rows, with the query tower, over every candidate.
    queries = embed(trained.model.query_tower, cell.test_features, options.eval_batch_size)
    candidates = candidate_embeddings(cell, trained)
    assert candidates.shape[0] == data.candidate_titles.size
    assert_top_k_up_to_near_ties(ids, np.asarray(queries), np.asarray(candidates), k)
    assert ids.shape == (cell.split.test.size, k)
