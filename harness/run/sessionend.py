"""How a grid session ends: its results published when it completed, or how to resume.

:func:`finish` is what ``benchmarks/conftest.py`` calls at pytest's session end with how
the session ended (:data:`COMPLETED`, :data:`INTERRUPTED` or :data:`STOPPED`).
"""

from __future__ import annotations

from harness.errors import USER_ERRORS
from harness.run.publish import publish
from harness.run.session import FRESH_MARKER

# How a session ended: ran to its end (failed cells included), interrupted (Ctrl-C), or
# stopped otherwise (a refused option or data, an internal error).
COMPLETED, INTERRUPTED, STOPPED = "completed", "interrupted", "stopped"


def finish(session, outcome: str, build_json, render) -> int | None:
    """Publishes a completed session's results, or says how to resume one that was not.

    Args:
        session: the :class:`~harness.run.session.GridSession`.
        outcome: ``COMPLETED``, ``INTERRUPTED`` or ``STOPPED``.
        build_json: makes the pytest-benchmark JSON document (``complete_json``
            applied), called only when something is to be written.
        render: renders the report of a JSON file into a directory
            (:func:`harness.run.publish.publish`).

    Returns:
        An exit status to report instead of pytest's, or None.
    """
    session.close()
    if outcome == INTERRUPTED:
        session.say(f"ctxbench: interrupted: run the same command again to resume "
                    f"({session.kept()})")
        return None
    if outcome != COMPLETED:
        if session.opened:
            session.say(f"ctxbench: the session did not complete, so nothing was written: "
                        f"run the same command again to resume ({session.kept()})")
        return None
    if session.fresh_token is not None:  # the --fresh pass is complete
        (session.run_dir.path / FRESH_MARKER).unlink(missing_ok=True)
    where = f"run directory {session.run_dir.path}" if session.opened else None
    if session.results_dir is None and session.benchmark_json is None:
        if where:
            session.say(f"ctxbench: finished; cells in {where}")
        return None
    try:
        written = publish(build_json(), session.results_dir, session.benchmark_json, render)
    except USER_ERRORS as error:
        session.say(f"ctxbench: could not write the results: {error}")
        return 2
    session.say("ctxbench: wrote " + ", ".join(map(str, written))
                + (f" ({where})" if where else ""))
    return None


__all__ = ["COMPLETED", "INTERRUPTED", "STOPPED", "finish"]
