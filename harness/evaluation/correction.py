"""Corrections for many verdicts at once: adjusted p-values of one family of tests.

A verdict table asks the same question ("does this configuration beat the reference?")
of every (configuration, split) cell, so at alpha = 0.05 about one cell in twenty would be
marked by chance alone. The cells of one table are one family, and each cell's verdict is
taken on its adjusted p-value:

- **Holm** (1979), the default: controls the family-wise error rate (the chance of even one
  false ▲/▼ in the table) under any dependence between the tests, and is uniformly more
  powerful than Bonferroni. The cells of a table share their reference configuration and
  seeds, so they are dependent: a correction that needs independence would not hold.
- **Benjamini-Hochberg** (1995), on request: controls the false discovery rate (the
  expected share of false verdicts among those marked), valid for independent or
  positively dependent tests; :func:`scipy.stats.false_discovery_control` computes it.

NaN p-values (a cell with no test) stay NaN and are not counted in the family's size.
Pure numpy and scipy; no TensorFlow.
"""

from __future__ import annotations

import numpy as np

HOLM = "holm"
BENJAMINI_HOCHBERG = "bh"
# How a table names its correction.
CORRECTION_NAMES = {HOLM: "Holm (family-wise error rate)",
                    BENJAMINI_HOCHBERG: "Benjamini-Hochberg (false discovery rate)"}


def _p_values(p_values) -> np.ndarray:
    array = np.asarray(p_values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"p-values must be one-dimensional, got shape {array.shape}")
    tested = array[~np.isnan(array)]
    if ((tested < 0.0) | (tested > 1.0)).any():
        raise ValueError("p-values must lie in [0, 1]")
    return array


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values.

    The i-th smallest of m p-values becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``.

    Args:
        p_values: [m] raw p-values of one family; NaN for a cell without a test.

    Returns:
        [m] adjusted p-values, in the order given (NaN where the input is NaN).

    Raises:
        ValueError: not 1-D, or a p-value outside [0, 1].
    """
    array = _p_values(p_values)
    adjusted = np.full(array.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(array))
    if tested.size == 0:
        return adjusted
    order = tested[np.argsort(array[tested], kind="stable")]
    multipliers = np.arange(order.size, 0, -1, dtype=np.float64)  # m, m - 1, ..., 1
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(multipliers * array[order]))
    return adjusted


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values of the step-up procedure).

    Args:
        p_values: [m] raw p-values of one family; NaN for a cell without a test.

    Returns:
        [m] adjusted p-values, in the order given (NaN where the input is NaN).

    Raises:
        ValueError: not 1-D, or a p-value outside [0, 1].
    """
    array = _p_values(p_values)
    adjusted = np.full(array.shape, np.nan)
    tested = ~np.isnan(array)
    if tested.any():
        from scipy import stats  # about a second to import: only when BH is asked for

        adjusted[tested] = stats.false_discovery_control(array[tested], method="bh")
    return adjusted


CORRECTIONS = {HOLM: holm, BENJAMINI_HOCHBERG: benjamini_hochberg}


def adjust(p_values, method: str = HOLM) -> np.ndarray:
    """Adjusted p-values of one family by ``method`` (:data:`CORRECTIONS`).

    Raises:
        ValueError: an unknown method (the valid ones are named), or bad p-values.
    """
    if method not in CORRECTIONS:
        raise ValueError(f"unknown correction {method!r}; valid: {', '.join(CORRECTIONS)}")
    return CORRECTIONS[method](p_values)


__all__ = ["BENJAMINI_HOCHBERG", "CORRECTIONS", "CORRECTION_NAMES", "HOLM", "adjust",
           "benjamini_hochberg", "holm"]
