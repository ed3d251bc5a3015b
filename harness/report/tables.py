"""The report's tables as data, rendered as Markdown, LaTeX (booktabs) or CSV.

A report section returns its tables as :class:`Table` values among its Markdown lines;
:mod:`harness.report.report` renders each one with its caption
(:func:`harness.report.caption.caption`) into ``results.md`` and writes every one, in
every format, to ``tables/<name>.tex`` and ``tables/<name>.csv``. The cells are already
formatted strings (:mod:`harness.report.format`); only the markup differs.

- Markdown: ``Table: <caption>`` (pandoc's caption syntax), a blank line, the table.
- LaTeX: a ``table`` environment with ``\\caption`` and ``\\label{tab:<name>}`` around
  tabulate's ``latex_booktabs`` (needs ``\\usepackage{booktabs}``); the ten special
  characters are escaped, ``±`` and the report's other symbols become math, ``**x**``
  becomes ``\\textbf{x}``.
- CSV: ``# <caption>`` on the first line, then the header and the rows (the stdlib
  ``csv`` module, UTF-8); read it with ``pandas.read_csv(path, skiprows=1)``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from harness.errors import UserError
from harness.record.files import write_text_atomic
from harness.record.redaction import redact
from harness.record.runs import Run
from harness.report.caption import DEFAULT_PROTOCOL
from harness.report.caption import caption as table_caption
from harness.report.format import markdown_table

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Table:
    """One table of the report.

    Attributes:
        name: the file stem under ``tables/`` (letters, digits, ``_`` and ``-``).
        title: what the table shows; the caption starts with it.
        headers: column titles.
        rows: formatted cells, one sequence per row.
        fit_on: the fit_on its cells were run under (None: the run's).
        protocol: the protocol its cells followed (None: the run's).
        colalign: tabulate's column alignments for Markdown (None: its default).
    """

    name: str
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    fit_on: str | None = None
    protocol: str | None = None
    colalign: Sequence[str] | None = None

    @property
    def file_stem(self) -> str:
        """``name``, suffixed with the protocol unless it is the default one, safe as a
        file name and a LaTeX label (a fit_on read from a results file may hold any
        character: runs of others become ``_``, and a leading dot goes)."""
        stem = self.name if self.protocol in (None, DEFAULT_PROTOCOL) else (
            f"{self.name}_{self.protocol}")
        return _UNSAFE.sub("_", stem).lstrip(".") or "table"


def caption_of(table: Table, run: Run) -> str:
    """The table's one-line caption (:func:`harness.report.caption.caption`)."""
    return table_caption(table.title, run, table.protocol, table.fit_on)


def plain(text: object) -> str:
    """A cell as one line of text, redacted (no credentials or home directory)."""
    return redact(" ".join(str(text).split()))


_BOLD = re.compile(r"\*\*(.+?)\*\*")
# Private-use characters stand for \textbf{ and } while tabulate escapes the rest.
_BOLD_OPEN, _BOLD_CLOSE = "\ue000", "\ue001"
LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                 "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
                 "\\": r"\textbackslash{}", "<": r"\ensuremath{<}", ">": r"\ensuremath{>}"}
# The report's symbols, in commands every LaTeX has (no package beyond booktabs).
LATEX_SYMBOLS = {"±": r"$\pm$", "—": "---", "–": "--", "·": r"$\cdot$", "Δ": r"$\Delta$",
                 "▲": r"$\uparrow$", "▼": r"$\downarrow$", "×": r"$\times$",
                 "≈": r"$\approx$", "≥": r"$\geq$", "≤": r"$\leq$", "…": r"\dots{}",
                 _BOLD_OPEN: r"\textbf{", _BOLD_CLOSE: "}"}


def latex_escape(text: object) -> str:
    """Text as LaTeX: special characters escaped, symbols as math, ``**x**`` bold."""
    marked = _BOLD.sub(f"{_BOLD_OPEN}\\1{_BOLD_CLOSE}", plain(text))
    return "".join(LATEX_ESCAPES.get(c, LATEX_SYMBOLS.get(c, c)) for c in marked)


def to_markdown(table: Table, caption: str) -> str:
    """``Table: <caption>``, a blank line, then the GitHub Markdown table."""
    return (f"Table: {plain(caption)}\n\n"
            f"{markdown_table(table.headers, table.rows, table.colalign)}")


def to_latex(table: Table, caption: str) -> str:
    """A ``table`` environment: caption, label ``tab:<file stem>``, booktabs tabular."""

    def cell(value: object) -> str:
        # tabulate escapes the special characters (the rules of LATEX_ESCAPES); the bold
        # markers and the symbols, which it leaves alone, become LaTeX after it.
        return _BOLD.sub(f"{_BOLD_OPEN}\\1{_BOLD_CLOSE}", plain(value))

    body = tabulate([[cell(c) for c in row] for row in table.rows],
                    headers=[cell(h) for h in table.headers], tablefmt="latex_booktabs",
                    disable_numparse=True)
    for symbol, latex in LATEX_SYMBOLS.items():
        body = body.replace(symbol, latex)
    return "\n".join([r"\begin{table}[htbp]", r"\centering",
                      rf"\caption{{{latex_escape(caption)}}}",
                      rf"\label{{tab:{table.file_stem}}}", body, r"\end{table}", ""])


def to_csv(table: Table, caption: str) -> str:
    """``# <caption>``, then the header and rows as CSV (bold markers dropped)."""
    buffer = io.StringIO()
    buffer.write(f"# {plain(caption)}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_BOLD.sub(r"\1", plain(h)) for h in table.headers])
    writer.writerows([[_BOLD.sub(r"\1", plain(c)) for c in row] for row in table.rows])
    return buffer.getvalue()


FORMATS: dict[str, Callable[[Table, str], str]] = {
    "markdown": to_markdown, "latex": to_latex, "csv": to_csv}
# The formats written under tables/ (Markdown lives in results.md), by file suffix.
FILE_FORMATS = {"latex": ".tex", "csv": ".csv"}


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """ "markdown,latex" (or a list of such strings) -> ("markdown", "latex").

    Raises:
        UserError: a name that is not a format; the message lists the valid ones.
    """
    parts = [text] if isinstance(text, str) else list(text)
    names = [n.strip() for part in parts for n in part.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise UserError(f"unknown format {', '.join(map(repr, unknown)) or 'none given'}; "
                        f"valid: {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(names))


def unique_names(tables: Sequence[Table]) -> list[str]:
    """Each table's file stem, suffixed ``_2``, ``_3``... where two tables share one."""
    seen: dict[str, int] = {}
    names = []
    for table in tables:
        stem = table.file_stem
        count = seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if count == 1 else f"{stem}_{count}")
    return names


def write_tables(tables: Sequence[Table], captions: Sequence[str], directory: Path
                 ) -> list[Path]:
    """Writes every table as ``directory/<name>.tex`` and ``.csv``, each atomically.

    Files of those suffixes in ``directory`` that this report did not write are removed:
    a table that is gone from the report must not stay there to be cited.

    Returns:
        The paths written, in table order.

    Raises:
        UserError: the directory cannot be written.
    """
    written = []
    for table, caption, name in zip(tables, captions, unique_names(tables), strict=True):
        for fmt, suffix in FILE_FORMATS.items():
            written.append(write_text_atomic(directory / f"{name}{suffix}",
                                             FORMATS[fmt](table, caption)))
    for suffix in FILE_FORMATS.values():
        for stale in set(directory.glob(f"*{suffix}")) - set(written):
            stale.unlink(missing_ok=True)
    return written


__all__ = ["FILE_FORMATS", "FORMATS", "LATEX_ESCAPES", "Table", "caption_of", "latex_escape",
           "parse_formats", "plain", "to_csv", "to_latex", "to_markdown", "unique_names",
           "write_tables"]
