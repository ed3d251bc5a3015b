"""The one interface every retriever implements.

A retriever ranks the catalogue for the queries of a split. The pipeline
(:mod:`harness.run.cell`) runs every one the same way: ``prepare`` (encode what fitting
needs), ``fit``, then ``ranker`` for each side of the split (test, train, validation),
whose ranks feed the same metrics, segments and record; ``describe`` and ``record`` say
what the record holds of it. Nothing in the pipeline branches on a retriever's name.
(TFRS's ``TopK`` and ann-benchmarks' ``BaseANN`` are the models.)

Ranks are 0-based ranks of each query's true item among the whole catalogue, less what a
``LeftOut`` takes out of that query's ranking. A retriever whose scores can tie ranks by
the rule of :func:`harness.evaluation.metrics.ranks_ties_against` (every other item
scoring at least as high outranks the true one), so a scorer that cannot tell items apart
ranks the true item last and earns nothing; the two towers rank by FactorizedTopK's rule
(ties in the true item's favour) with the same outcome for a constant scorer
(:func:`harness.evaluation.metrics.true_candidate_ranks`).

The registry of retrievers by name is :mod:`harness.model.registry`; this module is the
interface alone, so an implementation imports it without importing the registry.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from harness.data.sources import MovieLens
from harness.evaluation.segments import History
from harness.model.features import FeatureConfig, FittedFeatures
from splits import Split

if TYPE_CHECKING:  # training loads TensorFlow, which the interface must not
    from harness.model.training import TrainOptions

SIDES = ("test", "train", "validation")  # the rows of a prepared cell a ranker ranks


@dataclass(frozen=True)
class LeftOut:
    """What the ``exclude_seen`` ranking leaves out of each query's ranking: its user's
    training items other than its true item, in the form a retriever needs.

    Attributes:
        history: the split's training side.
        users, true_items: [n] each query's user and true item.
    """

    history: History
    users: np.ndarray
    true_items: np.ndarray

    @functools.cached_property
    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, stops, items): query i leaves out ``items[starts[i]:stops[i]]`` (its
        true item may be listed and stays), as ``ranking.count_higher`` takes them."""
        return (*self.history.seen_bounds(self.users), self.history.items)

    @functools.cached_property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(query, item) of every left-out item (``History.seen_pairs``)."""
        return self.history.seen_pairs(self.users, self.true_items)


@dataclass(frozen=True)
class Prepared:
    """What a retriever's :meth:`Retriever.prepare` hands to the prepared cell.

    Attributes:
        train_rows: the rows fitted on: the training split, less the validation slice of
            a retriever that stops early on it.
        validation_rows: that validation slice, or None.
        config: the feature configuration rows are encoded with (None: ids only).
        fitted: preprocessing fitted on ``options.fit_on`` rows (None: ids only).
        features: side (``SIDES``) -> its encoded rows (empty: ids only).
    """

    train_rows: np.ndarray
    validation_rows: np.ndarray | None = None
    config: FeatureConfig | None = None
    fitted: FittedFeatures | None = None
    features: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass(frozen=True)
class FitRecord:
    """What a retriever adds to its cell's record (:meth:`Retriever.record`).

    Attributes:
        metrics: added to the cell's metrics (a learned model's validation score).
        timings: put before the evaluation's (training seconds and throughput).
        sizes: after the cell's row counts (vocabularies, the losses per epoch).
        examples_per_second: training throughput, None for what is not trained.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, object] = field(default_factory=dict)
    examples_per_second: float | None = None


Ranker = Callable[[LeftOut | None], np.ndarray]
"""left_out -> [n] rank of each query's true item (``left_out`` None: every item)."""


class Retriever(ABC):
    """One registered retriever. Its methods take the prepared cell
    (:class:`harness.run.prepare.PreparedCell`: the table, the split, its rows by side,
    the options, the seed) and what :meth:`fit` returned; they keep no state of a cell.

    Attributes:
        name: its registered name (the cell's "config").
        learned: whether it is trained (under a protocol's options and fit_on) or not
            (one cell per split and seed: ``harness.record.grid.BASELINES``).
    """

    def __init__(self, entry: RetrieverEntry):
        self.name = entry.name
        self.learned = entry.learned

    @property
    def model(self) -> str:
        """What the record's ``model`` says: the retriever's own name unless a family
        (the two towers) shares one."""
        return self.name

    def prepare(self, data: MovieLens, split_name: str, split: Split, seed: int,
                options: TrainOptions) -> Prepared:
        """Encodes what fitting needs; by default nothing, and every training row is fitted.

        Raises:
            UserError: the dataset lacks something the retriever needs.
        """
        return Prepared(train_rows=split.train)

    @abstractmethod
    def fit(self, cell, strategy=None, validate: Callable[[object], float] | None = None):
        """Fits on ``cell.train_rows`` (the part the training benchmark times).

        Args:
            cell: the prepared cell.
            strategy: a ``tf.distribute.Strategy`` for a learned model, or None.
            validate: model -> validation score, for a model that stops early.

        Returns:
            The fitted state :meth:`ranker`, :meth:`describe` and :meth:`record` read.
        """

    @abstractmethod
    def ranker(self, cell, fitted, side: str, cap: int | None = None) -> Ranker:
        """The ranks of the queries of ``cell.rows(side)``, fitted as ``fitted``.

        Everything shared by the rankings of one side (query embeddings) is computed here,
        once; the returned function ranks under one ``LeftOut``.

        Args:
            side: one of ``SIDES``.
            cap: ranks at or beyond it may be reported as ``cap`` (every metric up to
                cut-off ``cap`` stays exact); None for exact ranks.
        """

    @abstractmethod
    def describe(self, cell, fitted=None) -> dict:
        """The record's ``provenance.config``: the name and every hyperparameter,
        including those chosen by fitting (``fitted`` None: before fitting)."""

    def record(self, cell, fitted=None) -> FitRecord:
        """What the cell's record adds for this retriever (``fitted`` None: before
        fitting, for a failed cell); by default nothing."""
        return FitRecord()


@dataclass(frozen=True)
class RetrieverEntry:
    """A registered retriever.

    Attributes:
        name: the name cells use (no ``-``: cell keys join names with it).
        learned: see :class:`Retriever`.
        build: entry -> its :class:`Retriever` (called by :func:`make_retriever`, so that
            a retriever needing TensorFlow loads it only when it runs).
        description: one line for listings.
        default: whether a grid that names no retrievers runs it (the history-aware
            scorers, like the causal configurations, run only when named).
        item_matrices: its peak memory in dense float64 catalogue x catalogue matrices
            (measured; 0 for a retriever whose memory does not grow with the catalogue's
            square): what :meth:`memory_need` states before a grid starts.
        solves: its cell's time in Cholesky inversions of a dense catalogue x catalogue
            matrix (measured; 0 for a retriever whose time does not grow with the
            catalogue's cube): what :meth:`time_need` states before a grid starts.
        seeded: whether its fit or ranking reads the cell's seed (True unless declared
            otherwise): one that does not, on a split that does not either, is computed
            once per grid and its record shared by the other seeds
            (:mod:`harness.run.reuse`).
    """

    name: str
    learned: bool
    build: Callable[[RetrieverEntry], Retriever]
    description: str = ""
    default: bool = True
    item_matrices: float = 0.0
    solves: float = 0.0
    seeded: bool = True

    def memory_need(self, num_items: int) -> int:
        """Bytes its item-item matrices take at its peak for a catalogue of
        ``num_items``."""
        return int(self.item_matrices * num_items**2 * 8)

    def time_need(self, num_items: int, inversion: tuple[int, float]) -> float:
        """Seconds a cell takes for a catalogue of ``num_items``, from ``inversion``: one
        timed inversion here, (its size, its seconds), scaled by the size's cube."""
        size, seconds = inversion
        return self.solves * seconds * (num_items / size) ** 3


__all__ = ["SIDES", "FitRecord", "LeftOut", "Prepared", "Ranker", "Retriever",
           "RetrieverEntry"]
