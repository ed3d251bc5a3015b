"""pytest wiring for the ctxbench grid: options -> settings, pytest hooks -> the session.

Only wiring lives here; the session (:mod:`harness.run.session`) does the work.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from harness.errors import USER_ERRORS, UserError
from harness.evaluation.segments import parse_bands
from harness.record.cell import Cell
from harness.record.grid import BASELINES
from harness.record.machine import machine
from harness.run.gridfile import read_grid_file
from harness.run.publish import benchmark_entry_of, complete_json
from harness.run.session import GridSession
from harness.run.sessionend import COMPLETED, INTERRUPTED, STOPPED, finish
from harness.run.settings import OPTIONS, GridSettings

SESSION = pytest.StashKey[GridSession]()


def pytest_addoption(parser):
    group = parser.getgroup("ctxbench", "ctxbench grid")
    for flag, keywords in OPTIONS:
        group.addoption(flag, **keywords)
    group.addoption("--no-speedup", action="store_true",
                    help="skip the side-by-side tutorial-reference benchmark")
    group.addoption("--scaling", action="store_true",
                    help="also run the synthetic scaling benchmarks (slow)")
    group.addoption("--dataset-scale", action="store_true", help="also load a "
                    "MovieLens-25M-shaped dataset and run one baseline cell on it (about "
                    "10 minutes and 6 GiB)")


def _take_over_benchmark_json(config) -> str | None:
    """The user's --benchmark-json, taken from pytest-benchmark.

    pytest-benchmark writes that file itself at every session's end, an interrupted one
    included, by truncating it in place; no hook or option skips or redirects the write.
    ctxbench writes it instead, atomically and only when the session completes, so the
    option is cleared here, before pytest-benchmark (``trylast``) reads it.
    """
    value = config.getoption("benchmark_json", None)
    if value is not None and not isinstance(value, (str, Path)):
        # pytest-benchmark < 5.3 opened (and emptied) the file while parsing options.
        raise UserError("--benchmark-json needs pytest-benchmark >= 5.3")
    config.option.benchmark_json = None
    return None if value is None else str(value)


def _settings(config) -> GridSettings:
    values = {name: config.getoption(name)
              for name in (flag[2:].replace("-", "_") for flag, _ in OPTIONS)}
    grid_file, bands = values.pop("grid_file"), values.pop("segment_bands")
    settings = GridSettings(**values, segment_bands=parse_bands(bands) if bands else None,
                            benchmark_json=_take_over_benchmark_json(config))
    return settings.with_file(read_grid_file(grid_file)) if grid_file else settings


def _terminal(config):
    """A context in which stderr reaches the terminal, after pytest's current line."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    @contextlib.contextmanager
    def terminal():
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None:
                reporter.ensure_newline()
            yield
    return terminal


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark's (trylast) reads the options
def pytest_configure(config):
    if config.getoption("help") or config.getoption("version", 0):
        return
    try:
        config.stash[SESSION] = GridSession(_settings(config), config.rootpath,
                                            _terminal(config))
    except USER_ERRORS as error:
        raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session")
def grid_run(request) -> GridSession:
    session = request.config.stash[SESSION]
    try:
        _ = session.run_dir  # loads the data and opens (or refuses) the run directory
    except USER_ERRORS as error:
        session.refused = True  # exits 2, as a Ctrl-C does: not an interruption
        pytest.exit(f"error: {error}", returncode=2)
    session.run_elsewhere()  # with --cluster: every cell left, before the first test
    return session


def pytest_generate_tests(metafunc):
    session = metafunc.config.stash[SESSION]
    for name, baseline in (("cell", False), ("baseline_cell", True)):
        if name in metafunc.fixturenames:
            cells = [c for c in session.cells if (c.config in BASELINES) == baseline]
            metafunc.parametrize(name, cells, ids=[c.key for c in cells])


def _item_cell(item) -> Cell | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    cell = params.get("cell") or params.get("baseline_cell")
    return cell if isinstance(cell, Cell) else None  # an empty parametrization's NOTSET


def pytest_collection_modifyitems(config, items):
    # Train and inference of a cell run back to back, so each model is freed at once.
    order = {cell: index for index, cell in enumerate(config.stash[SESSION].cells)}

    def key(item):
        cell = _item_cell(item)
        if cell is None:
            # The side-by-side speed-up first, in a process not yet filled by the grid;
            # the scaling sweep (the largest memory) last.
            return (-1 if item.path.name == "test_speedup.py" else 1, 0, 0)
        return (0, order[cell], 0 if item.originalname == "test_train" else 1)

    items.sort(key=key)


def pytest_collection_finish(session):
    # A cell runs when its training (or baseline) benchmark was selected.
    session.config.stash[SESSION].select(
        {_item_cell(item) for item in session.items
         if item.originalname in ("test_train", "test_baseline")})


def pytest_runtest_makereport(item, call):
    """Keeps the entries of benchmarks that are not cells (speed-up, scaling)."""
    benchmark = getattr(item, "funcargs", {}).get("benchmark")
    if call.when == "call" and benchmark is not None and _item_cell(item) is None:
        entry = benchmark_entry_of(benchmark)
        if entry is not None:
            item.config.stash[SESSION].others.append(entry)


def pytest_benchmark_update_machine_info(config, machine_info):
    """The machine, once per file: ISA, caches and cores (its GEMM rate, a measurement,
    is in the header's ``session``)."""
    machine_info["ctxbench"] = machine()


def pytest_benchmark_update_json(config, benchmarks, output_json):
    complete_json(config.stash[SESSION], output_json)


def _benchmark_json(config, others: list[dict]) -> dict:
    """pytest-benchmark's JSON document, made through its own hooks (as its session
    makes it for --benchmark-json) with the benchmarks' entries."""
    hook = config.hook
    machine_info = hook.pytest_benchmark_generate_machine_info(config=config)
    hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine_info)
    commit_info = hook.pytest_benchmark_generate_commit_info(config=config)
    hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    output = hook.pytest_benchmark_generate_json(
        config=config, benchmarks=[], include_data=True, machine_info=machine_info,
        commit_info=commit_info)
    output["benchmarks"] = list(others)
    hook.pytest_benchmark_update_json(config=config, benchmarks=[], output_json=output)
    return output


def _render(path: Path, directory: Path) -> None:
    from harness.report.report import render_report

    render_report([path], directory)


def pytest_sessionfinish(session, exitstatus):
    grid = session.config.stash.get(SESSION, None)
    if grid is None:
        return
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        outcome = COMPLETED
    elif exitstatus == pytest.ExitCode.INTERRUPTED and not grid.refused:
        outcome = INTERRUPTED  # Ctrl-C (KeyboardInterrupt), or pytest.exit elsewhere
    else:
        outcome = STOPPED
    status = finish(grid, outcome, lambda: _benchmark_json(session.config, grid.others),
                         _render)
    if status is not None:
        session.exitstatus = status
