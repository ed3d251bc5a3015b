"""Synthetic interactions with drifting item popularity, as a MovieLens-shaped table.

The generator has a known answer to the benchmark's question. Every item has a
release time and a limited lifetime: it is picked only while it is "in the cinemas"
(a triangular popularity curve, rising quickly after release and fading out). Users
prefer one of a few item clusters. So:

- user ids carry signal (the user's cluster), which an id-only model can learn;
- the time of an interaction says which items are alive, which a timestamp feature can
  learn on a random split, where training sees every period of time;
- on a temporal split the test period lies beyond the training range: its timestamps
  fall outside the training buckets, and many of its items were released after the cut
  and were never seen in training, so the timestamp feature has nothing to offer.

The lifetime curve has compact support on purpose: a Gaussian peak's log-popularity is
linear in time, which a normalised-timestamp feature could extrapolate past the cut. And
lifetimes are short by default (5% of the span, a quarter of a 20% test period): with
lifetimes of 20% of the span, the items alive at the cut stay popular well into the
test period, the normalised timestamp extrapolates that recency trend, and timestamp
features do help on the temporal split too (top-10 0.03 -> 0.19 in one measurement,
against 0.10 -> 0.51 on the random split). That is a real effect, not a leak.

Cold start can be planted at known rates, apart from drift: in the last ``cold_period``
of the interactions (by time, the test set of a temporal split of that fraction), a
``cold_user_rate`` share is moved to a "twin" of its user, a new user id with the same
taste and profile, and a ``cold_item_rate`` share to a twin of its item, a new title
with the same cluster, genre and popularity curve. A twin has no interaction before
that period, so it is cold on such a split, and the rates are the cold segments'
expected shares of its test set. The planted effect: a twin user's taste is the one its
id would have taught, so an id-based model can serve it only as a user it never saw.

:func:`synthetic_movielens` returns a :class:`~harness.data.MovieLens` with the same
columns and dtypes as the real table, so every split, feature configuration and the whole
harness run on it unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from harness.data.digest import table_sha256
from harness.data.sources import GENRE_NAMES, MovieLens

# MovieLens-100k's first timestamp and roughly its time span (215 days).
DEFAULT_START = 874_724_710
DEFAULT_SPAN_SECONDS = 215 * 86_400
_OCCUPATIONS = ("administrator", "artist", "educator", "engineer", "librarian", "other",
                "programmer", "student", "technician", "writer")
_AGES = np.array([15, 22, 30, 40, 47, 53, 60])
_AGE_BUCKETS = np.array([1, 18, 25, 35, 45, 50, 56], dtype=np.float32)


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of the generator.

    Attributes:
        n_users: users, each with a favourite item cluster.
        n_items: catalogue size; every item has a distinct title.
        n_interactions: rows of the table.
        n_clusters: item clusters (tastes).
        affinity: probability that an interaction picks from the user's favourite
            cluster; otherwise the cluster is uniform. 0 makes user ids useless.
        lifetime_fraction: an item's lifetime as a fraction of the time span. Smaller
            means faster drift (fewer items alive at once, and more of a temporal
            split's test items released after the cut).
        popularity_sigma: log-normal spread of the items' base popularity.
        start: first possible timestamp (Unix seconds).
        span_seconds: length of the time range.
        cold_user_rate, cold_item_rate: shares of the last ``cold_period`` of the
            interactions moved to twin users and items (cold start at known rates; 0
            plants none and draws nothing more from ``rng``).
        cold_period: the fraction of the interactions, latest by time, that twins
            take part in.
    """

    n_users: int = 500
    n_items: int = 500
    n_interactions: int = 20_000
    n_clusters: int = 8
    affinity: float = 0.6
    lifetime_fraction: float = 0.05
    popularity_sigma: float = 1.0
    start: int = DEFAULT_START
    span_seconds: int = DEFAULT_SPAN_SECONDS
    cold_user_rate: float = 0.0
    cold_item_rate: float = 0.0
    cold_period: float = 0.2

    def __post_init__(self):
        for name in ("n_users", "n_items", "n_interactions", "n_clusters", "span_seconds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got "
                                 f"{getattr(self, name)!r}")
        if not 0.0 <= self.affinity <= 1.0:
            raise ValueError(f"affinity must be in [0, 1], got {self.affinity!r}")
        if not 0.0 < self.lifetime_fraction <= 1.0:
            raise ValueError(f"lifetime_fraction must be in (0, 1], got "
                             f"{self.lifetime_fraction!r}")
        for name in ("cold_user_rate", "cold_item_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if not 0.0 < self.cold_period < 1.0:
            raise ValueError(f"cold_period must be in (0, 1), got {self.cold_period!r}")


def _sample_lifetimes(rng: np.random.Generator, release: np.ndarray, lifetime: float,
                      span: float) -> np.ndarray:
    """Times (seconds from start) inside [0, span), each drawn from its item's curve.

    Args:
        release: [n] release time of each interaction's item (may be before 0).
        lifetime: length of every item's popularity curve.

    Returns:
        [n] float64 times: release + lifetime * Triangular(0, 0.25, 1), redrawn until
        inside the span, so each item's curve is truncated to the observed period.
    """
    times = release + lifetime * rng.triangular(0.0, 0.25, 1.0, size=release.size)
    outside = np.flatnonzero((times < 0) | (times >= span))
    while outside.size:  # at least a third of every curve lies inside the span
        times[outside] = (release[outside]
                          + lifetime * rng.triangular(0.0, 0.25, 1.0, size=outside.size))
        outside = outside[(times[outside] < 0) | (times[outside] >= span)]
    return times


def _plant_cold_start(rng: np.random.Generator, spec: SyntheticSpec, user: np.ndarray,
                      item: np.ndarray, timestamp: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Moves the planted shares of the latest ``cold_period`` of the interactions to
    twin users (id + n_users) and twin items (id + n_items)."""
    late = np.argsort(timestamp, kind="stable")[-round(spec.cold_period * timestamp.size):]
    user, item = user.copy(), item.copy()
    user[late[rng.random(late.size) < spec.cold_user_rate]] += spec.n_users
    item[late[rng.random(late.size) < spec.cold_item_rate]] += spec.n_items
    return user, item


def synthetic_movielens(rng: np.random.Generator, spec: SyntheticSpec | None = None,
                        **overrides) -> MovieLens:
    """Generates a table of interactions with drifting popularity and user tastes.

    Args:
        rng: the only source of randomness.
        spec: the generator's parameters (default :class:`SyntheticSpec`).
        **overrides: fields of ``spec`` to replace, e.g. ``n_items=1000``.

    Returns:
        A MovieLens table: ``ratings`` columns as ``harness.data.RATING_COLUMNS`` with
        [n_interactions] rows in canonical order (time, user, movie), ``movies`` the
        [n_items] catalogue with titles ``"Item {id} ({year})"``.
    """
    spec = spec or SyntheticSpec()
    if overrides:
        spec = SyntheticSpec(**{**asdict(spec), **overrides})
    span = float(spec.span_seconds)
    lifetime = spec.lifetime_fraction * span

    # Items: a cluster, a base popularity and a release time. Releases start half a
    # lifetime before the observed period, so about as many items are alive at its
    # start as in its middle.
    item_cluster = rng.integers(spec.n_clusters, size=spec.n_items)
    base_popularity = rng.lognormal(0.0, spec.popularity_sigma, size=spec.n_items)
    release = rng.uniform(-0.5 * lifetime, span - 0.5 * lifetime, size=spec.n_items)
    year = rng.integers(1950, 2000, size=spec.n_items)
    genre = (item_cluster % (len(GENRE_NAMES) - 1)).astype(np.int64)

    # Users: a favourite cluster, an activity level and a profile.
    user_cluster = rng.integers(spec.n_clusters, size=spec.n_users)
    activity = rng.lognormal(0.0, 1.0, size=spec.n_users)
    age = rng.integers(len(_AGES), size=spec.n_users)
    gender = rng.random(spec.n_users) < 0.5
    occupation = rng.integers(len(_OCCUPATIONS), size=spec.n_users)
    zip_code = rng.integers(10_000, 100_000, size=spec.n_users)

    # Interactions: a user, a cluster (favourite or uniform), an item of that cluster by
    # base popularity, then a time on that item's popularity curve. P(item | time) is
    # base popularity times the curve's density: zero outside the item's lifetime.
    user = rng.choice(spec.n_users, size=spec.n_interactions, p=activity / activity.sum())
    cluster = np.where(rng.random(spec.n_interactions) < spec.affinity, user_cluster[user],
                       rng.integers(spec.n_clusters, size=spec.n_interactions))
    item = np.empty(spec.n_interactions, dtype=np.int64)
    for c in range(spec.n_clusters):
        rows = np.flatnonzero(cluster == c)
        members = np.flatnonzero(item_cluster == c)
        if members.size == 0:  # an empty cluster (tiny catalogues): any item
            members = np.arange(spec.n_items)
        weights = base_popularity[members]
        item[rows] = rng.choice(members, size=rows.size, p=weights / weights.sum())
    times = _sample_lifetimes(rng, release[item], lifetime, span)
    timestamp = spec.start + np.floor(times).astype(np.int64)
    if spec.cold_user_rate or spec.cold_item_rate:
        user, item = _plant_cold_start(rng, spec, user, item, timestamp)
    # Twins (ids from n_users, n_items on) share their original's attributes.
    twin_users = np.arange(2 * spec.n_users) % spec.n_users
    catalogue = np.unique(np.r_[np.arange(spec.n_items), item])
    item = np.searchsorted(catalogue, item)  # rows of the catalogue
    original = catalogue % spec.n_items

    order = np.lexsort((item, user, timestamp))
    user, item, timestamp = user[order], item[order], timestamp[order]

    movie_ids = np.array([str(i + 1) for i in catalogue])
    titles = np.array([f"Item {i + 1} ({year[o]})" for i, o in zip(catalogue, original,
                                                                 strict=True)])
    movie_genres = np.empty(catalogue.size, dtype=object)
    movie_genres[:] = [np.array([genre[o]], dtype=np.int64) for o in original]
    movies = {"movie_id": movie_ids, "movie_title": titles, "movie_genres": movie_genres}

    user_ids = np.array([str(u + 1) for u in range(2 * spec.n_users)])
    age, gender, occupation = age[twin_users], gender[twin_users], occupation[twin_users]
    zip_codes = np.array([f"{z:05d}" for z in zip_code[twin_users]])
    ratings = {
        "user_id": user_ids[user],
        "movie_id": movie_ids[item],
        "movie_title": titles[item],
        "movie_genres": movie_genres[item],
        "timestamp": timestamp,
        "user_rating": rng.integers(1, 6, size=spec.n_interactions).astype(np.float32),
        "user_gender": gender[user],
        "bucketized_user_age": _AGE_BUCKETS[age][user],
        "raw_user_age": _AGES[age].astype(np.float32)[user],
        "user_occupation_text": np.array(_OCCUPATIONS)[occupation][user],
        "user_zip_code": zip_codes[user],
    }
    defaults = asdict(SyntheticSpec())
    source = "synthetic(" + ", ".join(  # the cold-start fields where they plant some
        f"{k}={v}" for k, v in asdict(spec).items()
        if not k.startswith("cold_") or v != defaults[k]) + ")"
    return MovieLens(ratings=ratings, movies=movies, source=source,
                     sha256=table_sha256(ratings, movies))


__all__ = ["SyntheticSpec", "synthetic_movielens"]
