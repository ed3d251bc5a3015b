"""Generated numba modules, compiled once per machine.

A kernel whose source is generated for a dimension (the unrolled scoring loops of
:mod:`harness.evaluation.topk`) is written as a module file under the ctxbench cache
directory and imported from there, so that numba's on-disk cache serves later processes.
(:mod:`harness.evaluation.ranking` keeps its own copy of this loader; a tuned file is
tied to what is computed, not to source bytes (:mod:`harness.record.fingerprint`), so
sharing this one invalidates nothing.)
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import types

import numba


def load_generated(stem: str, make_source, salt: str = "") -> types.ModuleType:
    """The module of generated numba source ``make_source(cache)``, cached across processes.

    Compiling a kernel takes seconds (longer for wider embeddings), paid by every new
    process: the source is written as a module file under the ctxbench cache directory,
    named by its hash, so that numba's on-disk cache (keyed by that file and this CPU)
    serves later processes. Where the cache cannot be written, the module is compiled
    in memory.

    Args:
        stem: the file's name without the hash, e.g. ``"topk_kernel_dim32"``.
        make_source: ``cache -> source``, the module's text with numba's ``cache`` flag.
        salt: hashed with the source: the text of code the module imports, so that a
            change there compiles afresh instead of loading a stale cache.
    """
    from harness.data.sources import cache_dir

    source = make_source(True)
    digest = hashlib.sha256(f"{numba.__version__}\n{salt}\n{source}".encode()).hexdigest()[:16]
    path = cache_dir() / "numba" / f"{stem}_{digest}.py"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "w") as stream:
                stream.write(source)
            os.replace(temporary, path)  # atomic: a concurrent process sees all or nothing
        name = f"ctxbench_{stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        # Registered, so that numba can find the module again when it loads the cache.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except OSError:
        module = types.ModuleType(f"ctxbench_{stem}")
        exec(compile(make_source(False), f"<ctxbench {stem}>", "exec"), module.__dict__)
    return module


__all__ = ["load_generated"]
