"""ctxbench harness CLI: data, splits, tune, budget, report and compare.

Bad input gets one line on stderr and exit code 2, never a traceback.

Modules: ``options`` (the one-line-error parser, argument types, the data options),
``data_commands`` (``data``, ``splits``), ``train_commands`` (``tune``, ``budget``: options
checked before Optuna or TensorFlow load), ``report_commands`` (``report``, ``compare``).
May import: every layer of harness.
"""

from __future__ import annotations

import argparse
import sys

from harness.cli import data_commands, report_commands, train_commands
from harness.cli.options import EXIT_USAGE, Parser
from harness.errors import USER_ERRORS


def build_parser() -> argparse.ArgumentParser:
    from harness.record.provenance import current_suite_version  # harness.__version__

    parser = Parser(prog="python -m harness", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version",
                        version=f"ctxbench {current_suite_version()}",
                        help="print the ctxbench version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser,
                                     metavar="COMMAND",
                                     help="what to do; python -m harness COMMAND --help "
                                     "describes each")
    for group in (data_commands, train_commands, report_commands):
        group.add_parsers(commands)
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


__all__ = ["build_parser", "main"]
