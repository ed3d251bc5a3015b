"""A cell's first stage: split the table, diagnose the split and let the cell's retriever
prepare its inputs (:meth:`harness.model.retriever.Retriever.prepare`); nothing trained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from harness.data.sources import MovieLens
from harness.data.splitdata import split_data
from harness.errors import UserError
from harness.evaluation.segments import DEFAULT_EVALUATION, Evaluation, History
from harness.model.features import FeatureConfig, FittedFeatures
from harness.model.registry import make_retriever
from harness.model.retriever import Retriever
from harness.model.training import TrainOptions
from harness.record.cell import FIXED_OPTIONS, TUNED, TUTORIAL, Cell
from splits import Split

if TYPE_CHECKING:
    from harness.run.tuned import Tuned

INTERACTIONS_PER_USER = 50  # of a scaling point's synthetic table


@dataclass
class PreparedCell:
    """A cell's split, diagnostics and its retriever's inputs, ready to fit.

    Attributes:
        retriever: the registered retriever the cell runs (its name is the cell's config).
        name: "split/config/seed" for messages.
        split: train/test row indices.
        leakage: the split's diagnostics.
        train_rows: the rows fitted on: the training split, less the validation slice when
            the options stop early.
        validation_rows: that validation slice, or None.
        config: the feature configuration (None for a retriever that reads ids only).
        fitted: preprocessing fitted on ``options.fit_on`` rows (None likewise).
        train_features, test_features, validation_features: encoded rows
            (``FittedFeatures.transform``; None for a retriever that reads ids only, and
            the validation slice's only when the options stop early).
        protocol: how ``options`` were chosen (``schema.PROTOCOLS``).
        tuning: under the tuned protocol, what the tuning chose and measured
            (:meth:`harness.run.tuned.TunedCell.provenance`), recorded with the result.
        evaluation: the ranking of the headline metrics and the segments' bands.
        history: the split's training side by user and item (segments, ``exclude_seen``).
    """

    data: MovieLens
    split_name: str
    retriever: Retriever
    seed: int
    options: TrainOptions
    name: str
    split: Split
    leakage: dict[str, float]
    train_rows: np.ndarray
    history: History
    validation_rows: np.ndarray | None = None
    config: FeatureConfig | None = None
    fitted: FittedFeatures | None = None
    train_features: dict[str, np.ndarray] | None = None
    test_features: dict[str, np.ndarray] | None = None
    validation_features: dict[str, np.ndarray] | None = None
    protocol: str = TUTORIAL
    tuning: dict | None = None
    evaluation: Evaluation = DEFAULT_EVALUATION

    def rows(self, side: str) -> np.ndarray | None:
        """The rows of a side (``retriever.SIDES``)."""
        return {"test": self.split.test, "train": self.train_rows,
                "validation": self.validation_rows}[side]

    def features(self, side: str) -> dict[str, np.ndarray] | None:
        """The encoded rows of a side (``retriever.SIDES``)."""
        return {"test": self.test_features, "train": self.train_features,
                "validation": self.validation_features}[side]


def split_history(data: MovieLens, split: Split) -> History:
    """The training side of ``split`` by user and by candidate title."""
    users = data.user_codes
    return History.of(users[split.train], data.title_codes[split.train],
                      num_users=int(users.max()) + 1, num_items=data.candidate_titles.size)


def prepare_cell(data: MovieLens, split_name: str, config_name: str, seed: int,
                 options: TrainOptions, protocol: str = TUTORIAL,
                 tuning: dict | None = None, evaluation: Evaluation = DEFAULT_EVALUATION
                 ) -> PreparedCell:
    """Splits, diagnoses and prepares the retriever's inputs; nothing is fitted yet.

    Args:
        config_name: a registered retriever (``harness.model.retriever.RETRIEVERS``): a
            feature configuration's two towers, or a non-learned one ("popularity",
            "ease").

    Raises:
        UnknownNameError: unknown split or retriever (lists the valid names).
        SplitError: the split leaves an empty side.
        UserError: the dataset lacks a feature the configuration needs.
    """
    retriever = make_retriever(config_name)
    split, leakage = split_data(data, split_name, seed, options.test_fraction)
    prepared = retriever.prepare(data, split_name, split, seed, options)
    features = prepared.features
    return PreparedCell(
        data=data, split_name=split_name, retriever=retriever, seed=seed, options=options,
        name=f"{split_name}/{config_name}/seed{seed}", split=split, leakage=leakage,
        train_rows=prepared.train_rows, history=split_history(data, split),
        validation_rows=prepared.validation_rows, config=prepared.config,
        fitted=prepared.fitted, train_features=features.get("train"),
        test_features=features.get("test"), validation_features=features.get("validation"),
        protocol=protocol, tuning=tuning, evaluation=evaluation,
    )


def cell_options(cell: Cell, epochs: int, tuned: Tuned | None = None
                 ) -> tuple[TrainOptions, dict | None]:
    """The options a learned grid cell trains with under its protocol, and the tuning's
    provenance (None unless tuned).

    Args:
        cell: the cell; its protocol says how the options are chosen.
        epochs: the grid's epochs: the fixed budget's.
        tuned: the tuned file's choices (the tuned protocol's options).

    Returns:
        The tuned file's choice for the cell (its own study: a seeded split's per seed,
        :meth:`harness.run.tuned.Tuned.cell`); or the tutorial's
        fixed budget (``epochs``, the cell's fit_on) with what the protocol sets on top of
        it (``FIXED_OPTIONS``: the logq protocol turns the logQ correction on).
    """
    if cell.protocol == TUNED:
        choice = tuned.cell(cell.split, cell.config, cell.seed)
        return choice.options(), choice.provenance(tuned.sha256)
    return TrainOptions(epochs=epochs, fit_on=cell.fit_on, **FIXED_OPTIONS[cell.protocol]), None


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


__all__ = ["INTERACTIONS_PER_USER", "PreparedCell", "cell_options", "check_exclusion",
           "prepare_cell", "prepare_scaling_cell", "split_history"]
