"""The report's provenance table: where, when and how each results file was made."""

from __future__ import annotations

from harness.record.machine import describe
from harness.record.runs import Run
from harness.report.format import MISSING, is_number
from harness.report.tables import Table


def _session(run: Run) -> str | None:
    """The session's wall time and peak RSS, and the cells it resumed (None: not recorded)."""
    session = run.provenance.get("session")
    if not isinstance(session, dict) or not is_number(session.get("wall_seconds")):
        return None
    rss = session.get("peak_rss_mb")
    text = f"{session['wall_seconds'] / 60:.1f} min, " + (
        f"{rss:,.0f} MB" if is_number(rss) else MISSING)
    resumed = session.get("cells_resumed")
    if is_number(resumed) and resumed:
        text += f" ({resumed:.0f} cells resumed from an earlier session)"
    return text


def provenance_table(runs: list[Run]) -> Table:
    """One column per results file: command, date, data, versions, machine, git, grid."""
    def versions(run: Run) -> str:
        values = run.provenance.get("versions") or {}
        return ", ".join(f"{k} {v}" for k, v in values.items()) or MISSING

    def git(run: Run) -> str:
        commit = run.provenance.get("git_commit")
        dirty = run.provenance.get("git_dirty")
        return MISSING if not commit else f"{commit}{' (dirty)' if dirty else ''}"

    fields = {
        "command": lambda r: r.provenance.get("command"),
        "date (UTC)": lambda r: r.provenance.get("utc_time") or r.datetime,
        "data source": lambda r: r.provenance.get("data_source"),
        "data sha256": lambda r: r.data_sha256,
        "versions": versions,
        "machine": lambda r: describe(r.provenance.get("machine")) or r.provenance.get("cpu"),
        "git commit": git,
        "ctxbench version": lambda r: r.suite_version,
        "seeds": lambda r: ", ".join(map(str, r.grid.seeds)),
        "epochs": lambda r: ", ".join(map(str, sorted(r.epochs))),
        "fit_on": lambda r: ", ".join(r.fit_ons),
    }
    fields["session wall time, peak RSS"] = _session
    if any(run.provenance.get("dataset") for run in runs):  # a run naming no dataset: 100k
        fields["dataset"] = lambda r: r.provenance.get("dataset") or "movielens-100k"
    if any(run.grid.quick is not None for run in runs):
        fields["quick (users subsample)"] = lambda r: {True: "yes", False: "no"}.get(r.grid.quick)
    rows = [[name, *[value(run) or MISSING for run in runs]] for name, value in fields.items()]
    return Table("provenance", "Provenance of each results file",
                 ["field", *[run.path.name for run in runs]], rows)


__all__ = ["provenance_table"]
