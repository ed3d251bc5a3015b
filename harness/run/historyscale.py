"""What the history grid costs at two sizes: the causal feature pass and the
history-aware evaluation, on MovieLens-100k and on the MovieLens-25M-shaped table.

For each table, in a process of its own (so that its peak RSS is its own), on the global
time cut (``temporal``), with the test side's history online (every earlier row, what the
history grid's causal configurations and scorers read):

- **feature pass**: every causal feature of ``causal_all`` for both sides of the split
  (user recency and activity buckets, the last 20 titles, each row's title's popularity
  and age as of its refresh: :func:`harness.model.causal.past_features` and
  :func:`~harness.model.causal.candidate_past`), as a cell computes them;
- **item-kNN**: the fit (the cosine of training co-occurrence: dense, as the grid runs
  it, when the memory guard lets it; else cut to each title's 100 nearest,
  :func:`harness.model.history_scorers.item_cosine_neighbours`), and the ranking of test
  queries (each one's last 20 titles online) against the whole catalogue: every test
  query, or a seeded sample whose rate is extrapolated to the whole test side;
- **EASE^R with the history** (``ease_history``): one fit at λ = 3,000 (the grid's λ search
  fits one per grid value) and the ranking of the same queries, or the memory guard's
  reason when its item matrices do not fit
  (:meth:`harness.model.retriever.RetrieverEntry.memory_need`).

Each stage's seconds, and the peak of the memory it allocated on top of what the process
held when it started (``tracemalloc``, which numpy reports to), beside the process's peak
RSS so far. Usage (the 25M shape: about 15 minutes and 8 GiB on 2 cores)::

    python -m harness.run.historyscale --out results/history/scale.json

writes the JSON and renders ``scale.md`` beside it; ``--no-25m`` measures MovieLens-100k
only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HISTORY_LENGTH = 20  # the grid's item-kNN and history configurations' N
NEIGHBOURS = 100  # item-kNN's cut when the dense cosine does not fit
EASE_L2 = 3000.0  # the one λ EASE^R is fitted with here
SPLIT = "temporal"
SAMPLE_QUERIES = 50_000  # test queries ranked when the test side is larger
MIB = 2**20


@contextmanager
def _stage(record: dict, name: str):
    """Times the block and records its seconds, the peak memory it allocated (MiB) and
    the process's peak RSS by its end under ``record[name]``."""
    from harness.record.provenance import peak_rss_mib

    tracemalloc.reset_peak()
    held = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    values = record.setdefault(name, {})
    yield values
    values["seconds"] = time.perf_counter() - start
    values["peak_alloc_mib"] = (tracemalloc.get_traced_memory()[1] - held) / MIB
    values["peak_rss_mib"] = peak_rss_mib()


def measure(dataset: str, data_dir: str | None = None, seed: int = 0) -> dict:
    """The measurements of one table (see the module's docstring). The load is not
    traced (tracemalloc would slow its many small allocations): its peak RSS says what
    it takes."""
    from harness.data.datasets import load_dataset
    from harness.record.provenance import peak_rss_mib

    start = time.perf_counter()
    data = load_dataset(dataset, data_dir)
    record = {"dataset": dataset, "load": {"seconds": time.perf_counter() - start,
                                           "peak_rss_mib": peak_rss_mib()}}
    tracemalloc.start()
    try:
        return _measure(data, record, seed)
    finally:
        tracemalloc.stop()


def _measure(data, record: dict, seed: int) -> dict:
    from harness.data.history import PastIndex, last_items
    from harness.data.splitdata import split_data
    from harness.model.causal import CAUSAL_ALL, candidate_past, item_index, past_features
    from harness.model.ease import fit_ease
    from harness.model.history_scorers import (
        history_ranks,
        item_cosine,
        item_cosine_neighbours,
        padded_matrix,
        past_matrix,
    )
    from harness.record.machine import too_large

    users, times, titles = data.user_codes, data.ratings["timestamp"], data.title_codes
    num_items, num_users = int(data.candidate_titles.size), int(users.max()) + 1
    with _stage(record, "split"):
        split, _ = split_data(data, SPLIT, seed, 0.2)
    online = np.union1d(split.train, split.test)
    record |= {"n_interactions": int(data.num_ratings), "n_items": num_items,
               "n_users": int(np.unique(users).size), "n_train": int(split.train.size),
               "n_test": int(split.test.size), "split_name": SPLIT}
    with _stage(record, "feature_pass"):
        for rows, past in ((split.train, split.train), (split.test, online)):
            past_features(CAUSAL_ALL, data, rows, past)
            candidate_past(CAUSAL_ALL, data, rows, item_index(data, past))
        record["feature_pass"]["rows"] = int(split.train.size + split.test.size)

    queries = split.test
    if queries.size > SAMPLE_QUERIES:
        queries = np.sort(np.random.default_rng(seed).choice(queries, SAMPLE_QUERIES,
                                                             replace=False))
    index = PastIndex.of(users[online], times[online], titles[online], num_groups=num_users)
    ranked = (titles[queries], times[queries], titles[online], times[online], num_items)
    reason = too_large("item_knn", num_items)
    with _stage(record, "item_knn_fit") as values:
        fit = item_cosine if reason is None else item_cosine_neighbours
        weights = fit(users[split.train], titles[split.train], num_users=num_users,
                      num_items=num_items,
                      **({} if reason is None else {"neighbours": NEIGHBOURS}))
        values["variant"] = "dense cosine" if reason is None else (
            f"cosine cut to {NEIGHBOURS} neighbours (dense: {reason})")
    with _stage(record, "item_knn_rank") as values:
        history = padded_matrix(last_items(index, users[queries], times[queries],
                                           HISTORY_LENGTH), num_items)
        history_ranks(weights, history, *ranked)
    del weights, history
    reason = too_large("ease_history", num_items)
    if reason is not None:
        record["ease_history_skipped"] = reason
    else:
        with _stage(record, "ease_history_fit"):
            model = fit_ease(users[split.train], titles[split.train], num_users=num_users,
                             num_items=num_items, l2=EASE_L2)
        with _stage(record, "ease_history_rank"):
            history_ranks(model.weights, past_matrix(index, users[queries], times[queries],
                                                     num_items), *ranked)
    for name in ("item_knn_rank", "ease_history_rank"):
        if name in record:
            rate = queries.size / record[name]["seconds"]
            record[name] |= {"queries": int(queries.size), "queries_per_second": rate,
                             "test_side_seconds_estimate": split.test.size / rate}
    return record


def render(document: dict) -> str:
    """The measurements as a Markdown table, one row per stage and table."""
    from harness.record.machine import describe

    tables = document["tables"]
    lines = [
        "# The history grid's costs at two sizes",
        "",
        f"`{document['command']}` on {describe(document['machine'])}; one process per "
        "table. Seconds of each stage, the peak memory it allocated on top of what the "
        "process held (tracemalloc; the load is not traced) and the process's peak RSS by "
        "its end. Temporal split (the global cut), history online; the feature pass "
        "computes every causal feature of `causal_all` for both sides; the rankings take "
        "each test query's history (item-kNN: its last 20 titles; EASE^R: every earlier "
        "title) against the whole catalogue, from an index of the online rows built once "
        "outside their times.",
        "",
        "| table | stage | seconds | allocated (MiB) | peak RSS (MiB) | notes |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    labels = {"load": "load", "split": "split", "feature_pass": "feature pass",
              "item_knn_fit": "item-kNN fit", "item_knn_rank": "item-kNN ranking",
              "ease_history_fit": "EASE^R fit (one λ)",
              "ease_history_rank": "EASE^R ranking"}
    for table in tables:
        name = (f"{table['dataset']} ({table['n_interactions']:,} rows, "
                f"{table['n_items']:,} titles)")
        for stage, label in labels.items():
            values = table.get(stage)
            if values is None:
                continue
            notes = []
            if stage == "feature_pass":
                notes.append(f"{values['rows']:,} rows, "
                             f"{values['rows'] / values['seconds']:,.0f} rows/s")
            if "variant" in values:
                notes.append(values["variant"])
            if "queries" in values:
                sample = ("every test query" if values["queries"] == table["n_test"]
                          else f"a seeded sample of {values['queries']:,}")
                notes.append(f"{sample}: {values['queries_per_second']:,.0f} queries/s; "
                             f"all {table['n_test']:,} in "
                             f"{values['test_side_seconds_estimate']:,.0f} s")
            allocated = values.get("peak_alloc_mib")
            lines.append(f"| {name} | {label} | {values['seconds']:,.1f} | "
                         f"{'' if allocated is None else f'{allocated:,.0f}'} | "
                         f"{values['peak_rss_mib']:,.0f} | {'; '.join(notes)} |")
        if "ease_history_skipped" in table:
            lines.append(f"| {name} | EASE^R | | | | skipped: "
                         f"{table['ease_history_skipped']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.run.historyscale",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write; scale.md beside")
    parser.add_argument("--no-25m", action="store_true",
                        help="MovieLens-100k only (no MovieLens-25M-shaped table)")
    parser.add_argument("--workdir", help="where the 25M-shaped CSV files go (default: a "
                        "temporary directory, removed after)")
    parser.add_argument("--measure", nargs=2, metavar=("DATASET", "DIR"),
                        help=argparse.SUPPRESS)  # the child: one table
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.measure:
        dataset, directory = args.measure
        out.write_text(json.dumps(measure(dataset, directory or None), indent=1) + "\n")
        return 0
    from harness.record.machine import machine
    from harness.record.provenance import environment
    from harness.record.redaction import redact
    from harness.run.datascale import ML25M_SHAPE, write_ml25m_shaped

    def child(dataset: str, directory: str = "") -> dict:
        with tempfile.NamedTemporaryFile(suffix=".json") as part:
            subprocess.run([sys.executable, "-m", "harness.run.historyscale", "--out",
                            part.name, "--measure", dataset, directory], check=True)
            return json.loads(Path(part.name).read_text())

    tables = [child("movielens-100k")]
    if not args.no_25m:
        with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
            directory = Path(scratch) / "ml-25m"
            write_ml25m_shaped(directory, **ML25M_SHAPE)
            tables.append(child("movielens-25m", str(directory)))
            tables[-1]["dataset"] = "movielens-25m (synthetic, its shape)"
    command = " ".join(["python -m harness.run.historyscale", *(argv or sys.argv[1:])])
    document = {"command": redact(command), "machine": machine(),
                "versions": environment()["versions"], "tables": tables}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1) + "\n")
    out.with_name("scale.md").write_text(render(document))
    print(f"wrote {out} and {out.with_name('scale.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
