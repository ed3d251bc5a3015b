"""A results file's entries that are not cells, read by their kind.

The speed-up, scaling, serving and dataset-scale benchmarks write typed records
(:mod:`harness.record.kinds`); :func:`read_measurement` reads an entry into the record its
``kind`` names, and keeps any other entry as recorded (:class:`OtherEntry`), so nothing in a
file is dropped and no entry is recognised by which keys it happens to hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.record.cellentry import KINDS
from harness.record.kinds import KINDS_BY_NAME, Record, parse_extra


@dataclass(frozen=True)
class OtherEntry:
    """A benchmark entry that no record type describes, kept as recorded.

    Attributes:
        entry: the pytest-benchmark entry, unchanged.
        unknown_kind: its ``extra_info`` kind where that names neither a cell's benchmark
            nor a record of :data:`~harness.record.kinds.KINDS_BY_NAME` (the report says
            so); None for an entry without a kind (another plugin's or a user's benchmark)
            and for an entry of a known kind whose fields do not read as that kind's record
            (an older or foreign shape: listed as recorded rather than refusing the file,
            as the report did before entries were typed).
    """

    entry: dict
    unknown_kind: str | None = None

    @property
    def name(self) -> object:
        return self.entry.get("name")


def read_measurement(path: Path, index: int, entry: dict) -> Record | OtherEntry:
    """Entry ``index`` of ``path`` (not a cell) as the record its kind names.

    Returns:
        The record, or an :class:`OtherEntry` when the entry has no kind, an unknown one,
        or fields that do not read as its kind's record.
    """
    extra = entry.get("extra_info")
    kind = extra.get("kind") if isinstance(extra, dict) else None
    if not isinstance(kind, str):
        return OtherEntry(entry)
    if kind not in KINDS_BY_NAME:
        return OtherEntry(entry, unknown_kind=None if kind in KINDS else kind)
    try:
        return parse_extra(kind, extra, f"{path}: benchmarks[{index}] "
                                        f"({str(entry.get('name', '?'))[:60]})")
    except UserError:
        return OtherEntry(entry)


__all__ = ["OtherEntry", "read_measurement"]
