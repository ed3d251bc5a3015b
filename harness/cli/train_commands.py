"""``tune`` and ``budget``: the commands that train, each reading a grid file.

Both check every option before they import Optuna or TensorFlow (seconds), so a refused
option answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from harness.cli.options import add_data_options, load_data, seed
from harness.data.table import DEFAULT_DATASET
from harness.errors import UserError
from harness.record.grid import TUTORIAL_CONFIGS
from harness.run.rundir import run_id
from harness.run.tuned import DEFAULT_TUNED
from harness.run.tunespace import TuneSettings

GRID_FILE_HELP = ("a grid file (TOML, as pytest benchmarks --grid-file): its splits, configs "
                  "and dataset where not given here")
BUDGET_CONFIGS = TUTORIAL_CONFIGS  # the budget curve's configurations unless named
BUDGET_EPOCHS = 30  # the budget curve's length unless given
TUNING_RUNS = ".runs"  # beside the tuned file: a directory per tuning, "tune-<run id>"


def _names(registry, text: str | None, default=None) -> tuple[str, ...]:
    """The names ``text`` lists, or ``default`` (the whole registry unless given)."""
    if not text:
        return tuple(registry if default is None else default)
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    registry.resolve(names)  # an unknown name lists the valid ones
    return names


def _runnable(configs: tuple[str, ...], data, named: bool) -> tuple[str, ...]:
    """The configurations ``data`` can run. One it lacks the features of is left out
    with its reason on stderr when it came from the default list, refused when named."""
    from harness.model.features import get_config, missing_features

    kept = []
    for name in configs:
        reason = missing_features(get_config(name), data)
        if reason is None:
            kept.append(name)
        elif named:
            raise UserError(f"--configs: {reason}")
        else:
            print(f"skipped: {reason}", file=sys.stderr)
    return tuple(kept)


def _grid_file(args, budget: bool = False) -> None:
    """Fills the options not given on the command line from --grid-file: splits,
    configurations and dataset (budget: also the tuned file, when the file's grid runs
    the tuned protocol); then the defaults."""
    from harness.run.gridfile import read_grid_file
    from harness.run.settings import GridSettings, split_configs

    file = read_grid_file(args.grid_file) if args.grid_file else GridSettings()
    if args.splits is None and file.splits is not None:
        args.splits = ",".join(file.splits)
    if args.configs is None and file.configs is not None:
        # The baselines have nothing to tune or train per epoch.
        args.configs = ",".join(split_configs(file.configs, quick=False)[0])
        if not args.configs:
            raise UserError(f"--grid-file {args.grid_file}: configs names no feature "
                            "configuration, only baselines")
    args.dataset = args.dataset or file.dataset or DEFAULT_DATASET
    if budget:
        args.configs = args.configs or ",".join(BUDGET_CONFIGS)
        if args.tuned is None and file.tuned_path(DEFAULT_TUNED) is not None:
            args.tuned = str(file.tuned_path(DEFAULT_TUNED))


def tuning_run_dir(out: Path, identity: dict) -> Path:
    """Where a tuning keeps its studies by default: beside ``out``, one directory per
    suite version, data and settings (a changed one starts afresh instead of mixing
    trials; a tuning of other splits or configurations shares it)."""
    return out.parent / TUNING_RUNS / f"tune-{run_id(identity)}"


def cmd_tune(args) -> int:
    from harness.model.features import CONFIGS, DEFAULT_CONFIGS
    from harness.record.files import write_json_atomic
    from harness.record.fingerprint import shared, tuning_identity
    from harness.record.redaction import redact
    from splits import SPLITS

    _grid_file(args)
    settings = TuneSettings(trials=args.trials, max_epochs=args.max_epochs,
                            patience=args.patience, seeds=args.seeds)
    splits = _names(SPLITS, args.splits)
    configs = _names(CONFIGS, args.configs, DEFAULT_CONFIGS)
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise UserError(f"{out} exists; pass --overwrite to replace it")
    # Imported once the options are checked: the studies load Optuna and TensorFlow
    # (seconds), which a refused option never needs.
    from harness.run.cluster import connect, parse_cluster
    from harness.run.tuning import open_storage, studies, tune_all

    if args.storage is not None:
        open_storage(args.storage)  # an unreachable database fails now, not after loading
    if args.cluster and isinstance(parse_cluster(args.cluster), str) and not args.storage:
        raise UserError(f"--cluster {args.cluster} needs --storage: workers on other "
                        "machines cannot reach this machine's SQLite study file")
    data = load_data(args)
    configs = _runnable(configs, data, named=args.configs is not None)
    if args.quick:
        from harness.data.sources import subsample_users
        from harness.record.grid import QUICK_USER_FRACTION

        data = subsample_users(data, QUICK_USER_FRACTION, seed=0)
    produced_by = tuning_identity(data.sha256, settings.to_dict(), splits, configs)
    storage = args.storage
    if storage is None:
        run_dir = Path(args.run_dir) if args.run_dir else tuning_run_dir(
            out, shared(produced_by))
        run_dir.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{run_dir.resolve() / 'study.db'}"  # absolute: workers' too
    print(f"tuning {len(studies(splits, configs, settings))} studies of {settings.trials} "
          f"trials; studies in {redact(storage)}", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(connect(args.cluster)) if args.cluster else None
        document = tune_all(data, splits, configs, settings, storage, args.worker,
                            produced_by, client, (args.dataset, args.data_dir, args.quick))
    write_json_atomic(out, document)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_budget(args) -> int:
    from harness.model.features import CONFIGS
    from harness.record.files import write_json_atomic
    from harness.report.budget import render_budget
    from harness.run.tuned import expected_by_run, read_tuned
    from splits import SPLITS

    _grid_file(args, budget=True)
    splits, configs = _names(SPLITS, args.splits), _names(CONFIGS, args.configs)
    if args.max_epochs < 1:
        raise UserError(f"--max-epochs must be a positive integer, got {args.max_epochs}")
    out = Path(args.out)
    if (out / "budget.json").exists() and not args.overwrite:
        raise UserError(f"{out / 'budget.json'} exists; pass --overwrite to replace it")
    data = load_data(args)
    configs = _runnable(configs, data, named=True)  # the default pair runs on any dataset
    tuned = None
    if args.tuned:
        tuned = read_tuned(args.tuned, expected_by_run(data.sha256), args.dataset)
        for split in splits:  # every cell tuned, before any training
            for config in configs:
                tuned.cell(split, config, seed=0)  # the curves' seed
    from harness.run.budget import budget_curves  # TensorFlow, once the input is checked

    document = budget_curves(data, splits, configs, args.max_epochs, tuned)
    render_budget(write_json_atomic(out / "budget.json", document), out)
    print(f"wrote {out / 'budget.json'}, budget.md, budget.png", file=sys.stderr)
    return 0


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Adds ``tune`` and ``budget`` to the subcommands."""
    sub = add_data_options(commands.add_parser(
        "tune", help="tune every (split, configuration) on its validation slice, equal "
        f"budgets (Optuna): {DEFAULT_TUNED}"), json=False, with_dataset=True)
    sub.add_argument("--grid-file", help=GRID_FILE_HELP)
    sub.set_defaults(dataset=None)  # --grid-file's, else the default
    sub.add_argument("--splits", help="comma-separated split names (default: all)")
    sub.add_argument("--configs", help="comma-separated configurations (default: all but "
                     "the causal ones, which are tuned only when named)")
    sub.add_argument("--trials", type=int, default=TuneSettings.trials,
                     help=f"trials per study ({TuneSettings.trials})")
    sub.add_argument("--max-epochs", type=int, default=TuneSettings.max_epochs,
                     help=f"epochs a trial may train ({TuneSettings.max_epochs})")
    sub.add_argument("--patience", type=int, default=TuneSettings.patience,
                     help="epochs without a better validation score before a trial stops")
    sub.add_argument("--seeds", type=int, default=TuneSettings.seeds,
                     help="the grid seeds 0..N-1 a seeded split (random) is tuned for, one "
                     f"study each on its own validation slice (default {TuneSettings.seeds})")
    sub.add_argument("--out", default=str(DEFAULT_TUNED),
                     help=f"the tuned file to write ({DEFAULT_TUNED})")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    sub.add_argument("--run-dir", help="directory of the SQLite study file (default: "
                     f"<out dir>/{TUNING_RUNS}/tune-<id>; rerun the command to resume)")
    sub.add_argument("--storage", help="an SQLAlchemy URL for the studies instead, e.g. "
                     "postgresql://user:pass@host/db, shared by every worker")
    sub.add_argument("--worker", type=seed, default=0,
                     help="this worker's number when several share --storage (seeds TPE)")
    sub.add_argument("--quick", action="store_true",
                     help="a users subsample (as the quick grid), for smoke runs")
    sub.add_argument("--cluster", help="run the studies on a Dask cluster, one per worker "
                     "at a time: local:N (N worker processes here) or a scheduler's address "
                     "(with --storage); needs the cluster extra")
    sub.set_defaults(func=cmd_tune)

    sub = add_data_options(commands.add_parser(
        "budget", help="validation and test top-100 after every epoch (seed 0): "
        "budget.json, budget.md and budget.png"), json=False, with_dataset=True)
    sub.add_argument("--grid-file", help=GRID_FILE_HELP)
    sub.set_defaults(dataset=None)  # --grid-file's, else the default
    sub.add_argument("--splits", help="comma-separated split names (default: all)")
    sub.add_argument("--configs", help="comma-separated configurations (default: "
                     f"{','.join(BUDGET_CONFIGS)})")
    sub.add_argument("--max-epochs", type=int, default=BUDGET_EPOCHS,
                     help=f"epochs to train ({BUDGET_EPOCHS})")
    sub.add_argument("--tuned", help="also curves under the tuned hyperparameters of this "
                     "tuned.json")
    sub.add_argument("--out", default="results", help="directory to write into")
    sub.add_argument("--overwrite", action="store_true",
                     help="replace an existing budget.json there")
    sub.set_defaults(func=cmd_budget)


__all__ = ["BUDGET_CONFIGS", "BUDGET_EPOCHS", "add_parsers", "cmd_budget", "cmd_tune",
           "tuning_run_dir"]
