"""Publishing a finished grid's results: all of them or none.

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
from pathlib import Path

from harness.errors import UserError
from harness.run.records import write_json_atomic

BENCHMARK_JSON = "benchmark.json"
# What a grid writes into its results directory (render_report writes the last three).
RESULT_NAMES = (BENCHMARK_JSON, "results.md", "accuracy.png", "tables")


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


def publish(output: dict, results_dir: Path | None, benchmark_json: Path | None
            ) -> list[Path]:
    """Writes a finished run's JSON and report; returns what was written.

    Args:
        output: the pytest-benchmark JSON document (redacted).
        results_dir: where the JSON, report, chart and tables go, or None.
        benchmark_json: where the JSON alone goes, or None.

    Raises:
        UserError: a directory cannot be written or the report cannot be rendered;
            nothing of ``results_dir`` has been replaced then.
    """
    written: list[Path] = []
    staging = None
    try:
        if results_dir is not None:
            from harness.report.report import render_report

            results_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{results_dir.name}.new-",
                                            dir=results_dir.parent))
            render_report([write_json_atomic(staging / BENCHMARK_JSON, output)], staging)
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


__all__ = ["BENCHMARK_JSON", "RESULT_NAMES", "check_writable", "publish"]
