"""Shared fixtures: tiny MovieLens directories and an environment that reaches no real data.

Tests that need the real MovieLens-100k are marked ``realdata``; deselect them with
``-m "not realdata"`` on a machine that has neither the cached RecBole wheel nor PyPI.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest
from benchrun import QUICK_GRID, run_benchmarks
from fixtures_data import write_grouplens, write_recbole

from harness.data.sources import CACHE_DIR_ENV, DATA_DIR_ENV


@pytest.fixture
def isolated_env(tmp_path_factory, monkeypatch) -> Path:
    """No data directory, an empty wheel cache and an empty tfds directory.

    A loader bug that falls through to a default source then fails (or shows up in a
    monkeypatched ``subprocess.run``) instead of quietly reading the real data. The
    variables are in ``os.environ``, so CLI subprocesses inherit them. Returns the cache
    directory.
    """
    root = tmp_path_factory.mktemp("isolated")
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(CACHE_DIR_ENV, str(root / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(root / "tfds"))
    (root / "tfds").mkdir()
    return root / "cache"


@pytest.fixture
def grouplens_dir(tmp_path) -> Path:
    """The tiny dataset as loose GroupLens files (u.data, u.item, u.user)."""
    return write_grouplens(tmp_path / "grouplens")


@pytest.fixture
def recbole_dir(tmp_path) -> Path:
    """The tiny dataset as RecBole atomic files (ml-100k.inter, .item, .user)."""
    return write_recbole(tmp_path / "recbole")


@pytest.fixture(scope="session")
def quick_grid(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One quick grid on the real data (``benchrun.QUICK_GRID``), shared by the
    end-to-end tests: its run directory ``run``, ``results`` directory and ``out.json``.

    Run once for the whole session, however many pytest-xdist workers ask for it: the
    first to take the lock runs it in the directory the workers share, and the others
    read what it left (the tests that use it only read its files, or run beside them).

    Returns:
        (directory, the finished subprocess).
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    tmp, done = shared / "quick", shared / "quick" / "finished.json"
    with open(shared / "quick.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            tmp.mkdir(exist_ok=True)
            ran = run_benchmarks(*QUICK_GRID, "--run-dir", str(tmp / "run"),
                                 "--results-dir", str(tmp / "results"),
                                 "--benchmark-json", str(tmp / "out.json"))
            done.write_text(json.dumps({"args": ran.args, "returncode": ran.returncode,
                                        "stdout": ran.stdout, "stderr": ran.stderr}))
    result = subprocess.CompletedProcess(**json.loads(done.read_text()))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp, result
