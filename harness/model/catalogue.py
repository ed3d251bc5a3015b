"""The candidate catalogue's fixed encodings, which :func:`harness.model.features.fit_features`
computes once per fit: each title's words (the tutorial's TextVectorization), genres and
release year."""

from __future__ import annotations

import functools
import re

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


_YEAR = re.compile(r"\((\d{4})\)\s*$")  # "Toy Story (1995)"


def release_years(titles: np.ndarray) -> np.ndarray:
    """[len(titles)] int64 each title's release-year id: the year in parentheses at the
    end of the title, numbered 1.. in year order over the titles' years; 0 for a title
    without one. Known for every title of the catalogue at any time (metadata, not
    history)."""
    found = [_YEAR.search(str(title)) for title in titles]
    years = np.array([int(m.group(1)) if m else 0 for m in found], np.int64)
    vocabulary = np.unique(years[years > 0])
    return np.where(years > 0, np.searchsorted(vocabulary, years) + 1, 0).astype(np.int64)


__all__ = ["genres_of_titles", "release_years", "tokenize_titles"]
