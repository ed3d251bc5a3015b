"""ScaNN's numpy API, loaded without ScaNN's TensorFlow ops (the optional ``serving`` extra).

``import scann`` runs the package's ``__init__``, which imports TensorFlow and loads
ScaNN's TensorFlow op library whenever TensorFlow is installed. That library is built
against one TensorFlow release: under another (scann 1.4.2 with TensorFlow 2.21) loading
it raises ``tf.errors.NotFoundError`` (an undefined abseil symbol), not an ImportError, so
``import scann`` fails outright, and so does ``import tensorflow_recommenders``, which
imports ``scann.scann_ops`` when scann is installed and catches only ImportError.

The numpy API (``scann.scann_ops.py.scann_ops_pybind``) needs neither TensorFlow nor the op
library. :func:`scann_pybind` loads it through a package object made from scann's import
spec without running its ``__init__``, so it never imports TensorFlow; :mod:`harness.tfcompat`
calls :func:`without_tf_ops` when the op library does not load, so TFRS imports (without
its ScaNN layer, which this harness never uses; BruteForce is unaffected).
No TensorFlow here.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types

PYBIND = "scann.scann_ops.py.scann_ops_pybind"


def _installed() -> bool:
    try:
        return importlib.util.find_spec("scann") is not None
    except (ImportError, ValueError):
        return False


def without_tf_ops() -> None:
    """Replaces a half-imported ``scann`` with its bare package (no ``__init__`` run).

    For the moment ``import scann`` has failed on ScaNN's TensorFlow op library: the
    modules it left behind are dropped, and ``scann`` becomes the package object alone,
    so that later imports of its submodules (the numpy API, TFRS's optional import)
    succeed without the op library.
    """
    for name in [name for name in sys.modules if name == "scann" or name.startswith("scann.")]:
        del sys.modules[name]
    if _installed():
        spec = importlib.util.find_spec("scann")
        sys.modules["scann"] = importlib.util.module_from_spec(spec)


@functools.cache
def scann_pybind() -> types.ModuleType | None:
    """scann's numpy API module (``builder(db, k, "dot_product")...``), or None when
    scann is not installed (:func:`unavailable_reason` says why)."""
    if not _installed():
        return None
    if "scann" not in sys.modules:
        without_tf_ops()  # never run scann's __init__ here: it would import TensorFlow
    return importlib.import_module(PYBIND)


def unavailable_reason() -> str | None:
    """Why ScaNN cannot run here, or None when it can."""
    if not _installed():
        return ("scann is not installed (python -m pip install scann, or in a ctxbench "
                "checkout python -m pip install -e '.[serving]')")
    try:
        scann_pybind()
    except ImportError as error:  # a wheel without its compiled module for this platform
        return f"scann's numpy API does not import: {error}"
    return None


__all__ = ["scann_pybind", "unavailable_reason", "without_tf_ops"]
