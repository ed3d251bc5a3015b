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

from harness.evaluation.ranking import load_generated

QUERIES_PER_STEP = 2  # queries sharing each load of candidate values
QUERY_BLOCK = 32  # queries sharing each chunk of the catalogue while it is in cache
CHUNK = 2048  # candidates scored into the buffer between two pool updates
GUESS_SHARE = 1.2  # the first chunk's bound aims for this many times k candidates above it
_LOW = 0xFFFFFFFF  # the low half of a key: _LOW - row
BUCKETS = 256  # of the final bucket sort (the pool holds up to 2 k keys)


@numba.njit(inline="always")
def _key(bits, row):
    """Order-preserving int64 key of a float32 score's bits and a candidate row."""
    if bits == -2147483648:  # -0.0 equals +0.0: the same key, so the rows decide
        bits = 0
    elif bits < 0:  # negative floats: larger magnitude, smaller value
        bits = bits ^ 0x7FFFFFFF
    return (np.int64(bits) << 32) | np.int64(_LOW - row)


@numba.njit
def _keep_largest(pool, n, k):
    """Moves the k largest of ``pool[:n]`` into ``pool[:k]`` (unordered, except that
    ``pool[k - 1]`` is the k-th largest); returns k. Keys are distinct."""
    lo, hi, target = 0, n - 1, k - 1
    while lo < hi:
        a, b, c = pool[lo], pool[(lo + hi) // 2], pool[hi]
        pivot = max(min(a, b), min(max(a, b), c))  # median of three
        i, j = lo, hi
        while i <= j:  # Hoare partition, descending
            while pool[i] > pivot:
                i += 1
            while pool[j] < pivot:
                j -= 1
            if i <= j:
                pool[i], pool[j] = pool[j], pool[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            break
    return k


@numba.njit(fastmath={"reassoc"})
def _moments(scores, length):
    """Sum and sum of squares of ``scores[:length]``, in any order (so vectorised): they
    only steer a guess that is checked by counting."""
    total = np.float32(0.0)
    squares = np.float32(0.0)
    for j in range(length):
        total += scores[j]
        squares += scores[j] * scores[j]
    return total, squares


@numba.njit
def _first_bound(scores, length, k, z):
    """A score at most the k-th best of ``scores[:length]`` (-inf where none is found)."""
    total, squares = _moments(scores, length)
    mean = total / length
    spread = np.sqrt(max(squares / length - mean * mean, 0.0))
    guess = mean + z * spread
    for _ in range(8):
        bound = np.float32(guess)  # counted as compared: in float32
        count = 0
        for j in range(length):
            count += scores[j] >= bound
        if count >= k:
            return bound
        guess -= spread / 4
    return np.float32(-np.inf)


@numba.njit
def absorb(scores, length, offset, k, z, pool, sizes, thresholds, row, scratch, chosen):
    """Adds the candidates of one chunk whose scores reach the pool's threshold.

    Args:
        scores: [>= length] float32, the chunk's scores for one query.
        length: candidates in the chunk; offset: the row of its first.
        k: results per query; z: the first chunk's guess in spreads above its mean
            (NaN: no guess).
        pool: [capacity] int64 keys of this query, capacity >= k + 1.
        sizes: [queries] int64, the pool size of each query of the block.
        thresholds: [queries] float32, the threshold of each query of the block.
        row: this query's row in ``sizes`` and ``thresholds``.
        scratch: [1] int32, to turn a key back into its score's float32 bits.
        chosen: [>= length] int64 scratch.
    """
    n = sizes[row]
    threshold = thresholds[row]
    if n == 0 and length >= k and z == z:
        threshold = _first_bound(scores, length, k, z)
    bits = scores.view(np.int32)
    # Branch-free compaction of the rows that reach the threshold: a branch here is
    # mispredicted at every entrant (~7% of MovieLens's rows), the compaction never.
    picked = np.uint64(0)
    for j in range(np.uint64(length)):  # unsigned: no negative-index wraparound checks
        chosen[picked] = j
        picked += np.uint64(1) if scores[j] >= threshold else np.uint64(0)
    for p in range(picked):
        j = chosen[p]
        if scores[j] >= threshold:  # the threshold may have risen since
            pool[n] = _key(bits[j], offset + j)
            n += 1
            if n == pool.size:
                n = _keep_largest(pool, n, k)
                high = np.int32(pool[k - 1] >> 32)
                scratch[0] = high ^ 0x7FFFFFFF if high < 0 else high
                threshold = scratch.view(np.float32)[0]
    sizes[row] = n
    thresholds[row] = threshold


@numba.njit(boundscheck=False)
def finish(pool, n, k, rows, score_bits, counts, ordered):
    """Writes the rows and scores of the k best keys of ``pool[:n]``, best first.

    A bucket sort of the whole pool (usually ~1.2 k keys): each key goes to one of
    ``counts.size - 1`` buckets by its place between the smallest and largest key (a
    monotone map, so the buckets come in order), and an insertion sort finishes the few
    keys that share a bucket. About linear in n; numba's own sort took ~5 us per 100
    keys, a quickselect to k first ~1 us more, a branch-free n^2 ranking ~2 us.

    Args:
        rows: [k] int32 output, the candidate rows.
        score_bits: [k] int32 output, the bits of their float32 scores.
        counts: [buckets + 1] int64 scratch.
        ordered: [>= n] int64 scratch.
    """
    low = pool[0]
    high = pool[0]
    for i in range(n):
        low = min(low, pool[i])
        high = max(high, pool[i])
    buckets = counts.size - 1
    span = float(high) - float(low)  # float: monotone, and no int64 overflow
    scale = (buckets - 1) / span if span > 0 else 0.0
    counts[:] = 0
    for i in range(n):  # bucket 0 holds the largest keys
        counts[buckets - int((float(pool[i]) - float(low)) * scale)] += 1
    for b in range(1, buckets + 1):
        counts[b] += counts[b - 1]
    for i in range(n):
        b = buckets - 1 - int((float(pool[i]) - float(low)) * scale)
        ordered[counts[b]] = pool[i]
        counts[b] += 1
    for i in range(1, n):  # descending insertion sort: each key moves within its bucket
        key = ordered[i]
        j = i - 1
        while j >= 0 and ordered[j] < key:
            ordered[j + 1] = ordered[j]
            j -= 1
        ordered[j + 1] = key
    for i in range(min(n, k)):  # decoded here: numpy's passes over [n, k] cost more
        key = ordered[i]
        rows[i] = _LOW - (key & _LOW)
        high = np.int32(key >> 32)
        score_bits[i] = high ^ 0x7FFFFFFF if high < 0 else high


def _module_source(dim: int, cache: bool) -> str:
    """The kernel for ``dim`` and its parallel driver, as the source of one module."""
    pairs = range(QUERIES_PER_STEP)

    def score(r: int) -> str:
        return " + ".join(f"q{r}_{d} * candidates_t[{d}, j]" for d in range(dim))

    return "\n".join([
        "import numba",
        "import numpy as np",
        "",
        "from harness.evaluation.topk import absorb, finish",
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
    ``dim``; the module's hash includes this file, whose helpers the kernel calls."""
    return load_generated(f"topk_kernel_dim{dim}", lambda cache: _module_source(dim, cache),
                          salt=Path(__file__).read_text()).run


class ExactTopK:
    """A catalogue prepared for exact top-k retrieval (the "index" of the exact path).

    Args:
        candidates: [num_candidates, dim] float32 candidate embeddings, finite.

    Raises:
        ValueError: an empty catalogue, a shape that is not [n, dim >= 1], or an
            embedding that is not finite.
    """

    def __init__(self, candidates):
        candidates = np.asarray(candidates, dtype=np.float32)
        if candidates.ndim != 2 or candidates.shape[1] == 0:
            raise ValueError(f"candidates {candidates.shape} must be [n, dim] with dim >= 1")
        if candidates.shape[0] == 0:
            raise ValueError("the catalogue is empty: there is nothing to retrieve")
        if not np.isfinite(candidates).all():
            raise ValueError("candidate embeddings are not all finite")
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


__all__ = ["CHUNK", "QUERY_BLOCK", "ExactTopK", "top_k"]
