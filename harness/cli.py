"""ctxbench harness CLI: data, splits, tune, budget, report and compare.

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from tabulate import tabulate

from harness.data.datasets import DATASETS, check_dataset_name
from harness.data.table import DEFAULT_DATASET
from harness.errors import USER_ERRORS, UnknownNameError, UserError
from harness.run.tuned import DEFAULT_TUNED
from harness.run.tunespace import TuneSettings
from splits import SPLITS, VALIDATION_FRACTION

EXIT_USAGE = 2
GRID_FILE_HELP = ("a grid file (TOML, as pytest benchmarks --grid-file): its splits, configs "
                  "and dataset where not given here")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; keep it to one line
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _seed(text: str) -> int:
    """An argparse type: numpy seeds must be non-negative integers."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: must be >= 0")
    return value


def _dataset(text: str) -> str:
    """An argparse type: a registered dataset or interactions:PATH."""
    try:
        return check_dataset_name(text)
    except UnknownNameError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _load(args):
    from harness.data.datasets import load_dataset

    return load_dataset(getattr(args, "dataset", DEFAULT_DATASET), args.data_dir,
                        source=getattr(args, "source", None))


def _counts(data) -> dict[str, int]:
    """The table's counts, its catalogue called items unless it is a MovieLens release."""
    counts = data.counts()
    if data.dataset in DATASETS:
        return counts
    return {("items" if key == "movies" else key): value for key, value in counts.items()}


def cmd_data(args) -> int:
    data = _load(args)
    info = {"dataset": data.dataset, "source": data.source, "sha256": data.sha256,
            **_counts(data), "provides": sorted(data.provides)}
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        print(tabulate(list(info.items()), headers=["field", "value"], tablefmt="github"))
    return 0


def _print_table(rows: list[dict], count_keys: tuple[str, ...]) -> None:
    shown = [{key: int(value) if key in count_keys else value for key, value in row.items()}
             for row in rows]
    print(tabulate(shown, headers="keys", tablefmt="github", floatfmt=".4f"))


def cmd_splits(args) -> int:
    from harness.data.splitdata import COUNT_KEYS, VALIDATION_COUNT_KEYS, split_tables

    data = _load(args)
    rows, validation_rows = split_tables(data, args.test_fraction, args.seed,
                                         args.validation_fraction)
    if args.json:
        print(json.dumps({"data_sha256": data.sha256, "seed": args.seed,
                          "test_fraction": args.test_fraction, "splits": rows,
                          "validation_fraction": args.validation_fraction,
                          "validation": validation_rows}, indent=1))
    else:
        print(f"data: {data.source}  sha256 {data.sha256[:12]}  test_fraction "
              f"{args.test_fraction}  seed {args.seed}\n")
        _print_table(rows, COUNT_KEYS)
        print(f"\nvalidation slices (each split's own rule on its training side): "
              f"validation_fraction {args.validation_fraction}\n")
        _print_table(validation_rows, VALIDATION_COUNT_KEYS)
    return 0


def _formats(text: str) -> tuple[str, ...]:
    """An argparse type: "markdown", "latex", "csv" or several, comma-separated."""
    from harness.errors import UserError
    from harness.report.tables import parse_formats

    try:
        return parse_formats(text)
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_report(args) -> int:
    from harness.report.report import render_report

    formats = [f for group in args.format or [("markdown",)] for f in group]
    text = render_report([Path(p) for p in args.files], Path(args.out) if args.out else None,
                         formats, overwrite=args.overwrite)
    if not args.out:
        print(text, end="")
    else:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_compare(args) -> int:
    from harness.report.compare import main as compare_main

    return compare_main(args)


def _names(registry, text: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip()) if text else tuple(registry)
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
    from harness.run.tuned import DEFAULT_TUNED

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
        args.configs = args.configs or "baseline,timestamp"
        if args.tuned is None and file.tuned_path(DEFAULT_TUNED) is not None:
            args.tuned = str(file.tuned_path(DEFAULT_TUNED))


def tuning_run_dir(out: Path, identity: dict) -> Path:
    """Where a tuning keeps its studies by default: beside ``out``, one directory per
    suite version, data and settings (a changed one starts afresh instead of mixing
    trials; a tuning of other splits or configurations shares it)."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return out.parent / ".runs" / f"tune-{digest[:12]}"


def cmd_tune(args) -> int:
    from harness.model.features import CONFIGS
    from harness.record.files import write_json_atomic
    from harness.record.fingerprint import shared, tuning_identity
    from harness.record.grid import unique
    from harness.record.redaction import redact
    from harness.run.tuned import study_split
    from splits import SPLITS

    _grid_file(args)
    settings = TuneSettings(trials=args.trials, max_epochs=args.max_epochs,
                            patience=args.patience, seed=args.seed)
    splits, configs = _names(SPLITS, args.splits), _names(CONFIGS, args.configs)
    # A warm-only split is tuned by the study of the split it restricts.
    splits = tuple(unique(study_split(split) for split in splits))
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise UserError(f"{out} exists; pass --overwrite to replace it")
    # Imported once the options are checked: the studies load Optuna and TensorFlow
    # (seconds), which a refused option never needs.
    from harness.run.tuning import open_storage, tune_all

    if args.storage is not None:
        open_storage(args.storage)  # an unreachable database fails now, not after loading
    data = _load(args)
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
        storage = f"sqlite:///{run_dir / 'study.db'}"
    print(f"tuning {len(splits) * len(configs)} studies of {settings.trials} trials; "
          f"studies in {redact(storage)}", file=sys.stderr)
    document = tune_all(data, splits, configs, settings, storage, args.worker, produced_by)
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
    data = _load(args)
    configs = _runnable(configs, data, named=True)  # the default pair runs on any dataset
    tuned = None
    if args.tuned:
        tuned = read_tuned(args.tuned, expected_by_run(data.sha256), args.dataset)
        for split in splits:  # every cell tuned, before any training
            for config in configs:
                tuned.cell(split, config)
    from harness.run.budget import budget_curves  # TensorFlow, once the input is checked

    document = budget_curves(data, splits, configs, args.max_epochs, tuned)
    render_budget(write_json_atomic(out / "budget.json", document), out)
    print(f"wrote {out / 'budget.json'}, budget.md, budget.png", file=sys.stderr)
    return 0


def _ignoring_test_fraction() -> str:
    """The splits whose test side does not depend on --test-fraction, for its help."""
    return ", ".join(name for name in SPLITS if not SPLITS[name].uses_test_fraction) or "none"


def build_parser() -> argparse.ArgumentParser:
    from harness.record.provenance import current_suite_version  # harness.__version__

    parser = _Parser(prog="python -m harness", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version",
                        version=f"ctxbench {current_suite_version()}",
                        help="print the ctxbench version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                     metavar="COMMAND",
                                     help="what to do; python -m harness COMMAND --help "
                                     "describes each")

    def with_data(sub, json: bool = True, dataset: bool = False):
        if dataset:
            sub.add_argument("--dataset", default=DEFAULT_DATASET, type=_dataset,
                             help=f"{', '.join(DATASETS)} or interactions:PATH (a CSV, .tsv or "
                             f"Parquet file); default {DEFAULT_DATASET}")
        sub.add_argument("--data-dir", help="directory of GroupLens (u.data, u.item, "
                         "u.user or ml-100k.zip) or RecBole ml-100k.* files; for "
                         "movielens-1m/20m/25m their ratings/movies files")
        sub.add_argument("--source", choices=("data_dir", "tfds", "recbole"),
                         help="use only this source")
        if json:
            sub.add_argument("--json", action="store_true", help="print JSON")
        return sub

    sub = with_data(commands.add_parser(
        "data", help="load a dataset, print source, sha256, counts and what it provides"),
        dataset=True)
    sub.set_defaults(func=cmd_data)
    sub = with_data(commands.add_parser("splits", help="leakage diagnostics of every split"),
                    dataset=True)
    sub.add_argument("--test-fraction", type=float, default=0.2,
                     help="share of the interactions each split puts on its test side, by "
                     f"its own rule (0.2; not used by {_ignoring_test_fraction()})")
    sub.add_argument("--seed", type=_seed, default=0, help="seed of the random split")
    sub.add_argument("--validation-fraction", type=float, default=VALIDATION_FRACTION,
                     help="share of each split's training side in its validation slice")
    sub.set_defaults(func=cmd_splits)

    sub = with_data(commands.add_parser(
        "tune", help="tune every (split, configuration) on its validation slice, equal "
        "budgets (Optuna): results/tuned.json"), json=False, dataset=True)
    sub.add_argument("--grid-file", help=GRID_FILE_HELP)
    sub.set_defaults(dataset=None)  # --grid-file's, else the default
    sub.add_argument("--splits", help="comma-separated split names (default: all)")
    sub.add_argument("--configs", help="comma-separated configurations (default: all)")
    sub.add_argument("--trials", type=int, default=TuneSettings.trials,
                     help=f"trials per study ({TuneSettings.trials})")
    sub.add_argument("--max-epochs", type=int, default=TuneSettings.max_epochs,
                     help=f"epochs a trial may train ({TuneSettings.max_epochs})")
    sub.add_argument("--patience", type=int, default=TuneSettings.patience,
                     help="epochs without a better validation score before a trial stops")
    sub.add_argument("--seed", type=_seed, default=TuneSettings.seed,
                     help="the split seed whose validation slice chooses")
    sub.add_argument("--out", default=str(DEFAULT_TUNED),
                     help=f"the tuned file to write ({DEFAULT_TUNED})")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    sub.add_argument("--run-dir", help="directory of the SQLite study file (default: "
                     "<out dir>/.runs/tune-<id>; rerun the command to resume)")
    sub.add_argument("--storage", help="an SQLAlchemy URL for the studies instead, e.g. "
                     "postgresql://user:pass@host/db, shared by every worker")
    sub.add_argument("--worker", type=_seed, default=0,
                     help="this worker's number when several share --storage (seeds TPE)")
    sub.add_argument("--quick", action="store_true",
                     help="a users subsample (as the quick grid), for smoke runs")
    sub.set_defaults(func=cmd_tune)

    sub = with_data(commands.add_parser(
        "budget", help="validation and test top-100 after every epoch (seed 0): "
        "budget.json, budget.md and budget.png"), json=False, dataset=True)
    sub.add_argument("--grid-file", help=GRID_FILE_HELP)
    sub.set_defaults(dataset=None)  # --grid-file's, else the default
    sub.add_argument("--splits", help="comma-separated split names (default: all)")
    sub.add_argument("--configs",
                     help="comma-separated configurations (default: baseline,timestamp)")
    sub.add_argument("--max-epochs", type=int, default=30, help="epochs to train (30)")
    sub.add_argument("--tuned", help="also curves under the tuned hyperparameters of this "
                     "tuned.json")
    sub.add_argument("--out", default="results", help="directory to write into")
    sub.add_argument("--overwrite", action="store_true",
                     help="replace an existing budget.json there")
    sub.set_defaults(func=cmd_budget)

    sub = commands.add_parser("report", help="render Markdown, LaTeX or CSV tables (and a "
                              "PNG chart) from benchmark JSON")
    sub.add_argument("files", nargs="+", help="pytest-benchmark JSON files")
    sub.add_argument("--out", help="directory to write results.md, accuracy.png and every "
                     "table as tables/<name>.tex and tables/<name>.csv into (then nothing "
                     "is printed)")
    sub.add_argument("--format", type=_formats, action="append", metavar="FORMAT",
                     help="what to print: markdown (the report; default), latex or csv (its "
                     "tables, each with its caption); repeat it or separate names by commas "
                     "for several")
    sub.add_argument("--overwrite", action="store_true",
                     help="replace a report in --out even when that folder's benchmark.json "
                     "is not among FILES (refused otherwise: its files would disagree)")
    sub.set_defaults(func=cmd_report)

    sub = commands.add_parser("compare", help="accuracy and speed regressions between runs")
    from harness.report.compare import add_arguments

    add_arguments(sub)
    sub.set_defaults(func=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
