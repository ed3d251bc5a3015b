"""The TFRS two-tower retrieval model over pre-encoded integer features.

A query tower and a candidate tower, each embedding tables then a Dense stack, seeded
from the cell's seed; the model trains on the in-batch softmax of
:mod:`harness.model.loss`.
"""

from __future__ import annotations

import numpy as np

from harness.model.causal import HISTORY
from harness.model.features import FittedFeatures
from harness.model.loss import in_batch_softmax
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
    """User tower: user id embedding plus the configured context features (those of the
    user's past included: :mod:`harness.model.causal`), then Dense.

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
        past = config.past
        if past is not None:
            rows.update({name: past.buckets for name in past.bucketed()})
        self._tables = [(name, seeds.table(self, f"{name}_embeddings", size, dim))
                        for name, size in rows.items()]
        self._use_normalized_timestamp = config.timestamp
        # The last titles' own table, not the candidate tower's (harness.model.causal).
        self.history_embeddings = (seeds.table(self, "history_embeddings",
                                               fitted.candidate_titles.size, dim)
                                   if past is not None and past.history_length else None)
        inputs = len(self._tables) + (self.history_embeddings is not None)
        self.dense = _dense_stack(config, seeds, dim * inputs + int(config.timestamp))

    def zero_unseen_users(self, trained_ids: np.ndarray) -> None:
        """Sets the id embedding of every user id absent from ``trained_ids`` to zero.

        A user without training interactions (the out-of-vocabulary id 0 under
        fit_on=train, or a test-only user's own row under fit_on=all) is never in a
        training batch, so its row gets no gradient and stays as set here: the query
        tower sees a zero id embedding for every unseen user, in every configuration,
        whatever its seed or width, and answers from the context features alone.
        """
        _zero_rows_absent_from(self._tables[0][1], trained_ids)

    def zero_unseen_history(self, trained_history: np.ndarray) -> None:
        """Sets the history embedding of every title absent from the training rows'
        histories to zero (as :meth:`zero_unseen_users` for users): a title first met in
        a test query's online past then adds nothing to the mean but its slot.

        Args:
            trained_history: [n, N] the training rows' last titles, ``NONE`` padded.
        """
        _zero_rows_absent_from(self.history_embeddings, trained_history[trained_history >= 0])

    def call(self, features):
        parts = [tf.gather(table, features[name]) for name, table in self._tables]
        if self.history_embeddings is not None:
            parts.append(_mean_of_slots(self.history_embeddings, features[HISTORY]))
        if self._use_normalized_timestamp:
            parts.append(tf.reshape(features["timestamp_normalized"], (-1, 1)))
        return _forward(self.dense, tf.concat(parts, axis=1))


def _zero_rows_absent_from(table, ids: np.ndarray) -> None:
    """Sets every row of the embedding ``table`` whose index is not in ``ids`` to zero."""
    unseen = np.ones(table.shape[0], bool)
    unseen[np.unique(ids)] = False
    table.assign(tf.where(tf.constant(unseen)[:, None], tf.zeros_like(table), table))


def _mean_of_slots(table, items):
    """[n, dim] the mean of ``table``'s rows over each query's filled slots.

    Args:
        table: [num_titles, dim] embeddings.
        items: [n, N] title rows, ``NONE`` (negative) for an empty slot; a query with no
            filled slot gets a zero vector.
    """
    filled = tf.cast(items >= 0, tf.float32)[:, :, None]  # [n, N, 1]
    vectors = tf.gather(table, tf.maximum(items, 0)) * filled  # [n, N, dim]
    return tf.reduce_sum(vectors, axis=1) / tf.maximum(tf.reduce_sum(filled, axis=1), 1.0)


class CandidateTower(keras.Model):
    """Movie tower: title id embedding, title words, optional genres and release year,
    and optional features of the title's past as of a refresh, then Dense.

    Its input is a candidate row (index into ``FittedFeatures.candidate_titles``); each
    candidate's words, genres and year are constant tables, and its features of the past
    (``context``: ``harness.model.causal.candidate_past``) come with the row. A batch
    repeats popular titles, so the tower runs once per distinct (candidate, context) of
    the batch and the rows are gathered back: the same values as running it per row, at
    a cost that grows with the batch's distinct candidates rather than the batch or the
    catalogue.
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
        # Drawn only when set, so every other configuration's weights stay as they were.
        self.title_years = None
        if config.release_year:
            self.title_years = tf.constant(fitted.title_years)
            self.year_embeddings = seeds.table(self, "year_embeddings",
                                               int(fitted.title_years.max()) + 1, dim)
        past = config.past
        self.context_names = () if past is None else past.candidate_bucketed()
        self._context_buckets = None if past is None else past.buckets
        self._context_tables = [seeds.table(self, f"{name}_embeddings", past.buckets, dim)
                                for name in self.context_names]
        parts = (1 + config.title_text + config.genres + config.release_year
                 + len(self.context_names))
        self.dense = _dense_stack(config, seeds, dim * parts)

    def embed_candidates(self, rows, context=None):
        """[n] distinct candidate rows (and their ``context``) -> [n, output_dim]."""
        words = genres = years = None
        if self.title_words is not None:
            words = tf.gather(self.title_words, rows).to_sparse()
        if self.title_genres is not None:
            genres = tf.gather(self.title_genres, rows)
        if self.title_years is not None:
            years = tf.gather(self.title_years, rows)
        return self._embed(tf.gather(self.title_embeddings, rows), words, genres, years,
                           context)

    def catalogue(self, context=None):
        """[num_candidates, output_dim] embeddings of every candidate, in row order.

        Args:
            context: name -> [num_candidates] each candidate's features of the past as
                of one refresh (``harness.model.causal.catalogue_past``), for a tower
                that has them.
        """
        return self._embed(self.title_embeddings, self._catalogue_words, self.title_genres,
                           self.title_years, context)

    def _embed(self, title_embeddings, words, genres, years, context):
        parts = [title_embeddings]
        if words is not None:
            # The mean of a title's word embeddings: Embedding(mask_zero=True) followed
            # by GlobalAveragePooling1D over the padded ids, without the padding.
            parts.append(tf.nn.embedding_lookup_sparse(self.token_embeddings, words, None,
                                                       combiner="mean"))
        if genres is not None:
            parts.append(self.genre_embedding.call(genres))
        if years is not None:
            parts.append(tf.gather(self.year_embeddings, years))
        for name, table in zip(self.context_names, self._context_tables, strict=True):
            parts.append(tf.gather(table, context[name]))
        return _forward(self.dense, tf.concat(parts, axis=1))

    def call(self, candidate, context=None):
        """[n] candidate rows (and ``context``: name -> [n] their features of the past)
        -> [n, output_dim]."""
        key = tf.cast(candidate, tf.int64)
        if not self.context_names:
            distinct, position = tf.unique(key)
            return tf.gather(self.embed_candidates(distinct), position)
        buckets = self._context_buckets
        for name in self.context_names:  # one key per distinct (row, context)
            key = key * buckets + tf.cast(context[name], tf.int64)
        distinct, position = tf.unique(key)
        distinct_context = {}
        for name in reversed(self.context_names):  # the key read back, digit by digit
            distinct, distinct_context[name] = distinct // buckets, distinct % buckets
        return tf.gather(self.embed_candidates(distinct, distinct_context), position)


class TwoTowerModel(tfrs.models.Model):
    """``tfrs.models.Model`` trained on ``tfrs.tasks.Retrieval``'s in-batch softmax.

    ``compute_loss`` is Retrieval's loss (with its logQ correction and accidental-hit
    removal) computed tile by tile (:func:`~harness.model.loss.in_batch_softmax`). No
    metric runs inside a training step: FactorizedTopK there (as the tutorial has it)
    scores the whole catalogue every batch, and evaluation is done exactly, once, by
    ``harness.evaluation.metrics``.
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

    def candidate_context(self, features) -> dict | None:
        """The candidate tower's features of the past among ``features`` (None: none)."""
        return {name: features[name] for name in self.candidate_tower.context_names} or None

    def compute_loss(self, features, training=False):
        rows = tf.cast(features["candidate"], tf.int64)
        query = self.query_tower(features)
        candidate = self.candidate_tower(rows, self.candidate_context(features))
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
