"""ctxbench harness CLI: data, splits, report and compare.

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabulate import tabulate

from harness.errors import USER_ERRORS
from splits import VALIDATION_FRACTION

EXIT_USAGE = 2


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


def _load(args):
    from harness.data.sources import load_movielens

    return load_movielens(args.data_dir, source=getattr(args, "source", None))


def cmd_data(args) -> int:
    data = _load(args)
    info = {"source": data.source, "sha256": data.sha256, **data.counts()}
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
                         formats)
    if not args.out:
        print(text, end="")
    else:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_compare(args) -> int:
    from harness.report.compare import main as compare_main

    return compare_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def with_data(sub):
        sub.add_argument("--data-dir", help="directory of GroupLens (u.data, u.item, "
                         "u.user or ml-100k.zip) or RecBole ml-100k.* files")
        sub.add_argument("--source", choices=("data_dir", "tfds", "recbole"),
                         help="use only this source")
        sub.add_argument("--json", action="store_true", help="print JSON")
        return sub

    sub = with_data(commands.add_parser("data", help="load MovieLens-100k, print source, "
                                        "sha256 and counts"))
    sub.set_defaults(func=cmd_data)
    sub = with_data(commands.add_parser("splits", help="leakage diagnostics of every split"))
    sub.add_argument("--test-fraction", type=float, default=0.2)
    sub.add_argument("--seed", type=_seed, default=0, help="seed of the random split")
    sub.add_argument("--validation-fraction", type=float, default=VALIDATION_FRACTION,
                     help="share of each split's training side in its validation slice")
    sub.set_defaults(func=cmd_splits)

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
