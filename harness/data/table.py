"""MovieLens-100k as an in-memory columnar table with tfds's names and dtypes.

:func:`build_table` turns parsed records from any source into the canonical table: rows
in one order (time, then user, then movie), so every source gives the same table and
the same :func:`~harness.data.digest.table_sha256`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from harness.data.digest import table_sha256
from harness.errors import DataError

# tfds's ClassLabel names for movie_genres; a genre's id is its index here.
GENRE_NAMES = (
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "Unknown", "War", "Western", "(no genres listed)",
)
_AGE_BUCKETS = (18, 25, 35, 45, 50, 56)  # tfds's thresholds; below 18 is bucket 1.

DEFAULT_DATASET = "movielens-100k"
# What a table may provide beyond (user, item, time), and the columns that provide it
# ("movies/..." a catalogue column). Feature configurations declare which they need.
# "titles" is not a column: without titles the catalogue's movie_title holds the item id
# (the retrieval candidate's key), and ``MovieLens.has_titles`` is False.
PROVIDES = {
    "genres": ("movies/movie_genres",),
    "user_profile": ("bucketized_user_age", "user_gender", "user_occupation_text",
                     "user_zip_code"),
    "rating": ("user_rating",),
}

RATING_COLUMNS = (
    "user_id", "movie_id", "movie_title", "movie_genres", "timestamp", "user_rating",
    "user_gender", "bucketized_user_age", "raw_user_age", "user_occupation_text",
    "user_zip_code",
)


@dataclass(frozen=True)
class MovieLens:
    """Ratings and the movie catalogue as numpy columns.

    Attributes:
        ratings: column name -> [n_ratings] array; see ``RATING_COLUMNS``. Strings are
            numpy unicode arrays, ``movie_genres`` an object array of int64 arrays of
            ids into ``GENRE_NAMES``, ``timestamp`` int64 seconds, ``user_rating``,
            ``bucketized_user_age`` and ``raw_user_age`` float32, ``user_gender`` bool
            (True = male), as in tfds.
        movies: the catalogue, column name -> [n_movies]: ``movie_id``, ``movie_title``,
            ``movie_genres``, sorted by numeric movie id.
        source: where the table came from, e.g. ``"recbole-wheel:recbole-1.2.1-py3-none-any.whl"``.
        sha256: hash of the canonical table content (independent of the source).
    """

    ratings: dict[str, np.ndarray]
    movies: dict[str, np.ndarray]
    source: str
    sha256: str = field(default="")
    dataset: str = DEFAULT_DATASET
    genre_names: tuple[str, ...] = GENRE_NAMES
    has_titles: bool = True

    @property
    def provides(self) -> frozenset[str]:
        """What this table carries beyond (user, item, time): "titles" and the keys of
        ``PROVIDES`` whose columns are all present. A configuration needing anything else
        is skipped (``harness.model.features.missing_features``).
        """
        present = set(self.ratings) | {f"movies/{name}" for name in self.movies}
        return frozenset([name for name, columns in PROVIDES.items()
                          if all(column in present for column in columns)]
                         + (["titles"] if self.has_titles else []))

    def rated_titles(self, rows: np.ndarray | None = None) -> np.ndarray:
        """[n] each rating's title (all ratings when ``rows`` is None).

        Large tables keep a rating's catalogue row (``movie_row``) instead of its title
        string: a per-rating unicode column is as wide as the longest title.
        """
        if "movie_title" in self.ratings:
            titles = self.ratings["movie_title"]
            return titles if rows is None else titles[rows]
        movie_row = self.ratings["movie_row"]
        return self.movies["movie_title"][movie_row if rows is None else movie_row[rows]]

    @functools.cached_property
    def user_codes(self) -> np.ndarray:
        """[n_ratings] int64: each rating's user as an index into the sorted user ids."""
        return np.unique(self.ratings["user_id"], return_inverse=True)[1].astype(np.int64)

    @functools.cached_property
    def candidate_titles(self) -> np.ndarray:
        """[n_candidates] the distinct catalogue titles, sorted: the retrieval candidates.

        Movies that share a title are one candidate, as in the tutorial's title-keyed
        model (MovieLens-100k: 1,682 movies, 1,664 candidates).
        """
        return np.unique(self.movies["movie_title"])

    @functools.cached_property
    def title_codes(self) -> np.ndarray:
        """[n_ratings] int64: each rating's title as a row of ``candidate_titles``.

        Raises:
            DataError: a rated title is missing from the catalogue.
        """
        titles = self.candidate_titles
        if "movie_row" in self.ratings:  # every catalogue title is a candidate
            codes = np.searchsorted(titles, self.movies["movie_title"]).astype(np.int64)
            return codes[self.ratings["movie_row"]]
        codes = np.searchsorted(titles, self.ratings["movie_title"])
        if titles.size == 0 or np.any(titles[np.minimum(codes, titles.size - 1)]
                                      != self.ratings["movie_title"]):
            raise DataError(f"{self.source}: a rated title is missing from the catalogue")
        return codes.astype(np.int64)

    @property
    def num_ratings(self) -> int:
        return len(self.ratings["timestamp"])

    def counts(self) -> dict[str, int]:
        """The numbers a user checks first: ratings, users, movies, titles, time range."""
        timestamps = self.ratings["timestamp"]
        return {
            "ratings": self.num_ratings,
            "users": int(np.unique(self.ratings["user_id"]).size),
            "movies": int(np.unique(self.movies["movie_id"]).size),
            "distinct_titles": int(np.unique(self.movies["movie_title"]).size),
            "min_timestamp": int(timestamps.min()) if timestamps.size else 0,
            "max_timestamp": int(timestamps.max()) if timestamps.size else 0,
        }

    def take(self, rows: np.ndarray, source_note: str = "") -> MovieLens:
        """A new table of the given rows (in the given order); the catalogue is kept."""
        ratings = {name: column[rows] for name, column in self.ratings.items()}
        return MovieLens(ratings=ratings, movies=self.movies,
                         source=self.source + source_note,
                         sha256=table_sha256(ratings, self.movies),
                         dataset=self.dataset, genre_names=self.genre_names,
                         has_titles=self.has_titles)


def _age_bucket(age: int) -> int:
    bucket = 1
    for threshold in _AGE_BUCKETS:
        if age >= threshold:
            bucket = threshold
    return bucket


def _genre_ids(names: list[str]) -> np.ndarray:
    return np.array([GENRE_NAMES.index(name) for name in names], dtype=np.int64)


def build_table(ratings_rows: list[tuple[str, str, float, int]],
                movies: dict[str, tuple[str, list[str]]],
                users: dict[str, tuple[int, str, str, str]],
                source: str, where: dict[str, str]) -> MovieLens:
    """Joins parsed ratings, movies and users into the canonical table.

    Args:
        ratings_rows: (user_id, movie_id, rating, timestamp) per rating.
        movies: movie_id -> (title, genre names).
        users: user_id -> (age, gender letter, occupation, zip code).
        source: provenance string.
        where: file name of each part ("ratings", "movies", "users") for error messages.
    """
    if not ratings_rows:
        raise DataError(f"{where['ratings']}: no ratings")
    # Ids are sorted numerically below; a non-numeric one is a corrupt file, not a bug.
    for ids, part in ((movies, "movies"), (users, "users")):
        for key in ids:
            if not (key.isascii() and key.isdigit()):
                raise DataError(f"{where[part]}: id {key!r} is not a number")
    for user_id, movie_id, _, _ in ratings_rows:
        if movie_id not in movies:
            raise DataError(f"{where['ratings']}: movie {movie_id!r} is not in "
                            f"{where['movies']}")
        if user_id not in users:
            raise DataError(f"{where['ratings']}: user {user_id!r} is not in "
                            f"{where['users']}")
    user_id = np.array([r[0] for r in ratings_rows])
    movie_id = np.array([r[1] for r in ratings_rows])
    timestamp = np.array([r[3] for r in ratings_rows], dtype=np.int64)
    order = np.lexsort((movie_id.astype(np.int64), user_id.astype(np.int64), timestamp))

    movie_ids = sorted(movies, key=int)
    catalogue_genres = np.empty(len(movie_ids), dtype=object)
    catalogue_genres[:] = [_genre_ids(movies[m][1]) for m in movie_ids]
    catalogue = {
        "movie_id": np.array(movie_ids),
        "movie_title": np.array([movies[m][0] for m in movie_ids]),
        "movie_genres": catalogue_genres,
    }
    movie_row = {m: i for i, m in enumerate(movie_ids)}
    movie_rows = np.array([movie_row[m] for m in movie_id[order]], dtype=np.int64)

    user_list = [users[u] for u in user_id[order]]
    ratings = {
        "user_id": user_id[order],
        "movie_id": movie_id[order],
        "movie_title": catalogue["movie_title"][movie_rows],
        "movie_genres": catalogue_genres[movie_rows],
        "timestamp": timestamp[order],
        "user_rating": np.array([r[2] for r in ratings_rows], dtype=np.float32)[order],
        "user_gender": np.array([u[1] == "M" for u in user_list], dtype=bool),
        "bucketized_user_age": np.array([_age_bucket(u[0]) for u in user_list],
                                        dtype=np.float32),
        "raw_user_age": np.array([u[0] for u in user_list], dtype=np.float32),
        "user_occupation_text": np.array([u[2] for u in user_list]),
        "user_zip_code": np.array([u[3] for u in user_list]),
    }
    return MovieLens(ratings=ratings, movies=catalogue, source=source,
                     sha256=table_sha256(ratings, catalogue))


def subsample_users(data: MovieLens, fraction: float, seed: int = 0) -> MovieLens:
    """Keeps every rating of a seeded random ``fraction`` of users (for quick runs).

    Sampling whole users keeps each user's history, so per-user splits still make sense.
    """
    users = np.unique(data.ratings["user_id"])
    rng = np.random.default_rng(seed)
    kept = rng.choice(users, size=max(2, int(round(len(users) * fraction))), replace=False)
    rows = np.flatnonzero(np.isin(data.ratings["user_id"], kept))
    return data.take(rows, source_note=f" (users subsample {fraction:g}, seed {seed})")


__all__ = ["GENRE_NAMES", "MovieLens", "RATING_COLUMNS", "build_table", "subsample_users"]
