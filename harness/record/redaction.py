"""Redaction: nothing written may say whose machine it was or carry a credential.

Every record, log line and table ctxbench writes goes through :func:`redact` (text) or
:func:`to_jsonable` (JSON values, numpy's included).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from harness.record.provenance import REPO_ROOT

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
