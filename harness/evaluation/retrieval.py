"""The TensorFlow side of evaluation: towers run over encoded rows, and exact top-k
retrieval (the timed inference workload)."""

from __future__ import annotations

import numpy as np

from harness.tfcompat import tf

# At most this many scores (float32) exist at once: 128 MiB, one 20,000-query block of
# MovieLens's 1,664 candidates; a 100,000-item catalogue gets blocks of 335 queries.
MAX_SCORES_PER_BLOCK = 2**25


def capped_block_size(requested: int, num_candidates: int) -> int:
    """Queries per block: ``requested``, capped so a block holds MAX_SCORES_PER_BLOCK."""
    return max(1, min(requested, MAX_SCORES_PER_BLOCK // max(num_candidates, 1)))


_MATRIX = tf.TensorSpec([None, None], tf.float32)


def embed(tower, features: dict[str, np.ndarray], batch_size: int = 8192) -> tf.Tensor:
    """Runs the query tower over encoded rows in batches.

    Returns:
        [n, dim] float32 embeddings.
    """
    size = len(features["candidate"])
    outputs = [tower({name: values[start:start + batch_size]
                      for name, values in features.items()}, training=False)
               for start in range(0, size, batch_size)]
    return tf.concat(outputs, axis=0)


@tf.function(input_signature=[_MATRIX, _MATRIX, tf.TensorSpec([], tf.int32)])
def _top_k_block(queries, candidates, k):
    return tf.math.top_k(tf.linalg.matmul(queries, candidates, transpose_b=True), k=k).indices


def retrieve_top_k(queries, candidates, k: int = 100, block_size: int = 20_000) -> np.ndarray:
    """Exact top-k candidates for each query (the inference workload).

    Returns:
        [num_queries, k] int32 candidate rows, best first.
    """
    queries = tf.convert_to_tensor(queries, tf.float32)
    candidates = tf.convert_to_tensor(candidates, tf.float32)
    k = min(k, int(candidates.shape[0]))
    block_size = capped_block_size(block_size, int(candidates.shape[0]))
    blocks = [_top_k_block(queries[start:start + block_size], candidates, tf.constant(k))
              for start in range(0, int(queries.shape[0]), block_size)]
    return tf.concat(blocks, axis=0).numpy()


__all__ = ["MAX_SCORES_PER_BLOCK", "capped_block_size", "embed", "retrieve_top_k"]
