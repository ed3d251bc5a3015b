"""``report`` and ``compare``: results files rendered, and runs compared."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Adds ``report`` and ``compare`` to the subcommands."""
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


__all__ = ["add_parsers", "cmd_compare", "cmd_report"]
