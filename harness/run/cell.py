"""One benchmark cell: (data, split, configuration, seed, options) -> a result record."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from harness.data.sources import MovieLens
from harness.data.splitdata import split_data, validation_split
from harness.errors import UserError
from harness.evaluation.keys import DEFAULT_KS, accuracy_key
from harness.evaluation.metrics import (
    metrics_from_ranks,
    popularity_ranks,
    popularity_scores,
    true_candidate_ranks,
)
from harness.evaluation.retrieval import embed, retrieve_top_k
from harness.evaluation.segments import (
    ALL,
    DEFAULT_EVALUATION,
    EXCLUDE_SEEN,
    RANKINGS,
    Evaluation,
    History,
    segment_masks,
    segment_metrics,
)
from harness.model.ease import ease_ranks, fit_ease, select_l2
from harness.model.features import (
    FeatureConfig,
    FittedFeatures,
    fit_features,
    for_dataset,
    get_config,
)
from harness.model.training import TrainedModel, TrainOptions, train
from harness.run.records import current_suite_version, environment, utc_now
from harness.run.schema import BASELINES, POPULARITY, TUTORIAL, Cell, CellResult
from splits import Split

INTERACTIONS_PER_USER = 50  # of a scaling point's synthetic table


@dataclass
class PreparedCell:
    """A cell's split, diagnostics and encoded features, ready to train.

    Attributes:
        name: "split/config/seed" for messages.
        split: train/test row indices.
        leakage: the split's diagnostics.
        fitted: preprocessing fitted on ``options.fit_on`` rows.
        train_features, test_features: encoded rows (``FittedFeatures.transform``).
        train_rows: the rows trained on: the training split, less the validation slice
            when the options stop early.
        validation_features: the validation slice's encoded rows (early stopping only).
        protocol: how ``options`` were chosen (``schema.PROTOCOLS``).
        tuning: under the tuned protocol, what the tuning chose and measured
            (:meth:`harness.run.tuned.TunedCell.provenance`), recorded with the result.
        evaluation: the ranking of the headline metrics and the segments' bands.
        history: the split's training side by user and item (segments, ``exclude_seen``).
    """

    data: MovieLens
    split_name: str
    config: FeatureConfig
    seed: int
    options: TrainOptions
    name: str
    split: Split
    leakage: dict[str, float]
    fitted: FittedFeatures
    train_features: dict[str, np.ndarray]
    test_features: dict[str, np.ndarray]
    train_rows: np.ndarray
    validation_features: dict[str, np.ndarray] | None = None
    protocol: str = TUTORIAL
    tuning: dict | None = None
    evaluation: Evaluation = DEFAULT_EVALUATION
    history: History | None = None


def split_history(data: MovieLens, split: Split) -> History:
    """The training side of ``split`` by user and by candidate title."""
    users = data.user_codes
    return History.of(users[split.train], data.title_codes[split.train],
                      num_users=int(users.max()) + 1, num_items=data.candidate_titles.size)


def prepare_cell(data: MovieLens, split_name: str, config_name: str, seed: int,
                 options: TrainOptions, protocol: str = TUTORIAL,
                 tuning: dict | None = None, evaluation: Evaluation = DEFAULT_EVALUATION
                 ) -> PreparedCell:
    """Splits, diagnoses and encodes; no TensorFlow training yet.

    Raises:
        UnknownNameError: unknown split or configuration (lists the valid names).
        SplitError: the split leaves an empty side.
        UserError: the dataset lacks a feature the configuration needs.
    """
    config = for_dataset(get_config(config_name), data)
    if options.embedding_dim is not None:
        config = replace(config, embedding_dim=options.embedding_dim)
    split, leakage = split_data(data, split_name, seed, options.test_fraction)
    train_rows, validation_rows = split.train, None
    if options.patience is not None:  # early stopping: train on the rest of the split
        validation = validation_split(data, split_name, split, seed,
                                      options.validation_fraction)
        train_rows, validation_rows = validation.train, validation.test
    fit_rows = train_rows if options.fit_on == "train" else np.arange(data.num_ratings)
    fitted = fit_features(config, data, fit_rows, options.fit_on)
    return PreparedCell(
        data=data, split_name=split_name, config=config, seed=seed, options=options,
        name=f"{split_name}/{config_name}/seed{seed}", split=split, leakage=leakage,
        fitted=fitted, train_features=fitted.transform(data, train_rows),
        test_features=fitted.transform(data, split.test), train_rows=train_rows,
        validation_features=(None if validation_rows is None
                             else fitted.transform(data, validation_rows)),
        protocol=protocol, tuning=tuning, evaluation=evaluation,
        history=split_history(data, split),
    )


VALIDATION_METRIC = accuracy_key(100, "validation")  # what early stopping maximises


def validation_score(cell: PreparedCell, model) -> float:
    """Top-100 accuracy of the validation slice under ``model``: exact ranks, as for test."""
    features = cell.validation_features
    queries = embed(model.query_tower, features, cell.options.eval_batch_size)
    ranks = true_candidate_ranks(queries, model.candidate_tower.catalogue(),
                                 features["candidate"], 100)
    return float(np.mean(ranks < 100))


def fit_cell(cell: PreparedCell, strategy=None,
             validate: Callable[[object], float] | None = None) -> TrainedModel:
    """Trains the cell's model (the part the training benchmark times; with early
    stopping that includes scoring the validation slice after every epoch, by
    ``validate``: model -> score, :func:`validation_score` unless given)."""
    if validate is None and cell.validation_features is not None:
        validate = functools.partial(validation_score, cell)
    return train(cell.fitted, cell.train_features, cell.options, cell.seed, cell.name,
                 strategy=strategy, validate=validate)


def candidate_embeddings(cell: PreparedCell, trained: TrainedModel):
    """[num_candidates, dim] embeddings of the whole catalogue."""
    return trained.model.candidate_tower.catalogue()


def infer_top_k(cell: PreparedCell, trained: TrainedModel, k: int = 100) -> np.ndarray:
    """The inference workload: exact top-k over the catalogue for every test query.

    Returns:
        [n_test, k] candidate rows.
    """
    queries = embed(trained.model.query_tower, cell.test_features,
                    cell.options.eval_batch_size)
    return retrieve_top_k(queries, candidate_embeddings(cell, trained), k,
                          cell.options.eval_batch_size)


def score_segments(evaluation: Evaluation, history: History, users: np.ndarray,
                  true_rows: np.ndarray, rank, headline: np.ndarray, headline_seconds: float,
                  ks=DEFAULT_KS) -> tuple[dict[str, float], dict[str, float]]:
    """Every ranking's test metrics per segment, from the headline ranking's ranks and
    the other ranking's, computed here.

    Args:
        evaluation: the headline ranking and the bands.
        history: the split's training side.
        users, true_rows: [n] each test interaction's user and true candidate.
        rank: ranking name -> [n] ranks under that ranking.
        headline, headline_seconds: the headline ranking's ranks and what they took.

    Returns:
        (metrics, timings): :func:`segment_metrics`, and ``rank_seconds_<ranking>`` of
        each ranking (measured side by side: the cost of leaving the seen titles out).
    """
    ranks = {evaluation.ranking: headline}
    timings = {f"rank_seconds_{evaluation.ranking}": headline_seconds}
    for ranking in RANKINGS:
        if ranking not in ranks:
            start = time.perf_counter()
            ranks[ranking] = rank(ranking)
            timings[f"rank_seconds_{ranking}"] = time.perf_counter() - start
    masks = segment_masks(history, users, true_rows, evaluation.bands)
    return segment_metrics(ranks, masks, ks), timings


def evaluate_cell(cell: PreparedCell, trained: TrainedModel, ks=DEFAULT_KS,
                  prefixes: tuple[str, ...] = ("test", "train")
                  ) -> tuple[dict[str, float], dict[str, float]]:
    """Exact metrics on the test and (unless ``prefixes`` leaves it out) training split.

    The test side is ranked by the cell's headline ranking (``test/*``) and, per
    segment, by every ranking (:func:`score_segments`).

    Returns:
        (metrics, timings): timings hold ``eval_seconds`` and ``queries_per_second`` of
        the test evaluation: embedding the catalogue and the test queries, scoring,
        ranking by the headline ranking and every headline metric; and each ranking's
        ``rank_seconds_<ranking>``.
    """
    users = cell.data.user_codes
    metrics: dict[str, float] = {}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    candidates = candidate_embeddings(cell, trained)  # once, for every side
    catalogue_seconds = time.perf_counter() - start
    sides = {"test": (cell.test_features, cell.split.test),
             "train": (cell.train_features, cell.train_rows)}

    def ranks_of(queries, rows, true_rows, ranking: str) -> np.ndarray:
        seen = None
        if ranking == EXCLUDE_SEEN:
            seen = (*cell.history.seen_bounds(users[rows]), cell.history.items)
        return true_candidate_ranks(queries, candidates, true_rows, max(ks), seen)

    for prefix in prefixes:
        features, rows = sides[prefix]
        true_rows = features["candidate"]
        start = time.perf_counter()
        queries = embed(trained.model.query_tower, features, cell.options.eval_batch_size)
        rank = functools.partial(ranks_of, queries, rows, true_rows)
        if prefix != "test":
            metrics.update(metrics_from_ranks(rank(ALL), users[rows], prefix, ks))
            continue
        rank_start = time.perf_counter()
        ranks = rank(cell.evaluation.ranking)
        rank_seconds = time.perf_counter() - rank_start
        metrics.update(metrics_from_ranks(ranks, users[rows], prefix, ks))
        timings["eval_seconds"] = catalogue_seconds + time.perf_counter() - start
        timings["queries_per_second"] = len(rows) / timings["eval_seconds"]
        by_segment, rank_timings = score_segments(cell.evaluation, cell.history, users[rows],
                                                  true_rows, rank, ranks, rank_seconds, ks)
        metrics.update(by_segment)
        timings.update(rank_timings)
    return metrics, timings


def check_exclusion(data: MovieLens, split_names, seeds, test_fraction: float) -> None:
    """Refuses ``exclude_seen`` as the headline ranking on a split with cold test users.

    A user without training interactions has nothing to leave out, so a headline
    number over such a split would mix the two rankings. Their segment (``user_cold``)
    is reported under both rankings either way, and ``temporal_warm`` is the global cut
    without them.

    Raises:
        UserError: one line naming the first such split and seed.
    """
    from splits import SPLITS

    for name in split_names:
        for seed in seeds if SPLITS[name].seeded else seeds[:1]:
            _, leakage = split_data(data, name, seed, test_fraction)
            cold = leakage["test_users_unseen"]
            if cold:
                raise UserError(
                    f"--exclude-seen: split {name} (seed {seed}) has {cold:.0f} test users "
                    f"without training interactions, who have nothing to leave out; leave "
                    f"it out of --splits (temporal_warm is the global cut without them), or "
                    f"drop --exclude-seen: every cell reports both rankings per segment")


def _provenance(data: MovieLens, config: dict, options: TrainOptions, seed: int,
                split_name: str, env: dict | None, evaluation: Evaluation) -> dict:
    return {
        "config": config, "split": split_name, "seed": seed, "fit_on": options.fit_on,
        "epochs": options.epochs, "options": options.to_dict(), **evaluation.to_dict(),
        "dataset": data.dataset, "data_source": data.source, "data_sha256": data.sha256,
        **(environment() if env is None else env), "utc_time": utc_now(),
        "suite_version": current_suite_version(),
    }


def _cell_provenance(cell: PreparedCell, env: dict | None) -> dict:
    provenance = _provenance(cell.data, cell.config.to_dict(), cell.options, cell.seed,
                             cell.split_name, env, cell.evaluation)
    return {**provenance, "protocol": cell.protocol,
            **({"tuning": cell.tuning} if cell.tuning is not None else {})}


def _cell(cell: PreparedCell) -> Cell:
    return Cell(cell.split_name, cell.config.name, cell.options.fit_on, cell.seed,
                cell.protocol)


def _sizes(cell: PreparedCell) -> dict[str, float]:
    fitted = cell.fitted
    return {"n_train": float(cell.train_rows.size), "n_test": float(cell.split.test.size),
            "n_candidates": float(fitted.candidate_titles.size),
            "n_users_vocabulary": float(fitted.vocabularies["user_id"].size)}


def result_of(cell: PreparedCell, trained: TrainedModel, metrics: dict[str, float],
              timings: dict[str, float], env: dict | None = None) -> CellResult:
    """Assembles the record of a trained and evaluated cell."""
    if trained.best_epoch is not None:
        metrics = {**metrics, VALIDATION_METRIC: trained.validation_scores[trained.best_epoch - 1]}
    return CellResult(
        cell=_cell(cell), epochs=cell.options.epochs, metrics=metrics,
        examples_per_second=trained.examples_per_second,
        queries_per_second=timings.get("queries_per_second"),
        timings={"train_seconds": trained.seconds,
                 "examples_per_second": trained.examples_per_second, **timings},
        sizes={**_sizes(cell), "epoch_losses": trained.losses,
               **({"epoch_validation_scores": trained.validation_scores,
                   "best_epoch": trained.best_epoch} if trained.best_epoch else {})},
        leakage=cell.leakage,
        provenance=_cell_provenance(cell, env),
    )


def failed_result(cell: PreparedCell, error: BaseException, env: dict | None = None
                  ) -> CellResult:
    """The record of a cell whose training raised: status "failed" and the error."""
    return CellResult(
        cell=_cell(cell), status="failed", epochs=cell.options.epochs,
        error=f"{type(error).__name__}: {error}", sizes=_sizes(cell), leakage=cell.leakage,
        provenance=_cell_provenance(cell, env),
    )


def run_cell(data: MovieLens, split_name: str, config_name: str, seed: int,
             options: TrainOptions | None = None, env: dict | None = None,
             strategy=None, evaluation: Evaluation = DEFAULT_EVALUATION) -> CellResult:
    """Runs one cell end to end: split, preprocess, train, evaluate, record.

    Args:
        data: the table.
        split_name: a registered split.
        config_name: a registered feature configuration, or a baseline ("popularity",
            "ease") for the
            non-learned baseline.
        seed: sets initialisation, shuffling and, for seeded splits, the split.
        options: hyperparameters (defaults: the tutorial's).
        env: ``records.environment()``, to compute it once per run.
        strategy: optional ``tf.distribute.Strategy`` for training.
        evaluation: the headline ranking and the segments' bands.

    Raises:
        UnknownNameError, SplitError, UserError: bad input.
        TrainingError: the loss became NaN or infinite.
    """
    options = options or TrainOptions()
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    if config_name in BASELINES:
        return run_baseline(data, config_name, split_name, seed, options, env, evaluation)
    cell = prepare_cell(data, split_name, config_name, seed, options, evaluation=evaluation)
    trained = fit_cell(cell, strategy)
    metrics, timings = evaluate_cell(cell, trained)
    return result_of(cell, trained, metrics, timings, env)


@dataclass
class BaselineCell:
    """A non-learned reference on one split: popularity or EASE^R.

    Attributes:
        name: "popularity" or "ease".
        split, leakage: as for a two-tower cell.
        rank: (rating rows, left-out (query, title) pairs or None) -> [n] rank of each
            row's title among the catalogue, by the rule for scorers that tie (ties
            count against the true candidate).
        chosen: what was chosen on the validation slice (EASE's ``l2`` and its
            validation top-100 accuracy); empty for popularity.
        evaluation, history: as for a two-tower cell.
    """

    data: MovieLens
    name: str
    split_name: str
    seed: int
    options: TrainOptions
    split: Split
    leakage: dict[str, float]
    rank: Callable[[np.ndarray, object], np.ndarray]
    chosen: dict[str, float]
    evaluation: Evaluation
    history: History

    def left_out(self, rows: np.ndarray, ranking: str):
        """What ``ranking`` leaves out of the queries ``rows``: their users' other
        training titles under ``exclude_seen``, None under ``all``."""
        if ranking != EXCLUDE_SEEN:
            return None
        return self.history.seen_pairs(self.data.user_codes[rows], self.data.title_codes[rows])


def prepare_baseline(data: MovieLens, name: str, split_name: str, seed: int,
                     options: TrainOptions, evaluation: Evaluation = DEFAULT_EVALUATION
                     ) -> BaselineCell:
    """Splits and fits a baseline on the training side (EASE's L2 weight chosen on the
    split's own validation slice: test rows choose nothing).

    Raises:
        UserError: an unknown baseline.
    """
    if name not in BASELINES:
        raise UserError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}")
    split, leakage = split_data(data, split_name, seed, options.test_fraction)
    candidate, users = data.title_codes, data.user_codes
    num_items = data.candidate_titles.size
    if name == POPULARITY:
        scores = popularity_scores(candidate[split.train], num_items)
        rank, chosen = (lambda rows, seen: popularity_ranks(scores, candidate[rows], seen)), {}
    else:
        validation = validation_split(data, split_name, split, seed)
        num_users = int(users.max()) + 1
        l2, by_l2 = select_l2(users[validation.train], candidate[validation.train],
                              users[validation.test], candidate[validation.test],
                              num_users=num_users, num_items=num_items)
        model = fit_ease(users[split.train], candidate[split.train], num_users=num_users,
                         num_items=num_items, l2=l2)
        key = accuracy_key(100, "validation")
        rank = lambda rows, seen: ease_ranks(  # noqa: E731
            model, users[rows], candidate[rows], seen=seen)
        chosen = {"l2": l2, key: by_l2[l2][key]}
    return BaselineCell(data=data, name=name, split_name=split_name, seed=seed,
                        options=options, split=split, leakage=leakage, rank=rank,
                        chosen=chosen, evaluation=evaluation,
                        history=split_history(data, split))


def baseline_result(cell: BaselineCell, env: dict | None = None) -> CellResult:
    """Scores a baseline's ranking with the same metrics as the two-tower models."""
    users, titles = cell.data.user_codes, cell.data.title_codes
    rows = cell.split.test

    def rank(ranking: str) -> np.ndarray:
        return cell.rank(rows, cell.left_out(rows, ranking))

    start = time.perf_counter()
    ranks = rank(cell.evaluation.ranking)
    rank_seconds = time.perf_counter() - start
    metrics = metrics_from_ranks(ranks, users[rows], "test")
    timings = {"eval_seconds": time.perf_counter() - start}
    timings["queries_per_second"] = rows.size / timings["eval_seconds"]
    by_segment, rank_timings = score_segments(cell.evaluation, cell.history, users[rows],
                                              titles[rows], rank, ranks, rank_seconds)
    metrics.update(by_segment)
    timings.update(rank_timings)
    train_rows = cell.split.train
    metrics.update(metrics_from_ranks(cell.rank(train_rows, None), users[train_rows], "train"))
    return CellResult(
        cell=Cell(cell.split_name, cell.name, "train", cell.seed), model=cell.name,
        epochs=cell.options.epochs, metrics=metrics,
        queries_per_second=timings["queries_per_second"], timings=timings,
        leakage=cell.leakage,
        sizes={"n_train": float(cell.split.train.size), "n_test": float(cell.split.test.size),
               "n_candidates": float(cell.data.candidate_titles.size)},
        provenance=_provenance(cell.data, {"name": cell.name, **cell.chosen}, cell.options,
                               cell.seed, cell.split_name, env, cell.evaluation),
    )


def run_baseline(data: MovieLens, name: str, split_name: str, seed: int,
                 options: TrainOptions, env: dict | None = None,
                 evaluation: Evaluation = DEFAULT_EVALUATION) -> CellResult:
    """A non-learned baseline end to end, scored by the same ranking rule."""
    return baseline_result(prepare_baseline(data, name, split_name, seed, options,
                                            evaluation), env)


def prepare_scaling_cell(n_interactions: int, n_items: int, seed: int = 0,
                         config: str = "baseline", epochs: int = 1) -> PreparedCell:
    """A scaling point: a synthetic table of the given size, split at random and encoded.

    Users grow with interactions (one per ``INTERACTIONS_PER_USER``, at least 100), so a
    user's history keeps its length as the table grows.
    """
    from harness.data.synthetic import synthetic_movielens

    data = synthetic_movielens(
        np.random.default_rng(seed), n_interactions=n_interactions, n_items=n_items,
        n_users=max(100, n_interactions // INTERACTIONS_PER_USER))
    return prepare_cell(data, "random", config, seed, TrainOptions(epochs=epochs))
