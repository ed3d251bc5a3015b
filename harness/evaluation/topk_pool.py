"""The running top k of one query, for the kernel of :mod:`harness.evaluation.topk`.

Each candidate is kept as one int64 key: its score's float32 bits made order-preserving
in the high half (``-0.0`` counted as ``+0.0``) and the complement of its row in the low
half, so a larger key is a higher score, then a lower row (``tf.math.top_k``'s order).
:func:`absorb` adds a chunk's candidates that reach the query's threshold to its pool,
cutting the pool back to its k best when it fills; :func:`finish` writes the k best,
best first.
"""

from __future__ import annotations

import numba
import numpy as np

_LOW = 0xFFFFFFFF  # the low half of a key: _LOW - row


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
    keys that share a bucket. About linear in n, so quicker on pools of this size than
    numba's own sort, a quickselect to k before it, or a branch-free n^2 ranking.

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
