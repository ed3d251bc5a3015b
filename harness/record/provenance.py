"""Provenance of a record, and JSON files written atomically and read with one clear error."""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np

from harness.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]  # harness/record/provenance.py -> the checkout


def versions() -> dict[str, str]:
    """Versions of Python and the numeric stack, without importing TensorFlow."""
    from importlib import metadata

    result = {"python": platform.python_version()}
    for key, dist in (("tensorflow", "tensorflow"), ("tf_keras", "tf-keras"),
                      ("tensorflow_recommenders", "tensorflow-recommenders"),
                      ("numpy", "numpy")):
        try:
            result[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            result[key] = "not installed"
    return result


def suite_version(root: Path = REPO_ROOT) -> str:
    """ctxbench's own version (``harness.__version__``), recorded in every run.

    The ``pyproject.toml`` of the checkout the code runs from, when it runs from one (an
    editable install's metadata is frozen when it is installed, so it would keep an old
    number after a version bump); otherwise the installed distribution's metadata;
    "unknown" when neither says.
    """
    from importlib import metadata

    try:
        project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        project = {}
    if project.get("name") == "ctxbench" and isinstance(project.get("version"), str):
        return project["version"]
    try:
        return metadata.version("ctxbench")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def current_suite_version() -> str:
    """:func:`suite_version` of the running code, read once per process."""
    return suite_version()


def git_info(root: Path = REPO_ROOT) -> dict[str, object]:
    """Commit and dirty flag of the checkout the harness runs from."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=10)
    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": "unknown", "dirty": None}
    if commit.returncode != 0:
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def environment() -> dict[str, object]:
    """Everything about the code a cell's record needs, computed once per run (the
    machine is recorded once per file: :mod:`harness.run.machine`)."""
    git = git_info()
    return {"versions": versions(), "git_commit": git["commit"], "git_dirty": git["dirty"],
            "command": command_line()}


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, as a user would type it (``python -m pytest ...``)."""
    argv = list(sys.argv if argv is None else argv)
    program = Path(argv[0]) if argv else Path("python")
    if program.name == "__main__.py":
        argv[0] = f"python -m {program.parent.name}"
    elif program.name in ("pytest", "py.test", "tox"):
        argv[0] = program.name
    return " ".join(argv)


# scheme://user:password@host -> scheme://user:***@host (a database URL's password).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][\w+.-]*://[^/\s:@]*):[^/\s@]+@")
# ?token=... &password=... (query parameters and key=value settings that carry secrets).
_SECRET_SETTING = re.compile(
    r"(?i)(?P<head>\b(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key)=)"
    r"[^&;\s\"']+")


def redact(text: str) -> str:
    """``text`` without credentials or the local home directory.

    A database URL's password, a secret given as ``token=...`` or ``password=...``,
    become ``***``; a path inside the checkout becomes relative (``./.tox/...``) and the
    home directory (``/home/alice/...``) becomes ``~``. Every record and table is written
    through this: nothing written may say whose machine it was.
    """
    text = _URL_PASSWORD.sub(r"\g<head>:***@", text)
    text = _SECRET_SETTING.sub(r"\g<head>***", text)
    # Paths inside the checkout relative to it (tox expands {envtmpdir} to absolute ones),
    # then the home directory.
    for local, shown in ((str(REPO_ROOT), "."), (str(Path.home()), "~")):
        if len(local) > 1:  # not "/" (a user with no home)
            text = re.sub(re.escape(local) + r"(?![\w.-])", shown, text)
    return text


def to_jsonable(value):
    """Converts numpy scalars and arrays to Python types; NaN/inf become None; every
    string (keys too) is :func:`redact`-ed."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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
