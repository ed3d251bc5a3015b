"""JSON and text files written atomically (temporary file + rename) and read back with one
clear error; and budget.json's format tag."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from harness.errors import UserError
from harness.record.redaction import to_jsonable

BUDGET_FORMAT = "ctxbench-budget/1"  # budget.json (harness.run.budget, harness.report.budget)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> Path:
    """Writes bytes through a temporary file in the same directory, then renames it.

    A reader never sees a half-written file, and an interrupted write leaves the old one
    and no temporary file.

    Raises:
        UserError: the directory cannot be written, or the file exists and
            ``overwrite`` is false.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise UserError(f"{path} already exists; refusing to overwrite it")
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; results are meant to be read
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
    return path


def write_json_atomic(path: str | os.PathLike, payload, overwrite: bool = True) -> Path:
    """Writes ``payload`` as indented JSON with :func:`write_bytes_atomic`.

    Numpy values become Python ones and NaN/inf become null (``to_jsonable``).

    Raises:
        UserError: as :func:`write_bytes_atomic`.
    """
    text = json.dumps(to_jsonable(payload), indent=1, sort_keys=False) + "\n"
    return write_bytes_atomic(path, text.encode("utf-8"), overwrite)


def write_text_atomic(path: str | os.PathLike, text: str, overwrite: bool = True) -> Path:
    """Writes UTF-8 text with :func:`write_bytes_atomic` (the text twin of
    :func:`write_json_atomic`; the caller redacts what it renders).

    Raises:
        UserError: as :func:`write_bytes_atomic`.
    """
    return write_bytes_atomic(path, text.encode("utf-8"), overwrite)


def read_json(path: str | os.PathLike) -> object:
    """Reads JSON with one clear error for a missing, unreadable or malformed file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text, so not a JSON results file") from None
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON (line {error.lineno}: {error.msg}; "
                        "truncated?)") from None
