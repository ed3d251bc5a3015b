"""Exact ranks in one pass over the catalogue, without a score matrix.

The rank of a query's true candidate is the number of candidates scoring strictly
higher (ties count in the true candidate's favour, as in ``tfrs.metrics.FactorizedTopK``).
Materialising the [queries, candidates] score matrix and comparing it afterwards costs
more than the arithmetic: 20,000 MovieLens test queries make a 133 MB matrix that is
written and read back through main memory. Here each score is computed in registers,
compared with the query's true score and counted at once (a numba kernel, compiled once
per embedding dimension and cached on disk, run on every core).

Metrics at cut-offs up to k need a rank only while it is below k, so the count stops
at a cap: once ``cap`` candidates outscore the true one (checked every
``BLOCK`` candidates), the rank is reported as ``cap`` and the rest of the catalogue is
skipped. Every rank below the cap is exact; on MovieLens three quarters of the test
queries rank beyond 100, and the kernel takes about a quarter less time.

With a list of seen candidates per query (the ``exclude_seen`` protocol), the kernel
counts only candidates outside it: it raises the query's cap by the list's length, then
scores each listed candidate (the true one never among them) with the same expression
and takes back those that outscored the true one. A rank below the raised cap is exact,
so the rank less those taken back is exact too, and one at the raised cap still means
at least ``cap`` unseen candidates outscored the true one.

Every score, the true candidate's included, is computed by the same expression in the
same order (``q[0]*c[0] + q[1]*c[1] + ...`` with fused multiply-adds), so a candidate
identical to the true one ties with it exactly and the true candidate never outranks
itself by a rounding difference. (FactorizedTopK computes the true score with
``reduce_sum`` but the others with a matmul, so there the true candidate can outrank
itself by one unit in the last place; in its exact-rank sense this module is stricter.)
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import types

import numba
import numpy as np

QUERIES_PER_STEP = 2  # queries sharing each load of candidate values
BLOCK = 64  # candidates scored between two checks of the cap


def _kernel_source(dim: int) -> str:
    """Python source of the kernel for ``dim``-dimensional embeddings.

    The dot products are written out term by term so that every score is one
    expression the compiler vectorises across candidates, with each query value held
    in a register; a loop over dimensions would keep the partial sums in memory.
    """
    rows = range(QUERIES_PER_STEP)
    dims = range(dim)

    def score(r: int, column: str) -> str:
        return " + ".join(f"q{r}_{k} * candidates_t[{k}, {column}]" for k in dims)

    lines = [
        "def kernel(queries, candidates_t, true_rows, cap, seen_start, seen_stop, seen,"
        " ranks, start, stop):",
        "    num_candidates = candidates_t.shape[1]",
        f"    blocks = num_candidates // {BLOCK}",
        f"    for i in range(start, stop, {QUERIES_PER_STEP}):",
    ]
    for r in rows:
        lines += [f"        q{r}_{k} = queries[i + {r}, {k}]" for k in dims]
        lines += [f"        t{r} = true_rows[i + {r}]",
                  f"        s{r} = {score(r, f't{r}')}",
                  f"        n{r} = 0",
                  f"        c{r} = cap + seen_stop[i + {r}] - seen_start[i + {r}]"]

    def count(indent: str) -> list[str]:
        return [line for r in rows for line in (f"{indent}a{r} = {score(r, 'j')}",
                                                  f"{indent}n{r} += a{r} > s{r}")]

    capped = " and ".join(f"n{r} >= c{r}" for r in rows)
    lines += ["        block = 0",
              "        while block < blocks:",
              f"            for j in range(block * {BLOCK}, (block + 1) * {BLOCK}):",
              *count("                "),
              "            block += 1",
              f"            if {capped}:",
              "                break",
              f"        if not ({capped}):",  # the last, partial block
              f"            for j in range(blocks * {BLOCK}, num_candidates):",
              *count("                ")]
    for r in rows:  # take back the seen candidates that outscored the true one
        lines += [f"        if n{r} < c{r}:",
                  f"            for p in range(seen_start[i + {r}], seen_stop[i + {r}]):",
                  "                j = seen[p]",
                  f"                if j != t{r}:",
                  f"                    a{r} = {score(r, 'j')}",
                  f"                    n{r} -= a{r} > s{r}",
                  f"            ranks[i + {r}] = min(n{r}, cap)",
                  "        else:",
                  f"            ranks[i + {r}] = cap"]
    return "\n".join(lines)


def _module_source(dim: int, cache: bool) -> str:
    """The kernel for ``dim`` and its parallel driver, as the source of one module."""
    return "\n".join([
        "import numba",
        "",
        "",
        # contract: a*b + c may become one fused multiply-add (same for every candidate).
        f"@numba.njit(fastmath={{'contract'}}, boundscheck=False, nogil=True, cache={cache})",
        _kernel_source(dim),
        "",
        "",
        f"@numba.njit(parallel=True, cache={cache})",
        "def run(queries, candidates_t, true_rows, cap, seen_start, seen_stop, seen, ranks,"
        " chunks):",
        "    num_queries = queries.shape[0]",
        "    for chunk in numba.prange(chunks):",
        "        # Chunk bounds on whole steps of QUERIES_PER_STEP queries.",
        f"        steps = num_queries // {QUERIES_PER_STEP}",
        f"        start = chunk * steps // chunks * {QUERIES_PER_STEP}",
        f"        stop = (chunk + 1) * steps // chunks * {QUERIES_PER_STEP}",
        "        kernel(queries, candidates_t, true_rows, cap, seen_start, seen_stop, seen,"
        " ranks, start, stop)",
        "",
    ])


@functools.cache
def _compiled(dim: int):
    """The compiled ``run(queries, candidates_t, true_rows, cap, seen_start, seen_stop,
    seen, ranks, chunks)`` for ``dim``.

    Compiling a kernel takes seconds (longer for wider embeddings), paid by every new
    process: the source is written as a module file under the ctxbench cache directory,
    named by its hash, so that numba's on-disk cache (keyed by that file and this CPU)
    serves later processes. Where the cache cannot be written, the kernel is compiled
    in memory, for this process only.
    """
    from harness.data.sources import cache_dir

    source = _module_source(dim, cache=True)
    digest = hashlib.sha256(f"{numba.__version__}\n{source}".encode()).hexdigest()[:16]
    path = cache_dir() / "numba" / f"rank_kernel_dim{dim}_{digest}.py"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "w") as stream:
                stream.write(source)
            os.replace(temporary, path)  # atomic: a concurrent process sees all or nothing
        name = f"ctxbench_rank_kernel_dim{dim}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        # Registered, so that numba can find the module again when it loads the cache.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except OSError:
        module = types.ModuleType(f"ctxbench_rank_kernel_{dim}")
        exec(compile(_module_source(dim, cache=False), f"<ctxbench rank kernel, dim {dim}>",
                     "exec"), module.__dict__)
    return module.run


def count_higher(queries: np.ndarray, candidates: np.ndarray, true_rows: np.ndarray,
                 cap: int | None = None, seen=None) -> np.ndarray:
    """0-based rank of each query's true candidate among all candidates, up to ``cap``.

    Args:
        queries: [num_queries, dim] float32 query embeddings.
        candidates: [num_candidates, dim] float32 candidate embeddings.
        true_rows: [num_queries] int, row of each query's true candidate.
        cap: ranks stop at this value (None: exact ranks however large).
        seen: None, or (starts, stops, rows): query i leaves out the candidates
            ``rows[starts[i]:stops[i]]`` (distinct; its true row, if listed, stays).

    Returns:
        [num_queries] int64; rank r < cap means r candidates (not left out) scored
        strictly higher, rank == cap means at least cap did.

    Raises:
        ValueError: mismatched shapes, a true row outside the catalogue, a cap below 1,
            or embeddings that are not all finite.
    """
    # Writable, aligned, C-ordered: one compiled signature (numba types a read-only
    # view, such as a tensor's buffer, as a different array type and compiles again).
    queries = np.require(queries, np.float32, ["C", "A", "W"])
    candidates = np.asarray(candidates, dtype=np.float32)
    true_rows = np.require(true_rows, np.int64, ["C", "A", "W"])
    if (queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]
            or queries.shape[1] == 0):
        raise ValueError(f"queries {queries.shape} and candidates {candidates.shape} "
                         "must be [n, dim] and [m, dim] with dim >= 1")
    num_queries, dim = queries.shape
    num_candidates = candidates.shape[0]
    if true_rows.shape != (num_queries,):
        raise ValueError(f"true rows {true_rows.shape} for {num_queries} queries")
    if cap is None:
        cap = max(num_candidates, 1)  # no rank reaches it
    if cap < 1:
        raise ValueError(f"cap must be at least 1, not {cap}")
    if num_queries == 0:
        return np.zeros(0, np.int64)
    if not 0 <= true_rows.min() <= true_rows.max() < num_candidates:
        raise ValueError(f"true rows must lie in [0, {num_candidates})")
    # A NaN score compares false with everything: every rank would be 0, a perfect
    # score for a broken model.
    if not (np.isfinite(queries).all() and np.isfinite(candidates).all()):
        raise ValueError("embeddings are not all finite")

    # Candidates as [dim, num_candidates]: each dimension is a contiguous vector.
    candidates_t = np.ascontiguousarray(candidates.T)
    # Whole steps of queries: a repeated last query pads the final step.
    extra = -num_queries % QUERIES_PER_STEP
    if extra:
        queries = np.concatenate([queries, np.repeat(queries[-1:], extra, axis=0)])
        true_rows = np.concatenate([true_rows, np.repeat(true_rows[-1:], extra)])
    if seen is None:
        starts = stops = np.zeros(queries.shape[0], np.int64)
        rows = np.zeros(0, np.int64)
    else:
        starts, stops, rows = (np.require(a, np.int64, ["C", "A", "W"]) for a in seen)
        if starts.shape != (num_queries,) or stops.shape != (num_queries,):
            raise ValueError(f"seen bounds {starts.shape}, {stops.shape} for "
                             f"{num_queries} queries")
        if rows.size and not 0 <= rows.min() <= rows.max() < num_candidates:
            raise ValueError(f"seen rows must lie in [0, {num_candidates})")
        if np.any(starts < 0) or np.any(stops < starts) or np.any(stops > rows.size):
            raise ValueError("seen bounds must be 0 <= start <= stop <= len(rows)")
        starts = np.concatenate([starts, np.repeat(starts[-1:], extra)])
        stops = np.concatenate([stops, np.repeat(stops[-1:], extra)])
    ranks = np.empty(queries.shape[0], np.int64)
    chunks = min(queries.shape[0] // QUERIES_PER_STEP, 16 * numba.get_num_threads())
    _compiled(dim)(queries, candidates_t, true_rows, cap, starts, stops, rows, ranks, chunks)
    return ranks[:num_queries]
