"""A MovieLens-25M-shaped dataset through the whole harness: load, split, one cell.

Writes GroupLens ``ratings.csv`` and ``movies.csv`` of MovieLens-25M's shape (25,000,095
ratings, 162,541 users, 62,423 movies with ids up to 209,171, titles of real length, 1 to
3 genres each, timestamps over 1995-2019) from a seeded generator, then, in a fresh
process so its peak memory is its own, measures:

- loading them through the ``movielens-25m`` dataset (seconds, peak RSS, bytes the table
  holds per interaction);
- the random 80/20 split with its leakage diagnostics, fitting and encoding the
  ``baseline`` features (``prepare_cell``);
- one epoch of the ``baseline`` model (seconds, examples/s), then exact evaluation of a
  sample of test queries against the whole catalogue (queries/s; the full test side's
  time is that rate's extrapolation).

Usage (minutes, and about 6 GiB of memory; nothing is written under results/)::

    nice python -m harness.run.datascale --out .ctxbench/datascale.json

The JSON is one :class:`~harness.record.kinds.DatasetScaleRecord` (``"kind":
"dataset_scale"``). ``pytest benchmarks/test_scaling.py --dataset-scale -k dataset_scale``
runs this module and records it as a benchmark entry, which ``python -m harness report``
renders in the scaling section (the bare JSON is not a benchmark file).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness.record.kinds import DatasetScaleRecord, eval_timings
from harness.run.progress import progress

# MovieLens-25M's shape (its README): ratings, users, movies, the largest movie id.
ML25M_SHAPE = {"n_interactions": 25_000_095, "n_users": 162_541, "n_items": 62_423,
               "max_item_id": 209_171}
# What measure() runs, in order: its progress bar's steps.
STAGES = ("load", "split + features", "train 1 epoch", "evaluate")


def write_ml25m_shaped(directory: Path, n_interactions: int, n_users: int, n_items: int,
                       max_item_id: int, seed: int = 0) -> None:
    """Writes ratings.csv and movies.csv of the given shape (columns as GroupLens's), with
    a progress bar over the ratings on stderr."""
    import pyarrow as pa
    import pyarrow.csv

    from harness.data.table import GENRE_NAMES

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    item_ids = np.sort(rng.choice(np.arange(1, max_item_id + 1), n_items, replace=False))
    years = rng.integers(1900, 2020, n_items)
    # Real titles average about 30 characters, a few run past 150.
    lengths = np.minimum(8 + rng.geometric(1 / 22, n_items), 180)
    titles = [f"{f'Title of movie {i} ':.<{n}} ({y})" for i, n, y in
              zip(item_ids.tolist(), lengths.tolist(), years.tolist(), strict=True)]
    genres = ["|".join(rng.choice(GENRE_NAMES[:-1], rng.integers(1, 4), replace=False))
              for _ in range(n_items)]
    pyarrow.csv.write_csv(pa.table({"movieId": item_ids, "title": titles, "genres": genres}),
                          directory / "movies.csv")
    popularity = rng.lognormal(0.0, 2.0, n_items)
    activity = rng.lognormal(0.0, 1.2, n_users)
    chunk = 5_000_000  # written a chunk at a time: bounded memory
    with pyarrow.csv.CSVWriter(directory / "ratings.csv", pa.schema(
            [("userId", pa.int64()), ("movieId", pa.int64()), ("rating", pa.float64()),
             ("timestamp", pa.int64())])) as writer, progress(
            n_interactions, "write ratings.csv", unit="rating", unit_scale=True) as bar:
        for start in range(0, n_interactions, chunk):
            size = min(chunk, n_interactions - start)
            users = rng.choice(n_users, size, p=activity / activity.sum()) + 1
            items = item_ids[rng.choice(n_items, size, p=popularity / popularity.sum())]
            writer.write_table(pa.table({
                "userId": users, "movieId": items,
                "rating": rng.integers(1, 11, size) / 2.0,
                "timestamp": rng.integers(789_652_009, 1_574_327_703, size)}))
            bar.update(size)


def measure(directory: Path, eval_queries: int, seed: int = 0) -> DatasetScaleRecord:
    """Loads, splits and runs one ``baseline`` cell; seconds and peak RSS of each stage
    (a progress bar over the stages on stderr)."""
    with progress(len(STAGES), "measure", unit="stage") as bar:
        return _measure(directory, eval_queries, seed, bar)


def _measure(directory: Path, eval_queries: int, seed: int, bar) -> DatasetScaleRecord:
    from harness.data.datasets import load_dataset
    from harness.model.training import TrainOptions
    from harness.record.provenance import environment, peak_rss_mib
    from harness.run.cell import fit_cell
    from harness.run.evaluate import evaluate_cell
    from harness.run.prepare import prepare_cell

    def stage(name: str) -> None:  # the stage about to run; the one before it is done
        bar.update(STAGES.index(name) - bar.n)
        bar.set_postfix_str(name)

    result: dict = {"dataset": "movielens-25m (synthetic, its shape)"}  # the record's fields
    start = time.perf_counter()
    stage("load")
    data = load_dataset("movielens-25m", directory)
    result["load_seconds"] = time.perf_counter() - start
    result["load_peak_rss_mib"] = peak_rss_mib()
    n = data.num_ratings
    table_bytes = sum(column.nbytes for column in data.ratings.values())
    result.update({"n_interactions": n, "n_items": int(data.movies["movie_id"].size),
                   "n_users": int(np.unique(data.ratings["user_id"]).size),
                   "table_bytes_per_interaction": table_bytes / n,
                   "data_sha256": data.sha256})
    start = time.perf_counter()
    stage("split + features")
    cell = prepare_cell(data, "random", "baseline", seed, TrainOptions(epochs=1))
    result["prepare_seconds"] = time.perf_counter() - start
    result["prepare_peak_rss_mib"] = peak_rss_mib()
    stage("train 1 epoch")
    trained = fit_cell(cell)
    result.update({"train_seconds": trained.seconds, "n_train": int(cell.split.train.size),
                   "examples_per_second": trained.examples_per_second,
                   "train_peak_rss_mib": peak_rss_mib()})
    # Exact evaluation of a seeded sample of test queries (the full test side is 5M).
    stage("evaluate")
    sample = np.sort(np.random.default_rng(seed).choice(
        cell.split.test.size, min(eval_queries, cell.split.test.size), replace=False))
    sampled = replace(cell, split=replace(cell.split, test=cell.split.test[sample]),
                      test_features={k: v[sample] for k, v in cell.test_features.items()})
    metrics, timings = evaluate_cell(sampled, trained, prefixes=("test",))
    result.update({"n_test": int(cell.split.test.size), "eval_queries": int(sample.size),
                   **eval_timings(timings), "full_eval_seconds_estimate":
                   cell.split.test.size / timings["queries_per_second"],
                   "metrics": metrics, "peak_rss_mib": peak_rss_mib(),
                   "versions": environment()["versions"]})
    result["cell_seconds"] = (result["prepare_seconds"] + result["train_seconds"]
                              + result["full_eval_seconds_estimate"])
    bar.update(len(STAGES) - bar.n)
    return DatasetScaleRecord(**result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.run.datascale",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write (not results/)")
    parser.add_argument("--workdir", help="where the CSV files go (default: a temporary "
                        "directory, removed after)")
    parser.add_argument("--interactions", type=int, default=ML25M_SHAPE["n_interactions"],
                        help="ratings to write (MovieLens-25M's: %(default)s)")
    parser.add_argument("--users", type=int, default=ML25M_SHAPE["n_users"],
                        help="users (MovieLens-25M's: %(default)s)")
    parser.add_argument("--items", type=int, default=ML25M_SHAPE["n_items"],
                        help="movies (MovieLens-25M's: %(default)s)")
    parser.add_argument("--eval-queries", type=int, default=100_000,
                        help="test queries evaluated exactly, a seeded sample (%(default)s)")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_only:  # the child: its peak RSS is the load's and the cell's alone
        record = measure(Path(args.workdir), args.eval_queries)
        Path(args.out).write_text(json.dumps(record.to_dict(), indent=1) + "\n")
        return 0
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        directory = Path(scratch) / "ml-25m"
        start = time.perf_counter()
        write_ml25m_shaped(directory, args.interactions, args.users, args.items,
                           max(ML25M_SHAPE["max_item_id"], args.items))
        print(f"wrote {directory} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "harness.run.datascale", "--measure-only",
                        "--workdir", str(directory), "--out", str(out),
                        "--eval-queries", str(args.eval_queries)], check=True)
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
