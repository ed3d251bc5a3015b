"""EASE^R's one hyperparameter: the λ grid, the choice on a validation slice, and whether
the choice sits at an edge of its grid (no TensorFlow).

λ is chosen by validation top-100 accuracy (:func:`select_l2`), with cold users ranked by
popularity as :mod:`harness.model.ease` ranks them: their hits are the same under every
λ, so they shift every λ's accuracy alike and leave the choice to the users with history.
"""

from __future__ import annotations

from harness.evaluation.keys import DEFAULT_KS, accuracy_key
from harness.evaluation.metrics import metrics_from_ranks
from harness.model.ease import (
    Ease,
    check_codes,
    check_l2,
    ease_ranks,
    ease_weights,
    fitted_side,
    gram_matrix,
)

# Half-decade steps over six decades. On MovieLens-100k (seed 0) the validation optimum
# is 3,000 for random, user_temporal and leave_last_out. temporal's rises to a plateau
# reached at 3,000,000: as λ grows, B tends to XᵀX / λ off its diagonal (items ranked by
# co-occurrence with the user's), so every larger λ scores the same, and a tie goes to the
# smaller λ, where the plateau starts, inside the grid. A choice at an edge is noted in
# the record (``grid_edge``).
DEFAULT_L2_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6,
                   1e7)
SELECTION_K = 100
SMALLEST, LARGEST, ONLY = "smallest of the grid", "largest of the grid", "only value of the grid"


def grid_edge(l2: float, l2_grid) -> str | None:
    """Where ``l2`` sits at an edge of ``l2_grid``, or None inside it.

    A choice at an edge is the best of what was tried, not an optimum: a value beyond it
    may score higher on validation, and the record should say so.

    Returns:
        ``SMALLEST`` or ``LARGEST`` at an edge, ``ONLY`` for a grid of one value, None for
        a value strictly between the grid's smallest and largest.
    """
    low, high = min(l2_grid), max(l2_grid)
    if low == high:
        return ONLY
    return SMALLEST if l2 <= low else LARGEST if l2 >= high else None


def select_l2(train_users, train_items, validation_users, validation_items, *,
              num_users: int, num_items: int, l2_grid=DEFAULT_L2_GRID, k: int = SELECTION_K
              ) -> tuple[float, dict[float, dict[str, float]]]:
    """λ with the best validation top-k accuracy, fitted on the rows left for fitting.

    Args:
        train_users, train_items: [n_fit] codes of the rows the model is fitted on (a
            validation split's ``train`` side, not the whole training side).
        validation_users, validation_items: [n_validation] codes of the validation rows.
        num_users, num_items: as for :func:`harness.model.ease.fit_ease`.
        l2_grid: candidate λ values, each > 0.
        k: selection metric ``validation/top_{k}_categorical_accuracy``.

    Returns:
        (best λ, {λ: validation metrics}) with the metrics of
        ``harness.evaluation.metrics.metrics_from_ranks`` (prefix "validation"), the same the
        project reports for test, validation users with no history ranked by popularity.
        Equal accuracies go to the smaller λ: the least regularisation that reaches the
        best accuracy (on a plateau, where it starts).

    Raises:
        ValueError: an empty grid, a λ <= 0, no validation rows, or bad training input.
    """
    grid = [check_l2(l2) for l2 in l2_grid]
    if not grid:
        raise ValueError("l2_grid is empty: give at least one λ > 0")
    validation_users = check_codes("validation users", validation_users, num_users,
                                   "num_users")
    validation_items = check_codes("validation items", validation_items, num_items,
                                   "num_items")
    if validation_users.size == 0:
        raise ValueError("cannot select l2 on zero validation interactions")
    history, popularity = fitted_side(train_users, train_items, num_users=num_users,
                                      num_items=num_items)
    gram = gram_matrix(history)  # once for the whole grid
    key = accuracy_key(k, "validation")
    ks = tuple(sorted({*DEFAULT_KS, k}))
    metrics = {}
    for l2 in grid:
        model = Ease(weights=ease_weights(gram, l2), history=history, l2=l2,
                     popularity=popularity)
        ranks = ease_ranks(model, validation_users, validation_items)
        metrics[l2] = metrics_from_ranks(ranks, validation_users, "validation", ks)
    best = max(grid, key=lambda l2: (metrics[l2][key], -l2))
    return best, metrics


__all__ = ["DEFAULT_L2_GRID", "LARGEST", "ONLY", "SELECTION_K", "SMALLEST", "grid_edge",
           "select_l2"]
