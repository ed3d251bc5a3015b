"""EASE^R, a closed-form item-item baseline, ranked by the project's rule (no TensorFlow).

Steck, "Embarrassingly Shallow Autoencoders for Sparse Data" (WWW 2019): over the binary
user x item training matrix X, G = XᵀX + λI, P = G⁻¹ and B = -P / diag(P) column by
column with diag(B) = 0; user u scores the catalogue as X_u B. λ (``l2``) is the only
hyperparameter and is chosen on a validation slice (:mod:`harness.model.easegrid`).

A user with no training history (an empty X_u, whose X_u B is 0 everywhere) scores the
catalogue by popularity instead, as EASE is deployed: the training interaction counts of
:func:`harness.evaluation.metrics.popularity_scores`, so such a user's ranks are
:func:`harness.evaluation.metrics.popularity_ranks`'. Users with history keep X_u B.

Ranks follow the project's rule for scorers that tie, as popularity's do
(:func:`harness.evaluation.metrics.ranks_ties_against`): every other item scoring at least
as high outranks the true one, so a scorer that cannot tell items apart earns nothing.
Items that never occur in training score exactly 0 for every user with history, so they
tie. Scores that vary rarely tie exactly, and there the rank is the usual strictly-higher
count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.linalg import lapack

from harness.evaluation.metrics import popularity_scores, ranks_ties_against, taken_back

# Scores per block of queries, float64: 32 MiB, 2,520 queries of MovieLens's 1,664
# candidates. With the block's per-user rows and the boolean comparison against the true
# score, a block holds under 80 MiB however many queries there are.
MAX_SCORES_PER_BLOCK = 2**22


@dataclass(frozen=True)
class Ease:
    """A fitted EASE^R model.

    Attributes:
        weights: [num_items, num_items] float64 B, zero diagonal: B[i, j] is how much a
            user's interaction with item i adds to item j's score.
        history: [num_users, num_items] float64 binary CSR training matrix X.
        l2: the ridge weight λ it was fitted with.
        popularity: [num_items] float64 training interaction counts (repeats counted,
            as :func:`harness.evaluation.metrics.popularity_scores` counts them): what a
            user with no training history scores.
    """

    weights: np.ndarray
    history: scipy.sparse.csr_array
    l2: float
    popularity: np.ndarray

    @property
    def num_users(self) -> int:
        return self.history.shape[0]

    @property
    def num_items(self) -> int:
        return self.history.shape[1]


def check_codes(name: str, codes, size: int, size_name: str) -> np.ndarray:
    """``codes`` as a 1-D int64 array, every value in [0, size)."""
    codes = np.asarray(codes)
    if codes.ndim != 1 or (codes.size and codes.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D array of integer codes, got shape "
                         f"{codes.shape} and dtype {codes.dtype}")
    if codes.size and not (0 <= codes.min() and codes.max() < size):
        raise ValueError(f"{name} must lie in [0, {size_name}={size}), got values from "
                         f"{codes.min()} to {codes.max()}")
    return codes.astype(np.int64)


def check_l2(l2) -> float:
    """``l2`` as a float; ValueError unless it is a positive finite number."""
    if (isinstance(l2, bool) or not isinstance(l2, (int, float, np.integer, np.floating))
            or not math.isfinite(l2) or l2 <= 0):
        raise ValueError(f"l2 must be a positive finite number, got {l2!r}")
    return float(l2)


def _check_size(name: str, size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{name} must be a positive integer, got {size!r}")
    return int(size)


def fitted_side(user_codes, item_codes, *, num_users: int, num_items: int
                ) -> tuple[scipy.sparse.csr_array, np.ndarray]:
    """(X, popularity counts) of training interactions: :func:`training_matrix`, and
    :func:`harness.evaluation.metrics.popularity_scores` of ``item_codes``."""
    history = training_matrix(user_codes, item_codes, num_users=num_users,
                              num_items=num_items)
    return history, popularity_scores(np.asarray(item_codes, np.int64), num_items)


def training_matrix(user_codes, item_codes, *, num_users: int, num_items: int
                    ) -> scipy.sparse.csr_array:
    """The binary user x item matrix X of the training interactions.

    Args:
        user_codes: [n] int user of each training interaction, in [0, num_users).
        item_codes: [n] int item of each training interaction, in [0, num_items).
        num_users, num_items: the matrix shape; users and items never seen in training
            get empty rows and columns.

    Returns:
        [num_users, num_items] float64 CSR array of ones and zeros: repeated
        interactions (a user rating two movies that share a title) count once.

    Raises:
        ValueError: no interactions, mismatched or non-integer arrays, codes outside
            their range.
    """
    num_users = _check_size("num_users", num_users)
    num_items = _check_size("num_items", num_items)
    users = check_codes("user codes", user_codes, num_users, "num_users")
    items = check_codes("item codes", item_codes, num_items, "num_items")
    if users.size != items.size:
        raise ValueError(f"{users.size} user codes for {items.size} item codes")
    if users.size == 0:
        raise ValueError("cannot fit EASE on zero training interactions")
    history = scipy.sparse.csr_array(
        (np.ones(users.size), (users, items)), shape=(num_users, num_items))
    history.sum_duplicates()
    history.data[:] = 1.0
    return history


def gram_matrix(history: scipy.sparse.csr_array) -> np.ndarray:
    """[num_items, num_items] float64 XᵀX: co-occurrence counts, exact in float64."""
    return (history.T @ history).toarray()


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """B from the Gram matrix XᵀX and λ.

    Args:
        gram: [num_items, num_items] float64 XᵀX (not modified).
        l2: λ > 0; it makes G = XᵀX + λI positive definite.

    Returns:
        [num_items, num_items] float64 B = -P / diag(P) (column j divided by P[j, j]),
        diag(B) = 0, where P = G⁻¹.

    Raises:
        ValueError: l2 <= 0 or not finite, or G not positive definite (a Gram matrix
            that is not one).
    """
    l2 = check_l2(l2)
    regularised = np.array(gram, dtype=np.float64, order="F")
    regularised[np.diag_indices_from(regularised)] += l2
    # G is symmetric positive definite: a Cholesky factor and its inverse (dpotrf, dpotri)
    # cost a third of a general inverse, and the result is exactly symmetric.
    factor, info = lapack.dpotrf(regularised, lower=False, overwrite_a=True)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ValueError(f"X'X + {l2} I is not positive definite (LAPACK info {info}): "
                         "is the Gram matrix finite and symmetric?")
    upper = np.triu(inverse)
    precision = upper + np.triu(upper, 1).T
    weights = precision / -np.diag(precision)  # broadcast: column j over -P[j, j]
    np.fill_diagonal(weights, 0.0)
    return weights


def fit_ease(user_codes, item_codes, *, num_users: int, num_items: int, l2: float) -> Ease:
    """Fits EASE^R on training interactions.

    Args:
        user_codes: [n] int user of each training interaction, in [0, num_users).
        item_codes: [n] int item of each training interaction, in [0, num_items).
        num_users: users that may be scored later (a user with no training rows scores
            the catalogue by popularity).
        num_items: the catalogue size.
        l2: λ > 0.

    Returns:
        The fitted :class:`Ease`.

    Raises:
        ValueError: no interactions, codes outside their range, l2 <= 0 or not finite.
    """
    l2 = check_l2(l2)
    history, popularity = fitted_side(user_codes, item_codes, num_users=num_users,
                                      num_items=num_items)
    return Ease(weights=ease_weights(gram_matrix(history), l2), history=history, l2=l2,
                popularity=popularity)


def cold_users(model: Ease, users) -> np.ndarray:
    """[n] bool: whether each of ``users`` has no training history (scores by popularity)."""
    users = check_codes("users", users, model.num_users, "num_users")
    return np.diff(model.history.indptr)[users] == 0


def ease_scores(model: Ease, users) -> np.ndarray:
    """Scores of the whole catalogue for a batch of users.

    Args:
        model: a fitted model.
        users: [n] int user codes in [0, model.num_users).

    Returns:
        [n, num_items] float64 X[users] B, or ``model.popularity`` for a user with no
        training history.
    """
    users = check_codes("users", users, model.num_users, "num_users")
    scores = np.asarray(model.history[users] @ model.weights)
    scores[cold_users(model, users)] = model.popularity
    return scores


def ease_ranks(model: Ease, users, true_items, block_size: int | None = None, seen=None
               ) -> np.ndarray:
    """0-based rank of each query's true item among the whole catalogue.

    Queries are taken in blocks sorted by user, so that each user in a block is scored
    once and at most ``block_size`` rows of scores exist at a time.

    Args:
        model: a fitted model.
        users: [n] int user of each query, in [0, model.num_users).
        true_items: [n] int true item of each query, in [0, model.num_items).
        block_size: queries per block; default MAX_SCORES_PER_BLOCK // num_items.
        seen: None, or (query, item) pairs each query leaves out of its ranking
            (:meth:`harness.evaluation.segments.History.seen_pairs`).

    Returns:
        [n] int64 ranks by :func:`harness.evaluation.metrics.ranks_ties_against`, in
        query order.
    """
    users = check_codes("users", users, model.num_users, "num_users")
    true_items = check_codes("true items", true_items, model.num_items, "num_items")
    if users.shape != true_items.shape:
        raise ValueError(f"{users.size} users for {true_items.size} true items")
    if block_size is None:
        block_size = max(1, MAX_SCORES_PER_BLOCK // model.num_items)
    order = np.argsort(users, kind="stable")
    ranks = np.empty(users.size, np.int64)
    position = np.empty(users.size, np.int64)  # of each query within its block
    for start in range(0, users.size, block_size):
        queries = order[start:start + block_size]
        block_users, row_of_query = np.unique(users[queries], return_inverse=True)
        scores = ease_scores(model, block_users)[row_of_query]
        ranks[queries] = ranks_ties_against(scores, true_items[queries])
        if seen is not None:
            in_block = np.isin(seen[0], queries)
            position[queries] = np.arange(queries.size)
            local, items = position[seen[0][in_block]], seen[1][in_block]
            outranks = scores[local, items] >= scores[local, true_items[queries][local]]
            ranks[queries] -= taken_back(outranks, local, queries.size)
    return ranks


__all__ = ["MAX_SCORES_PER_BLOCK", "Ease", "check_codes", "check_l2", "cold_users",
           "ease_ranks", "ease_scores", "ease_weights", "fit_ease", "fitted_side", "gram_matrix",
           "training_matrix"]
