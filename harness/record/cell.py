"""The cell: one unit of work, its key, its group over seeds, and what it measured.

One definition, used by the writer (``benchmarks/``, :mod:`harness.run.result`), the reader
(:mod:`harness.record.reader`) and the test fixtures alike, so that none of them can drift
from the others:

- :class:`Cell` — (split, configuration, fit_on, seed, protocol), with its key
  ``"<split>-<config>-<fit_on>-s<seed>"`` under the tutorial protocol and
  ``"<split>-<config>-<fit_on>-<protocol>-s<seed>"`` under another (registered names
  hold no ``-``, so a key parses back exactly, and files from before protocols read as
  the tutorial's);
- :class:`CellResult` — what one cell measured.

No TensorFlow here: the reader imports this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.record.peruser import PerUser

# How a cell's hyperparameters are chosen, a ladder that changes one thing per step: the
# TFRS tutorial's fixed ones (3 epochs of Adagrad(0.1), batch 2048, no sampling-bias
# correction); the same with TFRS's logQ correction on; each (split, configuration)'s own,
# tuned on its validation slice (``results/tuned.json``, :mod:`harness.run.tuned`). The
# non-learned baselines have nothing to tune: they run once, under the tutorial protocol,
# and stand in every protocol's tables.
TUTORIAL, LOGQ, TUNED = "tutorial", "logq", "tuned"
PROTOCOLS = (TUTORIAL, LOGQ, TUNED)
# The protocols at the tutorial's fixed budget (its epochs, optimiser, batch, embedding
# size and fit_on settings), each with the ``TrainOptions`` fields it sets on top of it;
# the tuned protocol's options come from the tuned file instead.
FIXED_OPTIONS: dict[str, dict[str, object]] = {TUTORIAL: {}, LOGQ: {"logq": True}}
# What each protocol changes over the one before it in ``PROTOCOLS``: the ladder's steps.
STEPS = {LOGQ: "logQ", TUNED: "tuning the budget"}

GroupKey = tuple[str, str, str, str]
"""(split, config, fit_on, protocol): the cells of one configuration over seeds."""

_KEY = re.compile(r"(?P<split>[^-]+)-(?P<config>[^-]+)-(?P<fit_on>[^-]+)"
                  rf"(?:-(?P<protocol>{'|'.join(p for p in PROTOCOLS if p != TUTORIAL)}))?"
                  r"-s(?P<seed>\d+)")


def group_label(key: GroupKey) -> str:
    """"split/config/fit_on", with "/protocol" unless it is the tutorial's."""
    return "/".join(key[:3] if key[3] == TUTORIAL else key)


@dataclass(frozen=True, order=True)
class Cell:
    """One unit of work: a configuration (or a baseline, ``grid.BASELINES``) trained with
    preprocessing fitted on ``fit_on`` rows, on one split, with one seed, under one
    protocol (``PROTOCOLS``)."""

    split: str
    config: str
    fit_on: str
    seed: int
    protocol: str = TUTORIAL

    @property
    def key(self) -> str:
        protocol = "" if self.protocol == TUTORIAL else f"-{self.protocol}"
        return f"{self.split}-{self.config}-{self.fit_on}{protocol}-s{self.seed}"

    @property
    def group(self) -> str:
        protocol = "" if self.protocol == TUTORIAL else f"/{self.protocol}"
        return f"{self.split}/{self.config}/fit_on={self.fit_on}{protocol}"

    @property
    def group_key(self) -> GroupKey:
        return (self.split, self.config, self.fit_on, self.protocol)

    @classmethod
    def in_group(cls, key: GroupKey, seed: int) -> Cell:
        """The cell of seed ``seed`` in the group ``key`` (:attr:`group_key`)."""
        split, config, fit_on, protocol = key
        return cls(split, config, fit_on, seed, protocol)

    @classmethod
    def from_key(cls, key: str) -> Cell:
        """The cell of a :attr:`key`.

        Raises:
            ValueError: ``key`` is not of the form ``split-config-fit_on-sSEED``.
        """
        match = _KEY.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(f"malformed cell key {key!r:.60}")
        return cls(match["split"], match["config"], match["fit_on"], int(match["seed"]),
                   match["protocol"] or TUTORIAL)


@dataclass(frozen=True)
class CellResult:
    """What one cell measured: written by :mod:`harness.run.cell`, read back by
    :func:`~harness.record.cellentry.merge_entries`.

    Attributes:
        cell: the cell.
        status: "ok" or "failed" (then ``error`` says why and ``metrics`` may be empty).
        error: the failure, or None.
        model: "two_tower", or the baseline's name.
        epochs: training epochs.
        metrics: flat split-prefixed metrics, e.g. ``test/top_100_categorical_accuracy``
            (JSON null read back as NaN).
        examples_per_second: training throughput (None for a baseline or a failure).
        queries_per_second: inference throughput (the inference benchmark's, when read
            back from one).
        timings: seconds and throughputs of the cell's own measurement.
        sizes: row and vocabulary counts, the training losses per epoch.
        leakage: the split's diagnostics (``splits.leakage_diagnostics``).
        provenance: configuration, options, data source and sha256, versions, git
            commit, command and UTC time.
        source: the file it was read from (None when just measured).
        per_user: the test users' hits (in the inference entry), or None.
    """

    cell: Cell
    status: str = "ok"
    error: str | None = None
    model: str = "two_tower"
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    examples_per_second: float | None = None
    queries_per_second: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, object] = field(default_factory=dict)
    leakage: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, object] = field(default_factory=dict)
    source: Path | None = None
    per_user: PerUser | None = None


__all__ = ["FIXED_OPTIONS", "LOGQ", "PROTOCOLS", "STEPS", "TUNED", "TUTORIAL", "Cell", "CellResult",
           "GroupKey", "group_label"]
