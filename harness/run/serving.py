"""Serving retrievers measured side by side on one set of embeddings.

:func:`measure_serving` builds each retriever of :mod:`harness.evaluation.serving` over the
same catalogue, times their searches taking turns in one process (so the ratios hold on
a shared, noisy machine even where the absolute rates do not), and scores what each
returns: recall@k against the exact top k, and, given each query's true candidate, the
top-k accuracy the retriever actually delivers. :func:`cell_serving` does it for a grid
cell's test queries and catalogue; the grid stores the result under its inference
entry's ``extra_info["serving"]``. :func:`synthetic_embeddings` makes the sweep's larger
catalogues.

The exact top k is the reference: ``exact_one_pass`` scores recall 1 by definition, and
``tf_brute_force`` differs from it only where float32 rounding reorders near-ties. The
delivered accuracy can differ from the rank-based ``test/top_100_categorical_accuracy``
where the true candidate ties with the 100th: ranks count ties in its favour, a
retriever returns the lowest rows first.
"""

from __future__ import annotations

import time

import numpy as np

from harness.evaluation.retrieval import embed, retrieve_top_k
from harness.evaluation.serving import (
    EXACT,
    SCANN,
    TF_BRUTE_FORCE,
    ScannIndex,
    hit_rate,
    recall_at_k,
    resident_bytes,
    time_side_by_side,
)
from harness.evaluation.topk import ExactTopK
from harness.model.twotower import candidate_embeddings
from harness.scanncompat import unavailable_reason
from harness.tfcompat import tf


def synthetic_embeddings(rng: np.random.Generator, n_items: int, n_queries: int,
                         dim: int = 32, noise: float = 0.5
                         ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Clustered query and item embeddings, for serving benchmarks past MovieLens's size.

    A trained two-tower model's embeddings cluster (users and items of one taste) and
    their norms vary with popularity; uniform Gaussian vectors have neither, and are
    the worst case of every approximate index. Here items and queries sit around
    sqrt(n_items) shared centres (standard normal), at distance ``noise`` per
    dimension, and each item's vector is scaled by a log-normal factor (sigma 0.25).

    Returns:
        ([n_queries, dim] float32 queries, [n_items, dim] float32 items, the parameters).
    """
    clusters = max(1, round(np.sqrt(n_items)))
    centres = rng.standard_normal((clusters, dim))
    items = centres[rng.integers(0, clusters, n_items)] + noise * rng.standard_normal(
        (n_items, dim))
    items *= rng.lognormal(0.0, 0.25, (n_items, 1))
    queries = centres[rng.integers(0, clusters, n_queries)] + noise * rng.standard_normal(
        (n_queries, dim))
    spec = {"generator": "synthetic_embeddings", "clusters": clusters, "dim": dim,
            "noise": noise, "norm_sigma": 0.25}
    return queries.astype(np.float32), items.astype(np.float32), spec


def _timed(build):
    before = resident_bytes()
    start = time.perf_counter()
    built = build()
    seconds = time.perf_counter() - start
    after = resident_bytes()
    growth = None if before is None or after is None else max(0, after - before)
    return built, seconds, growth


def measure_serving(queries, candidates, k: int = 100, rounds: int = 5,
                    true_rows=None, tf_block_size: int = 20_000,
                    scann_leaves: tuple[int, ...] = ()) -> dict:
    """Every retriever over ``candidates``, timed side by side and scored.

    Args:
        queries: [num_queries, dim] float32 query embeddings.
        candidates: [num_candidates, dim] float32 candidate embeddings.
        k: results per query.
        rounds: timed calls per retriever (after one warm-up call each).
        true_rows: [num_queries] each query's true candidate row, for the delivered
            top-k accuracy; None to skip it.
        tf_block_size: queries per TensorFlow block (``retrieve_top_k``'s).
        scann_leaves: for a tree, further ``leaves_to_search`` values to measure (the
            recall / speed curve; one timed round each, after a warm-up).

    Returns:
        ``{"k", "num_queries", "num_candidates", "rounds", "retrievers": {name: {...}},
        "exact_speedup_over_tf"}``; each retriever has ``queries_per_second`` (median
        call), ``seconds`` (every call), ``recall_at_{k}``, ``top_{k}_accuracy`` (with
        ``true_rows``), ``build_seconds``, ``index_bytes`` and ``build_rss_bytes`` (the
        resident memory the build added); ScaNN also its ``config`` and ``curve``, or
        ``scann_skipped`` with the reason it did not run.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    candidates = np.ascontiguousarray(candidates, dtype=np.float32)
    num_queries = len(queries)
    exact, exact_seconds, exact_rss = _timed(lambda: ExactTopK(candidates))
    tf_candidates, tf_seconds, tf_rss = _timed(lambda: tf.constant(candidates))
    searches = {EXACT: lambda: exact.search(queries, k)[0],
                TF_BRUTE_FORCE: lambda: retrieve_top_k(queries, tf_candidates, k, tf_block_size)}
    builds = {EXACT: (exact_seconds, exact.nbytes, exact_rss),
              TF_BRUTE_FORCE: (tf_seconds, int(candidates.nbytes), tf_rss)}
    skipped = unavailable_reason()
    if skipped is None:
        index, seconds, rss = _timed(lambda: ScannIndex(candidates, k))
        searches[SCANN] = lambda: index.search(queries)
        builds[SCANN] = (seconds, index.nbytes, rss)
    seconds = time_side_by_side(searches, rounds)
    reference = searches[EXACT]()
    retrievers = {}
    for name, search in searches.items():
        ids = reference if name == EXACT else search()
        build_seconds, index_bytes, build_rss = builds[name]
        retrievers[name] = {
            "queries_per_second": num_queries / float(np.median(seconds[name])),
            "seconds": seconds[name], f"recall_at_{k}": recall_at_k(ids, reference),
            "build_seconds": build_seconds, "index_bytes": index_bytes,
            "build_rss_bytes": build_rss,
        }
        if true_rows is not None:
            retrievers[name][f"top_{k}_accuracy"] = hit_rate(ids, np.asarray(true_rows))
    result = {"k": k, "num_queries": num_queries, "num_candidates": len(candidates),
              "rounds": rounds, "retrievers": retrievers,
              "exact_speedup_over_tf": float(np.median(seconds[TF_BRUTE_FORCE])
                                             / np.median(seconds[EXACT]))}
    if skipped is None:
        retrievers[SCANN]["config"] = index.config.to_dict()
        retrievers[SCANN]["curve"] = [
            _curve_point(index, queries, leaves, reference, k) for leaves in scann_leaves
            if index.config.mode == "tree_ah"]
    else:
        result["scann_skipped"] = skipped
    return result


def _curve_point(index: ScannIndex, queries, leaves: int, reference, k: int) -> dict:
    seconds = time_side_by_side({"scann": lambda: index.search(queries, leaves)}, 1)
    ids = index.search(queries, leaves)
    return {"leaves_to_search": leaves,
            "queries_per_second": len(queries) / seconds["scann"][0],
            f"recall_at_{k}": recall_at_k(ids, reference)}


def cell_serving(cell, trained, k: int = 100, rounds: int = 5) -> dict:
    """:func:`measure_serving` for a cell: its test queries against its catalogue (for a
    candidate tower with features of the past, as of the last refresh), with each test
    interaction's title as the true candidate."""
    features = cell.test_features
    queries = embed(trained.model.query_tower, features, cell.options.eval_batch_size)
    candidates = candidate_embeddings(cell, trained)
    return measure_serving(np.asarray(queries), np.asarray(candidates), k, rounds,
                           true_rows=features["candidate"],
                           tf_block_size=cell.options.eval_batch_size)


__all__ = ["cell_serving", "measure_serving", "synthetic_embeddings"]
