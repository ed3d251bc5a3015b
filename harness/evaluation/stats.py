"""Summaries and tests over seeds: means with t confidence intervals, paired and Welch tests.

Pure functions over 1-D numpy arrays; no TensorFlow. NaN values (a metric a cell could not
compute, stored as JSON ``null``) are dropped before anything is computed, and ``n`` always
counts the values actually used, so a table that prints ``n`` shows what was dropped. In a
paired difference a pair is dropped when either side is NaN.

Degenerate inputs never warn: n < 2 gives a NaN interval, and samples whose values are all
equal (zero variance) are decided exactly instead of through a 0/0 t statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_CONFIDENCE = 0.95


def _scipy_stats():
    """scipy.stats, imported with the first test that needs it: it takes about a second,
    and every ``python -m harness`` builds a parser that imports this module."""
    from scipy import stats

    return stats


# A sample counts as constant when its spread is within rounding of its mean: scipy warns
# about catastrophic cancellation below 10 eps relative, and a t statistic there is noise.
_CONSTANT_TOLERANCE = 16 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class Summary:
    """Mean and t confidence interval of one sample.

    Attributes:
        n: number of non-NaN values.
        mean: their mean (NaN when n == 0).
        std: sample standard deviation, ddof=1 (0 when n == 1, NaN when n == 0).
        ci_half_width: t_{(1+confidence)/2, n-1} * std / sqrt(n) (NaN when n < 2).
        ci_low, ci_high: mean -/+ ci_half_width.
        confidence: the interval's confidence level.
    """

    n: int
    mean: float
    std: float
    ci_half_width: float
    ci_low: float
    ci_high: float
    confidence: float


@dataclass(frozen=True)
class PairedDifference:
    """Mean of ``new - base`` over pairs, with its t interval and paired t-test.

    Attributes:
        n: number of pairs with neither side NaN.
        mean: mean difference new - base.
        std: standard deviation of the differences, ddof=1 (0 when n == 1).
        ci_half_width, ci_low, ci_high: t interval of the mean difference (NaN when n < 2).
        p_value: two-sided paired t-test p-value; when every difference is the same it is
            1.0 for a zero difference and 0.0 otherwise; NaN when n < 2.
        confidence: the interval's confidence level.
    """

    n: int
    mean: float
    std: float
    ci_half_width: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float


@dataclass(frozen=True)
class WelchTest:
    """Welch's unequal-variance t-test of two independent samples.

    Attributes:
        n_a, n_b: non-NaN values in each sample.
        mean_a, mean_b: their means.
        difference: mean_a - mean_b.
        p_value: two-sided p-value. When both samples are constant it is 1.0 for equal
            means and 0.0 otherwise; otherwise NaN when a sample has fewer than 2 values.
    """

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    difference: float
    p_value: float


@dataclass(frozen=True)
class MedianIQR:
    """Median and interquartile range (numpy's linear-interpolation quartiles).

    Attributes:
        n: number of non-NaN values.
        median, q1, q3: 50th, 25th and 75th percentiles (NaN when n == 0).
        iqr: q3 - q1.
    """

    n: int
    median: float
    q1: float
    q3: float
    iqr: float


def _sample(values, name: str = "values") -> np.ndarray:
    """[n] float64 copy of ``values``, NaN dropped.

    Raises:
        ValueError: ``values`` is not one-dimensional.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array[~np.isnan(array)]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _is_constant(sample: np.ndarray) -> bool:
    """Whether every value of a non-empty sample is equal up to rounding."""
    mean = float(np.mean(sample))
    return float(np.max(np.abs(sample - mean))) <= _CONSTANT_TOLERANCE * abs(mean)


def _t_interval(n: int, std: float, confidence: float) -> float:
    if n < 2:
        return math.nan
    quantile = float(_scipy_stats().t.ppf(0.5 + confidence / 2.0, n - 1))
    return quantile * std / math.sqrt(n)


def summarize(values, confidence: float = DEFAULT_CONFIDENCE) -> Summary:
    """Mean, standard deviation and t confidence interval of one sample.

    Args:
        values: [n] floats, e.g. one metric over seeds; NaN values are dropped.
        confidence: level of the interval, in (0, 1).

    Returns:
        The :class:`Summary`.

    Raises:
        ValueError: ``values`` is not 1-D, or ``confidence`` is outside (0, 1).
    """
    _check_confidence(confidence)
    sample = _sample(values)
    n = int(sample.size)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan, confidence)
    mean = float(np.mean(sample))
    std = float(np.std(sample, ddof=1)) if n > 1 else 0.0
    half = _t_interval(n, std, confidence)
    return Summary(n, mean, std, half, mean - half, mean + half, confidence)


def paired_difference(new, base, confidence: float = DEFAULT_CONFIDENCE) -> PairedDifference:
    """Paired difference ``new - base`` (e.g. a configuration vs the baseline, same seeds).

    Args:
        new: [n] floats.
        base: [n] floats, paired element-wise with ``new``.
        confidence: level of the interval, in (0, 1).

    Returns:
        The :class:`PairedDifference`; pairs with a NaN on either side are dropped.

    Raises:
        ValueError: the arrays are not 1-D or differ in length, or ``confidence`` is
            outside (0, 1).
    """
    _check_confidence(confidence)
    new_array = np.asarray(new, dtype=np.float64)
    base_array = np.asarray(base, dtype=np.float64)
    if new_array.ndim != 1 or base_array.ndim != 1:
        raise ValueError(
            f"new and base must be one-dimensional, got shapes "
            f"{new_array.shape} and {base_array.shape}"
        )
    if new_array.shape != base_array.shape:
        raise ValueError(
            f"paired samples differ in length: new has {new_array.size} "
            f"values, base has {base_array.size}"
        )
    keep = ~(np.isnan(new_array) | np.isnan(base_array))
    new_array, base_array = new_array[keep], base_array[keep]
    differences = new_array - base_array
    n = int(differences.size)
    if n == 0:
        nan = math.nan
        return PairedDifference(0, nan, nan, nan, nan, nan, nan, confidence)
    mean = float(np.mean(differences))
    std = float(np.std(differences, ddof=1)) if n > 1 else 0.0
    half = _t_interval(n, std, confidence)
    if n < 2:
        p_value = math.nan
    elif _is_constant(differences):
        p_value = 1.0 if mean == 0.0 else 0.0
    else:
        p_value = float(_scipy_stats().ttest_rel(new_array, base_array).pvalue)
    return PairedDifference(n, mean, std, half, mean - half, mean + half, p_value, confidence)


def welch(a, b) -> WelchTest:
    """Welch's t-test: do two independent samples (e.g. two runs) differ in mean?

    Computed directly (Welch-Satterthwaite degrees of freedom) so that a constant sample
    on one side is handled without scipy's precision warnings.

    Args:
        a: [n_a] floats; NaN values are dropped.
        b: [n_b] floats; NaN values are dropped.

    Returns:
        The :class:`WelchTest`, with ``difference = mean(a) - mean(b)``.

    Raises:
        ValueError: a sample is not 1-D.
    """
    sample_a, sample_b = _sample(a, "a"), _sample(b, "b")
    n_a, n_b = int(sample_a.size), int(sample_b.size)
    mean_a = float(np.mean(sample_a)) if n_a else math.nan
    mean_b = float(np.mean(sample_b)) if n_b else math.nan
    difference = mean_a - mean_b
    if n_a == 0 or n_b == 0:
        return WelchTest(n_a, n_b, mean_a, mean_b, difference, math.nan)
    constant_a, constant_b = _is_constant(sample_a), _is_constant(sample_b)
    scale = max(abs(mean_a), abs(mean_b))
    if constant_a and constant_b and abs(difference) <= _CONSTANT_TOLERANCE * scale:
        p_value = 1.0  # the same constant on both sides: no evidence of a difference
    elif n_a < 2 or n_b < 2:
        p_value = math.nan
    elif constant_a and constant_b:
        p_value = 0.0
    else:
        # A constant side contributes zero variance (not its rounding noise).
        var_a = 0.0 if constant_a else float(np.var(sample_a, ddof=1)) / n_a
        var_b = 0.0 if constant_b else float(np.var(sample_b, ddof=1)) / n_b
        standard_error = math.sqrt(var_a + var_b)
        dof = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
        statistic = difference / standard_error
        p_value = float(2.0 * _scipy_stats().t.sf(abs(statistic), dof))
    return WelchTest(n_a, n_b, mean_a, mean_b, difference, p_value)


def median_iqr(values) -> MedianIQR:
    """Median and interquartile range, robust summaries of timings and throughputs.

    Args:
        values: [n] floats; NaN values are dropped.

    Returns:
        The :class:`MedianIQR` (all NaN when no value is left).

    Raises:
        ValueError: ``values`` is not 1-D.
    """
    sample = _sample(values)
    if sample.size == 0:
        return MedianIQR(0, math.nan, math.nan, math.nan, math.nan)
    q1, median, q3 = (float(q) for q in np.percentile(sample, [25.0, 50.0, 75.0]))
    return MedianIQR(int(sample.size), median, q1, q3, q3 - q1)


__all__ = [
    "DEFAULT_CONFIDENCE",
    "MedianIQR",
    "PairedDifference",
    "Summary",
    "WelchTest",
    "median_iqr",
    "paired_difference",
    "summarize",
    "welch",
]
