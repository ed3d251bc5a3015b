"""Serving retrievers as TFRS users deploy them, and what they deliver.

Three ways to answer "the 100 best candidates for each query" from the same embeddings:

- ``exact_one_pass``: :class:`harness.evaluation.topk.ExactTopK`, the one-pass kernel;
- ``tf_brute_force``: :func:`harness.evaluation.retrieval.retrieve_top_k`, TensorFlow's
  matmul and ``tf.math.top_k`` (what ``tfrs.layers.factorized_top_k.BruteForce`` does);
- ``scann``: ScaNN's numpy API (the optional ``serving`` extra), configured by ScaNN's
  own rules of thumb (``scann/docs/algorithms.md``): brute force below 20k items,
  asymmetric hashing (AH, 2 dimensions per block, anisotropic threshold 0.2) with exact
  rescoring up to 100k, and a k-means tree of about sqrt(n) leaves in front of that
  beyond.

This module is TensorFlow-free: the TensorFlow retriever is passed in as a function.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from harness.evaluation.topk import checked_catalogue
from harness.scanncompat import scann_pybind, unavailable_reason

EXACT, TF_BRUTE_FORCE, SCANN = "exact_one_pass", "tf_brute_force", "scann"
RETRIEVERS = (EXACT, TF_BRUTE_FORCE, SCANN)
BRUTE_FORCE_BELOW = 20_000  # ScaNN's rule of thumb: brute force for fewer items
PARTITION_ABOVE = 100_000  # ... and a partitioning tree for more
REST_SECONDS = 0.05  # before each timed call: lets the previous one's worker threads park


@dataclass(frozen=True)
class ScannConfig:
    """A ScaNN searcher's configuration (recorded with every measurement).

    Attributes:
        mode: "brute_force", "ah" (AH scoring, then exact rescoring) or "tree_ah"
            (a partitioning tree, then AH, then exact rescoring).
        num_leaves, leaves_to_search, training_sample_size: the tree's (tree_ah only).
        dimensions_per_block, anisotropic_quantization_threshold: AH's.
        reorder: candidates AH passes on to exact rescoring.
    """

    mode: str
    num_leaves: int | None = None
    leaves_to_search: int | None = None
    training_sample_size: int | None = None
    dimensions_per_block: int | None = None
    anisotropic_quantization_threshold: float | None = None
    reorder: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def scann_config(num_items: int, k: int = 100) -> ScannConfig:
    """ScaNN's rules of thumb for a catalogue of ``num_items`` and ``k`` results.

    The tree searches 5% of its leaves and AH passes ``10 k`` candidates to rescoring: a
    starting point, not a tuned one (the scaling sweep records the recall curve over
    the leaves searched).
    """
    if num_items < BRUTE_FORCE_BELOW:
        return ScannConfig("brute_force")
    ah = {"dimensions_per_block": 2, "anisotropic_quantization_threshold": 0.2,
          "reorder": min(10 * k, num_items)}
    if num_items <= PARTITION_ABOVE:
        return ScannConfig("ah", **ah)
    leaves = round(math.sqrt(num_items))
    return ScannConfig("tree_ah", num_leaves=leaves, leaves_to_search=max(1, leaves // 20),
                       training_sample_size=min(num_items, 250_000), **ah)


class ScannIndex:
    """A ScaNN searcher over a catalogue, by dot product.

    Args:
        candidates: [num_candidates, dim] float32 embeddings, finite.
        k: results per query (at most the catalogue: a larger k is cut to it).
        config: defaults to :func:`scann_config`.

    Raises:
        ValueError: an empty catalogue, a bad shape or a non-finite embedding.
        RuntimeError: scann is not available (:func:`unavailable_reason` says why).
    """

    def __init__(self, candidates, k: int = 100, config: ScannConfig | None = None):
        candidates = checked_catalogue(candidates)
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(reason)
        self.num_candidates, self.dim = candidates.shape
        self.k = int(min(k, self.num_candidates))
        self.config = config or scann_config(self.num_candidates, self.k)
        builder = scann_pybind().builder(candidates, self.k, "dot_product")
        c = self.config
        if c.mode == "tree_ah":
            builder = builder.tree(c.num_leaves, c.leaves_to_search,
                                   training_sample_size=c.training_sample_size)
        if c.mode in ("ah", "tree_ah"):
            builder = builder.score_ah(
                c.dimensions_per_block,
                anisotropic_quantization_threshold=c.anisotropic_quantization_threshold)
            builder = builder.reorder(c.reorder)
        else:
            builder = builder.score_brute_force()
        self.searcher = builder.build()

    def search(self, queries, leaves_to_search: int | None = None) -> np.ndarray:
        """[num_queries, k] int32 candidate rows, best first (ScaNN's order)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries {queries.shape} must be [n, {self.dim}]")
        if len(queries) == 0:
            return np.zeros((0, self.k), np.int32)
        if not np.isfinite(queries).all():
            raise ValueError("query embeddings are not all finite")
        # The parallel search: the other retrievers use every core too.
        ids, _ = self.searcher.search_batched_parallel(queries, self.k,
                                                       leaves_to_search=leaves_to_search)
        return ids.astype(np.int32)

    @property
    def nbytes(self) -> int:
        """Bytes of the serialised searcher (its index files)."""
        with tempfile.TemporaryDirectory(prefix="ctxbench-scann-") as directory:
            self.searcher.serialize(directory)
            return sum(path.stat().st_size for path in Path(directory).rglob("*")
                       if path.is_file())


def recall_at_k(ids: np.ndarray, reference: np.ndarray) -> float:
    """Mean over queries of |ids ∩ reference| / |reference| (rows: [num_queries, k])."""
    ids, reference = np.asarray(ids), np.asarray(reference)
    if ids.shape[0] != reference.shape[0] or reference.size == 0:
        raise ValueError(f"ids {ids.shape} and reference {reference.shape} must be "
                         "[num_queries, k] for the same, non-empty, queries")
    hits = sum(np.intersect1d(row, ref, assume_unique=True).size
               for row, ref in zip(ids, reference, strict=True))
    return float(hits / reference.size)


def hit_rate(ids: np.ndarray, true_rows: np.ndarray) -> float:
    """Share of queries whose true candidate is among their returned ids."""
    ids, true_rows = np.asarray(ids), np.asarray(true_rows)
    if ids.shape[0] != true_rows.shape[0] or ids.shape[0] == 0:
        raise ValueError(f"ids {ids.shape} for {true_rows.shape} true rows")
    return float(np.mean((ids == true_rows[:, None]).any(axis=1)))


def time_side_by_side(searches: dict[str, Callable[[], object]], rounds: int
                      ) -> dict[str, list[float]]:
    """Seconds of each call, the searches taking turns round by round (one warm-up call
    each first), so that a busy moment of a shared machine falls on all of them."""
    for search in searches.values():
        search()
    seconds: dict[str, list[float]] = {name: [] for name in searches}
    for _ in range(rounds):
        for name, search in searches.items():
            time.sleep(REST_SECONDS)
            start = time.perf_counter()
            search()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux ``/proc/self/statm``), else None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


__all__ = ["EXACT", "RETRIEVERS", "SCANN", "TF_BRUTE_FORCE", "ScannConfig", "ScannIndex",
           "hit_rate", "recall_at_k", "resident_bytes", "scann_config", "time_side_by_side"]
