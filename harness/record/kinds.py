"""The benchmark entries that are not cells, one frozen dataclass per kind.

A cell's entries (``"kind": "train"`` / ``"inference"``) have their schema in
:mod:`harness.record.cellentry`; the others are measurements beside the grid, each written by one
benchmark into its entry's ``extra_info``:

- :class:`SpeedupRecord` (``"speedup"``, ``benchmarks/test_speedup.py``): the harness
  against the tutorial's code, side by side, over interleaved rounds.
- :class:`ScalingRecord` (``"scaling"``, ``benchmarks/test_scaling.py``): one point of the
  synthetic sweep of training and evaluation cost against interactions and items.
- :class:`ServingRecord` (``"serving"``, ``benchmarks/test_scaling.py``): the serving
  retrievers at one catalogue size.
- :class:`DatasetScaleRecord` (``"dataset_scale"``, :mod:`harness.run.datascale`): load,
  split and one cell at MovieLens-25M's shape.

Each field is one key of the dict, in the order the writer writes it; a field an older file
may lack defaults to None (or empty). :func:`parse_extra` reads an entry by its kind through
:data:`KINDS_BY_NAME`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import UserError
from harness.record.fields import FLAT, OMIT_NONE, JsonRecord, prefixed

RANK_SECONDS = "rank_seconds_"  # + a ranking: the seconds its top-k ranking took


def eval_timings(timings: dict[str, float]) -> dict[str, object]:
    """An evaluation's timings (``harness.run.evaluate.evaluate_cell``'s) as record fields:
    ``eval_seconds``, ``queries_per_second`` and ``rank_seconds`` (ranking -> seconds).

    Raises:
        ValueError: a timing no record field holds (a writer's bug: it would be lost).
    """
    extra = [key for key in timings if key not in ("eval_seconds", "queries_per_second")
             and not key.startswith(RANK_SECONDS)]
    if extra:
        raise ValueError(f"no record field for the timings {', '.join(extra)}")
    return {"eval_seconds": timings["eval_seconds"],
            "queries_per_second": timings["queries_per_second"],
            "rank_seconds": {key.removeprefix(RANK_SECONDS): value
                             for key, value in timings.items() if key.startswith(RANK_SECONDS)}}


@dataclass(frozen=True, kw_only=True)
class SpeedupRound(JsonRecord):
    """One round of the side-by-side benchmark (or the rounds' medians), tutorial against
    harness: seconds, rates and their ratios (harness over tutorial).

    ``warm_`` rates are the median of later evaluation calls, the others the first call.
    """

    reference_train_seconds: float | None = None
    harness_train_seconds: float | None = None
    reference_examples_per_second: float | None = None
    harness_examples_per_second: float | None = None
    reference_eval_seconds: float | None = None
    harness_eval_seconds: float | None = None
    reference_queries_per_second: float | None = None
    harness_queries_per_second: float | None = None
    reference_warm_queries_per_second: float | None = None
    harness_warm_queries_per_second: float | None = None
    train_speedup: float
    eval_speedup: float
    warm_eval_speedup: float | None = None


@dataclass(frozen=True, kw_only=True)
class SpeedupRecord(JsonRecord):
    """The harness against the tutorial's code on the same rows, in one process.

    Attributes:
        split, config, seed, fit_on, epochs: the cell both sides ran; n_train, n_test its
            rows.
        median: the rounds' medians (written at the top level of the dict).
        rounds: every round, in order.
        warm_evals: later evaluation calls behind each ``warm_`` rate.
        batch_size, harness_steps, harness_seconds_per_step: the harness's training steps.
        softmax_seconds_per_step, softmax_share: the in-batch softmax alone, and its share
            of a step.
        targets, targets_met: ratio name -> the target speed-up, and whether it was met.
        reference_top_100, harness_top_100: each side's test top-100 accuracy (round one).
        reference_metrics, harness_metrics: each side's test metrics (round one).
        data_source, data_sha256, versions, git_commit, git_dirty, command: provenance.
    """

    KIND = "speedup"
    split: str | None = None
    config: str | None = None
    seed: int | None = None
    fit_on: str | None = None
    epochs: int | None = None
    n_train: int | None = None
    n_test: int | None = None
    median: SpeedupRound = field(metadata=FLAT)
    rounds: tuple[SpeedupRound, ...] = ()
    warm_evals: int | None = None
    batch_size: int | None = None
    harness_steps: int | None = None
    harness_seconds_per_step: float | None = None
    softmax_seconds_per_step: float | None = None
    softmax_share: float | None = None
    targets: dict[str, float] = field(default_factory=dict)
    targets_met: dict[str, bool] = field(default_factory=dict)
    reference_top_100: float | None = None
    harness_top_100: float | None = None
    reference_metrics: dict[str, float | None] = field(default_factory=dict)
    harness_metrics: dict[str, float | None] = field(default_factory=dict)
    data_source: str | None = None
    data_sha256: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    git_dirty: bool | None = None
    command: str | None = None


@dataclass(frozen=True, kw_only=True)
class ScalingRecord(JsonRecord):
    """One point of the synthetic scaling sweep: one epoch of a configuration on a random
    80/20 split of a synthetic table, then exact evaluation against the whole catalogue.

    Attributes:
        n_interactions, n_items: the point; n_users, n_train, n_test: what the table held.
        config, epochs: what was trained.
        train_seconds, examples_per_second: training.
        eval_seconds, queries_per_second: evaluation of every test query.
        rank_seconds: ranking -> the seconds its top-k ranking took (``rank_seconds_*``).
        peak_rss_mib: the process's peak resident memory after the point.
        metrics: the test metrics; data_sha256: the synthetic table's hash.
    """

    KIND = "scaling"
    n_interactions: int
    n_items: int
    n_users: int | None = None
    n_train: int | None = None
    n_test: int | None = None
    config: str | None = None
    epochs: int | None = None
    train_seconds: float
    examples_per_second: float
    eval_seconds: float
    queries_per_second: float
    rank_seconds: dict[str, float] = field(default_factory=dict,
                                           metadata=prefixed(RANK_SECONDS))
    peak_rss_mib: float | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    data_sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class ServingRecord(JsonRecord):
    """The serving retrievers over the same synthetic embeddings at one catalogue size.

    Attributes:
        n_items: the catalogue size; n_queries, num_queries: the queries searched (the
            benchmark's count and :func:`harness.run.serving.measure_serving`'s, equal).
        embeddings: how the embeddings were generated.
        k: results per query; num_candidates: candidates indexed; rounds: timed calls
            per retriever.
        retrievers: name -> that retriever's measures as ``measure_serving`` returns them
            (``queries_per_second``, ``recall_at_{k}``, ``build_seconds``, ``index_bytes``,
            ``build_rss_bytes``; ScaNN also ``config`` and ``curve``), kept as recorded.
        exact_speedup_over_tf: the exact path's queries/s over TensorFlow brute force's.
        scann_skipped: why ScaNN did not run (absent from the dict when it ran).
        peak_rss_mib: the process's peak resident memory after the point.
    """

    KIND = "serving"
    n_items: int
    n_queries: int | None = None
    embeddings: dict[str, Any] = field(default_factory=dict)
    k: int = 100
    num_queries: int | None = None
    num_candidates: int | None = None
    rounds: int | None = None
    retrievers: dict[str, Any]
    exact_speedup_over_tf: float | None = None
    scann_skipped: str | None = field(default=None, metadata=OMIT_NONE)
    peak_rss_mib: float | None = None


@dataclass(frozen=True, kw_only=True)
class DatasetScaleRecord(JsonRecord):
    """A dataset at MovieLens-25M's shape through the harness: load, split, one cell.

    Attributes:
        dataset: what was loaded.
        load_seconds, load_peak_rss_mib: loading; table_bytes_per_interaction: the table's
            bytes over its interactions.
        n_interactions, n_items, n_users, n_train, n_test: the data and its split.
        prepare_seconds, prepare_peak_rss_mib: the split and the features.
        train_seconds, examples_per_second, train_peak_rss_mib: one epoch of training.
        eval_queries: the test queries evaluated (a seeded sample); eval_seconds,
            queries_per_second, rank_seconds: their evaluation (``rank_seconds_*``).
        full_eval_seconds_estimate: every test query at that rate.
        cell_seconds: prepare + train + the full evaluation's estimate.
        metrics, peak_rss_mib, data_sha256, versions: as a cell's.
    """

    KIND = "dataset_scale"
    dataset: str | None = None
    load_seconds: float | None = None
    load_peak_rss_mib: float | None = None
    n_interactions: int | None = None
    n_items: int | None = None
    n_users: int | None = None
    table_bytes_per_interaction: float | None = None
    data_sha256: str | None = None
    prepare_seconds: float | None = None
    prepare_peak_rss_mib: float | None = None
    train_seconds: float | None = None
    n_train: int | None = None
    examples_per_second: float | None = None
    train_peak_rss_mib: float | None = None
    n_test: int | None = None
    eval_queries: int | None = None
    eval_seconds: float | None = None
    queries_per_second: float | None = None
    rank_seconds: dict[str, float] = field(default_factory=dict,
                                           metadata=prefixed(RANK_SECONDS))
    full_eval_seconds_estimate: float | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    peak_rss_mib: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    cell_seconds: float | None = None


Record = SpeedupRecord | ScalingRecord | ServingRecord | DatasetScaleRecord

# An entry's kind -> the record it holds (cells' kinds are harness.record.cellentry.KINDS).
KINDS_BY_NAME: dict[str, type[Record]] = {
    cls.KIND: cls for cls in (SpeedupRecord, ScalingRecord, ServingRecord, DatasetScaleRecord)}


class UnknownKindError(UserError):
    """An entry's ``kind`` names no record in :data:`KINDS_BY_NAME`."""


def parse_extra(kind: str, extra_info: dict, where: str) -> Record:
    """The record of kind ``kind`` that an entry's ``extra_info`` holds.

    Args:
        kind: the entry's ``kind``.
        extra_info: the entry's ``extra_info``.
        where: the file and entry, for the error (``"run.json: benchmarks[3] (name)"``).

    Raises:
        UnknownKindError: no record has that kind ("unknown entry kind ...", naming the
            known ones).
        UserError: a field is missing or has the wrong type (one line naming it).
    """
    cls = KINDS_BY_NAME.get(kind)
    if cls is None:
        raise UnknownKindError(f"{where}: unknown entry kind {kind!r:.40} (known: "
                               f"{', '.join(sorted(KINDS_BY_NAME))})")
    return cls.from_dict(extra_info, where)


__all__ = ["KINDS_BY_NAME", "RANK_SECONDS", "DatasetScaleRecord", "Record", "ScalingRecord",
           "ServingRecord", "SpeedupRecord", "SpeedupRound", "UnknownKindError",
           "eval_timings", "parse_extra"]
