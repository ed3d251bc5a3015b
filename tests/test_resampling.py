"""harness.evaluation.correction and harness.evaluation.resampling on tiny hand-computed
arrays: Holm and Benjamini-Hochberg by hand, randomization tests with every sign flip
enumerated by hand, and bootstrap intervals against their closed-form limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.evaluation.correction import adjust, benjamini_hochberg, holm
from harness.evaluation.resampling import (
    paired_user_difference,
    ratio_interval,
    sign_flip_p_value,
    user_accuracy,
)
from harness.evaluation.stats import paired_difference

# Sorted: 0.005, 0.01, 0.03, 0.04 (m = 4).
P_VALUES = [0.01, 0.04, 0.03, 0.005]


def test_holm_by_hand():
    # 4 x 0.005 = 0.02; 3 x 0.01 = 0.03; 2 x 0.03 = 0.06; 1 x 0.04 = 0.04 -> running max 0.06.
    assert holm(P_VALUES) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)


def test_holm_caps_at_one_and_keeps_nan_out_of_the_family():
    # NaN is no test: the family is the two others, 2 x 0.6 = 1.2 -> 1, 1 x 0.7 -> max 1.
    adjusted = holm([0.6, math.nan, 0.7])
    assert adjusted[0] == 1.0 and adjusted[2] == 1.0 and math.isnan(adjusted[1])
    # Without the NaN counted, 2 x 0.01 = 0.02 (three tests would give 0.03).
    assert holm([0.01, math.nan, 0.5])[0] == pytest.approx(0.02, abs=1e-15)


def test_benjamini_hochberg_by_hand():
    # Sorted p x m / rank: 0.005 x 4 = 0.02, 0.01 x 2 = 0.02, 0.03 x 4/3 = 0.04, 0.04 x 1 =
    # 0.04; running minimum from the largest keeps them.
    assert benjamini_hochberg(P_VALUES) == pytest.approx([0.02, 0.04, 0.04, 0.02], abs=1e-15)
    assert benjamini_hochberg([0.04, 0.01, math.nan])[:2] == pytest.approx([0.04, 0.02])


def test_adjust_names_its_methods():
    assert adjust(P_VALUES, "bh") == pytest.approx(benjamini_hochberg(P_VALUES))
    with pytest.raises(ValueError, match="holm, bh"):
        adjust(P_VALUES, "bonferroni")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([1.5])


@pytest.mark.parametrize(("differences", "expected"), [
    # (3, 1, -2), sum 2; the 8 flips sum to 2, 6, 0, 4, -4, 0, -6, -2: six reach |2|.
    ([3, 1, -2], 6 / 8),
    # (4, 3, 2, 1), sum 10: only all-plus and all-minus reach |10|.
    ([4, 3, 2, 1], 2 / 16),
    # (4, 3, 2, -1), sum 8: +-(4+3+2+1) = 10 and +-(4+3+2-1) = 8 reach it: 4 of 16.
    ([4, 3, 2, -1], 4 / 16),
    # A zero difference is the same under a flip: (5, 0, -5) is the test of (5, -5): 2/2.
    ([5, 0, -5], 1.0),
])
def test_sign_flip_enumerates_every_flip(differences, expected):
    p_value, exact, flips = sign_flip_p_value(differences, np.random.default_rng(0))
    assert exact and p_value == expected
    assert flips == 2 ** np.count_nonzero(differences)


def test_sign_flip_without_difference_or_units():
    assert sign_flip_p_value([0, 0], np.random.default_rng(0))[0] == 1.0
    assert math.isnan(sign_flip_p_value([], np.random.default_rng(0))[0])


def test_sign_flip_sampled_matches_the_exact_test():
    # 14 users: 16,384 flips > 1,000 resamples, so the flips are drawn; the drawn p must
    # approach the exact one (enumerated with enough resamples) within its Monte Carlo error.
    differences = [3, -1, 2, 2, -2, 1, 1, 3, -1, 2, 1, -3, 2, 1]
    exact, was_exact, _ = sign_flip_p_value(differences, np.random.default_rng(0), 2**14)
    drawn, drawn_exact, flips = sign_flip_p_value(differences, np.random.default_rng(1), 4000)
    assert was_exact and not drawn_exact and flips == 4000
    assert drawn == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 4000))
    again = sign_flip_p_value(differences, np.random.default_rng(1), 4000)[0]
    assert drawn == again  # seeded: the same generator state gives the same p


def test_sampled_p_is_never_zero():
    p_value, exact, _ = sign_flip_p_value([1] * 40, np.random.default_rng(0), 999)
    assert not exact and p_value == 1 / 1000


def test_a_user_level_test_can_fail_where_the_seed_t_test_passes():
    # 200 users with 10 test queries each, 5 seeds that agree exactly: 105 users gain 3 hits,
    # 95 lose 3, in every seed. Each seed's accuracy difference is +30 / 2000 = +0.015, so
    # the seeds alone look certain; the users disagree, and the sign-flip test says so.
    seeds, users = 5, 200
    queries = np.full((seeds, users), 10.0)
    base = np.full((seeds, users), 4.0)
    gain = np.where(np.arange(users) < 105, 3.0, -3.0)
    new = base + gain
    new[:, 0] += np.array([0, 1, 0, 1, 0])  # a little seed noise: a real t-test, not 0/0
    per_seed_new = new.sum(axis=1) / queries.sum(axis=1)
    per_seed_base = base.sum(axis=1) / queries.sum(axis=1)
    assert paired_difference(per_seed_new, per_seed_base).p_value < 1e-6
    verdict = paired_user_difference(new, base, queries, np.random.default_rng(0))
    assert verdict.p_value > 0.3
    assert verdict.ci_low < 0.0 < verdict.ci_high
    assert verdict.mean == pytest.approx(per_seed_new.mean() - per_seed_base.mean())
    assert (verdict.users, verdict.seeds, verdict.exact) == (200, 5, False)


def test_a_seed_effect_every_user_shares_is_not_a_verdict():
    # 300 users with 10 test queries each; each seed shifts every user alike (one
    # initialisation trains better, another worse): +0.05, -0.01, +0.04, -0.02, +0.03 plus
    # a little user noise. Summed over the seeds every user gains, so the users' sign-flip
    # test alone is certain; the seeds disagree (t-test p ~ 0.25), and the verdict takes
    # the larger p, with an interval that holds 0.
    rng = np.random.default_rng(3)
    seeds, users = 5, 300
    queries = np.full((seeds, users), 10.0)
    base = np.full((seeds, users), 4.0)
    shift = np.array([0.05, -0.01, 0.04, -0.02, 0.03])[:, None] * 10.0
    new = base + shift + rng.normal(0.0, 0.01, (seeds, users))
    verdict = paired_user_difference(new, base, queries, np.random.default_rng(0))
    assert verdict.p_users < 0.001
    assert 0.1 < verdict.p_seeds < 0.5
    assert verdict.p_value == max(verdict.p_users, verdict.p_seeds)
    assert verdict.ci_low < 0.0 < verdict.ci_high
    per_seed = paired_difference(new.sum(axis=1) / 3000, base.sum(axis=1) / 3000)
    assert verdict.p_seeds == pytest.approx(per_seed.p_value)
    # The hull holds the seeds' t interval (computed here along another path: a few ulps).
    assert verdict.ci_low <= per_seed.ci_low + 1e-12
    assert verdict.ci_high >= per_seed.ci_high - 1e-12


def test_one_seed_leaves_the_users_test_alone():
    queries = np.full((1, 40), 5.0)
    base = np.full((1, 40), 1.0)
    verdict = paired_user_difference(base + 1.0, base, queries, np.random.default_rng(0))
    assert math.isnan(verdict.p_seeds) and verdict.p_value == verdict.p_users < 0.001


def test_user_level_test_finds_a_difference_every_user_shares():
    queries = np.full((3, 30), 5.0)
    base = np.full((3, 30), 1.0)
    verdict = paired_user_difference(base + 1.0, base, queries, np.random.default_rng(0))
    assert verdict.p_value == 1 / 10_001  # no flip but the identity's reaches it
    assert verdict.mean == 0.2 and verdict.p_seeds == 0.0  # the same gain in every seed
    # The seeds' t interval is their mean of 30/150 +- 0, a few ulps from the pooled 0.2.
    assert (verdict.ci_low, verdict.ci_high) == pytest.approx((0.2, 0.2), abs=1e-12)


def test_ratio_interval_of_equal_users_is_their_value():
    # Every user has 1 hit in 4 queries in every seed: any resample gives 0.25.
    assert ratio_interval(np.ones((2, 5)), np.full((2, 5), 4.0),
                          np.random.default_rng(0)) == (0.25, 0.25)


def test_ratio_interval_over_users_matches_the_binomial_limit():
    # One seed, 2000 users with one query each, 30% hits: the 95% interval of a proportion
    # is p +- 1.96 sqrt(p (1 - p) / n) = 0.3 +- 0.0201; the bootstrap's endpoints are
    # within Monte Carlo and discreteness error (0.003) of it.
    hits = (np.arange(2000) % 10 < 3).astype(float)[None, :]
    low, high = ratio_interval(hits, np.ones_like(hits), np.random.default_rng(0), 4000)
    half = 1.96 * math.sqrt(0.3 * 0.7 / 2000)
    assert low == pytest.approx(0.3 - half, abs=0.003)
    assert high == pytest.approx(0.3 + half, abs=0.003)


def test_ratio_interval_widens_with_seed_spread():
    # The same users; seeds that disagree by 0.2 (0.7 and 0.5) must widen the interval
    # over users alone (width ~0.1) well beyond it.
    hits = np.tile((np.arange(400) % 2).astype(float), (4, 1))
    hits[:2, :160] = 1.0  # two seeds hit 80 more of 400
    queries = np.ones_like(hits)
    users_only = ratio_interval(hits[2:], queries[2:], np.random.default_rng(0))
    both = ratio_interval(hits, queries, np.random.default_rng(0))
    assert both[1] - both[0] > 1.5 * (users_only[1] - users_only[0])


def test_a_deterministic_model_gets_a_user_level_interval():
    hits = np.tile([[0.0, 1.0, 2.0, 3.0, 1.0, 0.0]], (5, 1))
    queries = np.full((5, 6), 3.0)
    accuracy = user_accuracy(hits, queries, np.random.default_rng(0))
    assert accuracy.identical_over_seeds and accuracy.mean == pytest.approx(7 / 18)
    assert accuracy.ci_low < accuracy.mean < accuracy.ci_high
    assert (accuracy.users, accuracy.seeds) == (6, 5)
    varied = hits.copy()
    varied[0, 0] = 1.0
    assert not user_accuracy(varied, queries, np.random.default_rng(0)).identical_over_seeds


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="differ"):
        paired_user_difference(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 4)),
                               np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\[seeds, users\]"):
        user_accuracy(np.ones(3), np.ones(3), np.random.default_rng(0))
