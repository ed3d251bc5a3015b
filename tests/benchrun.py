"""Runs ``pytest benchmarks`` in a subprocess, as a user would, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The quick grid the end-to-end tests share: 2 splits (one random, one time-ordered)
# x (popularity, baseline, timestamp) x 2 seeds, on 20% of the real users.
QUICK_GRID = ("--quick", "--seeds", "2", "--splits", "random,temporal")
QUICK_SPLITS = 2
QUICK_CELLS = QUICK_SPLITS * (1 + 2) * 2
# Two-tower cells write a train and an inference entry, popularity an inference entry.
QUICK_ENTRIES = QUICK_SPLITS * 2 * (1 + 2 * 2)


TENSORFLOW = ("tensorflow", "tf_keras", "tensorflow_recommenders")


def heavy_imports(modules, heavy=TENSORFLOW) -> list[str]:
    """The modules of the packages ``heavy`` that importing ``modules`` together loads,
    in a fresh interpreter (the test process has loaded them already)."""
    probe = (f"import json, sys, {', '.join(modules)}; print(json.dumps(sorted(m for m in "
             f"sys.modules if m.split('.')[0] in {tuple(heavy)!r})))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def run_benchmarks(*args: str, env: dict | None = None,
                   cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m pytest benchmarks -q ARGS`` from the repository root."""
    return subprocess.run(
        benchmarks_command(*args), cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**outside_xdist(), "PYTHONHASHSEED": "0", **(env or {})})


def interruptible() -> None:
    """In the child, before it starts Python: SIGINT back to its default. A test run
    started in the background (a non-interactive shell's ``cmd &``, ``nohup``) inherits
    SIGINT ignored, and a Python started with SIGINT ignored never raises
    KeyboardInterrupt: the run would finish every cell and the test would fail for a
    reason that is not the suite's."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def outside_xdist() -> dict[str, str]:
    """This environment without pytest-xdist's worker variables: a ``pytest benchmarks``
    started from a test worker would otherwise look like an xdist worker itself, and
    pytest-benchmark disables its benchmarks under xdist."""
    return {key: value for key, value in os.environ.items()
            if not key.startswith("PYTEST_XDIST") and key != "PYTEST_CURRENT_TEST"}


def write_interactions_file(path: Path) -> str:
    """A generated interactions file (titles, no genres or user profile), large enough for
    the quick grid's users subsample to train and rank in a second per cell; returns
    its ``--dataset`` value."""
    import csv

    import numpy as np

    from harness.data.synthetic import synthetic_movielens

    ratings = synthetic_movielens(np.random.default_rng(0), n_users=300, n_items=200,
                                  n_interactions=9000).ratings
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_id", "timestamp", "item_title"])
        writer.writerows(zip(ratings["user_id"].tolist(), ratings["movie_id"].tolist(),
                             ratings["timestamp"].tolist(), ratings["movie_title"].tolist(),
                             strict=True))
    return f"interactions:{path}"


def benchmarks_command(*args: str) -> list[str]:
    """The ``python -m pytest benchmarks -q ARGS`` command line of :func:`run_benchmarks`."""
    return [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider",
            *args]
