"""Training a two-tower model: options, the tf.data pipeline and the fit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from harness.errors import TrainingError
from harness.model.causal import HISTORY
from harness.model.features import FittedFeatures
from harness.model.towers import TwoTowerModel, build_model
from harness.tfcompat import keras, tf
from splits import TEST_FRACTION, VALIDATION_FRACTION


@dataclass(frozen=True)
class TrainOptions:
    """Hyperparameters; the defaults are the TFRS tutorial's.

    Attributes:
        epochs: passes over the training split (with ``patience``: at most this many).
        batch_size: in-batch softmax size (also the number of negatives + 1).
        learning_rate: Adagrad learning rate.
        test_fraction: fraction of interactions a split sends to test.
        fit_on: "train" fits preprocessing on the training split; "all" on every row,
            test included (the tutorial's protocol, which leaks).
        eval_batch_size: queries embedded and scored at once during evaluation (bounds
            memory at eval_batch_size x catalogue scores).
        embedding_dim: the size of every embedding table; None keeps the
            configuration's (32, the tutorial's).
        logq: sampling-bias correction (Yi et al., RecSys 2019): each in-batch
            candidate's logit is lowered by the log of its frequency among the training
            rows, through ``tfrs.tasks.Retrieval``'s ``candidate_sampling_probability``.
        remove_accidental_hits: Retrieval's ``remove_accidental_hits`` with the
            candidate rows as ``candidate_ids``: a batch's other copies of the true
            candidate are not counted as negatives.
        patience: early stopping. None trains ``epochs`` epochs on the whole training
            split. A number carves the split's own validation slice
            (``splits.make_validation``) out of the training side, trains on the rest,
            scores the slice's top-100 accuracy after every epoch, stops after
            ``patience`` epochs without improvement and keeps the best epoch's weights.
        validation_fraction: the validation slice's share of the training side.
    """

    epochs: int = 3
    batch_size: int = 2048
    learning_rate: float = 0.1
    test_fraction: float = TEST_FRACTION
    fit_on: str = "train"
    eval_batch_size: int = 20_000
    embedding_dim: int | None = None
    logq: bool = False
    remove_accidental_hits: bool = False
    patience: int | None = None
    validation_fraction: float = VALIDATION_FRACTION

    def __post_init__(self):
        from harness.errors import UserError
        from harness.model.features import FIT_ON

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
        if self.embedding_dim is not None and (not isinstance(self.embedding_dim, int)
                                               or self.embedding_dim < 1):
            raise UserError(f"embedding_dim must be a positive integer or None, got "
                            f"{self.embedding_dim!r}")
        if self.patience is not None and (not isinstance(self.patience, int)
                                          or self.patience < 1):
            raise UserError(f"patience must be a positive integer or None, got "
                            f"{self.patience!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise UserError(f"validation_fraction must be in (0, 1), got "
                            f"{self.validation_fraction!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def training_dataset(features: dict[str, np.ndarray], batch_size: int, seed: int
                     ) -> tf.data.Dataset:
    """Batches of encoded rows, reshuffled every epoch (seeded), prefetched.

    Used for ``tf.distribute`` training through Keras ``fit``. The features are integer
    ids and floats held as constants; the pipeline shuffles row indices and gathers each
    batch with one ``tf.gather`` per feature.
    """
    size = len(features["candidate"])
    columns = {name: tf.constant(values) for name, values in features.items()}
    return (tf.data.Dataset.range(size)
            .shuffle(size, seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size)
            .map(lambda rows: {name: tf.gather(values, rows)
                               for name, values in columns.items()})
            .prefetch(tf.data.AUTOTUNE))


def _epoch_function(model: TwoTowerModel, features: dict[str, np.ndarray], batch_size: int):
    """One compiled epoch: shuffle, then every batch's step, all inside one graph.

    The step is ``tfrs.models.Model.train_step``'s (the task loss plus regularisation,
    Adagrad), without its metric bookkeeping. Running the batch loop in the graph,
    with batches gathered from constant tensors, removes Keras ``fit``'s per-step
    Python and tf.data's per-batch hand-off, a large share of an epoch for towers this
    small (measured in docs/performance.md).

    Returns:
        A function of (seed [2] int64) -> mean loss per example of the epoch.
    """
    size = len(features["candidate"])
    columns = {name: tf.constant(values) for name, values in features.items()}
    optimizer = model.optimizer
    # Create every weight and Adagrad's accumulators now (one eager row through each
    # tower): a tf.function that creates variables on its first call is traced twice.
    first = {name: values[:1] for name, values in features.items()}
    model.query_tower(first)
    model.candidate_tower(first["candidate"], model.candidate_context(first))
    _create_optimizer_slots(optimizer, model.trainable_variables)

    @tf.function
    def epoch(seed):
        order = tf.random.experimental.stateless_shuffle(tf.range(size), seed=seed)
        total = tf.constant(0.0)
        for start in tf.range(0, size, batch_size):
            rows = order[start:start + batch_size]
            with tf.GradientTape() as tape:
                loss = model.compute_loss({name: tf.gather(values, rows)
                                           for name, values in columns.items()}, training=True)
                total_loss = loss + tf.add_n([tf.constant(0.0)] + model.losses)
            variables = model.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(total_loss, variables), variables,
                                          strict=True))
            total += loss
        return total / size

    return epoch


def _create_optimizer_slots(optimizer: keras.optimizers.legacy.Optimizer, variables) -> None:
    """Creates the optimizer's accumulators for ``variables`` outside any tf.function.

    The legacy optimizers have no public ``build``; ``apply_gradients`` creates the
    slots on its first call, which inside the compiled epoch would trace it twice. This
    is the one place that reaches into Keras's private ``_create_all_weights``.
    """
    optimizer._create_all_weights(variables)


def _fit_with_keras(model, features, options: TrainOptions, seed: int) -> list[float]:
    """Keras ``fit`` for distribution strategies; returns each epoch's last batch loss."""
    history = model.fit(training_dataset(features, options.batch_size, seed),
                        epochs=options.epochs, verbose=0)
    return [float(x) for x in history.history["loss"]]


@dataclass
class TrainedModel:
    """A fitted model and what its fit cost.

    Attributes:
        model: the trained two-tower model.
        seconds: wall time of ``fit`` (graph tracing included).
        examples: training examples processed (rows × epochs).
        losses: each epoch's mean loss per example (under a distribution strategy:
            Keras's loss of the epoch's last batch).
        validation_scores: with early stopping, the validation score after each epoch.
        best_epoch: with early stopping, the 1-based epoch whose weights were kept.
    """

    model: TwoTowerModel
    seconds: float
    examples: int
    losses: list[float]
    validation_scores: list[float] = field(default_factory=list)
    best_epoch: int | None = None

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")


def adagrad(learning_rate: float) -> keras.optimizers.legacy.Adagrad:
    """Adagrad as the harness trains with it: Keras's legacy implementation.

    The same update as the tutorial's ``keras.optimizers.Adagrad`` (accumulators start
    at 0.1, ``accumulator += g**2``, ``w -= lr * g / sqrt(accumulator)``; epsilon 1e-7
    sits outside the square root instead of inside, a relative difference below 1e-6
    with accumulators >= 0.1), applied by one fused kernel per variable
    (``ResourceSparseApplyAdagradV2`` on an embedding table's deduplicated rows) instead
    of the new optimizer's six to eight ops per variable (scatter-add of the squares,
    gather, sqrt, divide, scatter-add). What that does to a step's time is measured in
    docs/performance.md.
    """
    return keras.optimizers.legacy.Adagrad(learning_rate=learning_rate)


def sampling_probability(candidates: np.ndarray, num_candidates: int) -> np.ndarray:
    """[num_candidates] float32 frequency of each candidate among the training rows: the
    in-batch softmax samples negatives in this proportion (logQ correction). A candidate
    never trained on is never in a batch; it gets the floor of one occurrence."""
    counts = np.bincount(candidates, minlength=num_candidates).astype(np.float64)
    return (np.maximum(counts, 1.0) / max(len(candidates), 1)).astype(np.float32)


def train(fitted: FittedFeatures, features: dict[str, np.ndarray], options: TrainOptions,
          seed: int, cell: str = "cell", strategy: tf.distribute.Strategy | None = None,
          validate: Callable[[TwoTowerModel], float] | None = None) -> TrainedModel:
    """Builds and fits a model on the encoded training rows.

    Args:
        fitted: fitted preprocessing (sizes of vocabularies and tables).
        features: encoded training rows (``FittedFeatures.transform``).
        options: hyperparameters.
        seed: initialisation and shuffling seed.
        cell: name used in error messages.
        strategy: optional ``tf.distribute.Strategy``. With more than one replica the
            model is built in its scope and Keras ``fit`` splits each batch over the
            replicas; otherwise the single-device compiled epoch loop runs.
        validate: with ``options.patience``, model -> validation score (higher is
            better), called after every epoch.

    Raises:
        TrainingError: the loss became NaN or infinite.
        ValueError: early stopping asked for without ``validate``, or under a strategy.
    """
    distributed = strategy is not None and strategy.num_replicas_in_sync > 1
    if options.patience is not None and (validate is None or distributed):
        raise ValueError("early stopping needs a validate function and one device")
    strategy = strategy or tf.distribute.get_strategy()
    probability = None
    if options.logq:
        probability = sampling_probability(features["candidate"], fitted.candidate_titles.size)
    with strategy.scope():
        model = build_model(fitted, seed, sampling_probability=probability,
                            remove_accidental_hits=options.remove_accidental_hits)
        model.query_tower.zero_unseen_users(features["user_id"])
        if model.query_tower.history_embeddings is not None:
            model.query_tower.zero_unseen_history(features[HISTORY])
        model.compile(optimizer=adagrad(options.learning_rate))
    start = time.perf_counter()
    losses: list[float] = []
    scores: list[float] = []
    best_epoch, best_weights = None, None
    if distributed:
        losses = _fit_with_keras(model, features, options, seed)
    else:
        epoch = _epoch_function(model, features, options.batch_size)
        for index in range(options.epochs):
            losses.append(float(epoch(tf.constant([seed, index], tf.int64))))
            if not math.isfinite(losses[-1]):
                break
            if options.patience is not None:
                scores.append(float(validate(model)))
                if best_epoch is None or scores[-1] > scores[best_epoch - 1]:
                    best_epoch, best_weights = index + 1, model.get_weights()
                elif index + 1 - best_epoch >= options.patience:
                    break
    seconds = time.perf_counter() - start
    for index, loss in enumerate(losses):
        if not math.isfinite(loss):
            raise TrainingError(f"{cell}: loss became {loss} in epoch {index + 1}")
    if best_weights is not None:  # a tie keeps the earlier epoch
        model.set_weights(best_weights)
    return TrainedModel(model=model, seconds=seconds,
                        examples=len(features["candidate"]) * len(losses),
                        losses=losses, validation_scores=scores, best_epoch=best_epoch)
