"""The grid serially and on a local cluster, side by side, and the 25M-shaped projection.

``python -m harness.run.clusterscale --scale DATASCALE.json --out results/cluster/cluster.json``

1. Runs the quick grid on the real data twice in one go, each in a fresh ``pytest
   benchmarks`` process: serially, then on ``--cluster local:N`` (default 2 workers), and
   records each wall time, the cells' own seconds, the largest difference of any metric
   between the two, and what each worker held (peak RSS, table loads).
2. Projects, on paper, the full default grid (every protocol) and the tuning onto
   8, 32 and 128 workers at MovieLens-25M's shape (:func:`projection`), from measured
   costs only: the committed 100k grid's per-cell train seconds (``results/benchmark.json``)
   and trials (``results/tuned.json``), scaled by the measured ratio of one 25M-shaped
   epoch (``python -m harness.run.datascale``'s JSON) to one 100k epoch of the same model.

The Markdown beside the JSON is rendered from it (:func:`render`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.errors import USER_ERRORS, UserError
from harness.record.files import read_json, write_json_atomic, write_text_atomic
from harness.record.grid import BASELINES
from harness.record.machine import describe, machine
from harness.record.provenance import environment, utc_now
from harness.run.projection import projection, render_projection

ROOT = Path(__file__).resolve().parents[2]
WORKERS = (8, 32, 128)


def _grid(directory: Path, workers: int | None) -> dict:
    """One quick grid on the real data in a fresh process: wall seconds and its entries."""
    command = [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider",
               "--quick", "--no-speedup", "--run-dir", str(directory / "run"),
               "--benchmark-json", str(directory / "out.json"),
               *(["--cluster", f"local:{workers}"] if workers else [])]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise UserError(f"the {'cluster' if workers else 'serial'} grid failed: "
                        + (result.stdout + result.stderr)[-500:])
    entries = json.loads((directory / "out.json").read_text())["benchmarks"]
    cells = {entry["name"]: entry["extra_info"] for entry in entries}
    # Each cell's own seconds once: its train entry (a baseline's one entry), and not a
    # record computed once for another seed (harness.run.reuse), which repeats its source's.
    measured = [info for info in cells.values()
                if (info["kind"] == "train" or info["config"] in BASELINES)
                and "computed_once" not in info["provenance"]]
    work = sum(info["timings"].get("train_seconds", 0.0)
               + info["timings"].get("eval_seconds", 0.0) for info in measured)
    workers_seen = {info["provenance"]["worker"]["address"]: info["provenance"]["worker"]
                    for info in measured if "worker" in info["provenance"]}
    return {"wall_seconds": wall, "cells": len({name.split("[")[1] for name in cells}),
            "cell_seconds": work, "entries": cells,
            "workers": [workers_seen[address] for address in sorted(workers_seen)]}


def _largest_difference(first: dict, second: dict) -> float:
    return max((abs(value - second[name]["metrics"][metric])
                for name, info in first.items() for metric, value in info["metrics"].items()),
               default=0.0)


def measure(workers: int) -> dict:
    """The quick grid serially, then on ``local:workers``, in one run."""
    with tempfile.TemporaryDirectory(prefix="ctxbench-cluster-") as tmp:
        serial = _grid(Path(tmp) / "serial", None)
        cluster = _grid(Path(tmp) / "cluster", workers)
    if sorted(serial["entries"]) != sorted(cluster["entries"]):
        raise UserError("the serial and cluster grids wrote different entries")
    difference = _largest_difference(serial["entries"], cluster["entries"])
    for run in (serial, cluster):
        del run["entries"]
    return {"workers": workers, "serial": serial, "cluster": cluster,
            "speedup": serial["wall_seconds"] / cluster["wall_seconds"],
            "largest_metric_difference": difference}


def render(document: dict) -> str:
    """The Markdown of a clusterscale JSON."""
    measured, serial, cluster = document["measured"], document["measured"]["serial"], \
        document["measured"]["cluster"]
    workers = measured["workers"]
    held = ", ".join(f"{w['peak_rss_mib']:,.0f} MiB (table loaded {w['table_loads']}x, "
                     f"{w['table_load_seconds']:.1f} s)" for w in cluster["workers"])
    lines = [
        "# The grid on a cluster",
        "",
        f"Machine: {describe(document['machine'])}; {document['utc_time']}; "
        f"`{document['command']}`.",
        "",
        f"## The quick grid on the real data, serially and on `--cluster local:{workers}`",
        "",
        "| run | wall | cells | the cells' own seconds (train + evaluation) |",
        "| --- | ---: | ---: | ---: |",
        f"| serial (one process) | {serial['wall_seconds']:.1f} s | {serial['cells']} | "
        f"{serial['cell_seconds']:.1f} s |",
        f"| local cluster, {workers} workers | {cluster['wall_seconds']:.1f} s | "
        f"{cluster['cells']} | {cluster['cell_seconds']:.1f} s |",
        "",
        f"Speed-up {measured['speedup']:.2f}x on {document['machine']['cores']} cores. "
        f"Of the serial run's {serial['wall_seconds']:.1f} s, the cells' own are "
        f"{serial['cell_seconds']:.1f} s; the rest is the process start, TensorFlow's "
        "import, the table's load and the benchmark file, which the cluster's workers pay "
        "again each. Each worker's TensorFlow uses every core, so two workers share them: "
        "a cell's own seconds grow, and the gain is the overlap of one cell's "
        "single-threaded stages with another's. Largest "
        f"difference of any metric between the two runs: "
        f"{measured['largest_metric_difference']:.3g}. Each worker's peak RSS: {held}.",
        "",
        render_projection(document["projection"]),
    ]
    return "\n".join(lines) + "\n"


def scale_record(document: dict) -> dict:
    """The 25M-shaped costs: ``python -m harness.run.datascale``'s JSON, or the
    ``dataset_scale`` entry of a benchmark JSON (``pytest benchmarks --dataset-scale``).

    Raises:
        UserError: neither.
    """
    if isinstance(document, dict) and document.get("kind") == "dataset_scale":
        return document
    for entry in document.get("benchmarks", []) if isinstance(document, dict) else []:
        if entry.get("extra_info", {}).get("kind") == "dataset_scale":
            return entry["extra_info"]
    raise UserError("--scale: neither a dataset_scale JSON nor a benchmark JSON with a "
                    "dataset_scale entry (pytest benchmarks --dataset-scale)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.run.clusterscale",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the JSON to write (and .md beside)")
    parser.add_argument("--scale", required=True, help="python -m harness.run.datascale's "
                        "JSON, or a benchmark JSON with its entry (the 25M-shaped costs)")
    parser.add_argument("--workers", type=int, default=2, help="local cluster workers")
    parser.add_argument("--results", default=str(ROOT / "results"), help="the committed "
                        "results/ with benchmark.json and tuned.json (the 100k costs)")
    args = parser.parse_args(argv)
    try:
        if args.workers < 1:
            raise UserError(f"--workers must be at least 1, got {args.workers}")
        scale = scale_record(read_json(Path(args.scale)))
        results = Path(args.results)
        plan = projection(read_json(results / "benchmark.json"),
                          read_json(results / "tuned.json"), scale, WORKERS)
        command = " ".join(["python -m harness.run.clusterscale",
                            *(argv if argv is not None else sys.argv[1:])])
        document = {"kind": "cluster_scale", "utc_time": utc_now(), "machine": machine(),
                    **environment(), "command": command, "measured": measure(args.workers),
                    "projection": plan}
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    write_json_atomic(out, document)  # redacted on the way (to_jsonable)
    write_text_atomic(out.with_suffix(".md"), render(read_json(out)))
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
