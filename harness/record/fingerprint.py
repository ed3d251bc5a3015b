"""Behavioural fingerprints: what a saved result was computed from, never the bytes of the
code that computed it.

A tuned file (:mod:`harness.run.tuned`), an Optuna study and a run directory's manifest
(:mod:`harness.run.rundir`) are tied to what is computed: the suite version (bumped
whenever a change can move a number: README, "Versions"), the data's sha256, the tuning
settings and search space (:mod:`harness.run.tunespace`), and each split's and feature
configuration's own description (its registered frozen dataclass as data). A renamed
variable, an edited comment or a moved function changes none of these, so it invalidates
nothing; a change that can move a number bumps the suite version, and that does.

:func:`differences` says how two such descriptions differ, one phrase per key: a run
directory's manifest against the run resuming it, a study's recorded descriptions against
the current ones, two results files before they are compared or merged.

No TensorFlow and no Optuna: the split and configuration registries are plain dataclasses
(``splits``, :mod:`harness.model.features`), read when a description is asked for.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable

from harness.record.provenance import current_suite_version

# The parts of a tuning's identity that describe its (split, configuration) cells, one
# entry per name; the rest is shared by every study of the tuning.
DESCRIBED = ("splits", "configs")


def split_description(name: str) -> dict:
    """The registered split ``name`` as data: every field of its ``SplitStrategy`` but
    the function, which is code (a change to what it computes bumps the suite version).

    Raises:
        UnknownNameError: ``name`` is not a registered split (the message lists them).
    """
    from splits import SPLITS

    strategy = SPLITS[name]
    return {field.name: getattr(strategy, field.name)
            for field in dataclasses.fields(strategy) if field.name != "fn"}


def config_description(name: str) -> dict:
    """The registered feature configuration ``name`` as data (its ``to_dict()``).

    Raises:
        UnknownNameError: ``name`` is not a registered configuration.
    """
    from harness.model.features import CONFIGS

    description = CONFIGS[name].to_dict()
    description["hidden_layers"] = list(description["hidden_layers"])  # as JSON reads back
    return description


def described(splits: Iterable[str], configs: Iterable[str]) -> dict:
    """What the named splits and configurations compute: ``{"splits": {name:
    description}, "configs": {name: description}}``, each name once, in the given order."""
    return {"splits": {name: split_description(name) for name in splits},
            "configs": {name: config_description(name) for name in configs}}


def tuning_identity(data_sha256: str, settings: dict, splits: Iterable[str],
                    configs: Iterable[str]) -> dict:
    """What produced a tuning of the (split, configuration) studies ``splits`` x
    ``configs``.

    Args:
        data_sha256: the tuned data's sha256.
        settings: ``TuneSettings.to_dict()``: the budget, the fractions, the seeds and the
            search (:func:`harness.run.tunespace.search`).
        splits, configs: the studies' split and configuration names.

    Returns:
        ``{"suite_version", "data_sha256", "settings", "splits", "configs"}``, the last two
        as :func:`described`.
    """
    return {"suite_version": current_suite_version(), "data_sha256": data_sha256,
            "settings": copy.deepcopy(settings), **described(splits, configs)}


def shared(identity: dict) -> dict:
    """A tuning identity less its per-cell descriptions: what all its studies share."""
    return {key: value for key, value in identity.items() if key not in DESCRIBED}


def study_identity(identity: dict, split: str, config: str) -> dict:
    """What one study of a tuning was made under: the shared part of ``identity`` and its
    own split's and configuration's descriptions (a study resumed by a tuning of other
    cells still matches)."""
    return {**shared(identity), "split": identity["splits"][split],
            "config": identity["configs"][config]}


def changed_descriptions(identity: dict, split: str, config: str) -> list[str]:
    """How the current descriptions of ``split`` and ``config`` differ from those a tuning
    ``identity`` recorded: one "splits.<name>.<field>: old != new" phrase each (a name
    the identity does not describe is one phrase too); empty when they agree."""
    now = described([split], [config])
    recorded = {kind: identity.get(kind) if isinstance(identity.get(kind), dict) else {}
                for kind in DESCRIBED}
    found = {kind: {name: recorded[kind].get(name) for name in now[kind]}
             for kind in DESCRIBED}
    return differences(found, now)


def _text(value) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(map(str, value)) or "none"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """How two descriptions of a run differ: one "key: old != new" phrase per differing
    key (nested objects by dotted key), empty when they agree.

    The one comparison of runs: a run directory's manifest against the run resuming
    it, and two results files before ``compare`` or a merge reads them together.
    """
    found = []
    for key in sorted(set(old) | set(new), key=lambda k: (k not in old, list(old).index(k)
                                                           if k in old else 0, k)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}: {_text(a)} != {_text(b)}")
    return found


__all__ = ["DESCRIBED", "changed_descriptions", "config_description", "described",
           "differences", "shared", "split_description", "study_identity", "tuning_identity"]
