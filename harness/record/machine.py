"""The machine a speed was measured on: CPU, instruction sets, caches, cores, a GEMM rate.

A throughput, and a ratio of two throughputs, holds for the machine it was measured on:
the tutorial's code is bound by per-step Python and op overhead, the harness by
arithmetic and memory traffic, so their ratio moves with the instruction set (AVX-512 or
not) and the cache sizes. Every results file records :func:`machine` (read from
``/proc/cpuinfo`` and ``/sys``, no TensorFlow) and a short GEMM measurement
(:func:`harness.run.gemm.gemm_gflops`, which needs TensorFlow and so lives with the run),
and :func:`same_machine` decides whether two runs' speeds may be compared at all.

What a cell may hold: :func:`memory_available` (MemAvailable, or ``CTXBENCH_MEMORY_LIMIT``)
and :func:`too_large`, the memory guard's one line for a retriever whose item matrices
would not fit.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from harness.errors import UserError

# Instruction-set extensions that decide which kernels oneDNN, Eigen, OpenBLAS and
# LLVM (numba) pick, in the names Linux's /proc/cpuinfo uses.
ISA_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni",
    "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
    "asimd", "sve", "sve2",  # aarch64 ("Features")
)
# The training step's score matrix: a [2048, 32] x [32, 2048] product (batch x dim x batch).
GEMM_SHAPE = (2048, 32, 2048)
# What must match for two runs' speeds to be comparable.
IDENTITY_KEYS = ("cpu", "arch", "cores", "isa", "caches")
# oneDNN (TensorFlow's matmul and its fused CPU kernels) uses at most this instruction
# set when the variable is set: ``ONEDNN_MAX_CPU_ISA=AVX2`` on an AVX-512 machine runs
# the AVX2 kernels (not the AVX2 machine's caches), so a run records it.
ISA_CAP_ENV = "ONEDNN_MAX_CPU_ISA"


def _cpuinfo(path: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    fields: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _size_bytes(text: str) -> int | None:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = text.strip()
    try:
        if text and text[-1] in units:
            return int(text[:-1]) * units[text[-1]]
        return int(text)
    except ValueError:
        return None


def caches(root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> dict[str, int]:
    """Cache sizes seen by the first CPU, in bytes: {"L1d": ..., "L1i": ..., "L2": ...}.

    Sizes are per instance (an L2 per core, an L3 shared by a group of cores), as the
    kernel reports them.
    """
    found: dict[str, int] = {}
    for index in sorted(root.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = _size_bytes((index / "size").read_text())
        except OSError:
            continue
        name = f"L{level}" + {"Data": "d", "Instruction": "i"}.get(kind, "")
        if size is not None:
            found[name] = size
    return found


def machine() -> dict[str, object]:
    """The machine: CPU model, architecture, cores, instruction sets and caches.

    Returns:
        {"cpu": str, "arch": str, "cores": int, "isa": [str, ...] (the ``ISA_FLAGS``
        present), "caches": {"L1d": bytes, ...}}, and "isa_cap" (``ISA_CAP_ENV``'s
        value) when oneDNN is held below the CPU's instruction set.
    """
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    cpu = info.get("model name") or info.get("Hardware") or platform.processor()
    return {
        "cpu": cpu or platform.machine(),
        "arch": platform.machine(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "isa": [flag for flag in ISA_FLAGS if flag in flags],
        "caches": caches(),
        **({"isa_cap": os.environ[ISA_CAP_ENV]} if os.environ.get(ISA_CAP_ENV) else {}),
    }


MEMORY_LIMIT_ENV = "CTXBENCH_MEMORY_LIMIT"  # GiB a cell may use, instead of MemAvailable


def memory_available(meminfo: Path = Path("/proc/meminfo")) -> tuple[int | None, str]:
    """Bytes a cell may take, and where that figure comes from: ``CTXBENCH_MEMORY_LIMIT``
    (GiB) when set, else the kernel's MemAvailable; (None, why) when neither is known.

    Raises:
        UserError: ``CTXBENCH_MEMORY_LIMIT`` is not a positive number.
    """
    value = os.environ.get(MEMORY_LIMIT_ENV)
    if value:
        try:
            gib = float(value)
        except ValueError:
            gib = float("nan")
        if not gib > 0:
            raise UserError(f"{MEMORY_LIMIT_ENV} must be a positive number of GiB, got "
                            f"{value!r}")
        return int(gib * 2**30), MEMORY_LIMIT_ENV
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024, "MemAvailable"
    except (OSError, IndexError, ValueError):
        pass
    return None, "unknown"


def too_large(name: str, num_items: int,
              memory: tuple[int | None, str] | None = None) -> str | None:
    """Why the registered retriever ``name`` cannot run on a catalogue of ``num_items``
    here (its item matrices,
    :meth:`harness.model.retriever.RetrieverEntry.memory_need`, need more than
    ``memory``: (bytes, where they come from), :func:`memory_available` unless given, a
    cluster's smallest worker's), or None when it fits or the memory is unknown."""
    from harness.model.registry import get_retriever

    need = get_retriever(name).memory_need(num_items)
    available, source = memory_available() if memory is None else memory
    if available is None or need <= available:
        return None
    where = "this machine" if memory is None else "a worker"
    return (f"{name} needs {need / 2**30:.3g} GiB for its {num_items:,} x {num_items:,} "
            f"item matrices and {where} has {available / 2**30:.3g} GiB ({source})")


def stated_need(name: str, num_items: int, inversion: tuple[int, float] | None) -> str | None:
    """What the registered retriever ``name`` needs on a catalogue of ``num_items``: its
    item matrices' memory and, for one whose time grows with the catalogue's cube, its
    time a cell from ``inversion`` (one inversion timed here: (size, seconds)); None
    for one that states neither."""
    from harness.model.registry import get_retriever

    entry = get_retriever(name)
    if not entry.item_matrices:
        return None
    text = f"{name} needs {entry.memory_need(num_items) / 2**30:.3g} GiB"
    if entry.solves and inversion is not None:
        text += (f" and about {_seconds_text(entry.time_need(num_items, inversion))} a cell "
                 f"({entry.solves:g} inversions of the catalogue matrix; one of "
                 f"{inversion[0]:,} x {inversion[0]:,} took {inversion[1]:.3f} s here)")
    return f"{text} for {num_items:,} titles"


def _seconds_text(seconds: float) -> str:
    """"0.12 s", "4.1 s", "73 s", "2.5 h": two significant figures, hours past three."""
    if seconds >= 3 * 3600:
        return f"{seconds / 3600:,.2g} h" if seconds < 36000 else f"{seconds / 3600:,.0f} h"
    return f"{seconds:.2g} s" if seconds < 100 else f"{seconds:,.0f} s"


def _size_text(size: int) -> str:
    return f"{size // 1024**2} MiB" if size >= 1024**2 else f"{size // 1024} KiB"


def isa_level(isa: list[str]) -> str:
    """The widest vector extension present: "AMX", "AVX-512", "AVX2", "AVX", ... ."""
    for flag, name in (("amx_tile", "AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2"),
                       ("avx", "AVX"), ("sve", "SVE"), ("asimd", "NEON"),
                       ("sse4_2", "SSE4.2")):
        if flag in isa:
            return name
    return "baseline ISA"


def describe(info: dict | None) -> str | None:
    """One line for a report: "AMD EPYC, x86_64, 2 cores, AVX-512 (...), L2 1 MiB, ..."."""
    if not isinstance(info, dict) or not info.get("cpu"):
        return None
    isa = [flag for flag in info.get("isa") or [] if isinstance(flag, str)]
    parts = [str(info["cpu"]), str(info.get("arch", "?")), f"{info.get('cores', '?')} cores",
             f"{isa_level(isa)} ({' '.join(isa) or 'none listed'})"]
    sizes = info.get("caches") if isinstance(info.get("caches"), dict) else {}
    if info.get("isa_cap"):
        parts.append(f"oneDNN capped at {info['isa_cap']}")
    parts += [f"{name} {_size_text(size)}" for name, size in sizes.items()
              if isinstance(size, int) and name != "L1i"]
    gemm = info.get("gemm_gflops")
    if isinstance(gemm, (int, float)) and not isinstance(gemm, bool):
        rows, depth, cols = GEMM_SHAPE
        parts.append(f"TF matmul {rows}x{depth}x{cols} {gemm:.0f} GFLOP/s")
    return ", ".join(parts)


def same_machine(first: dict | None, second: dict | None) -> bool:
    """Whether two recorded machines are alike enough to compare speeds (never when
    either is unknown)."""
    if not isinstance(first, dict) or not isinstance(second, dict):
        return False
    return all(first.get(key) is not None and first.get(key) == second.get(key)
               for key in IDENTITY_KEYS) and first.get("isa_cap") == second.get("isa_cap")


__all__ = ["GEMM_SHAPE", "ISA_FLAGS", "MEMORY_LIMIT_ENV", "caches", "describe", "isa_level",
           "machine", "memory_available", "same_machine", "stated_need", "too_large"]
