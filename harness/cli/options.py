"""What every command shares: the parser that answers bad input in one line, the argument
types and the data options."""

from __future__ import annotations

import argparse
import sys

from harness.data.datasets import DATASETS, check_dataset_name
from harness.data.table import DEFAULT_DATASET
from harness.errors import UnknownNameError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + message; keep it to one line
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def seed(text: str) -> int:
    """An argparse type: numpy seeds must be non-negative integers."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: must be >= 0")
    return value


def dataset(text: str) -> str:
    """An argparse type: a registered dataset or interactions:PATH."""
    try:
        return check_dataset_name(text)
    except UnknownNameError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_data_options(sub: argparse.ArgumentParser, json: bool = True,
                     with_dataset: bool = False) -> argparse.ArgumentParser:
    """Adds the options that choose and read a dataset (and --json) to ``sub``."""
    if with_dataset:
        sub.add_argument("--dataset", default=DEFAULT_DATASET, type=dataset,
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


def load_data(args):
    """The dataset the parsed options name (the default one when they name none)."""
    from harness.data.datasets import load_dataset

    return load_dataset(getattr(args, "dataset", DEFAULT_DATASET), args.data_dir,
                        source=getattr(args, "source", None))


__all__ = ["EXIT_USAGE", "Parser", "add_data_options", "dataset", "load_data", "seed"]
