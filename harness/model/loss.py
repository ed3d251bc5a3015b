"""``tfrs.tasks.Retrieval``'s in-batch softmax loss, computed one tile of queries at a time.

The same loss and gradients as Retrieval (with its logQ correction and accidental-hit
removal), without ever holding the [batch, batch] score matrix: a step's memory grows
with the batch, not its square (``tests/test_models.py`` checks it against Retrieval).
"""

from __future__ import annotations

import functools

import numpy as np

from harness.tfcompat import tf

# TFRS's logit for a removed accidental hit: ``logit + MIN_FLOAT`` (tfrs.layers.loss).
MIN_FLOAT = float(np.finfo(np.float32).min / 100.0)
# Scores held at once: a tile of [TILE_SCORES // batch, batch] float32, 4 MiB. Tiles of this
# size ran as fast as the whole matrix at once and faster than smaller ones (the
# measurements are in docs/performance.md); they keep a step's memory growing with the
# batch instead of its square.
TILE_SCORES = 2**20


def in_batch_softmax(query, candidate, logit_offset=None, candidate_ids=None):
    """``tfrs.tasks.Retrieval``'s loss and its gradients, one tile of queries at a time.

    Retrieval scores every query against every candidate of the batch, labels the
    diagonal and sums ``CategoricalCrossentropy(from_logits=True)`` over the queries.
    Per query i that is ``logsumexp(logits[i]) - logits[i, i]``, with
    ``logits[i, j] = query[i] . candidate[j] + logit_offset[j]``, and with
    ``MIN_FLOAT`` added where ``candidate_ids`` are given and j != i carries the same
    candidate id as i (TFRS's ``RemoveAccidentalHits``). The gradient with respect to
    the logits is ``softmax - onehot``; per tile of query rows this computes the tile's
    scores and their softmax (TensorFlow's one fused kernel), the tile's loss, and the
    softmax times the candidate embeddings (the tile's queries' gradients) and its
    transpose times the tile's queries (summed over tiles: the candidates'). The
    onehot's part, ``-candidate`` and ``-query``, is subtracted once at the end, so no
    pass over a tile writes it. No [batch, batch] tensor is ever held: the largest is a
    tile of ``TILE_SCORES`` scores, so a step's memory grows with the batch, not its
    square. The gradients come out of the forward pass (the loss is a sum, so the
    upstream gradient is one scalar that scales them): no pass recomputes scores.

    The options are Python-level, not ``tf.cond``s on tensors: an option left off costs
    nothing, where a ``tf.cond`` would run in every tile.

    Args:
        query: [batch, dim] float32 query embeddings.
        candidate: [batch, dim] float32 embeddings of each query's true candidate.
        logit_offset: None, or [batch] float32 added to every logit of candidate j,
            ``-log(clip(candidate_sampling_probability, 1e-6, 1))`` (logQ correction).
        candidate_ids: None, or [batch] int64 candidate identities: a query's other
            candidates with its true candidate's id are removed (accidental hits).

    Returns:
        The summed loss, a float32 scalar.
    """
    options = [x for x in (logit_offset, candidate_ids) if x is not None]
    return _in_batch_softmax(logit_offset is not None, candidate_ids is not None)(
        query, candidate, *options)


@functools.cache
def _in_batch_softmax(offset: bool, hits: bool):
    """The tiled softmax with its options fixed: a ``tf.function`` with a fixed
    signature, so each of the four is traced once per process. Each trace of a
    ``tf.custom_gradient`` registers its gradient in TensorFlow's process-wide registry,
    which then keeps that graph alive (traced inside every model's training step, it
    would keep one graph per cell for the life of the process)."""
    signature = [tf.TensorSpec([None, None], tf.float32)] * 2
    signature += [tf.TensorSpec([None], tf.float32)] * offset
    signature += [tf.TensorSpec([None], tf.int64)] * hits

    @tf.function(input_signature=signature)
    @tf.custom_gradient
    def softmax_loss(query, candidate, *options):
        logit_offset = options[0] if offset else None
        candidate_ids = options[-1] if hits else None
        batch = tf.shape(query)[0]
        rows = tf.maximum(1, tf.minimum(batch, TILE_SCORES // tf.maximum(batch, 1)))
        tiles = (batch + rows - 1) // rows

        def tile(index, loss, grad_query, grad_candidate):
            start = index * rows
            stop = tf.minimum(start + rows, batch)
            query_tile = query[start:stop]
            logits = tf.matmul(query_tile, candidate, transpose_b=True)
            if offset:
                logits += logit_offset
            if hits:
                removed = tf.logical_and(
                    tf.equal(candidate_ids[start:stop, None], candidate_ids[None, :]),
                    tf.not_equal(tf.range(start, stop)[:, None], tf.range(batch)[None, :]))
                logits = tf.where(removed, logits + MIN_FLOAT, logits)
            softmax = tf.nn.softmax(logits)
            # The softmax puts exp(0) / sum at a row's largest logit, so its largest value
            # is 1 / sum(exp(logits - max)), at least 1 / batch (no underflow, whatever the
            # logits): logsumexp = max - log(largest softmax value).
            # Row r of the tile is query start + r: its label sits on diagonal ``start``.
            loss += tf.reduce_sum(tf.reduce_max(logits, axis=1)
                                  - tf.math.log(tf.reduce_max(softmax, axis=1))
                                  - tf.linalg.diag_part(logits, k=start))
            grad_query = grad_query.write(index, tf.matmul(softmax, candidate))
            grad_candidate += tf.matmul(softmax, query_tile, transpose_a=True)
            return index + 1, loss, grad_query, grad_candidate

        _, loss, grad_query, grad_candidate = tf.while_loop(
            lambda index, *_: index < tiles, tile,
            (tf.constant(0), tf.constant(0.0), tf.TensorArray(tf.float32, tiles,
                                                               infer_shape=False),
             tf.zeros_like(candidate)),
            parallel_iterations=1)  # one tile at a time: the point is memory
        # The onehot's part of softmax - onehot: query i's label is candidate i.
        grad_query = tf.reshape(grad_query.concat(), tf.shape(query)) - candidate
        grad_candidate -= query

        def grad(upstream):
            # No gradient for the offset (a constant of the sampling probabilities) or ids.
            return (upstream * grad_query, upstream * grad_candidate) + (None,) * len(options)

        return tf.reshape(loss, []), grad

    return softmax_loss


__all__ = ["MIN_FLOAT", "TILE_SCORES", "in_batch_softmax"]
