"""The two towers as a retriever (:class:`harness.model.retriever.Retriever`): one per
feature configuration, trained by :mod:`harness.model.training` and ranked exactly by
FactorizedTopK's rule (:func:`harness.evaluation.metrics.true_candidate_ranks`).

Also the two towers' own workloads on a prepared cell: the validation score early
stopping maximises, the catalogue's embeddings and the timed exact top-k inference.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from harness.data.history import refresh_time
from harness.data.sources import MovieLens
from harness.data.splitdata import validation_split
from harness.evaluation.keys import accuracy_key
from harness.evaluation.metrics import true_candidate_ranks
from harness.evaluation.retrieval import embed, retrieve_top_k
from harness.model.causal import (
    candidate_past,
    catalogue_past,
    history_rows,
    item_index,
    past_features,
    seen_at_query_time,
)
from harness.model.features import fit_features, for_dataset, get_config
from harness.model.retriever import SIDES, FitRecord, Prepared, Ranker, Retriever
from harness.model.training import TrainedModel, TrainOptions, train
from splits import Split

VALIDATION_METRIC = accuracy_key(100, "validation")  # what early stopping maximises


def validation_score(cell, model) -> float:
    """Top-100 accuracy of the validation slice under ``model``: exact ranks, as for test."""
    features = cell.validation_features
    queries = embed(model.query_tower, features, cell.options.eval_batch_size)
    ranks = exact_ranks(cell, model, "validation", queries, features["candidate"], 100)
    return float(np.mean(ranks < 100))


def exact_ranks(cell, model, side: str, queries, true_rows, cap=None, seen=None
                ) -> np.ndarray:
    """[n] FactorizedTopK's ranks of a side's true candidates among the catalogue; for a
    candidate tower with features of the past, each query among its refresh day's
    catalogue (one catalogue embedded per day, one day at a time).

    Args:
        queries: [n, dim] the side's query embeddings; true_rows: [n] their candidates.
        cap, seen: as :func:`harness.evaluation.metrics.true_candidate_ranks`'s.
    """
    tower = model.candidate_tower
    if not tower.context_names:
        return true_candidate_ranks(queries, tower.catalogue(), true_rows, cap, seen)
    past, index = cell.config.past, _titles_past(cell, side)
    queries, true_rows = np.asarray(queries), np.asarray(true_rows)
    refresh = refresh_time(cell.data.ratings["timestamp"][cell.rows(side)])
    order = np.argsort(refresh, kind="stable")
    days, starts = np.unique(refresh[order], return_index=True)
    ranks = np.empty(order.size, np.int64)
    for day, start, stop in zip(days.tolist(), starts, [*starts[1:], order.size], strict=True):
        at = order[start:stop]
        day_seen = None if seen is None else (seen[0][at], seen[1][at], seen[2])
        catalogue = tower.catalogue(catalogue_past(past, index, day))
        ranks[at] = true_candidate_ranks(queries[at], catalogue, true_rows[at], cap, day_seen)
    return ranks


def _titles_past(cell, side: str):
    """The rows a side's queries read as their titles' past, grouped by title."""
    protocol = cell.config.past.history_protocol
    return item_index(cell.data, history_rows(protocol, side, cell.split, cell.train_rows))


def candidate_embeddings(cell, trained: TrainedModel):
    """[num_candidates, dim] embeddings of the whole catalogue (with features of the past:
    as of the test queries' last refresh, what a serving system would hold)."""
    tower = trained.model.candidate_tower
    if not tower.context_names:
        return tower.catalogue()
    last = int(refresh_time(cell.data.ratings["timestamp"][cell.rows("test")]).max())
    return tower.catalogue(catalogue_past(cell.config.past, _titles_past(cell, "test"), last))


def infer_top_k(cell, trained: TrainedModel, k: int = 100) -> np.ndarray:
    """The inference workload: exact top-k over the catalogue for every test query.

    Returns:
        [n_test, k] candidate rows.
    """
    queries = embed(trained.model.query_tower, cell.test_features,
                    cell.options.eval_batch_size)
    return retrieve_top_k(queries, candidate_embeddings(cell, trained), k,
                          cell.options.eval_batch_size)


class TwoTower(Retriever):
    """The query and candidate towers of the feature configuration of the same name."""

    @property
    def model(self) -> str:
        return "two_tower"

    def prepare(self, data: MovieLens, split_name: str, split: Split, seed: int,
                options: TrainOptions) -> Prepared:
        """Resolves the configuration for the dataset and the options' embedding size,
        slices the validation rows off when the options stop early, fits preprocessing
        on ``options.fit_on`` rows and encodes every side, with the features of each
        side's past where the configuration has them (:mod:`harness.model.causal`).

        Raises:
            UserError: the dataset lacks a feature the configuration needs.
        """
        config = for_dataset(get_config(self.name), data)
        if options.embedding_dim is not None:
            config = replace(config, embedding_dim=options.embedding_dim)
        train_rows, validation_rows = split.train, None
        if options.patience is not None:  # early stopping: train on the rest of the split
            validation = validation_split(data, split_name, split, seed,
                                          options.validation_fraction)
            train_rows, validation_rows = validation.train, validation.test
        fit_rows = train_rows if options.fit_on == "train" else np.arange(data.num_ratings)
        fitted = fit_features(config, data, fit_rows, options.fit_on)
        sides = {"train": train_rows, "test": split.test}
        if validation_rows is not None:
            sides["validation"] = validation_rows
        features = {side: fitted.transform(data, rows) for side, rows in sides.items()}
        if config.past is not None:  # training rows read the rows trained on only
            for side, rows in sides.items():
                past_rows = history_rows(config.past.history_protocol, side, split,
                                         train_rows)
                features[side].update(past_features(config.past, data, rows, past_rows,
                                                    (seed, SIDES.index(side))))
                if config.past.candidate_bucketed():  # the title's past, same rows
                    features[side].update(candidate_past(config.past, data, rows,
                                                         item_index(data, past_rows)))
        return Prepared(train_rows=train_rows, validation_rows=validation_rows,
                        config=config, fitted=fitted, features=features)

    def fit(self, cell, strategy=None, validate=None) -> TrainedModel:
        """Trains the towers; with early stopping, ``validate`` scores the validation
        slice after every epoch (:func:`validation_score` unless given)."""
        if validate is None and cell.validation_features is not None:
            validate = functools.partial(validation_score, cell)
        return train(cell.fitted, cell.train_features, cell.options, cell.seed, cell.name,
                     strategy=strategy, validate=validate)

    def ranker(self, cell, fitted: TrainedModel, side: str, cap: int | None = None
               ) -> Ranker:
        model = fitted.model
        # One catalogue for every query, embedded once here; with features of the past,
        # one per refresh day, embedded as each ranking needs it (exact_ranks).
        candidates = (None if model.candidate_tower.context_names
                      else candidate_embeddings(cell, fitted))
        features = cell.features(side)
        queries = embed(model.query_tower, features, cell.options.eval_batch_size)
        true_rows = features["candidate"]
        past = cell.config.past

        @functools.cache
        def seen_in_history():  # under a history protocol: the history at that moment
            rows = cell.rows(side)
            return seen_at_query_time(cell.data, rows, history_rows(
                past.history_protocol, side, cell.split, cell.train_rows))

        def rank(left_out) -> np.ndarray:
            seen = (None if left_out is None else left_out.bounds if past is None
                    else seen_in_history())
            if candidates is None:
                return exact_ranks(cell, model, side, queries, true_rows, cap, seen)
            return true_candidate_ranks(queries, candidates, true_rows, cap, seen)

        return rank

    def describe(self, cell, fitted=None) -> dict:
        return cell.config.to_dict()

    def record(self, cell, fitted: TrainedModel | None = None) -> FitRecord:
        sizes = {"n_users_vocabulary": float(cell.fitted.vocabularies["user_id"].size)}
        if fitted is None:
            return FitRecord(sizes=sizes)
        best = fitted.best_epoch
        return FitRecord(
            metrics={} if best is None else {
                VALIDATION_METRIC: fitted.validation_scores[best - 1]},
            timings={"train_seconds": fitted.seconds,
                     "examples_per_second": fitted.examples_per_second},
            sizes={**sizes, "epoch_losses": fitted.losses,
                   **({"epoch_validation_scores": fitted.validation_scores,
                       "best_epoch": best} if best else {})},
            examples_per_second=fitted.examples_per_second)


__all__ = ["VALIDATION_METRIC", "TwoTower", "candidate_embeddings", "exact_ranks",
           "infer_top_k", "validation_score"]
