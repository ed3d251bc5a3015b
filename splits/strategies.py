"""The registered splits: each a split function (:mod:`splits.functions`) with what it
is (seeded, time-ordered, warm-only).

Each strategy also carves a validation slice out of a split's training side by its own
rule (:meth:`SplitStrategy.validation`, :func:`make_validation`): the same function
applied to the training rows alone, so the validation slice stands to the remaining
training rows as the test set stands to the whole training side. Test rows are never
read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splits.functions import (
    TEST_FRACTION,
    Split,
    leave_last_out_split,
    random_split,
    temporal_split,
    user_temporal_split,
)
from splits.registry import Registry, SplitError

# Mixed with the seed for the random validation draw, so that it is independent of the
# test draw: the same seed would replay the test split's random stream over the training
# rows, and a permutation of n_train rows drawn from that stream is correlated with the
# permutation of n rows that chose the test set.
VALIDATION_STREAM = 1
# The validation slice's share of the training side, unless asked otherwise.
VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class SplitStrategy:
    """A registered split.

    Attributes:
        name: registry key.
        description: one line for tables and ``--help``.
        fn: the split function.
        seeded: whether ``seed`` changes the split (only ``random``).
        uses_test_fraction: whether ``test_fraction`` changes the split.
        time_ordered: "global" when every test interaction is no earlier than every
            training one, "per_user" when that holds within each user, "none" otherwise.
        warm_of: for a warm-only split, the split whose training side it shares: its
            test set is that split's, less every interaction whose user or item has no
            training interaction (:func:`warm_only`). Its validation slice is that
            split's restricted the same way (warm against the rows left for fitting), so
            what is chosen on it is chosen for the users it is tested on.
    """

    name: str
    description: str
    fn: object
    seeded: bool
    uses_test_fraction: bool
    time_ordered: str
    warm_of: str | None = None

    def __call__(self, user_ids: np.ndarray, timestamps: np.ndarray, *,
                 test_fraction: float = TEST_FRACTION, seed: int = 0,
                 item_ids: np.ndarray | None = None) -> Split:
        """Splits the rows; ``item_ids`` ([n] item of each row) only a warm-only split
        reads, and it needs them."""
        user_ids, timestamps = _check_inputs(user_ids, timestamps, test_fraction)
        split = self.fn(user_ids, timestamps, test_fraction=test_fraction, seed=seed)
        if self.warm_of is not None:
            split = self._warm(split, user_ids, item_ids)
        if split.train.size == 0 or split.test.size == 0:
            raise SplitError(
                f"split {self.name!r} of {len(timestamps)} interactions with test_fraction="
                f"{test_fraction} leaves an empty {'train' if split.train.size == 0 else 'test'}"
                " side"
            )
        return split

    def validation(self, user_ids: np.ndarray, timestamps: np.ndarray, split: Split, *,
                   validation_fraction: float = VALIDATION_FRACTION, seed: int = 0,
                   item_ids: np.ndarray | None = None) -> Split:
        """Carves a validation slice out of ``split.train`` by this strategy's own rule.

        The split function runs on the training rows alone with ``validation_fraction``
        in the role of ``test_fraction``: ``temporal`` takes the latest training
        interactions (one global cut, ties at the cut second to validation),
        ``user_temporal`` each user's latest training interactions, ``leave_last_out``
        each user's last training interaction (a user with one training interaction
        keeps it), ``random`` a seeded uniform sample (drawn from a stream of its own,
        independent of the test draw). A warm-only split's slice is its ``warm_of``
        split's less every validation row whose user or item has no row left for
        fitting (:func:`warm_only` against the fitting rows): the same filter as its test
        set, so its hyperparameters are chosen on warm users, as it is scored. The rows
        dropped are in neither side. ``split.test`` is never read.

        Args:
            user_ids: [n] user of each interaction, the arrays ``split`` indexes.
            timestamps: [n] time of each interaction.
            split: a split of those rows; only ``split.train`` is used.
            validation_fraction: in (0, 1), the share of the training rows asked for.
            seed: as for the split (only ``random`` uses it).
            item_ids: [n] item of each interaction; only a warm-only split reads it, and
                it needs it.

        Returns:
            A :class:`Split` over the same rows: ``train`` the training side left for
            fitting, ``test`` the validation slice; sorted int64, disjoint, together
            ``split.train`` (a warm-only split's less the cold validation rows).

        Raises:
            SplitError: bad arrays or fraction, ``split.train`` not sorted unique row
                indices of these arrays, or a slice that leaves either side empty.
        """
        user_ids, timestamps = _check_inputs(user_ids, timestamps, validation_fraction,
                                             "validation_fraction")
        train = np.asarray(split.train)
        if (train.ndim != 1 or (train.size and train.dtype.kind not in "iu")
                or np.any(np.diff(train) <= 0)
                or (train.size and not 0 <= train[0] <= train[-1] < len(timestamps))):
            raise SplitError(f"split.train must be sorted unique row indices into "
                             f"{len(timestamps)} interactions")
        train = train.astype(np.int64)
        # Sorted training rows keep row order, so the per-user tie rule (later row =
        # later) means the same on the subset as on the whole table.
        local = self.fn(user_ids[train], timestamps[train], test_fraction=validation_fraction,
                        seed=_validation_seed(seed))
        if local.train.size == 0 or local.test.size == 0:
            raise SplitError(
                f"the validation slice of split {self.name!r} ({train.size} training "
                f"interactions, validation_fraction={validation_fraction}) leaves an empty "
                f"{'train' if local.train.size == 0 else 'validation'} side"
            )
        validation = Split(train=train[local.train], test=train[local.test])
        if self.warm_of is None:
            return validation
        validation = self._warm(validation, user_ids, item_ids)
        if validation.test.size == 0:
            raise SplitError(f"the validation slice of split {self.name!r} has no warm "
                             "interaction")
        return validation

    def _warm(self, split: Split, user_ids: np.ndarray, item_ids) -> Split:
        if item_ids is None or np.shape(item_ids) != user_ids.shape:
            raise SplitError(f"split {self.name!r} needs the item of every interaction")
        return warm_only(split, user_ids, np.asarray(item_ids))


def warm_only(split: Split, user_ids: np.ndarray, item_ids: np.ndarray) -> Split:
    """``split`` with its test set restricted to warm interactions: those whose user and
    whose item each have at least one training interaction. The rows dropped are in
    neither side."""
    warm = (np.isin(user_ids[split.test], user_ids[split.train])
            & np.isin(item_ids[split.test], item_ids[split.train]))
    return Split(train=split.train, test=split.test[warm])


def _validation_seed(seed: int) -> int:
    """The seed of the validation draw: ``seed`` mixed with VALIDATION_STREAM."""
    return int(np.random.SeedSequence([seed, VALIDATION_STREAM]).generate_state(1)[0])


def _check_inputs(user_ids, timestamps, fraction, fraction_name="test_fraction"):
    user_ids = np.asarray(user_ids)
    timestamps = np.asarray(timestamps)
    if user_ids.ndim != 1 or timestamps.ndim != 1 or len(user_ids) != len(timestamps):
        raise SplitError(
            f"user_ids and timestamps must be 1-D arrays of one length, got shapes "
            f"{user_ids.shape} and {timestamps.shape}"
        )
    if not isinstance(fraction, (int, float)) or not 0.0 < fraction < 1.0:
        raise SplitError(f"{fraction_name} must be in (0, 1), got {fraction!r}")
    return user_ids, timestamps


SPLITS: Registry[SplitStrategy] = Registry("split")
for _strategy in (
    SplitStrategy("random", "seeded uniform 80/20 split (the TFRS tutorial's protocol)",
                  random_split, seeded=True, uses_test_fraction=True, time_ordered="none"),
    SplitStrategy("temporal", "one global time cut: the latest interactions are the test set",
                  temporal_split, seeded=False, uses_test_fraction=True,
                  time_ordered="global"),
    SplitStrategy("user_temporal", "each user's latest interactions are the test set",
                  user_temporal_split, seeded=False, uses_test_fraction=True,
                  time_ordered="per_user"),
    SplitStrategy("leave_last_out", "each user's last interaction is the test set",
                  leave_last_out_split, seeded=False, uses_test_fraction=False,
                  time_ordered="per_user"),
    SplitStrategy("temporal_warm", "the global time cut, tested on users and items seen in "
                  "training only (drift without cold start)", temporal_split, seeded=False,
                  uses_test_fraction=True, time_ordered="global", warm_of="temporal"),
):
    SPLITS.register(_strategy.name, _strategy)


def get_split(name: str) -> SplitStrategy:
    """Returns the registered split ``name``; unknown names list the valid ones."""
    return SPLITS[name]


def make_split(name: str, user_ids, timestamps, *, test_fraction: float = TEST_FRACTION,
               seed: int = 0, item_ids=None) -> Split:
    """Splits by registered name. See :class:`SplitStrategy` for the arguments."""
    return SPLITS[name](user_ids, timestamps, test_fraction=test_fraction, seed=seed,
                        item_ids=item_ids)


def make_validation(name: str, user_ids, timestamps, split: Split, *,
                    validation_fraction: float = VALIDATION_FRACTION, seed: int = 0,
                    item_ids=None) -> Split:
    """Carves the validation slice of ``split`` by registered name.

    See :meth:`SplitStrategy.validation`: returns ``Split(train=rows left for fitting,
    test=validation rows)``, together ``split.train``; unknown names list the valid ones.
    """
    return SPLITS[name].validation(user_ids, timestamps, split,
                                   validation_fraction=validation_fraction, seed=seed,
                                   item_ids=item_ids)
