"""Uncertainty over test users and seeds: a paired randomization test and bootstrap
intervals of top-k accuracy, from each cell's per-user hits.

Two sources vary between runs of a cell: the seed (initialisation, batch order and, on the
random split, which interactions are held out) and the test users (who happens to be in
the test set). On the time-ordered splits the test set is the same for every seed, so a
t-test over 5 seeds sees seed noise only, and a model that is identical over seeds
(popularity, EASE^R) would get a zero-width interval. Here both sources count.

Data: for one cell group, ``hits[s, u]`` and ``queries[s, u]`` are user u's hits in the
top k and test interactions in seed s (0 and 0 where u has no test interaction in that
seed); users are matched by their code in the table, so on the time-ordered splits each
user appears in every seed and on the random split in most. Accuracy is the micro
average the metrics report, ``sum(hits) / sum(queries)``; a configuration's difference
from the reference is the difference of those accuracies, summed over the seeds both
completed (:func:`paired_user_difference`).

Choices, and why:

- **Test: a verdict must hold over users and over seeds (an intersection-union test).**
  Two sources can explain a difference away, so each gets its own test and the verdict's
  p is the larger of the two (Berger, "Multiparameter hypothesis testing and acceptance
  sampling", Technometrics 1982: rejecting a union of nulls when every one is rejected
  at level alpha keeps the level alpha):

  - *over users*: a paired randomization (sign-flip) test, the user as the exchangeable
    unit. Under the null hypothesis that the configuration and the reference are
    exchangeable for every user, the sign of each user's difference (summed over the
    seeds: a user's seeds flip together) is a fair coin. The statistic is the accuracy
    difference; its denominator (the queries) does not change under a flip. This is
    Fisher's randomization test that Smucker, Allan & Carterette (CIKM 2007) recommend for
    IR evaluation over the t-test, bootstrap and sign tests (ranx's ``fisher`` test; Sakai,
    "Statistical Reform in Information Retrieval", SIGIR Forum 2014, argues likewise for
    effect sizes with intervals and corrected p). It needs no normality, and its unit is
    the user, whose queries are correlated. :data:`DEFAULT_RESAMPLES` random flips give
    ``p = (1 + #{|T*| >= |T|}) / (1 + R)`` (never 0: Phipson & Smyth 2010); with at most
    ``log2(R)`` users whose difference is not zero, every flip is enumerated and p is exact.
    It holds the trained models fixed: a seed that shifts every user the same way (one
    initialisation that trains worse) is invisible to it.
  - *over seeds*: a paired t-test of the per-seed accuracy differences
    (:func:`harness.evaluation.stats.paired_difference`, n - 1 degrees of freedom). With
    five seeds a bootstrap of the seeds would understate their spread (it resamples five
    values and uses normal quantiles); the t-distribution is the small-sample answer. A
    difference that is the same in every seed (two deterministic scorers on a fixed test
    set) has nothing to explain over seeds (p = 0 there); with one seed the seeds cannot
    be tested and the users' test stands alone.

- **Interval: a crossed (pigeonhole) bootstrap of users and seeds.** Each resample draws
  the seeds with replacement and, independently, the users with replacement, and keeps
  every (seed, user) pair of the two draws (Owen, "The pigeonhole bootstrap", Ann. Appl.
  Stat. 2007). Users and seeds are crossed, not nested, on the time-ordered splits (the
  same users in every seed): resampling users afresh within each seed would treat one
  user's five seeds as five independent users and understate the user variance. The
  interval is the percentile interval of :data:`DEFAULT_BOOTSTRAP` resamples (Efron &
  Tibshirani ask for >= 1000 for 95% endpoints); ``scipy.stats.bootstrap`` resamples one
  axis only, hence this. A cell group whose per-user hits are the same in every seed (a
  deterministic model on a fixed test set) is one sample: its interval is over users.
  A difference's interval is the hull of that interval and the seeds' t interval, the
  values neither test rejects, widened by the bootstrap's counting both sources at once.
  Away from p = 0.05 the interval and the raw p agree; near it they can disagree either
  way (a bootstrap and a randomization test are not exact duals). Marks follow the p.

Both are vectorised: each chunk of resamples is one matrix product over users, never a
Python loop over resamples or users. Randomness comes from the ``np.random.Generator``
passed in. Pure numpy; no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.evaluation.stats import DEFAULT_CONFIDENCE, paired_difference

DEFAULT_RESAMPLES = 10_000  # sign flips: p resolves 1e-4, so 30 Holm-corrected cells reach 0.003
DEFAULT_BOOTSTRAP = 2_000  # bootstrap resamples of each interval
_CHUNK_ELEMENTS = 1 << 22  # resamples x users per matrix product: ~32 MB of float64


@dataclass(frozen=True)
class UserLevelDifference:
    """Paired accuracy difference ``new - base`` over test users and seeds.

    Attributes:
        mean: sum over users and seeds of (new hits - base hits) / sum of queries.
        ci_low, ci_high: the hull of the crossed-bootstrap percentile interval of ``mean``
            and the seeds' t interval.
        p_value: ``max(p_users, p_seeds)`` (``p_users`` alone when the seeds cannot be
            tested).
        p_users: two-sided sign-flip randomization test, the user as the unit.
        p_seeds: two-sided paired t-test over the seeds' accuracies (NaN for one seed).
        users: distinct test users; seeds: seeds paired.
        exact: whether every sign flip was enumerated (else ``resamples`` random ones).
        resamples: sign flips drawn (or enumerated); confidence: the interval's level.
    """

    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    users: int
    seeds: int
    exact: bool
    resamples: int
    confidence: float
    p_users: float = math.nan
    p_seeds: float = math.nan


@dataclass(frozen=True)
class UserLevelAccuracy:
    """Accuracy of one cell group over test users and seeds.

    Attributes:
        mean: sum of hits / sum of queries over users and seeds.
        ci_low, ci_high: crossed-bootstrap percentile interval (over users alone when
            the hits are the same in every seed).
        users: distinct test users; seeds: the seeds given.
        identical_over_seeds: every seed has the same per-user hits and queries (a
            deterministic model on a fixed test set): one value, a user-level interval.
        confidence: the interval's level.
    """

    mean: float
    ci_low: float
    ci_high: float
    users: int
    seeds: int
    identical_over_seeds: bool
    confidence: float


def _matrix(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be [seeds, users], got shape {array.shape}")
    return array


def _chunks(resamples: int, users: int):
    """Sizes of the chunks of resamples, each a bounded matrix."""
    step = max(1, _CHUNK_ELEMENTS // max(users, 1))
    for start in range(0, resamples, step):
        yield min(step, resamples - start)


def _counts(rng: np.random.Generator, rows: int, size: int) -> np.ndarray:
    """[rows, size] how often each of ``size`` units is drawn in ``size`` draws with
    replacement, per row (a multinomial row by one bincount)."""
    index = np.int32 if rows * size < 2**31 else np.int64  # half the memory traffic
    draws = rng.integers(0, size, size=(rows, size), dtype=index)
    draws += (size * np.arange(rows, dtype=index))[:, None]
    return np.bincount(draws.ravel(), minlength=rows * size).reshape(rows, size)


def sign_flip_p_value(differences, rng: np.random.Generator,
                      resamples: int = DEFAULT_RESAMPLES) -> tuple[float, bool, int]:
    """Two-sided paired randomization test of ``sum(differences) == 0`` by sign flips.

    Args:
        differences: [users] each unit's difference (e.g. hits of new minus base summed
            over its seeds); a zero difference is the same under a flip and is dropped.
        rng: the generator of the flips.
        resamples: random flips when the flips are too many to enumerate.

    Returns:
        (p_value, exact, flips): p is 1.0 when every difference is 0 and NaN for no
        units; exact when all ``2**n`` flips were enumerated (then ``flips = 2**n``).
    """
    values = np.asarray(differences, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"differences must be one-dimensional, got shape {values.shape}")
    if values.size == 0:
        return math.nan, True, 0
    values = values[values != 0.0]
    if values.size == 0:
        return 1.0, True, 1
    observed = abs(float(values.sum()))
    # Integer hit counts sum exactly; for other values a flip that only rounds differently
    # from the observed sum still counts as reaching it.
    reach = observed - 1e-9 * float(np.abs(values).sum())
    n = values.size
    if 2**n <= resamples:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2.0 - 1.0
        return float(np.mean(np.abs(signs @ values) >= reach)), True, 2**n
    extreme = 0
    total = float(values.sum())
    for rows in _chunks(resamples, n):
        # One random bit per sign (8 to a byte): sum(s * v) with s = 2b - 1 is 2 b.v - sum(v).
        bits = np.unpackbits(rng.integers(0, 256, size=(rows, -(-n // 8)), dtype=np.uint8),
                             axis=1, count=n)
        flipped = 2.0 * (bits @ values) - total
        extreme += int(np.count_nonzero(np.abs(flipped) >= reach))
    return (1 + extreme) / (1 + resamples), False, resamples


def ratio_interval(numerator, denominator, rng: np.random.Generator,
                   resamples: int = DEFAULT_BOOTSTRAP,
                   confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Crossed-bootstrap percentile interval of ``sum(numerator) / sum(denominator)``.

    Args:
        numerator, denominator: [seeds, users] e.g. hits (or hit differences) and queries.
        rng: the generator of the resamples.
        resamples: bootstrap resamples.
        confidence: the interval's level, in (0, 1).

    Returns:
        (low, high); NaN when there is no user or no query.
    """
    top, bottom = _matrix(numerator, "numerator"), _matrix(denominator, "denominator")
    if top.shape != bottom.shape:
        raise ValueError(f"numerator {top.shape} and denominator {bottom.shape} differ")
    seeds, users = top.shape
    if users == 0 or bottom.sum() <= 0:
        return math.nan, math.nan
    values = []
    for rows in _chunks(resamples, users):
        seed_counts = _counts(rng, rows, seeds).astype(np.float64)
        user_counts = _counts(rng, rows, users).astype(np.float64)
        over_top = np.einsum("ru,ru->r", user_counts, seed_counts @ top)
        over_bottom = np.einsum("ru,ru->r", user_counts, seed_counts @ bottom)
        with np.errstate(invalid="ignore", divide="ignore"):
            values.append(np.where(over_bottom > 0, over_top / over_bottom, np.nan))
    tail = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(np.concatenate(values), [tail, 1.0 - tail])
    return float(low), float(high)


def paired_user_difference(new_hits, base_hits, queries, rng: np.random.Generator,
                           resamples: int = DEFAULT_RESAMPLES,
                           bootstrap: int = DEFAULT_BOOTSTRAP,
                           confidence: float = DEFAULT_CONFIDENCE) -> UserLevelDifference:
    """Paired accuracy difference of two cell groups on the same seeds and test users.

    Args:
        new_hits, base_hits: [seeds, users] hits in the top k of each side.
        queries: [seeds, users] test interactions (the same on both sides).
        rng: the generator of the flips and resamples.
        resamples, bootstrap: sign flips of the test, resamples of the interval.

    Returns:
        The :class:`UserLevelDifference` (NaN fields when there is no query).
    """
    new, base = _matrix(new_hits, "new_hits"), _matrix(base_hits, "base_hits")
    count = _matrix(queries, "queries")
    if not new.shape == base.shape == count.shape:
        raise ValueError(f"shapes differ: new {new.shape}, base {base.shape}, "
                         f"queries {count.shape}")
    seeds, users = count.shape
    total = float(count.sum())
    if total <= 0:
        nan = math.nan
        return UserLevelDifference(nan, nan, nan, nan, users, seeds, True, 0, confidence)
    difference = new - base
    p_users, exact, flips = sign_flip_p_value(difference.sum(axis=0), rng, resamples)
    low, high = ratio_interval(difference, count, rng, bootstrap, confidence)
    p_value, p_seeds = p_users, math.nan
    per_seed = count.sum(axis=1)
    if seeds > 1 and (per_seed > 0).all():
        over_seeds = paired_difference(new.sum(axis=1) / per_seed, base.sum(axis=1) / per_seed,
                                       confidence)
        p_seeds = over_seeds.p_value
        p_value = max(p_users, p_seeds)
        low, high = min(low, over_seeds.ci_low), max(high, over_seeds.ci_high)
    return UserLevelDifference(float(difference.sum()) / total, low, high, p_value, users,
                               seeds, exact, flips, confidence, p_users, p_seeds)


def user_accuracy(hits, queries, rng: np.random.Generator,
                  bootstrap: int = DEFAULT_BOOTSTRAP,
                  confidence: float = DEFAULT_CONFIDENCE) -> UserLevelAccuracy:
    """Accuracy of one cell group with its user-and-seed interval.

    Args:
        hits, queries: [seeds, users] hits in the top k and test interactions.
        rng: the generator of the resamples.

    Returns:
        The :class:`UserLevelAccuracy`; a group identical over seeds is reduced to one
        seed, so its interval is over users alone.
    """
    hit, count = _matrix(hits, "hits"), _matrix(queries, "queries")
    if hit.shape != count.shape:
        raise ValueError(f"hits {hit.shape} and queries {count.shape} differ")
    seeds, users = count.shape
    identical = seeds > 1 and bool((hit == hit[0]).all() and (count == count[0]).all())
    if identical:
        hit, count = hit[:1], count[:1]
    total = float(count.sum())
    mean = float(hit.sum()) / total if total > 0 else math.nan
    low, high = ratio_interval(hit, count, rng, bootstrap, confidence)
    return UserLevelAccuracy(mean, low, high, users, seeds, identical, confidence)


__all__ = ["DEFAULT_BOOTSTRAP", "DEFAULT_RESAMPLES", "UserLevelAccuracy",
           "UserLevelDifference", "paired_user_difference", "ratio_interval",
           "sign_flip_p_value", "user_accuracy"]
