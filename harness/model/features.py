"""Feature configurations and their preprocessing, fitted on the training split.

A :class:`FeatureConfig` says which features each tower gets. :func:`fit_features`
learns vocabularies, timestamp buckets and normalisation from the rows it is given
(the training split by default; all rows for the tutorial's ``fit_on="all"``), and
:meth:`FittedFeatures.transform` turns rows into integer ids and floats once, so no
string lookup or text vectorisation runs inside a training step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from harness.data.sources import MovieLens
from harness.errors import UserError
from harness.model.catalogue import genres_of_titles, release_years, tokenize_titles
from harness.model.causal import CAUSAL_ALL, CAUSAL_CONFIGS, PastOptions
from splits.registry import Registry

FIT_ON = ("train", "all")


@dataclass(frozen=True)
class FeatureConfig:
    """Which features the two towers see, and the towers' shape.

    Attributes:
        name: registry key.
        description: one line for tables.
        timestamp: the tutorial's timestamp features: an embedding of 1000 equal-width
            buckets plus the normalised raw timestamp.
        time_of_day_week: embeddings of the UTC hour of day and day of week.
        user_profile: embeddings of age bucket, gender, occupation and zip-code prefix.
        genres: the movie tower adds the mean of its genres' embeddings.
        title_text: the movie tower's bag of title words (the tutorial has it).
        hidden_layers: Dense ReLU layers before each tower's output layer (the TFRS
            deep-retrieval tutorial); empty for the context-features tutorial.
        output_dim: size of each tower's final Dense layer (and of the dot product).
        embedding_dim: size of every embedding.
        timestamp_buckets: number of equal-width bucket boundaries.
        max_tokens: title vocabulary size, as in the tutorial's TextVectorization.
        zip_prefix: leading characters of the zip code kept as the location feature.
        past: the query tower's features of the user's past, strictly from earlier rows
            (:mod:`harness.model.causal`, which encodes them: which rows are the past
            depends on the split, which ``transform`` does not know), and the candidate
            tower's of its title's past; None: none.
        release_year: the movie tower adds an embedding of the title's release year, read
            from the title ("Toy Story (1995)"; none: the unknown id 0).
    """

    name: str
    description: str
    timestamp: bool = False
    time_of_day_week: bool = False
    user_profile: bool = False
    genres: bool = False
    title_text: bool = True
    hidden_layers: tuple[int, ...] = ()
    output_dim: int = 32
    embedding_dim: int = 32
    timestamp_buckets: int = 1000
    max_tokens: int = 10_000
    zip_prefix: int = 3
    past: PastOptions | None = None
    release_year: bool = False

    def to_dict(self) -> dict:
        # ``past`` and ``release_year`` only where set: a configuration's description
        # (and the tuned file's fingerprint of it) stays what it was before they existed.
        values = {**asdict(self), "past": self.past and self.past.to_dict()}
        return {key: value for key, value in values.items()
                if key not in ("past", "release_year") or value}

    @classmethod
    def from_dict(cls, values: dict) -> FeatureConfig:
        values = dict(values)
        values["hidden_layers"] = tuple(values.get("hidden_layers", ()))
        if values.get("past") is not None:
            values["past"] = PastOptions(**values["past"])
        return cls(**values)

    @property
    def requires(self) -> frozenset[str]:
        """What a dataset must provide (``MovieLens.provides``) for this configuration.

        Title words are not required: without titles the candidate tower drops them
        (:func:`for_dataset`).
        """
        return frozenset(name for name, used in (("user_profile", self.user_profile),
                                                 ("genres", self.genres),
                                                 ("titles", self.release_year)) if used)


CONFIGS: Registry[FeatureConfig] = Registry("feature configuration")
for _config in (
    FeatureConfig("baseline", "user id; movie title id + title words (the tutorial, no time)"),
    FeatureConfig("timestamp", "baseline + the tutorial's timestamp buckets and normalised "
                  "timestamp", timestamp=True),
    FeatureConfig("time_of_day_week", "baseline + hour-of-day and day-of-week embeddings",
                  time_of_day_week=True),
    FeatureConfig("user_profile", "baseline + age bucket, gender, occupation, zip prefix",
                  user_profile=True),
    FeatureConfig("genres", "baseline + movie genre embeddings", genres=True),
    FeatureConfig("all", "every feature above", timestamp=True, time_of_day_week=True,
                  user_profile=True, genres=True),
    FeatureConfig("deep_timestamp", "timestamp with 64-unit ReLU hidden layers in both "
                  "towers (TFRS deep-retrieval tutorial)", timestamp=True,
                  hidden_layers=(64,)),
):
    CONFIGS.register(_config.name, _config)
# The default grid's configurations (and a tuning's): those above. The causal ones run
# only when named (``--configs history``): the default grid, its tuned file and the
# committed results stay as they are.
DEFAULT_CONFIGS = tuple(CONFIGS)
for _config in (
    *(FeatureConfig(name, description, past=past) for name, description, past in CAUSAL_CONFIGS),
    FeatureConfig("release_year", "baseline + the title's release-year embedding (metadata)",
                  release_year=True),
    FeatureConfig("causal_all", "causal + item_past + release_year (history: online)",
                  release_year=True, past=CAUSAL_ALL),
):
    CONFIGS.register(_config.name, _config)


def get_config(name: str) -> FeatureConfig:
    """Returns the registered configuration ``name``; unknown names list the valid ones."""
    return CONFIGS[name]


def missing_features(config: FeatureConfig, data: MovieLens) -> str | None:
    """One line saying why ``config`` cannot run on ``data``, or None when it can."""
    missing = sorted(config.requires - data.provides)
    if not missing:
        return None
    return (f"configuration {config.name} needs {' and '.join(missing)}, which dataset "
            f"{data.dataset} does not provide")


def for_dataset(config: FeatureConfig, data: MovieLens) -> FeatureConfig:
    """``config`` as it runs on ``data``: without title words when there are no titles.

    Raises:
        UserError: the dataset lacks a feature the configuration needs.
    """
    reason = missing_features(config, data)
    if reason is not None:
        raise UserError(reason)
    if config.title_text and "titles" not in data.provides:
        return replace(config, title_text=False)
    return config


def _lookup(vocabulary: np.ndarray, values: np.ndarray) -> np.ndarray:
    """StringLookup semantics: index 1.. for vocabulary entries, 0 for out-of-vocabulary.

    Args:
        vocabulary: [v] sorted unique values.
        values: [n] values to look up.

    Returns:
        [n] int64 ids in [0, v].
    """
    if vocabulary.size == 0:
        return np.zeros(len(values), dtype=np.int64)
    position = np.searchsorted(vocabulary, values)
    position = np.minimum(position, vocabulary.size - 1)
    found = vocabulary[position] == values
    return np.where(found, position + 1, 0).astype(np.int64)


_SECONDS_PER_HOUR = 3600
_SECONDS_PER_DAY = 86_400


@dataclass
class FittedFeatures:
    """Preprocessing state learned from the fit rows, and the fixed catalogue encoding.

    Attributes:
        config: the feature configuration.
        fit_on: "train" or "all": which rows the state was learned from.
        vocabularies: feature name -> sorted unique values seen in the fit rows.
        timestamp_boundaries: [timestamp_buckets] float64 equal-width bucket edges.
        timestamp_mean, timestamp_std: normalisation of the raw timestamp.
        candidate_titles: [n_candidates] the distinct catalogue titles, sorted. Movies
            that share a title are one candidate, as in the tutorial.
        title_tokens: [n_candidates, max_len] int64 token ids of each candidate title
            (0 = padding, 1 = out-of-vocabulary), from a TextVectorization fitted on the
            titles of the fit rows.
        title_genres: [n_candidates, len(data.genre_names)] float32, each row the mean
            (multi-hot / count) of that title's genres.
        title_years: [n_candidates] int64 each title's release-year id (1.. in year
            order over the catalogue's years, 0 for a title without one).
    """

    config: FeatureConfig
    fit_on: str
    vocabularies: dict[str, np.ndarray] = field(default_factory=dict)
    timestamp_boundaries: np.ndarray | None = None
    timestamp_mean: float = 0.0
    timestamp_std: float = 1.0
    candidate_titles: np.ndarray | None = None
    title_tokens: np.ndarray | None = None
    title_genres: np.ndarray | None = None
    title_years: np.ndarray | None = None

    def vocabulary_size(self, name: str) -> int:
        """Number of ids of a looked-up feature, the out-of-vocabulary id 0 included."""
        return self.vocabularies[name].size + 1

    def transform(self, data: MovieLens, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Encodes the given rows as model inputs.

        Args:
            data: the table.
            rows: [n] row indices.

        Returns:
            Feature name -> [n] array: int64 ids for embeddings (0 = unseen), float32
            for ``timestamp_normalized``, and ``candidate`` (the row of the rated
            title in ``candidate_titles``), which the movie tower reads.
        """
        ratings = data.ratings
        config = self.config
        features = {
            "user_id": _lookup(self.vocabularies["user_id"], ratings["user_id"][rows]),
            "candidate": data.title_codes[rows],
        }
        timestamps = ratings["timestamp"][rows]
        if config.timestamp:
            # Keras Discretization: bucket = number of boundaries <= value.
            features["timestamp_bucket"] = np.searchsorted(
                self.timestamp_boundaries, timestamps, side="right").astype(np.int64)
            features["timestamp_normalized"] = (
                (timestamps - self.timestamp_mean) / self.timestamp_std).astype(np.float32)
        if config.time_of_day_week:
            features["hour_of_day"] = (timestamps // _SECONDS_PER_HOUR % 24).astype(np.int64)
            # 1970-01-01 was a Thursday; shift so Monday is 0.
            features["day_of_week"] = ((timestamps // _SECONDS_PER_DAY + 3) % 7).astype(
                np.int64)
        if config.user_profile:
            for name, values in self._profile_columns(ratings, rows).items():
                features[name] = _lookup(self.vocabularies[name], values)
        return features

    def _profile_columns(self, ratings: dict[str, np.ndarray], rows) -> dict[str, np.ndarray]:
        return {
            "user_age": ratings["bucketized_user_age"][rows].astype(np.int64).astype(str),
            "user_gender": np.where(ratings["user_gender"][rows], "M", "F"),
            "user_occupation": ratings["user_occupation_text"][rows],
            "user_zip_prefix": np.array([z[: self.config.zip_prefix]
                                         for z in ratings["user_zip_code"][rows]]),
        }


def fit_features(config: FeatureConfig, data: MovieLens, rows: np.ndarray,
                 fit_on: str = "train") -> FittedFeatures:
    """Learns preprocessing state from ``rows`` (the training split, or all rows).

    Args:
        config: which features to prepare.
        data: the table.
        rows: [n_fit] row indices to learn vocabularies, buckets and normalisation from.
        fit_on: recorded label of what ``rows`` are: "train" or "all".

    Returns:
        The fitted state; the candidate set is always the whole catalogue.
    """
    if fit_on not in FIT_ON:
        raise ValueError(f"fit_on must be one of {FIT_ON}, got {fit_on!r}")
    ratings = data.ratings
    fitted = FittedFeatures(config=config, fit_on=fit_on)
    fitted.vocabularies["user_id"] = np.unique(ratings["user_id"][rows])
    fitted.candidate_titles = data.candidate_titles
    if config.title_text:
        # The word vocabulary comes from titles rated in the fit rows only; a title first
        # rated later is still tokenised with it (its words are known from the catalogue).
        fit_titles = data.candidate_titles[np.unique(data.title_codes[rows])]
        fitted.title_tokens = tokenize_titles(tuple(fit_titles), tuple(data.candidate_titles),
                                              config.max_tokens)
    if config.genres:
        fitted.title_genres = genres_of_titles(data, fitted.candidate_titles)
    if config.release_year:
        fitted.title_years = release_years(fitted.candidate_titles)
    if config.timestamp:
        timestamps = ratings["timestamp"][rows].astype(np.float64)
        fitted.timestamp_boundaries = np.linspace(timestamps.min(), timestamps.max(),
                                                  num=config.timestamp_buckets)
        fitted.timestamp_mean = float(timestamps.mean())
        fitted.timestamp_std = float(timestamps.std()) or 1.0
    if config.user_profile:
        for name, values in fitted._profile_columns(ratings, rows).items():
            fitted.vocabularies[name] = np.unique(values)
    return fitted


__all__ = ["CONFIGS", "DEFAULT_CONFIGS", "FIT_ON", "FeatureConfig", "FittedFeatures",
           "fit_features", "for_dataset", "get_config", "missing_features"]
