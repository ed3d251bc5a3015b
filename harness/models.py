"""The TFRS two-tower retrieval model over pre-encoded integer features."""

from __future__ import annotations

import numpy as np

from harness.features import FittedFeatures
from harness.tfcompat import keras, tf, tfrs


class _Seeds:
    """Hands out one initializer seed per layer, all derived from the cell's seed."""

    def __init__(self, seed: int):
        self._rng = np.random.default_rng(seed)

    def next(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def embedding(self, input_dim: int, output_dim: int, **kwargs) -> keras.layers.Layer:
        # Keras's default embedding initializer, seeded.
        initializer = keras.initializers.RandomUniform(-0.05, 0.05, seed=self.next())
        return keras.layers.Embedding(input_dim, output_dim,
                                      embeddings_initializer=initializer, **kwargs)

    def dense(self, units: int, **kwargs) -> keras.layers.Layer:
        return keras.layers.Dense(
            units, kernel_initializer=keras.initializers.GlorotUniform(seed=self.next()),
            **kwargs)


def _dense_stack(config, seeds: _Seeds) -> keras.Sequential:
    layers = [seeds.dense(units, activation="relu") for units in config.hidden_layers]
    layers.append(seeds.dense(config.output_dim))
    return keras.Sequential(layers)


class QueryTower(keras.Model):
    """User tower: user id embedding plus the configured context features, then Dense."""

    def __init__(self, fitted: FittedFeatures, seeds: _Seeds):
        super().__init__()
        config = fitted.config
        dim = config.embedding_dim
        self._embeddings = {"user_id": seeds.embedding(fitted.vocabulary_size("user_id"), dim)}
        if config.timestamp:
            self._embeddings["timestamp_bucket"] = seeds.embedding(
                config.timestamp_buckets + 1, dim)
        if config.time_of_day_week:
            self._embeddings["hour_of_day"] = seeds.embedding(24, dim)
            self._embeddings["day_of_week"] = seeds.embedding(7, dim)
        if config.user_profile:
            for name in ("user_age", "user_gender", "user_occupation", "user_zip_prefix"):
                self._embeddings[name] = seeds.embedding(fitted.vocabulary_size(name), dim)
        self._use_normalized_timestamp = config.timestamp
        # Keras tracks layers held in a dict attribute.
        self.dense = _dense_stack(config, seeds)

    def call(self, features):
        parts = [layer(features[name]) for name, layer in self._embeddings.items()]
        if self._use_normalized_timestamp:
            parts.append(tf.reshape(features["timestamp_normalized"], (-1, 1)))
        return self.dense(tf.concat(parts, axis=1))


class CandidateTower(keras.Model):
    """Movie tower: title id embedding, title words and optional genres, then Dense.

    Its input is a candidate row (index into ``FittedFeatures.candidate_titles``); the
    title's tokens and genres are constant tables gathered per batch.
    """

    def __init__(self, fitted: FittedFeatures, seeds: _Seeds):
        super().__init__()
        config = fitted.config
        dim = config.embedding_dim
        self.title_embedding = seeds.embedding(fitted.candidate_titles.size, dim)
        self.title_tokens = None
        if config.title_text:
            self.title_tokens = tf.constant(fitted.title_tokens)
            self.token_embedding = seeds.embedding(config.max_tokens, dim, mask_zero=True)
            self.pooling = keras.layers.GlobalAveragePooling1D()
        self.title_genres = None
        if config.genres:
            self.title_genres = tf.constant(fitted.title_genres)
            self.genre_embedding = seeds.dense(dim, use_bias=False)  # mean of genre vectors
        self.dense = _dense_stack(config, seeds)

    def call(self, candidate):
        parts = [self.title_embedding(candidate)]
        if self.title_tokens is not None:
            tokens = tf.gather(self.title_tokens, candidate)
            parts.append(self.pooling(self.token_embedding(tokens),
                                      mask=tf.not_equal(tokens, 0)))
        if self.title_genres is not None:
            parts.append(self.genre_embedding(tf.gather(self.title_genres, candidate)))
        return self.dense(tf.concat(parts, axis=1))


class TwoTowerModel(tfrs.models.Model):
    """``tfrs.models.Model`` with a ``tfrs.tasks.Retrieval`` task (in-batch softmax).

    The task carries no metric: the tutorial's FactorizedTopK inside every training step
    is what made it slow, and evaluation is done exactly, once, by ``harness.evaluate``.
    """

    def __init__(self, fitted: FittedFeatures, seed: int):
        super().__init__()
        seeds = _Seeds(seed)
        self.query_tower = QueryTower(fitted, seeds)
        self.candidate_tower = CandidateTower(fitted, seeds)
        self.task = tfrs.tasks.Retrieval()

    def compute_loss(self, features, training=False):
        query = self.query_tower(features)
        candidate = self.candidate_tower(features["candidate"])
        return self.task(query, candidate, compute_metrics=not training)


def build_model(fitted: FittedFeatures, seed: int) -> TwoTowerModel:
    """A fresh, deterministically initialised model for the fitted features."""
    return TwoTowerModel(fitted, seed)
