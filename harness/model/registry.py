"""The retrievers by name: one two-tower retriever per feature configuration
(:data:`harness.model.features.CONFIGS`), popularity and EASE^R, and the history-aware
scorers (:data:`harness.model.history_specs.HISTORY_BASELINES`, run when named).

Adding a retriever is one module implementing :class:`harness.model.retriever.Retriever`
and one :func:`register` call. Importing this module loads no TensorFlow: an entry builds
its retriever only when asked (:func:`make_retriever`), importing its module then.
"""

from __future__ import annotations

from harness.model.causal import SAMPLED
from harness.model.features import CONFIGS
from harness.model.history_specs import EASE_HISTORY, HISTORY_BASELINES, ITEM_KNN
from harness.model.retriever import Retriever, RetrieverEntry
from splits.registry import Registry

POPULARITY = "popularity"  # training counts
EASE = "ease"  # EASE^R, its L2 weight chosen on the validation slice
# Peak memory, in dense float64 catalogue x catalogue matrices, measured on a synthetic
# 4,000-title catalogue (400,000 rows): EASE^R's fit with its λ search grew the process by
# 7.0 of them (the Gram matrix, its Cholesky factor and inverse, B, the validation
# scores), item-kNN's cosine by 3.7 (co-occurrence, similarity, a contiguous copy). With
# a margin, so that a cell that passes the guard does not meet the OOM killer.
EASE_ITEM_MATRICES, ITEM_KNN_ITEM_MATRICES = 8.0, 4.0
# EASE^R's cell costs about 36 Cholesky inversions (dpotrf + dpotri) of its catalogue
# matrix: 13 λ of the validation grid and the final fit, plus the validation rankings and
# B. Measured on synthetic catalogues of 1,000-4,000 titles: 42, 36, 33 and 36 times one
# inversion of the same size timed beside it (a ratio, so the machine cancels; a test
# holds it within a factor of 2); the grid's start times one inversion on its machine to
# turn it into seconds (:func:`harness.run.gemm.inversion_seconds`).
EASE_SOLVES = 36.0


class _Registry(Registry[RetrieverEntry]):
    def unregister(self, name: str) -> None:
        self[name]  # unknown: the error listing the valid names
        del self._items[name]


RETRIEVERS = _Registry("retriever")


def register(entry: RetrieverEntry) -> RetrieverEntry:
    """Registers a retriever under ``entry.name``.

    Raises:
        ValueError: the name is taken, empty or holds ``-``.
    """
    return RETRIEVERS.register(entry.name, entry)


def unregister(name: str) -> None:
    """Removes a registered retriever (a test's own, after the test).

    Raises:
        UnknownNameError: ``name`` is not registered (lists the valid names).
    """
    RETRIEVERS.unregister(name)


def get_retriever(name: str) -> RetrieverEntry:
    """The entry of ``name``.

    Raises:
        UnknownNameError: unknown name (lists the valid names).
    """
    return RETRIEVERS[name]


def make_retriever(name: str) -> Retriever:
    """The retriever registered as ``name``.

    Raises:
        UnknownNameError: unknown name (lists the valid names).
    """
    entry = get_retriever(name)
    return entry.build(entry)


def non_learned_names(default_only: bool = False) -> tuple[str, ...]:
    """The registered retrievers that are not trained, in registration order (only those
    a grid runs when it names none, with ``default_only``)."""
    return tuple(name for name in RETRIEVERS if not RETRIEVERS[name].learned
                 and (RETRIEVERS[name].default or not default_only))


def _two_tower(entry: RetrieverEntry) -> Retriever:
    from harness.model.twotower import TwoTower

    return TwoTower(entry)


def _popularity(entry: RetrieverEntry) -> Retriever:
    from harness.model.baselines import Popularity

    return Popularity(entry)


def _ease(entry: RetrieverEntry) -> Retriever:
    from harness.model.baselines import EaseRetriever

    return EaseRetriever(entry)


register(RetrieverEntry(POPULARITY, False, _popularity, "training interaction counts",
                        seeded=False))
register(RetrieverEntry(EASE, False, _ease,
                        "EASE^R, its L2 weight chosen on the split's validation slice",
                        item_matrices=EASE_ITEM_MATRICES, solves=EASE_SOLVES, seeded=False))
def _history(entry: RetrieverEntry) -> Retriever:
    from harness.model.history_baselines import HistoryRetriever

    return HistoryRetriever(entry)


_HISTORY_MATRICES = {ITEM_KNN: ITEM_KNN_ITEM_MATRICES, EASE_HISTORY: EASE_ITEM_MATRICES}
_HISTORY_SOLVES = {EASE_HISTORY: EASE_SOLVES}  # the same EaseRetriever.fit
for _name, _spec, _description in HISTORY_BASELINES:
    register(RetrieverEntry(_name, False, _history, _description, default=False,
                            item_matrices=_HISTORY_MATRICES.get(_spec.kind, 0.0),
                            solves=_HISTORY_SOLVES.get(_spec.kind, 0.0),
                            seeded=_spec.order == SAMPLED))
for _name in CONFIGS:
    register(RetrieverEntry(_name, True, _two_tower,
                            f"two towers: {CONFIGS[_name].description}"))


__all__ = ["EASE", "POPULARITY", "RETRIEVERS", "get_retriever", "make_retriever",
           "non_learned_names", "register", "unregister"]
