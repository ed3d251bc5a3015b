"""The budget curve: how much of a verdict is the training budget.

For a configuration on a split, one model is trained (seed 0, on the training side less
its validation slice) for a fixed number of epochs, and after every epoch its top-100
accuracy is measured on the validation slice and on test. The validation curve is what
early stopping and tuning see; the test curve is shown beside it and chooses nothing.
Both under the tutorial's hyperparameters and, when a tuned file is given, under the
tuned ones: ``python -m harness budget`` writes ``budget.json``;
:mod:`harness.report.budget` renders it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from harness.data.sources import MovieLens
from harness.model.training import TrainOptions
from harness.model.twotower import validation_score
from harness.record.files import BUDGET_FORMAT
from harness.record.provenance import current_suite_version, environment, utc_now
from harness.run.cell import fit_cell
from harness.run.prepare import PreparedCell, prepare_cell
from harness.run.progress import progress
from harness.run.tuned import Tuned


def test_score(cell: PreparedCell, model) -> float:
    """Top-100 test accuracy of ``model``, scored exactly as the validation slice is (for
    the curve only: it chooses nothing)."""
    return validation_score(dataclasses.replace(cell, validation_features=cell.test_features),
                            model)


def curve(data: MovieLens, split: str, config: str, options: TrainOptions, seed: int = 0,
          on_epoch: Callable[[], object] | None = None) -> dict:
    """Validation and test top-100 after each of ``options.epochs`` epochs.

    ``options.patience`` is set to the epoch count, so training never stops early;
    ``on_epoch`` is called after each epoch is scored (a progress bar's update).
    """
    options = dataclasses.replace(options, patience=options.epochs, fit_on="train")
    cell = prepare_cell(data, split, config, seed, options)
    validation, test = [], []

    def validate(model) -> float:
        validation.append(validation_score(cell, model))
        test.append(test_score(cell, model))
        if on_epoch is not None:
            on_epoch()
        return validation[-1]

    start = time.perf_counter()
    fit_cell(cell, validate=validate)
    best = int(np.argmax(validation))  # the first best: what early stopping keeps
    return {"split": split, "config": config, "seed": seed,
            "options": options.to_dict(), "validation": validation, "test": test,
            "best_validation_epoch": best + 1, "test_at_best_validation": test[best],
            "seconds": time.perf_counter() - start}


def budget_curves(data: MovieLens, splits: tuple[str, ...], configs: tuple[str, ...],
                  max_epochs: int, tuned: Tuned | None = None,
                  seed: int = 0) -> dict:
    """Every (split, configuration)'s curves: the ``budget.json`` document, with a
    progress bar over their epochs on stderr."""
    start = time.perf_counter()
    curves = []
    hyperparameters = 1 if tuned is None else 2  # the tutorial's, and the tuned ones
    with progress(len(splits) * len(configs) * hyperparameters * max_epochs, "budget",
                  unit="epoch") as bar:
        for split in splits:
            for config in configs:
                settings = {"tutorial": TrainOptions(epochs=max_epochs)}
                if tuned is not None:
                    settings["tuned"] = tuned.cell(split, config, seed).options(
                        epochs=max_epochs)
                for name, options in settings.items():
                    bar.set_postfix_str(f"{split}/{config} {name}", refresh=False)
                    curves.append({"hyperparameters": name, **curve(
                        data, split, config, options, seed, on_epoch=bar.update)})
    return {"format": BUDGET_FORMAT, "max_epochs": max_epochs, "seed": seed,
            "data_source": data.source, "data_sha256": data.sha256,
            "tuned_sha256": tuned.sha256 if tuned is not None else None,
            "curves": curves,
            "provenance": {**environment(), "suite_version": current_suite_version(),
                           "utc_time": utc_now(),
                           "wall_seconds": time.perf_counter() - start}}


__all__ = ["budget_curves", "curve", "test_score"]
