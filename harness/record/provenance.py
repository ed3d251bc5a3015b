"""Provenance of a record: library versions, the suite version, the git commit, the command
and the time (pytest-benchmark's ``machine_info``/``commit_info``, for every cell)."""

from __future__ import annotations

import datetime
import functools
import platform
import resource
import subprocess
import sys
import tomllib
from pathlib import Path

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
    machine is recorded once per file: :mod:`harness.record.machine`)."""
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
