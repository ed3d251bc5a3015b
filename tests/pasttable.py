"""The synthetic table the tests of features from the past share."""

from __future__ import annotations

import dataclasses

import numpy as np

from harness.data.history import SECONDS_PER_DAY
from harness.data.synthetic import synthetic_movielens


def whole_day_table(late_users: int = 0):
    """A small synthetic table, its times cut to whole days: a user has several rows in
    one second, which are not each other's past (the rule a ``<=`` would break). The
    first ``late_users`` users arrive after everyone else: cold on the time splits, their
    first test query without a past, their later ones with an online past."""
    data = synthetic_movielens(np.random.default_rng(0), n_users=40, n_items=300,
                               n_interactions=3000)
    days = data.ratings["timestamp"] // SECONDS_PER_DAY * SECONDS_PER_DAY
    late = data.user_codes < late_users
    days = np.where(late, days + days.max() - days.min() + SECONDS_PER_DAY, days)
    return dataclasses.replace(data, ratings={**data.ratings, "timestamp": days})
