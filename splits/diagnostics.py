"""Leakage diagnostics of a split: how much of the future training sees."""

from __future__ import annotations

import numpy as np

from splits.functions import Split


def leakage_diagnostics(split: Split, user_ids: np.ndarray, item_ids: np.ndarray,
                        timestamps: np.ndarray) -> dict[str, float]:
    """Sizes, temporal leakage and cold start of a split.

    Args:
        split: the train/test row indices.
        user_ids: [n] user of each interaction.
        item_ids: [n] item of each interaction.
        timestamps: [n] time of each interaction (seconds).

    Returns:
        A flat dict of floats:
        ``n_train``, ``n_test``, ``test_fraction``;
        ``future_leak_rate``: fraction of test interactions strictly earlier than the
        latest training interaction (0 for a global time cut);
        ``train_after_test_start_rate``: fraction of training interactions strictly
        later than the earliest test interaction;
        ``test_users_unseen`` / ``test_items_unseen``: distinct test users / items with
        no training interaction (cold start), and ``cold_user_test_rate`` /
        ``cold_item_test_rate``: the fraction of test interactions they account for.
    """
    train, test = split.train, split.test
    train_times, test_times = timestamps[train], timestamps[test]
    seen_users = np.isin(user_ids[test], user_ids[train])
    seen_items = np.isin(item_ids[test], item_ids[train])
    return {
        "n_train": float(train.size),
        "n_test": float(test.size),
        "test_fraction": float(test.size / (train.size + test.size)),
        "future_leak_rate": float(np.mean(test_times < train_times.max())),
        "train_after_test_start_rate": float(np.mean(train_times > test_times.min())),
        "test_users_unseen": float(np.unique(user_ids[test][~seen_users]).size),
        "test_items_unseen": float(np.unique(item_ids[test][~seen_items]).size),
        "cold_user_test_rate": float(np.mean(~seen_users)),
        "cold_item_test_rate": float(np.mean(~seen_items)),
    }


def validation_diagnostics(validation: Split, user_ids: np.ndarray, item_ids: np.ndarray,
                           timestamps: np.ndarray) -> dict[str, float]:
    """:func:`leakage_diagnostics` of a validation slice, its keys naming validation.

    Args:
        validation: ``make_validation``'s split: ``train`` the rows left for fitting,
            ``test`` the validation slice.
        user_ids, item_ids, timestamps: [n] columns, as for ``leakage_diagnostics``.

    Returns:
        The same numbers with "test" read as "validation" in every key: ``n_train`` (rows
        left for fitting), ``n_validation``, ``validation_fraction`` (of the training
        side), ``future_leak_rate`` (validation interactions strictly earlier than the
        latest fitting one), ``train_after_validation_start_rate``,
        ``validation_users_unseen``, ``validation_items_unseen``,
        ``cold_user_validation_rate``, ``cold_item_validation_rate``.
    """
    return {key.replace("test", "validation"): value for key, value in
            leakage_diagnostics(validation, user_ids, item_ids, timestamps).items()}
