"""Shared fixtures: tiny MovieLens directories and an environment that reaches no real data.

Tests that need the real MovieLens-100k are marked ``realdata``; deselect them with
``-m "not realdata"`` on a machine that has neither the cached RecBole wheel nor PyPI.
"""

from __future__ import annotations

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
def quick_grid(tmp_path_factory) -> tuple[Path, object]:
    """One quick grid on the real data (``benchrun.QUICK_GRID``), shared by the
    end-to-end tests: its run directory ``run``, ``results`` directory and ``out.json``.

    Returns:
        (directory, the finished subprocess).
    """
    tmp = tmp_path_factory.mktemp("quick")
    result = run_benchmarks(*QUICK_GRID, "--run-dir", str(tmp / "run"),
                            "--results-dir", str(tmp / "results"),
                            "--benchmark-json", str(tmp / "out.json"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp, result


def pytest_collection_modifyitems(config, items):
    """Under ``-n`` (pytest-xdist, ``--dist loadgroup``), the tests of one file run on one
    worker, so a module-scoped fixture is built once; the tests that share the session's
    quick grid run on one worker too, so it is not run twice."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        group = "quick_grid" if "quick_grid" in item.fixturenames else item.path.stem
        item.add_marker(pytest.mark.xdist_group(group))
