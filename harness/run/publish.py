"""A grid's benchmark entries and header, and its results published all at once.

:func:`benchmark_entry_of` and :func:`stats_of` make pytest-benchmark entries of a
cell; :func:`complete_json` fills pytest-benchmark's JSON document with the run
directory's entries and the ``ctxbench`` header (:func:`header`).

A grid's results directory holds ``benchmark.json``, ``results.md``, ``accuracy.png`` and
``tables/``. :func:`publish` renders all of them into a temporary directory beside the
results directory first (the slow part, where a bad file or a crash can stop it), then
renames each into place, so an earlier run's files are either all kept or all replaced:
a rendering that fails leaves them as they were. Files of the results directory that the
grid does not write (a budget curve, a tuned file) are never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from harness.errors import UserError
from harness.record.cellentry import is_cell_entry
from harness.record.files import write_json_atomic
from harness.record.provenance import current_suite_version, peak_rss_mib
from harness.record.redaction import to_jsonable

BENCHMARK_JSON = "benchmark.json"
# What a grid writes into its results directory (render_report writes the last three).
RESULT_NAMES = (BENCHMARK_JSON, "results.md", "accuracy.png", "tables")


def benchmark_entry_of(benchmark) -> dict | None:
    """The pytest-benchmark JSON entry of a ``benchmark`` fixture that ran, else None.

    The one use of pytest-benchmark beyond its documented fixture, options and hooks:
    it builds entries only at the session's end (``pytest_benchmark_generate_json``
    serialises each fixture's ``stats``), but a resumable run must store a cell's entry
    the moment the cell ends, so this reads the fixture's ``stats`` as that hook does.
    """
    stats = getattr(benchmark, "stats", None)
    if stats is None or getattr(benchmark, "has_error", False):
        return None
    return stats.as_dict(include_data=True)


def stats_of(seconds: list[float]) -> dict:
    """pytest-benchmark's stats block of rounds timed outside its fixture (one of a cell
    that raised, or a cell's rounds on a cluster worker), made by its own ``Stats``."""
    from pytest_benchmark.stats import Stats

    stats = Stats()
    for value in seconds:
        stats.update(value)
    return {**stats.as_dict(), "data": list(seconds), "iterations": 1}


def check_outputs(settings) -> tuple[Path | None, Path | None]:
    """A grid's results directory and benchmark JSON (each None when not asked for),
    checked before anything runs.

    Raises:
        UserError: one exists without ``overwrite``; the directory is not writable.
    """
    results_dir = Path(settings.results_dir) if settings.results_dir else None
    benchmark_json = Path(settings.benchmark_json) if settings.benchmark_json else None
    for existing in (results_dir and results_dir / BENCHMARK_JSON, benchmark_json):
        if existing and existing.exists() and not settings.overwrite:
            raise UserError(f"{existing} exists; pass --overwrite to replace it or "
                            "write elsewhere")
    if results_dir is not None:
        check_writable(results_dir)
    return results_dir, benchmark_json


def check_writable(directory: Path) -> None:
    """Refuses a results directory that cannot be created or written into.

    Raises:
        UserError: naming the directory and why.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise UserError(f"--results-dir {directory} is not writable: "
                        f"{error.strerror or error}") from None


def _replace_directory(new: Path, target: Path) -> None:
    """Moves the directory ``new`` to ``target``, an existing one set aside first and
    removed after (a directory cannot be renamed over a non-empty one)."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def publish(output: dict, results_dir: Path | None, benchmark_json: Path | None,
            render) -> list[Path]:
    """Writes a finished run's JSON and report; returns what was written.

    Args:
        output: the pytest-benchmark JSON document (redacted).
        results_dir: where the JSON, report, chart and tables go, or None.
        benchmark_json: where the JSON alone goes, or None.
        render: ``render(json_path, directory)`` writes the report, chart and tables of
            a JSON file into a directory (:func:`harness.report.report.render_report`,
            passed in: the run layer does not import the report's).

    Raises:
        UserError: a directory cannot be written or the report cannot be rendered;
            nothing of ``results_dir`` has been replaced then.
    """
    written: list[Path] = []
    staging = None
    try:
        if results_dir is not None:
            results_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{results_dir.name}.new-",
                                            dir=results_dir.parent))
            render(write_json_atomic(staging / BENCHMARK_JSON, output), staging)
        if benchmark_json is not None:
            written.append(write_json_atomic(benchmark_json, output))
        if staging is not None:
            for name in RESULT_NAMES:
                if (staging / name).is_dir():
                    _replace_directory(staging / name, results_dir / name)
                else:
                    os.replace(staging / name, results_dir / name)
                written.append(results_dir / name)
    except OSError as error:
        raise UserError(f"cannot write the results: {error.strerror or error} "
                        f"({error.filename})") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return written


def _session_info(session) -> dict:
    """What the session cost, and this machine's GEMM rate while it ran."""
    return {"wall_seconds": time.perf_counter() - session.started,
            "peak_rss_mb": peak_rss_mib(), "cells_resumed": session.resumed,
            "utc_start": session.utc_start, "gemm_gflops": session.gemm_gflops}


def header(session) -> dict:
    """The run-level record (``ctxbench`` in the JSON) of a
    :class:`~harness.run.session.GridSession`: the grid asked for, where it came from and
    what the session cost."""
    if not session.opened:  # no grid cell was asked for (only --scaling, say)
        return {"session": _session_info(session)}
    selected = replace(session.grid, selected=frozenset(session.selected))
    grid_file = session.grid_file()
    data = session.data
    return {"grid": selected.to_dict(), "suite_version": current_suite_version(),
            "command": session.env["command"], "dataset": data.dataset,
            "data_source": data.source, **({"grid_file": grid_file} if grid_file else {}),
            **({"skipped_configs": dict(session.skipped)} if session.skipped else {}),
            "data_sha256": data.sha256, "run_dir": str(session.run_dir.path),
            "session": _session_info(session)}


def complete_json(session, output_json: dict) -> None:
    """Fills pytest-benchmark's JSON document in place: the cells' entries from the
    session's run directory (fresh, resumed and failed alike), the other benchmarks' as
    timed, the header; then redacts it (no credential or home directory in a record)."""
    others = [entry for entry in output_json.get("benchmarks", [])
              if not is_cell_entry(entry)]
    if session.opened:
        output_json["benchmarks"] = session.entries() + others
    output_json["ctxbench"] = header(session)
    redacted = to_jsonable(output_json)
    output_json.clear()
    output_json.update(redacted)


__all__ = ["BENCHMARK_JSON", "RESULT_NAMES", "benchmark_entry_of", "check_writable",
           "complete_json", "header", "publish", "stats_of"]
