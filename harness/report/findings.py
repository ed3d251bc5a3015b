"""The report's findings: what the verdict tables say, counted, so prose can quote it.

Computed from :func:`harness.report.verdicts.verdict_tables` alone, for the feature
configurations' family of each table (the question "does the feature help?"): how many
verdicts are significant before and after the table's correction (▲ and ▼ apart), which
cells stay significant after it, and how many verdicts differ between consecutive
protocols of the ladder (``PROTOCOLS`` order, among those the run holds; same fit_on and
the same users, cell by cell), with a line saying what each single step changed. The
README quotes these numbers, and
``tests/test_docs.py`` checks that it does.
"""

from __future__ import annotations

from harness.evaluation.correction import CORRECTION_NAMES
from harness.record.cell import PROTOCOLS, STEPS
from harness.record.runs import Run
from harness.report.layout import table_title
from harness.report.tables import Table
from harness.report.verdicts import FEATURES, VerdictTable, verdict_tables

FINDINGS_HEADING = "## Findings"


def _who(table: VerdictTable) -> str:
    return "warm users" if table.warm_only else "all test users"


def _count(table: VerdictTable, adjusted: bool, mark: str) -> int:
    return sum(v.mark(adjusted) == mark for v in table.family(FEATURES))


def _changes(first: VerdictTable, second: VerdictTable, adjusted: bool) -> tuple[int, int]:
    """(cells in both, cells whose mark differs) of two tables' feature families."""
    shared = [key for key, v in first.verdicts.items()
              if v.family == FEATURES and key in second.verdicts]
    differ = sum(first.verdicts[k].mark(adjusted) != second.verdicts[k].mark(adjusted)
                 for k in shared)
    return len(shared), differ


def findings_section(run: Run) -> list[str | Table]:
    """Verdict counts per table before and after correction, the cells significant after
    it, and the verdicts that change between consecutive protocols."""
    tables = [t for t in verdict_tables(run) if t.family(FEATURES)]
    if not tables:
        return []
    out: list[str | Table] = [
        FINDINGS_HEADING, "",
        "Counted from the verdict tables above, over each table's family of feature "
        "configuration cells (the baselines' cells are left out): significant verdicts "
        "before correction (raw p < 0.05) and after it (adjusted p < 0.05).", "",
    ]
    rows = []
    for table in tables:
        rows.append([table.protocol, table.fit_on, _who(table),
                     str(len(table.family(FEATURES))), CORRECTION_NAMES[table.correction],
                     *(str(_count(table, adjusted, mark))
                       for adjusted in (False, True) for mark in ("▲", "▼")),
                     "user × seed" if table.user_level == "all" else
                     "seed-only" if table.user_level == "none" else "mixed"])
    out += [Table("findings_verdict_counts", "Significant verdicts per table, before and "
                  "after correction, feature configurations only",
                  ["protocol", "fit_on", "users", "cells", "correction", "▲ raw", "▼ raw",
                   "▲ adjusted", "▼ adjusted", "uncertainty"], rows), ""]
    for table in tables:
        significant = [f"`{v.config}` on {v.split} {v.mark()}"
                       for v in table.family(FEATURES) if v.mark() != "·"]
        out.append(f"- Significant after correction, {table_title(table.protocol, table.fit_on)}"
                   f", {_who(table)}: {', '.join(significant) or 'none'}.")
    out.append("")
    pairs = consecutive_pairs(tables)
    if pairs:
        rows = []
        for first, second in pairs:
            shared, raw = _changes(first, second, adjusted=False)
            rows.append([f"{first.protocol} → {second.protocol}", first.fit_on, _who(first),
                         str(shared), str(raw), str(_changes(first, second, True)[1])])
        out += [Table("findings_protocol_changes", "Verdicts that differ between "
                      "protocols (▲, ▼ or ·), cell by cell, feature configurations only",
                      ["protocols", "fit_on", "users", "cells in both",
                       "differ before correction", "differ after correction"], rows), ""]
        out += _step_lines(pairs)
    return out


def consecutive_pairs(tables: list[VerdictTable]) -> list[tuple[VerdictTable, VerdictTable]]:
    """(first, second) tables of the same fit_on and users whose protocols are consecutive
    among those the run has tables of, in ``PROTOCOLS`` order (the ladder); grouped by the
    first table, in the order of ``tables``."""
    def rank(table: VerdictTable) -> int:
        return PROTOCOLS.index(table.protocol) if table.protocol in PROTOCOLS else len(PROTOCOLS)

    pairs = []
    for first in tables:
        later = [t for t in tables if (t.fit_on, t.warm_only) == (first.fit_on, first.warm_only)
                 and rank(t) > rank(first)]
        if later:
            pairs.append((first, min(later, key=rank)))
    return pairs


def _significant(table: VerdictTable, adjusted: bool) -> int:
    return sum(_count(table, adjusted, mark) for mark in ("▲", "▼"))


def _step_lines(pairs: list[tuple[VerdictTable, VerdictTable]]) -> list[str]:
    """One line per step of the ladder that the run holds (two protocols next to each
    other in ``PROTOCOLS``): what that one change did to the verdicts. A pair that skips a
    step changes two things at once, so it has its row in the table above but no line."""
    lines = []
    for first, second in pairs:
        if (first.protocol not in PROTOCOLS or second.protocol not in PROTOCOLS
                or PROTOCOLS.index(second.protocol) != PROTOCOLS.index(first.protocol) + 1):
            continue
        shared, raw = _changes(first, second, adjusted=False)
        lines.append(
            f"- What {STEPS[second.protocol]} changed ({first.protocol} → {second.protocol}), "
            f"fit_on={first.fit_on}, {_who(first)}: significant verdicts after correction "
            f"{_significant(first, True)} → {_significant(second, True)} (before it "
            f"{_significant(first, False)} → {_significant(second, False)}); "
            f"{_changes(first, second, True)[1]} of {shared} verdicts differ after "
            f"correction ({raw} before it).")
    return [*lines, ""] if lines else []


__all__ = ["FINDINGS_HEADING", "consecutive_pairs", "findings_section"]
