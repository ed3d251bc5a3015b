"""Training a two-tower model: options, the tf.data pipeline and the fit."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from harness.errors import TrainingError
from harness.features import FittedFeatures
from harness.models import TwoTowerModel, build_model
from harness.tfcompat import keras, tf


@dataclass(frozen=True)
class TrainOptions:
    """Hyperparameters; the defaults are the TFRS tutorial's.

    Attributes:
        epochs: passes over the training split.
        batch_size: in-batch softmax size (also the number of negatives + 1).
        learning_rate: Adagrad learning rate.
        test_fraction: fraction of interactions a split sends to test.
        fit_on: "train" fits preprocessing on the training split; "all" on every row,
            test included (the tutorial's protocol, which leaks).
        eval_batch_size: queries scored at once during evaluation.
    """

    epochs: int = 3
    batch_size: int = 2048
    learning_rate: float = 0.1
    test_fraction: float = 0.2
    fit_on: str = "train"
    eval_batch_size: int = 4096

    def __post_init__(self):
        from harness.errors import UserError
        from harness.features import FIT_ON

        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise UserError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise UserError(f"batch_size must be an integer >= 2, got {self.batch_size!r}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0
                and math.isfinite(self.learning_rate)):
            raise UserError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not 0.0 < self.test_fraction < 1.0:
            raise UserError(f"test_fraction must be in (0, 1), got {self.test_fraction!r}")
        if self.fit_on not in FIT_ON:
            raise UserError(f"fit_on must be one of {', '.join(FIT_ON)}, got {self.fit_on!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class _StopOnNonFinite(keras.callbacks.Callback):
    def __init__(self, cell: str):
        super().__init__()
        self.cell = cell

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise TrainingError(f"{self.cell}: loss became {loss} in epoch {epoch + 1}")


def training_dataset(features: dict[str, np.ndarray], batch_size: int, seed: int
                     ) -> tf.data.Dataset:
    """Batches of encoded rows, reshuffled every epoch (seeded), prefetched.

    The features are already integer ids and floats held as constants; the pipeline
    shuffles row indices (cheap scalars) and gathers each batch with one vectorised
    ``tf.gather`` per feature. Shuffling the feature dicts element by element instead
    cost about four times as much CPU, which on two cores competes with training.
    """
    size = len(features["candidate"])
    columns = {name: tf.constant(values) for name, values in features.items()}
    return (tf.data.Dataset.range(size)
            .shuffle(size, seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size)
            .map(lambda rows: {name: tf.gather(values, rows)
                               for name, values in columns.items()})
            .prefetch(tf.data.AUTOTUNE))


@dataclass
class TrainedModel:
    """A fitted model and what its fit cost.

    Attributes:
        model: the trained two-tower model.
        seconds: wall time of ``fit`` (graph tracing included).
        examples: training examples processed (rows × epochs).
        losses: mean loss of each epoch.
    """

    model: TwoTowerModel
    seconds: float
    examples: int
    losses: list[float]

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")


def train(fitted: FittedFeatures, features: dict[str, np.ndarray], options: TrainOptions,
          seed: int, cell: str = "cell", strategy: tf.distribute.Strategy | None = None
          ) -> TrainedModel:
    """Builds and fits a model on the encoded training rows.

    Args:
        fitted: fitted preprocessing (sizes of vocabularies and tables).
        features: encoded training rows (``FittedFeatures.transform``).
        options: hyperparameters.
        seed: initialisation and shuffling seed.
        cell: name used in error messages.
        strategy: optional ``tf.distribute.Strategy``; the model is built in its scope
            and Keras distributes each batch over its replicas.

    Raises:
        TrainingError: the loss became NaN or infinite.
    """
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_model(fitted, seed)
        model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=options.learning_rate))
    dataset = training_dataset(features, options.batch_size, seed)
    start = time.perf_counter()
    history = model.fit(dataset, epochs=options.epochs, verbose=0,
                        callbacks=[_StopOnNonFinite(cell)])
    seconds = time.perf_counter() - start
    return TrainedModel(model=model, seconds=seconds,
                        examples=len(features["candidate"]) * options.epochs,
                        losses=[float(x) for x in history.history["loss"]])
