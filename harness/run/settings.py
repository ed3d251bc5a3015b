"""What a grid run is asked for: one typed dataclass for the command line and grid files.

:class:`GridSettings` holds every option of a grid run, each ``None`` (or false) when not
given; :meth:`GridSettings.to_grid` turns it into the checked :class:`~harness.record.grid.Grid`
with the defaults filled in. ``pytest benchmarks`` builds one from its options,
:mod:`harness.run.gridfile` from a TOML file (:data:`FILE_KEYS`), and
:meth:`GridSettings.with_file` lays the command line over the file (a flag wins).

``configs`` names feature configurations and the non-learned baselines alike
(:func:`split_configs`): naming only baselines runs only them; naming only feature
configurations keeps the default baselines (popularity and EASE; popularity alone with
``quick``); naming both runs exactly the ones named.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import UnknownNameError, UserError
from harness.evaluation.segments import ALL, DEFAULT_BANDS, EXCLUDE_SEEN, Evaluation
from harness.record.cell import PROTOCOLS, TUNED, TUTORIAL
from harness.record.grid import (
    BASELINES,
    DEFAULT_BASELINES,
    DEFAULT_FIT_ON,
    DEFAULT_SEEDS,
    QUICK_BASELINES,
    QUICK_CONFIGS,
    QUICK_SEEDS,
    QUICK_USER_FRACTION,
    Grid,
)
from harness.run.tuned import DEFAULT_TUNED

DEFAULT_EPOCHS = 3  # the tutorial's
QUICK_EPOCHS = 1
ALL_PROTOCOLS = "all"  # --protocol all: every protocol in PROTOCOLS, the whole ladder
BOTH = "both"  # the older name of ALL_PROTOCOLS, from when there were two protocols
PROTOCOL_CHOICES = (*PROTOCOLS, ALL_PROTOCOLS, BOTH)
# The settings a grid file may hold: what the grid is, not where its output goes.
FILE_KEYS = ("splits", "configs", "seeds", "epochs", "protocol", "fit_on", "dataset",
             "exclude_seen", "segment_bands", "tuned")


def parse_protocols(value: str, name: str = "--protocol") -> tuple[str, ...]:
    """The protocols a ``protocol`` setting names, in ``PROTOCOLS`` order: one of them, a
    comma-separated list of them (``tutorial,tuned``), or "all" ("both").

    Raises:
        UserError: a word that names no protocol (the message names the setting).
    """
    if value in (ALL_PROTOCOLS, BOTH):
        return PROTOCOLS
    words = _csv(value) if isinstance(value, str) else ()
    if not words or any(word not in PROTOCOLS for word in words):
        raise UserError(f"{name} must be one of {', '.join(PROTOCOL_CHOICES)}, or a "
                        f"comma-separated list of {', '.join(PROTOCOLS)}; got {value!r}")
    return tuple(protocol for protocol in PROTOCOLS if protocol in words)


def split_configs(names: tuple[str, ...] | None, quick: bool
                  ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(feature configurations, baselines) a ``configs`` setting runs.

    Args:
        names: configuration and baseline names, or None for the default grid (every
            configuration and baseline but the causal configurations and the
            history-aware scorers, which run only when named).
        quick: the smoke grid's defaults (its configurations, popularity alone).

    Raises:
        UnknownNameError: a name that is neither; the message lists every valid name.
    """
    from harness.model.features import CONFIGS, DEFAULT_CONFIGS

    default_baselines = QUICK_BASELINES if quick else DEFAULT_BASELINES
    if names is None:
        return (QUICK_CONFIGS if quick else DEFAULT_CONFIGS), default_baselines
    for name in names:
        if name not in CONFIGS and name not in BASELINES:
            raise UnknownNameError("feature configuration or baseline", name,
                                   [*CONFIGS, *BASELINES])
    features = tuple(name for name in names if name not in BASELINES)
    baselines = tuple(name for name in BASELINES if name in names)
    return features, (baselines if baselines or not features else default_baselines)


@dataclass(frozen=True)
class GridSettings:
    """Every option of a grid run; None (or False) where not given.

    Attributes:
        splits: split names (default: every registered split).
        configs: feature configuration and baseline names (:func:`split_configs`).
        seeds: a count (seeds 0 .. n - 1) or the seeds themselves.
        epochs: training epochs of the tutorial protocol.
        protocol: one of ``PROTOCOLS``, or "all" (every one; "both" is its older name).
        fit_on: "train", "all" or "default".
        dataset: a registered dataset or ``interactions:PATH``.
        exclude_seen: the headline ranking leaves each user's seen titles out.
        segment_bands: the warm users' activity band edges.
        tuned: the tuned hyperparameters file (the tuned protocol).
        quick: the CI smoke grid (a users subsample, 1 epoch, fewer configurations).
        data_dir: where the dataset's files are.
        results_dir: where benchmark.json, results.md, accuracy.png and tables/ go.
        benchmark_json: where the benchmark JSON goes (pytest-benchmark's option).
        overwrite: replace existing results there.
        run_dir: the resumable run directory (default: one per run under the root).
        fresh: measure every selected cell again instead of resuming finished ones.
        grid_file: the grid file read, and its sha256.
        cluster: where the cells run: ``local:N`` or a Dask scheduler's address
            (:mod:`harness.run.cluster`); None, in this process.
    """

    splits: tuple[str, ...] | None = None
    configs: tuple[str, ...] | None = None
    seeds: int | tuple[int, ...] | None = None
    epochs: int | None = None
    protocol: str | None = None
    fit_on: str | None = None
    dataset: str | None = None
    exclude_seen: bool | None = None
    segment_bands: tuple[int, ...] | None = None
    tuned: str | None = None
    quick: bool = False
    data_dir: str | None = None
    results_dir: str | None = None
    benchmark_json: str | None = None
    overwrite: bool = False
    run_dir: str | None = None
    fresh: bool = False
    grid_file: str | None = None
    grid_file_sha256: str | None = None
    cluster: str | None = None

    def with_file(self, file: GridSettings) -> GridSettings:
        """These settings over a grid file's: each :data:`FILE_KEYS` setting not given
        here comes from ``file``."""
        taken = {key: getattr(file, key) for key in FILE_KEYS if getattr(self, key) is None}
        return replace(self, **taken, grid_file=file.grid_file,
                       grid_file_sha256=file.grid_file_sha256)

    @property
    def protocols(self) -> tuple[str, ...]:
        """The protocols asked for (:func:`parse_protocols`; default the tutorial's).

        Raises:
            UserError: a word that names no protocol.
        """
        return parse_protocols(self.protocol or TUTORIAL)

    def to_grid(self) -> Grid:
        """The grid asked for, defaults filled in, checked against the registries.

        Raises:
            UserError, UnknownNameError: an unknown name or an impossible value.
        """
        from splits import SPLITS

        quick = self.quick
        seeds = self.seeds
        if seeds is None:
            seeds = QUICK_SEEDS if quick else DEFAULT_SEEDS
        if isinstance(seeds, int):
            if seeds < 1:
                raise UserError(f"--seeds must be a positive integer, got {seeds!r}")
            seeds = tuple(range(seeds))
        fit_on = self.fit_on or DEFAULT_FIT_ON
        configs, baselines = split_configs(self.configs, quick)
        return Grid(
            splits=self.splits or tuple(SPLITS),
            configs=configs,
            seeds=seeds,
            epochs=(QUICK_EPOCHS if quick else DEFAULT_EPOCHS) if self.epochs is None
            else self.epochs,
            fit_on=("train",) if quick and fit_on == DEFAULT_FIT_ON else (fit_on,),
            baselines=baselines,
            quick=quick,
            protocols=self.protocols,
        ).validate()

    def evaluation(self) -> Evaluation:
        """The headline ranking and the segment bands (checked)."""
        return Evaluation(ranking=EXCLUDE_SEEN if self.exclude_seen else ALL,
                          bands=self.segment_bands or DEFAULT_BANDS)

    def tuned_path(self, default: Path) -> Path | None:
        """The tuned hyperparameters file when the tuned protocol runs, else None."""
        return Path(self.tuned or default) if TUNED in self.protocols else None

def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _options() -> tuple[tuple[str, dict], ...]:
    """The command-line options of the settings: (flag, argparse keywords), in help order.

    Unset options are None, so that a grid file's values show through
    (:meth:`GridSettings.with_file`). Help texts are %-formatted by argparse: "%%" is "%".
    """
    from harness.data.datasets import DATASETS
    from harness.data.table import DEFAULT_DATASET
    from harness.model.features import CONFIGS, DEFAULT_CONFIGS

    opt_in = [*(name for name in CONFIGS if name not in DEFAULT_CONFIGS),
              *(name for name in BASELINES if name not in DEFAULT_BASELINES)]
    return (
        ("--grid-file", {"help": "a TOML file of the grid (" + ", ".join(FILE_KEYS)
                                 + "); flags given too override it"}),
        ("--splits", {"type": _csv, "help": "comma-separated split names (default: all)"}),
        ("--configs", {"type": _csv, "help": "comma-separated feature configurations and "
                       f"baselines ({', '.join(DEFAULT_BASELINES)}); naming only baselines runs "
                       "only them (default: every configuration and baseline but "
                       f"{', '.join(opt_in)}, which run only when named)"}),
        ("--seeds", {"type": int, "help": f"number of seeds 0..N-1 (default {DEFAULT_SEEDS}; "
                     f"{QUICK_SEEDS} with --quick)"}),
        ("--epochs", {"type": int, "help": f"training epochs (default {DEFAULT_EPOCHS}; "
                      f"{QUICK_EPOCHS} with --quick)"}),
        ("--fit-on", {"help": "train | all | default (train for every configuration plus "
                      "all for the tutorial's baseline and timestamp)"}),
        ("--data-dir", {"help": "directory with the GroupLens or RecBole MovieLens-100k "
                        "files (or the --dataset's GroupLens files)"}),
        ("--dataset", {"help": f"{', '.join(DATASETS)} or interactions:PATH (a CSV or "
                       f"Parquet file); default {DEFAULT_DATASET}"}),
        ("--results-dir", {"help": "also write benchmark.json, results.md, accuracy.png "
                           "and tables/ here, all at once when the run completes"}),
        ("--overwrite", {"action": "store_true", "help": "replace an existing "
                         "--benchmark-json file or results in --results-dir"}),
        ("--run-dir", {"help": "resumable run directory (default: .ctxbench/runs/<id> "
                       "under the rootdir, one per grid, data and code)"}),
        ("--fresh", {"action": "store_true", "help": "measure every selected cell again "
                     "instead of resuming the run directory's finished cells"}),
        ("--quick", {"action": "store_true", "help": f"CI smoke run: "
                     f"{QUICK_USER_FRACTION:.0%}% of users, {QUICK_EPOCHS} epoch, configs "
                     f"{','.join(QUICK_BASELINES + QUICK_CONFIGS)}"}),
        ("--protocol", {"help": "tutorial: the tutorial's fixed hyperparameters "
                        "(default); logq: the same with TFRS's logQ correction on; tuned: "
                        "each (split, configuration)'s own from --tuned; a comma-separated "
                        "list of those (tutorial,tuned); all: every protocol; both: the "
                        "older name of all"}),
        ("--exclude-seen", {"action": "store_true", "default": None, "help": "headline "
                            "metrics rank each query among the titles its user did not "
                            "interact with in training"}),
        ("--segment-bands", {"help": "edges of the warm users' activity bands (default "
                             f"{','.join(map(str, DEFAULT_BANDS))})"}),
        ("--tuned", {"help": f"the tuned hyperparameters (default: {DEFAULT_TUNED})"}),
        ("--cluster", {"help": "run the cells on a Dask cluster: local:N (N worker "
                       "processes here) or a scheduler's address (tcp://host:8786); "
                       "needs the cluster extra"}),
    )


OPTIONS = _options()

__all__ = ["ALL_PROTOCOLS", "BOTH", "DEFAULT_EPOCHS", "DEFAULT_SEEDS", "FILE_KEYS", "OPTIONS",
           "PROTOCOL_CHOICES", "QUICK_EPOCHS", "GridSettings", "parse_protocols",
           "split_configs"]
