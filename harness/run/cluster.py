"""The grid's cells on a Dask distributed cluster: ``--cluster local:N`` or ``--cluster
ADDRESS``.

Dask distributed rather than Ray: measured on this machine with a local cluster of two
worker processes, it starts in 1.0 s against Ray's 3.4 s, its processes hold 362 MiB
against Ray's 976 MiB, it installs 45 MB of pure Python against Ray's 260 MB of
platform wheels, and it reruns a task whose worker died on another worker by itself. Its
1.8 ms per task against Ray's 0.9 ms is nothing beside a cell's seconds to hours.

``local:N`` starts N worker processes of one thread each on 127.0.0.1 for the run and
stops them after; an address (``tcp://host:8786``) joins a running scheduler, whose
workers were started with ``dask worker ADDRESS --nthreads 1`` in an environment with
this package and the same versions (a worker whose versions differ fails its cells with
a line naming them, rather than measuring something else).

Only a cell's names travel (:class:`CellJob`): each worker process loads the table once,
at its first cell, and checks its sha256 against the driver's (:func:`worker_table`).
Results come back to the driver, which stores each cell in the run directory as it
arrives, so a killed driver loses only the cells in flight, and the same command resumes.
A worker lost mid-cell: the scheduler runs the cell again on another worker (up to
distributed's ``allowed-failures``, 3); after that the cell fails, unstored. Each cell's
provenance names the machine and worker it ran on (``compare`` judges speed per cell).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from harness.errors import UserError
from harness.record.machine import machine
from harness.record.provenance import peak_rss_mib, versions
from harness.run.gridcell import CellContext, Outcome, load_grid_data, run_cell_entries

LOCAL = "local:"
_ADDRESS = re.compile(r"^(?:tcp|tls)://[^\s/:]+:\d+$|^[^\s/:]+:\d+$")
CONNECT_TIMEOUT_S = 30
_TABLES: dict[tuple, object] = {}  # in a worker process: its tables, loaded once
_LOADS: list[float] = []  # in a worker process: seconds of each table load
_TABLES_LOCK = threading.Lock()


def parse_cluster(value: str) -> int | str:
    """``local:N`` -> N (workers to start), an address -> the address.

    Raises:
        UserError: anything else.
    """
    if value.startswith(LOCAL):
        count = value[len(LOCAL):]
        if count.isdigit() and int(count) >= 1:
            return int(count)
        raise UserError(f"--cluster {value}: local:N needs N >= 1 workers")
    if _ADDRESS.match(value):
        return value
    raise UserError(f"--cluster {value!r}: expected local:N or a scheduler address "
                    "(tcp://host:8786)")


@contextlib.contextmanager
def connect(value: str):
    """A ``distributed.Client`` of the cluster ``value`` names, closed (and a local
    cluster stopped) on leaving.

    Raises:
        UserError: distributed is not installed, or no scheduler answers at the address.
    """
    target = parse_cluster(value)
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise UserError("--cluster needs the cluster extra: pip install "
                        "'ctxbench[cluster]'") from None
    # A local worker keeps the driver's thread settings: dask's nanny would cap numpy's
    # BLAS at one thread (OMP/MKL/OPENBLAS_NUM_THREADS=1), so the worker's EASE^R and
    # numpy stages would run, and round, otherwise than the serial run's.
    environ = {"MALLOC_TRIM_THRESHOLD_": dask.config.get(
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_", 65536)}
    with dask.config.set({"logging.distributed": "error",
                          "distributed.nanny.pre-spawn-environ": environ}):
        if isinstance(target, int):
            with (LocalCluster(n_workers=target, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None) as cluster,
                  Client(cluster) as client):
                yield client
            return
        try:
            client = Client(target, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            raise UserError(f"--cluster {value}: no scheduler answered ({error})") from None
        with client:
            yield client


def worker_memory(client) -> tuple[int | None, str]:
    """The smallest worker's memory limit in bytes (None when no worker states one), and
    where it comes from: the size guard's bound on a cluster."""
    limits = [info.get("memory_limit") or 0
              for info in client.scheduler_info()["workers"].values()]
    if not limits or min(limits) <= 0:
        return None, "workers without a memory limit"
    return min(limits), "the smallest worker's memory limit"


def describe_cluster(client, value: str) -> str:
    """The line a grid prints about its cluster: where, how many workers, their threads."""
    workers = client.scheduler_info()["workers"].values()
    threads = sorted({info.get("nthreads") for info in workers})
    return (f"ctxbench: cluster {value}: {len(workers)} workers at "
            f"{client.scheduler.address}, {'/'.join(map(str, threads))} thread(s) each")


@dataclass(frozen=True)
class CellJob:
    """What a cell sends to a worker: names and settings, never the table."""

    cell: object
    dataset: str
    data_dir: str | None
    quick: bool
    sha256: str
    epochs: int
    tuned: object
    evaluation: object
    env: dict


def worker_table(job: CellJob):
    """The job's table in this worker process: loaded at its first cell, then kept.

    Raises:
        UserError: the worker's copy of the data differs from the driver's.
    """
    key = (job.dataset, job.data_dir, job.quick)
    with _TABLES_LOCK:
        # Loaded again when the kept one is not the driver's: the file changed since.
        if key not in _TABLES or _TABLES[key].sha256 != job.sha256:
            start = time.perf_counter()
            _TABLES[key] = load_grid_data(job.dataset, job.data_dir, job.quick)
            _LOADS.append(time.perf_counter() - start)
        data = _TABLES[key]
    if data.sha256 != job.sha256:
        raise UserError(f"this worker's {job.dataset} (sha256 {data.sha256[:12]}) is not "
                        f"the driver's ({job.sha256[:12]})")
    return data


def worker_info() -> dict:
    """The worker a cell ran on: host and address, its peak memory so far, and the
    table loads its process has made (one per dataset: never per cell)."""
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):
        address = None
    return {"host": socket.gethostname(), "address": address,
            "peak_rss_mib": round(peak_rss_mib(), 1), "table_loads": len(_LOADS),
            "table_load_seconds": round(sum(_LOADS), 3)}


def version_mismatch(driver: dict) -> str | None:
    """What differs between this worker's library versions and the driver's, or None."""
    mine = versions()
    differ = [f"{key} {mine.get(key)} (driver {driver.get(key)})"
              for key in sorted(set(mine) | set(driver)) if mine.get(key) != driver.get(key)]
    return f"worker {socket.gethostname()} has {', '.join(differ)}" if differ else None


def run_job(job: CellJob) -> Outcome:
    """Runs one cell on this worker (a Dask task): its outcome, with the machine and the
    worker in every entry's provenance. Never raises for the cell's own errors."""
    differ = version_mismatch(job.env["versions"])
    if differ:
        return Outcome("failed", [], f"FAILED: {differ}", kept=False)
    try:
        data = worker_table(job)
    except UserError as error:
        return Outcome("failed", [], f"FAILED: {error}", kept=False)
    context = CellContext(data, job.epochs, job.tuned, job.evaluation, job.env)
    outcome = run_cell_entries(context, job.cell)
    where = {"machine": machine(), "worker": worker_info()}
    for entry in outcome.entries:
        entry["extra_info"]["provenance"].update(where)
    return outcome


def as_they_end(client, fn, jobs: dict):
    """Submits ``fn(job)`` for each name -> job of ``jobs`` (a key of its own per call,
    so a rerun's tasks never meet a killed run's); yields (name, future) as each ends."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {client.submit(fn, job, pure=False, key=f"ctxbench-{name}-{token}"): name
               for name, job in jobs.items()}
    for future in as_completed(futures):
        yield futures[future], future


def run_on_cluster(session, cells) -> None:
    """Runs ``cells`` of a :class:`~harness.run.session.GridSession` on its cluster,
    storing each as it returns (:meth:`GridSession.store`) and keeping its outcome in
    ``session.elsewhere`` for its tests to report."""
    settings, grid = session.settings, session.grid
    by_key = {cell.key: cell for cell in cells}
    jobs = {cell.key: CellJob(cell, session.dataset, settings.data_dir, grid.quick,
                              session.data.sha256, grid.epochs, session.tuned,
                              session.evaluation, session.env) for cell in cells}
    for key, future in as_they_end(session.client, run_job, jobs):
        try:
            outcome = future.result()
        except Exception as error:  # the worker was lost too often (KilledWorker), ...
            outcome = Outcome("failed", [], f"FAILED on the cluster: {type(error).__name__}:"
                              f" {error}", kept=False)
        session.store(by_key[key], outcome)
        session.elsewhere[key] = outcome


__all__ = ["CONNECT_TIMEOUT_S", "LOCAL", "CellJob", "as_they_end", "connect", "describe_cluster",
           "parse_cluster", "run_job", "run_on_cluster", "version_mismatch", "worker_info",
           "worker_memory", "worker_table"]
