"""What a tuning searches and how: the search space, the first trial and the settings every
study shares. No Optuna and no TensorFlow here: the tuning (:mod:`harness.run.tuning`), the
tuned file's reader (:mod:`harness.run.tuned`) and the fingerprint
(:mod:`harness.record.fingerprint`) all read these, and the reader must stay light.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from harness.errors import UserError
from harness.record.grid import DEFAULT_SEEDS
from splits import SPLITS, TEST_FRACTION, VALIDATION_FRACTION

# The search space. Adagrad's learning rate on a log scale around the tutorial's 0.1; the
# embedding size of every table; the in-batch softmax's batch (also its negatives); the
# logQ sampling-bias correction on or off. Epochs are chosen by early stopping.
LEARNING_RATE = (0.01, 1.0)
EMBEDDING_DIMS = (16, 32, 64, 128)
BATCH_SIZES = (256, 512, 1024, 2048, 4096)
LOGQ = (False, True)
TUTORIAL_PARAMS = {"learning_rate": 0.1, "embedding_dim": 32, "batch_size": 2048,
                   "logq": False}
# What a tuned cell takes from the file; everything else keeps TrainOptions' default.
PARAMS = tuple(TUTORIAL_PARAMS)


def search() -> dict:
    """The search as data: what a trial may draw, the first trial, the score, the sampler
    and the pruner. Two tunings with the same search choose among the same candidates by
    the same rule."""
    return {"metric": "validation top-100 accuracy",
            "space": {"learning_rate": {"log_uniform": list(LEARNING_RATE)},
                      "embedding_dim": list(EMBEDDING_DIMS),
                      "batch_size": list(BATCH_SIZES), "logq": list(LOGQ)},
            "first_trial": dict(TUTORIAL_PARAMS),
            "sampler": "optuna.samplers.TPESampler",
            "pruner": "optuna.pruners.MedianPruner on the running best validation score"}


def outside_space(params: dict) -> str | None:
    """Why ``params`` (:data:`PARAMS` values) are not a point of the search space, or None.

    Types are the caller's to check; this says which value lies outside.
    """
    low, high = LEARNING_RATE
    rate = params["learning_rate"]
    if not (math.isfinite(rate) and low <= rate <= high):
        return f"learning_rate {rate!r} is outside the search space [{low}, {high}]"
    for key, allowed in (("embedding_dim", EMBEDDING_DIMS), ("batch_size", BATCH_SIZES),
                         ("logq", LOGQ)):
        if params[key] not in allowed:
            return (f"{key} {params[key]!r} is outside the search space "
                    f"({', '.join(map(str, allowed))})")
    return None


@dataclass(frozen=True)
class TuneSettings:
    """The budget and rules every study shares.

    Attributes:
        trials: trials per (split, configuration), the tutorial's included; a pruned
            trial counts, as it spent budget.
        max_epochs: the most epochs a trial trains.
        patience: epochs without a better validation score before a trial stops.
        seeds: the grid's seeds 0 .. seeds - 1 that a seeded split is tuned for, each on
            its own validation slice (:func:`study_seeds`).
        sampler_seed: TPE's seed.
        startup_trials: trials TPE draws at random before it models the space (the
            tutorial's trial is one of them).
        prune_after: epochs before the median pruner may stop a trial, and trials that
            must finish before it compares.
        test_fraction, validation_fraction: as in :class:`TrainOptions`; the defaults are
            :mod:`splits`' (``TEST_FRACTION``, ``VALIDATION_FRACTION``), the grid's too.
    """

    trials: int = 16
    max_epochs: int = 20
    patience: int = 3
    seeds: int = DEFAULT_SEEDS
    sampler_seed: int = 0
    startup_trials: int = 6
    prune_after: int = 4
    test_fraction: float = TEST_FRACTION
    validation_fraction: float = VALIDATION_FRACTION

    def __post_init__(self):
        for name in ("trials", "max_epochs", "patience", "seeds", "startup_trials",
                     "prune_after"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UserError(f"--{name.replace('_', '-')} must be a positive integer, "
                                f"got {value!r}")
        if self.sampler_seed < 0:
            raise UserError("the sampler seed must be a non-negative integer")
        # The fractions are checked by TrainOptions (imported here, not above: reading a
        # tuned file needs this module and must not load TensorFlow).
        from harness.model.training import TrainOptions

        TrainOptions(test_fraction=self.test_fraction,
                     validation_fraction=self.validation_fraction)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), **search()}


def study_seed(split: str, seed: int) -> int | None:
    """The study that chooses for ``split`` at grid seed ``seed``: that seed's own for a
    seeded split (its rows differ by seed, and one seed's training side holds most of
    another's test rows), else None: the one study of the slice every seed shares.

    Raises:
        UnknownNameError: ``split`` is not a registered split.
    """
    return seed if SPLITS[split].seeded else None


def study_seeds(split: str, seeds: int) -> tuple[int | None, ...]:
    """Every study of ``split`` a tuning for the seeds 0 .. seeds - 1 runs."""
    return tuple(dict.fromkeys(study_seed(split, seed) for seed in range(seeds)))


def split_seed(seed: int | None) -> int:
    """The split seed a study's rows are drawn with (a shared study's: 0, which a split
    that is not seeded ignores)."""
    return 0 if seed is None else seed


def study_name(split: str, config: str, seed: int | None) -> str:
    """A study's name in the storage and its key in the tuned file."""
    return f"{split}-{config}" if seed is None else f"{split}-{config}-seed{seed}"


__all__ = ["BATCH_SIZES", "EMBEDDING_DIMS", "LEARNING_RATE", "LOGQ", "PARAMS",
           "TUTORIAL_PARAMS", "TuneSettings", "outside_space", "search", "split_seed",
           "study_name", "study_seed", "study_seeds"]
