"""Exact top-k retrieval in one pass over the catalogue, without a score matrix.

What ``tfrs.layers.factorized_top_k.BruteForce`` (a matmul, then ``tf.math.top_k``)
returns, computed the way :mod:`harness.evaluation.ranking` computes ranks: a numba
kernel, compiled once per embedding dimension, scores two queries at a time against a
chunk of ``CHUNK`` candidates (each score one fused expression, vectorised across
candidates; the chunk's scores stay in a small buffer in cache), and keeps a running
top k per query. Queries go in blocks of ``QUERY_BLOCK`` that share each chunk of the
catalogue while it is in cache, so a catalogue of 10^6 items is read from memory once
per block, not once per query. No [queries, catalogue] matrix is ever written.

The running top k: a candidate enters a query's pool only if its score reaches the
pool's threshold, a lower bound on the final k-th best score; when the pool is full it
is cut back to its k best (a quickselect) and the threshold rises to the k-th. Before the
pool has k members, the first chunk's own scores give the bound: a guess from their mean
and spread (where a Gaussian would leave about ``1.2 k`` candidates above it), accepted
only once at least k of them are counted above it (then the k-th best score overall is
at least the guess), lowered otherwise. The bound only filters; it never decides.
The pool, its threshold and the final sort live in :mod:`harness.evaluation.topk_pool`.

Order and ties: each candidate is kept as one int64 key, its score's bits made
order-preserving in the high half (``-0.0`` counted as ``+0.0``) and the complement of
its row in the low half. Larger key = higher score, then lower row: the order of
``tf.math.top_k`` ("the lower-index element appears first" among equals), so equal
scores come back lowest row first, in BruteForce's order.
"""

from __future__ import annotations

import functools
from pathlib import Path
from statistics import NormalDist

import numba
import numpy as np

from harness.evaluation import topk_pool
from harness.evaluation.kernels import load_generated

QUERIES_PER_STEP = 2  # queries sharing each load of candidate values
QUERY_BLOCK = 32  # queries sharing each chunk of the catalogue while it is in cache
CHUNK = 2048  # candidates scored into the buffer between two pool updates
GUESS_SHARE = 1.2  # the first chunk's bound aims for this many times k candidates above it
BUCKETS = 256  # of the final bucket sort (the pool holds up to 2 k keys)


def _module_source(dim: int, cache: bool) -> str:
    """The kernel for ``dim`` and its parallel driver, as the source of one module."""
    pairs = range(QUERIES_PER_STEP)

    def score(r: int) -> str:
        return " + ".join(f"q{r}_{d} * candidates_t[{d}, j]" for d in range(dim))

    return "\n".join([
        "import numba",
        "import numpy as np",
        "",
        "from harness.evaluation.topk_pool import absorb, finish",
        "",
        "",
        # contract: a*b + c may become one fused multiply-add (same for every candidate).
        f"@numba.njit(fastmath={{'contract'}}, boundscheck=False, nogil=True, cache={cache})",
        "def kernel(queries, candidates_t, k, z, rows, score_bits, start, stop):",
        "    num_candidates = candidates_t.shape[1]",
        f"    pools = np.empty(({QUERY_BLOCK}, max(2 * k, k + 1)), np.int64)",
        f"    sizes = np.empty({QUERY_BLOCK}, np.int64)",
        f"    thresholds = np.empty({QUERY_BLOCK}, np.float32)",
        *[f"    out{r} = np.empty({CHUNK}, np.float32)" for r in pairs],
        "    scratch = np.empty(1, np.int32)",
        f"    counts = np.empty({BUCKETS} + 1, np.int64)",
        "    ordered = np.empty(pools.shape[1], np.int64)",
        f"    chosen = np.empty({CHUNK}, np.int64)",
        f"    for block in range(start, stop, {QUERY_BLOCK}):",
        f"        block_stop = min(block + {QUERY_BLOCK}, stop)",
        "        sizes[:] = 0",
        "        thresholds[:] = -np.inf",
        f"        for first in range(0, num_candidates, {CHUNK}):",
        f"            last = min(first + {CHUNK}, num_candidates)",
        # Unsigned indices: numba then adds no negative-index wraparound, which would
        # stop the compiler from vectorising the loop.
        "            base = np.uint64(first)",
        "            size = np.uint64(last - first)",
        f"            for i in range(block, block_stop, {QUERIES_PER_STEP}):",
        *[f"                q{r}_{d} = queries[i + {r}, {d}]" for r in pairs for d in range(dim)],
        *[f"                above{r} = 0" for r in pairs],
        *[f"                threshold{r} = thresholds[i + {r} - block]" for r in pairs],
        "                for t in range(size):",
        "                    j = base + t",
        *[f"                    score{r} = {score(r)}" for r in pairs],
        *[f"                    out{r}[t] = score{r}" for r in pairs],
        # Counting the scores that reach the threshold lets absorb skip a chunk with
        # none, and (LLVM's cost model) makes this loop run twice as fast as the
        # stores alone: 256-bit vectors, two iterations interleaved.
        *[f"                    above{r} += score{r} >= threshold{r}" for r in pairs],
        *[f"                if above{r}:\n"
          f"                    absorb(out{r}, last - first, first, k, z, pools[i + {r} - block], "
          f"sizes, thresholds, i + {r} - block, scratch, chosen)" for r in pairs],
        "        for i in range(block, block_stop):",
        "            finish(pools[i - block], sizes[i - block], k, rows[i], score_bits[i], counts,",
        "                   ordered)",
        "",
        "",
        f"@numba.njit(parallel=True, cache={cache})",
        "def run(queries, candidates_t, k, z, rows, score_bits, chunks):",
        "    for chunk in numba.prange(chunks):",
        "        # Chunk bounds on whole steps of QUERIES_PER_STEP queries.",
        f"        steps = queries.shape[0] // {QUERIES_PER_STEP}",
        f"        start = chunk * steps // chunks * {QUERIES_PER_STEP}",
        f"        stop = (chunk + 1) * steps // chunks * {QUERIES_PER_STEP}",
        "        kernel(queries, candidates_t, k, z, rows, score_bits, start, stop)",
        "",
    ])


@functools.cache
def _compiled(dim: int):
    """The compiled ``run(queries, candidates_t, k, z, rows, score_bits, chunks)`` for
    ``dim``; the module's hash includes the source of the pool helpers it calls."""
    return load_generated(f"topk_kernel_dim{dim}", lambda cache: _module_source(dim, cache),
                          salt=Path(topk_pool.__file__).read_text()).run


def checked_catalogue(candidates) -> np.ndarray:
    """``candidates`` as contiguous float32 [n, dim], checked for a retriever to index.

    Raises:
        ValueError: an empty catalogue, a shape that is not [n, dim >= 1], or an
            embedding that is not finite.
    """
    candidates = np.ascontiguousarray(candidates, dtype=np.float32)
    if candidates.ndim != 2 or candidates.shape[1] == 0:
        raise ValueError(f"candidates {candidates.shape} must be [n, dim] with dim >= 1")
    if candidates.shape[0] == 0:
        raise ValueError("the catalogue is empty: there is nothing to retrieve")
    if not np.isfinite(candidates).all():
        raise ValueError("candidate embeddings are not all finite")
    return candidates


class ExactTopK:
    """A catalogue prepared for exact top-k retrieval (the "index" of the exact path).

    Args:
        candidates: [num_candidates, dim] float32 candidate embeddings, finite.

    Raises:
        ValueError: an empty catalogue, a shape that is not [n, dim >= 1], or an
            embedding that is not finite.
    """

    def __init__(self, candidates):
        candidates = checked_catalogue(candidates)
        self.num_candidates, self.dim = candidates.shape
        # [dim, num_candidates]: each dimension a contiguous vector across candidates.
        self.candidates_t = np.ascontiguousarray(candidates.T)
        self._largest = float(np.abs(candidates).max())

    @property
    def nbytes(self) -> int:
        """Bytes the prepared catalogue holds."""
        return int(self.candidates_t.nbytes)

    def search(self, queries, k: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """The k best candidates of each query, by dot product.

        Args:
            queries: [num_queries, dim] float32 query embeddings, finite.
            k: results per query, at least 1; a k beyond the catalogue returns every
                candidate (``min(k, num_candidates)`` columns, as ``retrieve_top_k``).

        Returns:
            ([num_queries, min(k, num_candidates)] int32 candidate rows,
            the same shape float32 scores), best first; equal scores lowest row first.

        Raises:
            ValueError: k below 1, mismatched shapes, an embedding that is not finite,
                or embeddings so large that a score could overflow float32.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, not {k!r}")
        # Writable, aligned, C-ordered: one compiled signature (see ranking.count_higher).
        queries = np.require(queries, np.float32, ["C", "A", "W"])
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries {queries.shape} must be [n, {self.dim}]")
        k = int(min(k, self.num_candidates))
        num_queries = queries.shape[0]
        if num_queries == 0:
            return np.zeros((0, k), np.int32), np.zeros((0, k), np.float32)
        # A NaN score compares false with everything and would never be returned.
        if not np.isfinite(queries).all():
            raise ValueError("query embeddings are not all finite")
        # |q . c| <= sum |q_d| max |c|: within float32, so no score is inf (nor NaN).
        largest_sum = float(np.abs(queries).sum(axis=1, dtype=np.float64).max())
        if largest_sum * self._largest >= float(np.finfo(np.float32).max):
            raise ValueError("embeddings so large that scores overflow float32")
        extra = -num_queries % QUERIES_PER_STEP  # a repeated last query pads the last step
        if extra:
            queries = np.concatenate([queries, np.repeat(queries[-1:], extra, axis=0)])
        first = min(self.num_candidates, CHUNK)
        share = GUESS_SHARE * k / first
        z = NormalDist().inv_cdf(1 - share) if share < 1 else float("nan")
        rows = np.empty((queries.shape[0], k), np.int32)
        scores = np.empty((queries.shape[0], k), np.float32)
        chunks = min(queries.shape[0] // QUERIES_PER_STEP, 16 * numba.get_num_threads())
        _compiled(self.dim)(queries, self.candidates_t, k, z, rows, scores.view(np.int32),
                            chunks)
        return rows[:num_queries], scores[:num_queries]


def top_k(queries, candidates, k: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of each query over ``candidates`` (see :meth:`ExactTopK.search`)."""
    return ExactTopK(candidates).search(queries, k)


__all__ = ["CHUNK", "QUERY_BLOCK", "ExactTopK", "checked_catalogue", "top_k"]
