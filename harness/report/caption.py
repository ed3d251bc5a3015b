"""The one-line caption every table carries, in every format: what produced its numbers.

A table copied out of ``results.md`` or cited from ``results/tables/`` must say where it
came from without the rest of the report: the protocol, where preprocessing was fitted,
the data (source and sha256 prefix), seeds, epochs, the suite version and the git commit.
A field the run does not record (a file of a suite version that did not) reads "unknown".
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.record.cell import LOGQ, TUNED, TUTORIAL
from harness.record.runs import Run

UNKNOWN = "unknown"
SHA_PREFIX = 12
DEFAULT_PROTOCOL = TUTORIAL  # a cell that names none: its suite version had only this one


def _known(value: object) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or UNKNOWN


def seeds_text(seeds: Iterable[int]) -> str:
    """ "0-4" for consecutive seeds, "0, 2, 5" otherwise, "unknown" for none."""
    values = sorted(set(seeds))
    if not values:
        return UNKNOWN
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(map(str, values))


def protocols(run: Run) -> list[str]:
    """The protocols of the run's cells, in order."""
    return run.protocols or [DEFAULT_PROTOCOL]


def _budget(run: Run, protocol: str | None) -> str:
    """The training budget: the tutorial's fixed epochs (with the logQ correction under
    the logq protocol), or the tuned file's choice."""
    fixed = f"epochs {', '.join(map(str, sorted(run.epochs))) or UNKNOWN}"
    if protocol == LOGQ:
        return f"{fixed}, logQ sampling-bias correction"
    if protocol != TUNED:
        return fixed
    files = {(result.provenance.get("tuning") or {}).get("file_sha256")
             for group in run.cells.values() if group.protocol == TUNED
             for result in group.seeds.values()}
    known = sorted(f[:SHA_PREFIX] for f in files if isinstance(f, str) and f)
    return ("hyperparameters and epochs tuned per split and configuration on validation "
            f"(tuned.json sha256 {', '.join(known) or UNKNOWN})")


def _commit(run: Run) -> str:
    """Every commit the run's cells were measured at (a resumed or extended run's cells
    can come from several), each marked when its working tree was dirty; the run's own
    (pytest-benchmark's commit_info) when no cell names one."""
    def known(provenance) -> set[tuple[str, bool]]:
        commit = provenance.get("git_commit")
        if not isinstance(commit, str) or not commit or commit == UNKNOWN:
            return set()
        return {(commit[:SHA_PREFIX], bool(provenance.get("git_dirty")))}

    found = set().union(*(known(result.provenance) for group in run.cells.values()
                          for result in group.seeds.values())) or known(run.provenance)
    return ", ".join(commit + (" (dirty)" if dirty else "")
                     for commit, dirty in sorted(found)) or UNKNOWN


def caption(title: str, run: Run, protocol: str | None = None,
            fit_on: str | Iterable[str] | None = None) -> str:
    """One line: the table's title, then what produced its numbers.

    Args:
        title: what the table shows, e.g. "Top-100 test accuracy, fit_on=train".
        run: the (merged) run the table was built from.
        protocol: the protocol of the table's cells; default: the run's protocols.
        fit_on: where preprocessing was fitted for the table's cells; default: every
            fit_on of the run.

    Returns:
        E.g. "Top-100 test accuracy, fit_on=train. Protocol tutorial; fit_on train; data
        recbole-wheel:recbole-1.2.1-py3-none-any.whl, sha256 e692b2f86f8c; seeds 0-4;
        epochs 3; ctxbench 0.2.0, git 8ab877040ab3." Plain text: each format escapes it.
    """
    fit_ons = run.fit_ons if fit_on is None else [fit_on] if isinstance(fit_on, str) else fit_on
    sha = run.data_sha256
    fields = [
        f"Protocol {protocol or ', '.join(protocols(run))}",
        f"fit_on {', '.join(fit_ons) or UNKNOWN}",
        f"data {_known(run.provenance.get('data_source'))}, sha256 "
        f"{sha[:SHA_PREFIX] if isinstance(sha, str) and sha else UNKNOWN}",
        f"seeds {seeds_text(run.grid.seeds)}",
        _budget(run, protocol),
        f"ctxbench {run.suite_version}, git {_commit(run)}",
    ]
    title = " ".join(title.split()).rstrip(".")
    return f"{title}. " + "; ".join(fields) + "."


__all__ = ["DEFAULT_PROTOCOL", "UNKNOWN", "caption", "protocols", "seeds_text"]
