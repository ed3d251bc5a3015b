"""The candidate catalogue's fixed encodings, which :func:`harness.model.features.fit_features`
computes once per fit: each title's words (the tutorial's TextVectorization) and
genres."""

from __future__ import annotations

import functools

import numpy as np

from harness.data.sources import MovieLens


def genres_of_titles(data: MovieLens, titles: np.ndarray) -> np.ndarray:
    """[len(titles), len(data.genre_names)] float32: each title's genres as shares (the
    multi-hot row over its count); movies sharing a title pool their genres."""
    genres = np.zeros((titles.size, len(data.genre_names)), dtype=np.float32)
    index = np.searchsorted(titles, data.movies["movie_title"])
    for row, movie_genres in zip(index, data.movies["movie_genres"], strict=True):
        genres[row, movie_genres] = 1.0  # movies sharing a title pool their genres
    counts = genres.sum(axis=1, keepdims=True)
    return genres / np.maximum(counts, 1.0)


@functools.lru_cache(maxsize=16)
def tokenize_titles(fit_titles: tuple[str, ...], all_titles: tuple[str, ...],
                    max_tokens: int) -> np.ndarray:
    """The tutorial's TextVectorization, adapted on ``fit_titles``, run once.

    Cached: every configuration and seed of a split with the same fit rows (all but the
    seeded random split) has the same titles, and adapting would redo the same work in
    each of their cells.

    Returns:
        [len(all_titles), max_len] int64 token ids (0 = padding, 1 = out of
        vocabulary), read-only because the cache shares it.
    """
    from harness.tfcompat import keras

    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens)
    vectorizer.adapt(np.array(fit_titles))
    tokens = vectorizer(np.array(all_titles)).numpy().astype(np.int64)
    tokens.flags.writeable = False
    return tokens


__all__ = ["genres_of_titles", "tokenize_titles"]
