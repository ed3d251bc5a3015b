"""harness.evaluation.stats on tiny hand-computed arrays.

Student t quantiles and p-values have closed forms for 1, 2 and 4 degrees of freedom,
used below instead of scipy so that a wrong df or tail shows up:

- df=1 (Cauchy): t_{q,1} = tan(pi (q - 1/2)); two-sided p = 1 - (2/pi) atan(|t|).
- df=2: t_{q,2} = (2q - 1) / sqrt(2 q (1 - q)); two-sided p = 1 - |t| / sqrt(2 + t^2).
- df=4: with x = |t| / sqrt(4 + t^2), two-sided p = 1 - x (3 - x^2) / 2.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from harness.evaluation.stats import median_iqr, paired_difference, summarize, welch

# t_{0.975,2} = 0.95 / sqrt(2 * 0.975 * 0.025) = 0.95 / sqrt(0.04875)
T_975_2 = 0.95 / math.sqrt(0.04875)
# t_{0.975,1} = tan(0.475 pi)
T_975_1 = math.tan(0.475 * math.pi)
# t_{0.95,2} = 0.9 / sqrt(2 * 0.95 * 0.05) = 0.9 / sqrt(0.095)
T_95_2 = 0.9 / math.sqrt(0.095)


def test_closed_form_quantiles_match_scipy():
    # To 40 digits 0.95 / sqrt(0.04875) = 4.302652729749463852...; the 4.302652729911275
    # printed in some tables is off in the tenth decimal.
    assert T_975_2 == pytest.approx(4.302652729749463852, rel=1e-14)
    # scipy's own t.ppf is that accurate only from 1.17 (1.11-1.12 are 3.8e-11 off,
    # 1.13-1.16 1.2e-11): the cross-check allows 1e-10, a thousand times below the 4
    # decimals any table prints, over the scipy versions pyproject.toml claims.
    assert T_975_2 == pytest.approx(scipy_stats.t.ppf(0.975, 2), rel=1e-10)
    assert T_975_1 == pytest.approx(scipy_stats.t.ppf(0.975, 1), rel=1e-10)
    assert T_95_2 == pytest.approx(scipy_stats.t.ppf(0.95, 2), rel=1e-10)


def test_summarize_three_values():
    # [1, 2, 3]: mean 2, sample variance ((1)^2 + 0 + 1^2) / 2 = 1, so std 1.
    summary = summarize([1.0, 2.0, 3.0])
    half = T_975_2 * 1.0 / math.sqrt(3)
    assert summary.n == 3
    assert summary.mean == 2.0
    assert summary.std == 1.0
    assert summary.ci_half_width == pytest.approx(half, rel=1e-9)
    assert summary.ci_low == pytest.approx(2.0 - half, rel=1e-9)
    assert summary.ci_high == pytest.approx(2.0 + half, rel=1e-9)
    assert summary.confidence == 0.95


def test_summarize_uses_the_confidence_level():
    summary = summarize([1.0, 2.0, 3.0], confidence=0.90)
    assert summary.ci_half_width == pytest.approx(T_95_2 / math.sqrt(3), rel=1e-9)


def test_summarize_one_value_has_zero_std_and_no_interval():
    summary = summarize([0.25])
    assert (summary.n, summary.mean, summary.std) == (1, 0.25, 0.0)
    assert math.isnan(summary.ci_half_width)
    assert math.isnan(summary.ci_low) and math.isnan(summary.ci_high)


def test_summarize_no_value_is_all_nan():
    summary = summarize([])
    assert summary.n == 0
    assert math.isnan(summary.mean) and math.isnan(summary.std)


def test_summarize_identical_values_has_a_zero_width_interval():
    summary = summarize([0.3, 0.3, 0.3])
    assert summary.std == pytest.approx(0.0, abs=1e-15)
    assert summary.ci_half_width == pytest.approx(0.0, abs=1e-14)
    assert summary.ci_low == pytest.approx(0.3) and summary.ci_high == pytest.approx(0.3)


def test_summarize_drops_nan():
    # [1, NaN, 3] -> [1, 3]: mean 2, variance ((-1)^2 + 1^2) / 1 = 2, df 1.
    summary = summarize([1.0, math.nan, 3.0])
    assert summary.n == 2
    assert summary.mean == 2.0
    assert summary.std == pytest.approx(math.sqrt(2.0))
    assert summary.ci_half_width == pytest.approx(T_975_1 * math.sqrt(2.0) / math.sqrt(2.0))


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_summarize_rejects_impossible_confidence(confidence):
    with pytest.raises(ValueError, match="confidence"):
        summarize([1.0, 2.0], confidence=confidence)


def test_summarize_rejects_two_dimensional_input():
    with pytest.raises(ValueError, match="one-dimensional"):
        summarize(np.ones((2, 2)))


def test_paired_difference_by_hand():
    # d = [3-1, 5-2, 10-4] = [2, 3, 6]: mean 11/3; deviations -5/3, -2/3, 7/3, so
    # variance (25 + 4 + 49) / 9 / 2 = 13/3; t = (11/3) / sqrt(13/9) = 11 / sqrt(13);
    # p (df 2) = 1 - t / sqrt(2 + t^2) = 1 - 11 / sqrt(147).
    result = paired_difference([3.0, 5.0, 10.0], [1.0, 2.0, 4.0])
    assert result.n == 3
    assert result.mean == pytest.approx(11 / 3)
    assert result.std == pytest.approx(math.sqrt(13 / 3))
    assert result.ci_half_width == pytest.approx(T_975_2 * math.sqrt(13) / 3, rel=1e-9)
    assert result.ci_low == pytest.approx(11 / 3 - T_975_2 * math.sqrt(13) / 3, rel=1e-9)
    assert result.p_value == pytest.approx(1 - 11 / math.sqrt(147), rel=1e-9)


def test_paired_difference_sign_is_new_minus_base():
    assert paired_difference([1.0, 2.0], [2.0, 4.0]).mean == pytest.approx(-1.5)


@pytest.mark.filterwarnings("error")
def test_paired_difference_identical_nonzero_differences_are_certain_without_warning():
    # Rounding makes these differences unequal in the last bit; scipy would warn about
    # catastrophic cancellation and return a meaningless t.
    result = paired_difference([0.27, 0.28, 0.29], [0.22, 0.23, 0.24])
    assert result.mean == pytest.approx(0.05)
    assert result.p_value == 0.0


@pytest.mark.filterwarnings("error")
def test_paired_difference_of_equal_samples_has_p_one():
    result = paired_difference([0.2, 0.3, 0.4], [0.2, 0.3, 0.4])
    assert result.mean == 0.0
    assert result.p_value == 1.0
    assert result.ci_half_width == 0.0


def test_paired_difference_drops_pairs_with_nan():
    # Pairs (1, 0) and (4, 2) survive: d = [1, 2], mean 1.5, std sqrt(0.5),
    # t = 1.5 / (sqrt(0.5) / sqrt(2)) = 3 with df 1: p = 1 - (2 / pi) atan(3).
    result = paired_difference([1.0, math.nan, 3.0, 4.0], [0.0, 1.0, math.nan, 2.0])
    assert result.n == 2
    assert result.mean == 1.5
    assert result.std == pytest.approx(math.sqrt(0.5))
    assert result.p_value == pytest.approx(1 - 2 / math.pi * math.atan(3.0), rel=1e-9)


def test_paired_difference_of_one_pair_has_no_test():
    result = paired_difference([0.3], [0.2])
    assert result.n == 1
    assert result.mean == pytest.approx(0.1)
    assert result.std == 0.0
    assert math.isnan(result.p_value) and math.isnan(result.ci_half_width)


def test_paired_difference_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])


def test_welch_equal_variances_by_hand():
    # [1,2,3] vs [4,5,6]: both variances 1, so se^2 = 1/3 + 1/3, t = -3 / sqrt(2/3),
    # t^2 = 13.5; Welch-Satterthwaite df = (2/3)^2 / (2 (1/3)^2 / 2) = 4.
    result = welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    x = math.sqrt(13.5) / math.sqrt(4 + 13.5)
    assert (result.n_a, result.n_b) == (3, 3)
    assert (result.mean_a, result.mean_b, result.difference) == (2.0, 5.0, -3.0)
    assert result.p_value == pytest.approx(1 - x * (3 - x * x) / 2, rel=1e-9)


def test_welch_uses_unequal_variances():
    # a: n 4, variance 5/3; b: n 3, variance 100. se^2 = 5/12 + 100/3 = 33.75;
    # df = 33.75^2 / ((5/12)^2 / 3 + (100/3)^2 / 2).
    a, b = [1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0]
    se2 = 5 / 12 + 100 / 3
    dof = se2**2 / ((5 / 12) ** 2 / 3 + (100 / 3) ** 2 / 2)
    expected = 2 * scipy_stats.t.sf(17.5 / math.sqrt(se2), dof)
    pooled = scipy_stats.ttest_ind(a, b, equal_var=True).pvalue
    result = welch(a, b)
    assert result.difference == -17.5
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.p_value == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert abs(result.p_value - pooled) > 0.01  # Student's pooled test would differ


@pytest.mark.filterwarnings("error")
def test_welch_identical_constant_samples_have_p_one_without_warning():
    result = welch([0.3, 0.3, 0.3], [0.3, 0.3, 0.3])
    assert result.difference == 0.0
    assert result.p_value == 1.0


def test_welch_different_constant_samples_have_p_zero():
    result = welch([0.3, 0.3, 0.3], [0.2, 0.2])
    assert result.difference == pytest.approx(0.1)
    assert result.p_value == 0.0


@pytest.mark.filterwarnings("error")
def test_welch_one_constant_sample():
    # Variance 0 on one side: se^2 = 0.01 / 3, df = n_b - 1 = 2, t = 0.1 / sqrt(0.01 / 3)
    # = sqrt(3); p (df 2) = 1 - sqrt(3) / sqrt(5).
    result = welch([0.3, 0.3, 0.3], [0.1, 0.2, 0.3])
    assert result.p_value == pytest.approx(1 - math.sqrt(3 / 5), rel=1e-9)


def test_welch_single_values():
    assert math.isnan(welch([0.3], [0.2, 0.25]).p_value)
    assert welch([0.3], [0.3]).p_value == 1.0  # nothing differs
    assert math.isnan(welch([], [0.3]).p_value)


def test_welch_drops_nan():
    result = welch([1.0, math.nan, 2.0, 3.0], [4.0, 5.0, 6.0, math.nan])
    assert (result.n_a, result.n_b) == (3, 3)
    assert result.p_value == pytest.approx(welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]).p_value)


def test_median_iqr_linear_quartiles():
    # Sorted [1, 2, 3, 4]: q1 at position 0.75 -> 1.75, median 2.5, q3 at 2.25 -> 3.25.
    result = median_iqr([4.0, 1.0, math.nan, 3.0, 2.0])
    assert result.n == 4
    assert (result.median, result.q1, result.q3, result.iqr) == (2.5, 1.75, 3.25, 1.5)


def test_median_iqr_of_nothing():
    result = median_iqr([math.nan])
    assert result.n == 0 and math.isnan(result.median)


def test_results_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        summarize([1.0]).mean = 2.0  # type: ignore[misc]
