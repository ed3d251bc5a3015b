"""Markdown report and accuracy chart of one or more benchmark JSON files.

The report only reads JSON (never trains) and is deterministic: the same files render the
same bytes, with dates taken from the runs' own provenance, never the clock. Its sections
come from :mod:`~harness.report.provenance`, :mod:`~harness.report.accuracy`,
:mod:`~harness.report.findings`, :mod:`~harness.report.history`,
:mod:`~harness.report.segments`,
:mod:`~harness.report.diagnostics` and
:mod:`~harness.report.measurements`; this module puts them in order, renders them in a
format, and writes the report out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UserError
from harness.record.files import write_bytes_atomic
from harness.record.merge import merge_runs
from harness.record.reader import load_run
from harness.record.runs import Run
from harness.report.accuracy import accuracy_section, feature_help_section
from harness.report.chart import plot_accuracy
from harness.report.diagnostics import leakage_section, problems_section, throughput_section
from harness.report.findings import findings_section
from harness.report.history import history_section
from harness.report.layout import group_for, row_configs, table_keys
from harness.report.measurements import (
    other_section,
    scaling_section,
    serving_section,
    speedup_section,
)
from harness.report.provenance import provenance_table
from harness.report.segments import segments_section
from harness.report.tables import (
    FORMATS,
    Table,
    caption_of,
    parse_formats,
    to_markdown,
    write_tables,
)


def _segments(run: Run) -> list[str | Table]:
    return segments_section(run, table_keys(run), row_configs(run), group_for)


def report_items(runs: list[Run]) -> tuple[Run, list[str | Table]]:
    """The runs merged (see :func:`harness.record.merge.merge_runs`), and the report as
    Markdown lines with its tables as :class:`Table` values among them."""
    run = merge_runs(runs)
    lines: list[str | Table] = ["# ctxbench results", "", "## Provenance", "",
                                provenance_table(runs), ""]
    for section in (
        accuracy_section,
        feature_help_section,
        findings_section,
        history_section,
        _segments,
        leakage_section,
        throughput_section,
        problems_section,
        speedup_section,
        scaling_section,
        serving_section,
        other_section,
    ):
        lines += section(run)
    return run, lines


def tables_of(items: list[str | Table]) -> list[Table]:
    """The tables among a report's items, in order."""
    return [item for item in items if isinstance(item, Table)]


def render_items(run: Run, items: list[str | Table], fmt: str = "markdown") -> str:
    """The report in one format: Markdown is the whole report, each table under its
    caption; LaTeX and CSV are its tables only, one after another, a blank line apart."""
    if fmt == "markdown":
        text = "\n".join(
            to_markdown(item, caption_of(item, run)) if isinstance(item, Table) else item
            for item in items)
        return text.rstrip("\n") + "\n"
    return "\n".join(FORMATS[fmt](table, caption_of(table, run))
                     for table in tables_of(items))


def build_report(runs: list[Run]) -> str:
    """Markdown of the given runs, merged (see :func:`harness.record.merge.merge_runs`)."""
    return render_items(*report_items(runs))


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # unreadable: load_run names it


def check_out_dir(out_dir: Path, paths: Sequence[Path]) -> None:
    """Refuses to replace a report of other files: ``out_dir`` may already hold a report
    (``results.md`` or ``tables/``) only when its own ``benchmark.json`` is one of
    ``paths`` (byte for byte), as when a run re-renders its results folder.

    Raises:
        UserError: ``out_dir`` holds a report of files that are not among ``paths``.
    """
    report = [name for name in ("results.md", "tables") if (out_dir / name).exists()]
    if not report:
        return
    own = out_dir / "benchmark.json"
    if own.is_file() and _sha256(own) in {_sha256(Path(p)) for p in paths}:
        return
    whose = (f"its {own.name} is not among the files given" if own.is_file()
             else f"it holds no {own.name} to say which run it reports")
    raise UserError(f"{out_dir} already holds a report ({' and '.join(report)}) and "
                    f"{whose}; pass --overwrite to replace it, or another --out")


def render_report(paths: list[Path], out_dir: Path | None = None,
                  formats: str | Sequence[str] = "markdown", overwrite: bool = False) -> str:
    """Renders the report of benchmark JSON files, writing it out when asked.

    Args:
        paths: pytest-benchmark JSON files (e.g. a fit_on=train and a fit_on=all run).
        out_dir: when given, ``results.md``, ``accuracy.png`` and every table as
            ``tables/<name>.tex`` and ``tables/<name>.csv`` are written there, each
            atomically (the directories are created if needed; see
            :func:`harness.report.tables.write_tables`).
        formats: the format of the returned text, or several (comma-separated or a
            sequence, each rendered in turn, a blank line apart): "markdown" (the
            report), "latex" or "csv" (its tables).
        overwrite: replace a report in ``out_dir`` even when it is another run's (see
            :func:`check_out_dir`).

    Returns:
        The report in ``formats``.

    Raises:
        UserError: a file is missing or malformed, the files disagree on data, epochs
            or suite version or repeat a cell, a format is unknown, or ``out_dir``
            cannot be written or holds another run's report (without ``overwrite``).
    """
    if not paths:
        raise UserError("report needs at least one benchmark JSON file")
    formats = parse_formats(formats)
    if out_dir is not None and not overwrite:
        check_out_dir(Path(out_dir), paths)
    runs = [load_run(path) for path in paths]
    run, items = report_items(runs)
    markdown = render_items(run, items)
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise UserError(f"cannot write into {out_dir}: not a directory")
        png = plot_accuracy(run)  # the runs as report_items merged them
        write_bytes_atomic(out_dir / "results.md", markdown.encode("utf-8"))
        write_bytes_atomic(out_dir / "accuracy.png", png)
        tables = tables_of(items)
        write_tables(tables, [caption_of(t, run) for t in tables], out_dir / "tables")
    return "\n".join(markdown if fmt == "markdown" else render_items(run, items, fmt)
                     for fmt in formats)


__all__ = ["build_report", "check_out_dir", "render_items", "render_report", "report_items",
           "tables_of"]
