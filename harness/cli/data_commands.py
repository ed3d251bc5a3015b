"""``data`` and ``splits``: what a dataset holds and how each split cuts it."""

from __future__ import annotations

import argparse
import json

from tabulate import tabulate

from harness.cli.options import add_data_options, load_data, seed
from harness.data.datasets import DATASETS
from splits import SPLITS, TEST_FRACTION, VALIDATION_FRACTION


def _counts(data) -> dict[str, int]:
    """The table's counts, its catalogue called items unless it is a MovieLens release."""
    counts = data.counts()
    if data.dataset in DATASETS:
        return counts
    return {("items" if key == "movies" else key): value for key, value in counts.items()}


def cmd_data(args) -> int:
    data = load_data(args)
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
    from harness.report.caption import SHA_PREFIX

    data = load_data(args)
    rows, validation_rows = split_tables(data, args.test_fraction, args.seed,
                                         args.validation_fraction)
    if args.json:
        print(json.dumps({"data_sha256": data.sha256, "seed": args.seed,
                          "test_fraction": args.test_fraction, "splits": rows,
                          "validation_fraction": args.validation_fraction,
                          "validation": validation_rows}, indent=1))
    else:
        print(f"data: {data.source}  sha256 {data.sha256[:SHA_PREFIX]}  test_fraction "
              f"{args.test_fraction}  seed {args.seed}\n")
        _print_table(rows, COUNT_KEYS)
        print(f"\nvalidation slices (each split's own rule on its training side): "
              f"validation_fraction {args.validation_fraction}\n")
        _print_table(validation_rows, VALIDATION_COUNT_KEYS)
    return 0


def _ignoring_test_fraction() -> str:
    """The splits whose test side does not depend on --test-fraction, for its help."""
    return ", ".join(name for name in SPLITS if not SPLITS[name].uses_test_fraction) or "none"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Adds ``data`` and ``splits`` to the subcommands."""
    sub = add_data_options(commands.add_parser(
        "data", help="load a dataset, print source, sha256, counts and what it provides"),
        with_dataset=True)
    sub.set_defaults(func=cmd_data)
    sub = add_data_options(commands.add_parser(
        "splits", help="leakage diagnostics of every split"), with_dataset=True)
    sub.add_argument("--test-fraction", type=float, default=TEST_FRACTION,
                     help="share of the interactions each split puts on its test side, by "
                     f"its own rule ({TEST_FRACTION}; not used by {_ignoring_test_fraction()})")
    sub.add_argument("--seed", type=seed, default=0, help="seed of the random split")
    sub.add_argument("--validation-fraction", type=float, default=VALIDATION_FRACTION,
                     help="share of each split's training side in its validation slice")
    sub.set_defaults(func=cmd_splits)


__all__ = ["add_parsers", "cmd_data", "cmd_splits"]
