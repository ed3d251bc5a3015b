"""The TFRS two-tower retrieval model over pre-encoded integer features."""

from __future__ import annotations

import functools

import numpy as np

from harness.model.features import FittedFeatures
from harness.tfcompat import keras, tf, tfrs


class _Seeds:
    """Hands out one initializer seed per layer, all derived from the cell's seed."""

    def __init__(self, seed: int):
        self._rng = np.random.default_rng(seed)

    def next(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def table(self, layer: keras.layers.Layer, name: str, rows: int, dim: int):
        """An embedding table of ``layer``, initialised as Keras's ``Embedding`` does."""
        return layer.add_weight(
            name=name, shape=(rows, dim),
            initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=self.next()))

    def dense(self, units: int, **kwargs) -> keras.layers.Layer:
        return keras.layers.Dense(
            units, kernel_initializer=keras.initializers.GlorotUniform(seed=self.next()),
            **kwargs)


def _dense_stack(config, seeds: _Seeds, input_dim: int) -> keras.Sequential:
    layers = [seeds.dense(units, activation="relu") for units in config.hidden_layers]
    layers.append(seeds.dense(config.output_dim))
    stack = keras.Sequential(layers)
    stack.build((None, input_dim))  # weights now, so _forward can call the layers
    return stack


def _forward(stack: keras.Sequential, inputs):
    """The stack's layers applied in order through ``Layer.call``.

    The same arithmetic as ``stack(inputs)``, without Keras's per-call bookkeeping,
    which is most of the cost of an eager call (evaluation embeds the test queries and
    the catalogue eagerly, once per cell).
    """
    for layer in stack.layers:
        inputs = layer.call(inputs)
    return inputs


class QueryTower(keras.Model):
    """User tower: user id embedding plus the configured context features, then Dense.

    Each feature's embedding is a table looked up with ``tf.gather`` (what
    ``keras.layers.Embedding`` does, without a layer call per feature: evaluation runs
    the tower eagerly over all test rows at once, where layer calls are the cost).
    """

    def __init__(self, fitted: FittedFeatures, seeds: _Seeds):
        super().__init__()
        config = fitted.config
        dim = config.embedding_dim
        rows = {"user_id": fitted.vocabulary_size("user_id")}
        if config.timestamp:
            rows["timestamp_bucket"] = config.timestamp_buckets + 1
        if config.time_of_day_week:
            rows.update(hour_of_day=24, day_of_week=7)
        if config.user_profile:
            for name in ("user_age", "user_gender", "user_occupation", "user_zip_prefix"):
                rows[name] = fitted.vocabulary_size(name)
        self._tables = [(name, seeds.table(self, f"{name}_embeddings", size, dim))
                        for name, size in rows.items()]
        self._use_normalized_timestamp = config.timestamp
        self.dense = _dense_stack(config, seeds,
                                  dim * len(self._tables) + int(config.timestamp))

    def zero_unseen_users(self, trained_ids: np.ndarray) -> None:
        """Sets the id embedding of every user id absent from ``trained_ids`` to zero.

        A user without training interactions (the out-of-vocabulary id 0 under
        fit_on=train, or a test-only user's own row under fit_on=all) is never in a
        training batch, so its row gets no gradient and stays as set here: the query
        tower sees a zero id embedding for every unseen user, in every configuration,
        whatever its seed or width, and answers from the context features alone.
        """
        table = self._tables[0][1]
        unseen = np.ones(table.shape[0], bool)
        unseen[np.unique(trained_ids)] = False
        table.assign(tf.where(tf.constant(unseen)[:, None], tf.zeros_like(table), table))

    def call(self, features):
        parts = [tf.gather(table, features[name]) for name, table in self._tables]
        if self._use_normalized_timestamp:
            parts.append(tf.reshape(features["timestamp_normalized"], (-1, 1)))
        return _forward(self.dense, tf.concat(parts, axis=1))


class CandidateTower(keras.Model):
    """Movie tower: title id embedding, title words and optional genres, then Dense.

    Its input is a candidate row (index into ``FittedFeatures.candidate_titles``); each
    candidate's words and genres are constant tables. A batch repeats popular titles,
    so the tower runs once per distinct candidate of the batch and the rows are
    gathered back: the same values as running it per row, at a cost that grows with
    the batch's distinct candidates rather than the batch or the catalogue.
    """

    def __init__(self, fitted: FittedFeatures, seeds: _Seeds):
        super().__init__()
        config = fitted.config
        dim = config.embedding_dim
        self.num_candidates = fitted.candidate_titles.size
        self.title_embeddings = seeds.table(self, "title_embeddings", self.num_candidates, dim)
        self.title_words = self._catalogue_words = None
        if config.title_text:
            # Each title's token ids without the padding (id 0); the out-of-vocabulary
            # id 1 stays, as it does under Embedding(mask_zero=True).
            tokens = fitted.title_tokens
            self.title_words = tf.RaggedTensor.from_row_lengths(
                tokens[tokens != 0], np.count_nonzero(tokens, axis=1))
            self._catalogue_words = self.title_words.to_sparse()  # every row, for catalogue()
            self.token_embeddings = seeds.table(self, "token_embeddings", config.max_tokens, dim)
        self.title_genres = None
        if config.genres:
            self.title_genres = tf.constant(fitted.title_genres)
            self.genre_embedding = seeds.dense(dim, use_bias=False)  # mean of genre vectors
            self.genre_embedding.build((None, fitted.title_genres.shape[1]))
        self.dense = _dense_stack(config, seeds, dim * (1 + config.title_text + config.genres))

    def embed_candidates(self, rows):
        """[n] distinct candidate rows -> [n, output_dim] embeddings."""
        words = genres = None
        if self.title_words is not None:
            words = tf.gather(self.title_words, rows).to_sparse()
        if self.title_genres is not None:
            genres = tf.gather(self.title_genres, rows)
        return self._embed(tf.gather(self.title_embeddings, rows), words, genres)

    def catalogue(self):
        """[num_candidates, output_dim] embeddings of every candidate, in row order."""
        return self._embed(self.title_embeddings, self._catalogue_words, self.title_genres)

    def _embed(self, title_embeddings, words, genres):
        parts = [title_embeddings]
        if words is not None:
            # The mean of a title's word embeddings: Embedding(mask_zero=True) followed
            # by GlobalAveragePooling1D over the padded ids, without the padding.
            parts.append(tf.nn.embedding_lookup_sparse(self.token_embeddings, words, None,
                                                       combiner="mean"))
        if genres is not None:
            parts.append(self.genre_embedding.call(genres))
        return _forward(self.dense, tf.concat(parts, axis=1))

    def call(self, candidate):
        distinct, position = tf.unique(tf.cast(candidate, tf.int64))
        return tf.gather(self.embed_candidates(distinct), position)


# TFRS's logit for a removed accidental hit: ``logit + MIN_FLOAT`` (tfrs.layers.loss).
MIN_FLOAT = float(np.finfo(np.float32).min / 100.0)
# Scores held at once: a tile of [TILE_SCORES // batch, batch] float32, 4 MiB. At batch
# 2048 (four tiles of 512 queries) the softmax with its gradients took 5.9 ms against
# 6.7-7.1 ms for the whole matrix at once and 9.3-10 ms for tiles of 2^19 scores
# (2-core AMD EPYC, AVX-512, 2 MiB L2, 32 MiB L3); the tiles also keep a step's memory
# growing with the batch instead of its square.
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
    nothing (a ``tf.cond`` per tile cost ~0.3 ms of a 6 ms softmax at batch 2048).

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
    held ~10 MB per cell)."""
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


class TwoTowerModel(tfrs.models.Model):
    """``tfrs.models.Model`` trained on ``tfrs.tasks.Retrieval``'s in-batch softmax.

    ``compute_loss`` is Retrieval's loss (with its logQ correction and accidental-hit
    removal) computed tile by tile (:func:`in_batch_softmax`). No metric runs inside a
    training step: the tutorial's FactorizedTopK there is what made it slow, and
    evaluation is done exactly, once, by ``harness.evaluation.metrics``.
    """

    def __init__(self, fitted: FittedFeatures, seed: int,
                 sampling_probability: np.ndarray | None = None,
                 remove_accidental_hits: bool = False):
        super().__init__()
        seeds = _Seeds(seed)
        self.query_tower = QueryTower(fitted, seeds)
        self.candidate_tower = CandidateTower(fitted, seeds)
        self._remove_accidental_hits = remove_accidental_hits
        # Retrieval's SamplingProbablityCorrection: logit - log(clip(probability)).
        self._logit_offset = (None if sampling_probability is None else tf.constant(
            -np.log(np.clip(sampling_probability, 1e-6, 1.0)), tf.float32))

    def compute_loss(self, features, training=False):
        rows = tf.cast(features["candidate"], tf.int64)
        query = self.query_tower(features)
        candidate = self.candidate_tower(rows)
        offset = (None if self._logit_offset is None
                  else tf.gather(self._logit_offset, rows))
        return in_batch_softmax(query, candidate, offset,
                                rows if self._remove_accidental_hits else None)


def build_model(fitted: FittedFeatures, seed: int,
                sampling_probability: np.ndarray | None = None,
                remove_accidental_hits: bool = False) -> TwoTowerModel:
    """A fresh, deterministically initialised model for the fitted features.

    Args:
        fitted: fitted preprocessing.
        seed: initialisation seed.
        sampling_probability: [num_candidates] each candidate's share of the training
            rows, for the logQ correction (None: no correction).
        remove_accidental_hits: drop a batch's other copies of the true candidate from
            its negatives.
    """
    return TwoTowerModel(fitted, seed, sampling_probability, remove_accidental_hits)
