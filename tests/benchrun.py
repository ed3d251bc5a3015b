"""Runs ``pytest benchmarks`` in a subprocess, as a user would, for the end-to-end tests."""

from __future__ import annotations

import os
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


def run_benchmarks(*args: str, env: dict | None = None,
                   cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m pytest benchmarks -q ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})})
