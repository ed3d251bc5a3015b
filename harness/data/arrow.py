"""pyarrow for the column-wise readers: imported once, with how to install it, and CSV
files read with errors that name the file.

pyarrow is the ``data`` extra; nothing else in :mod:`harness.data` imports it.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import DataError

# What to run when pyarrow is missing: ctxbench is installed from a checkout, not PyPI.
PYARROW_HINT = ("python -m pip install pyarrow (or, in a ctxbench checkout, "
                "python -m pip install -e '.[data]')")
# A header that is one cell holding one of these was written with another separator.
SEPARATORS = {"\t": "tab", ";": "semicolon"}


def pyarrow_module():
    """pyarrow with its csv, compute and parquet modules loaded.

    Raises:
        DataError: pyarrow is not installed (the message says how to install it).
    """
    try:
        import pyarrow
        import pyarrow.compute  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise DataError(f"reading CSV or Parquet files needs pyarrow: {PYARROW_HINT}"
                        ) from None
    return pyarrow


def read_csv(path: Path, types: dict | None = None, delimiter: str = ","):
    """The whole file as a pyarrow table; ``types`` fixes some columns' types.

    Raises:
        DataError: the file is missing or not readable as delimited text.
    """
    pyarrow = pyarrow_module()
    try:
        return pyarrow.csv.read_csv(
            path, parse_options=pyarrow.csv.ParseOptions(delimiter=delimiter),
            convert_options=pyarrow.csv.ConvertOptions(column_types=types or {}))
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except (pyarrow.ArrowInvalid, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: not a readable CSV file ({first})") from None


def require_columns(table, path, names) -> None:
    """Raises :class:`DataError` naming the first of ``names`` that ``table`` lacks; a
    header read as one cell that holds a tab or a semicolon is named as such."""
    missing = [name for name in names if name not in table.column_names]
    if not missing:
        return
    found = table.column_names
    message = (f"{path}: missing required column {missing[0]!r} (has: "
               f"{', '.join(map(repr, found)) or 'none'})")
    for separator, word in SEPARATORS.items():
        if len(found) == 1 and separator in found[0]:
            message += (f"; the file looks {word}-separated, and a CSV file needs commas"
                        + (" (or name a tab-separated file .tsv)" if word == "tab" else ""))
            break
    raise DataError(message)


__all__ = ["PYARROW_HINT", "SEPARATORS", "pyarrow_module", "read_csv", "require_columns"]
