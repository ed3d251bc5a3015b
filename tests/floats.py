"""Tolerances for float32 values computed by two different paths.

Two paths to the same float32 values (matmuls of different shapes, a sparse gather
against a dense one, TensorFlow against a numba kernel) add the same terms in different
orders: oneDNN and Eigen pick their blocking from the shape *and* from the CPU they run
on (instruction set, cache sizes read at run time), so the rounding differs by a few
units in the last place from one machine to the next. Such values are compared with
the bounds below; exact equality is kept for the same path run twice.
"""

from __future__ import annotations

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)


def dot_error_bound(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Bound on the float32 rounding error of ``left @ right.T`` in any summation order.

    The classic bound for a sum of n products in any order: |error| <= gamma_n * sum
    |a_i b_i| with gamma_n ~ n * u (Higham, Accuracy and Stability of Numerical
    Algorithms, 2nd ed., eq. 3.5), u = eps / 2. Two paths each within that bound of
    the exact value differ by at most twice it, which is what this returns (with the
    product's own rounding counted as one more term).

    Args:
        left: [m, d] float values.
        right: [n, d] float values.

    Returns:
        [m, n] float64 bound on |path_1(left @ right.T) - path_2(left @ right.T)|.
    """
    terms = left.shape[1] + 1
    magnitude = np.abs(left.astype(np.float64)) @ np.abs(right.astype(np.float64)).T
    return 2 * terms * (EPS32 / 2) * magnitude


def assert_close_in_ulps(actual, desired, ulps: float = 16, err_msg: str = "") -> None:
    """``actual`` equals ``desired`` within ``ulps`` float32 units of each row's scale.

    For layer outputs (a Dense layer after a concatenation of gathered embeddings) the
    error of a path is a few roundings of the terms it adds, whose size is that of the
    row's largest value, not of each element (an output near zero can carry the
    rounding of large terms). 16 ulps of the row's scale leaves room for several layers
    of that while staying orders of magnitude below any real bug (a wrong row, a
    missing feature or a dropped weight moves values by a sizeable fraction of the
    scale).
    """
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    scale = np.abs(desired).max(axis=-1, keepdims=True) if desired.ndim else abs(desired)
    bound = np.broadcast_to(ulps * EPS32 * scale + np.finfo(np.float32).tiny, desired.shape)
    np.testing.assert_array_less(np.abs(actual.astype(np.float64) - desired), bound,
                                 err_msg=err_msg)
