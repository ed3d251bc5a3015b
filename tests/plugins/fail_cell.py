"""A pytest plugin that makes one grid cell's training fail, to test failure handling.

Load it with ``-p plugins.fail_cell`` (tests/ on PYTHONPATH) and name the cell in
``CTXBENCH_TEST_FAIL_CELL`` as "split/config/seed<N>".
"""

from __future__ import annotations

import os

import harness.run.cell


def pytest_configure(config):
    target = os.environ["CTXBENCH_TEST_FAIL_CELL"]
    real_fit = harness.run.cell.fit_cell

    def fit_or_fail(cell, strategy=None):
        if cell.name == target:
            raise RuntimeError(f"injected failure in {cell.name}")
        return real_fit(cell, strategy)

    harness.run.cell.fit_cell = fit_or_fail
