"""What an import did: counts, rejected rows and where the rejects file was written."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from enforcement.reasons import Reason, reason_from_document

REJECT_COLUMNS = ("row", "field", "value", "reason", "reason_zh")


@dataclass(frozen=True)
class Reject:
    """One problem with one field of one data row.

    ``row`` is the 1-based data row: the first row under the header is row 1 (spreadsheet
    row 2), the first GeoJSON feature is row 1. ``reason`` is a reason
    (``enforcement.reasons``); ``msgid`` and ``mapping`` keep its message id and values in a
    form that survives JSON (a background job stores its report so), and :func:`stored_reason`
    makes the translatable reason again from a stored reject.
    """

    row: int
    field: str
    value: str
    reason: str
    reason_zh: str = ""
    msgid: str = field(default="", compare=False)
    mapping: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.reason, Reason) and not self.msgid:
            object.__setattr__(self, "msgid", self.reason.msgid)
            values = {key: str(value) for key, value in self.reason.mapping.items()}
            object.__setattr__(self, "mapping", values)


def stored_reason(stored: Mapping[str, Any]) -> str:
    """The reason of a reject stored as a dict (``asdict``, then JSON): translatable again
    when it was written with its message id, else the English text as it was stored."""
    document = {"msgid": stored.get("msgid"), "mapping": stored.get("mapping")}
    return reason_from_document(document, str(stored.get("reason", "")))


@dataclass
class ImportReport:
    kind: str
    file: str | None = None
    total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows with at least one reject
    duplicates: int = 0  # rows that repeat an accepted row's natural key (mapping policy)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    without_location: int = 0  # accepted rows without coordinates
    outside_jurisdictions: int = 0  # located enterprises that no jurisdiction polygon covers
    reassigned: int | None = None  # enterprises whose jurisdiction changed (jurisdictions import)
    departments_created: int = 0
    # Declared conflicts (inspectors with a conflicts column): rows inserted, updated
    # (relation changed), deleted and unchanged.
    conflicts: dict[str, int] | None = None
    applied: bool = False
    dry_run: bool = False
    rejects_path: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.total - self.rejected - self.duplicates

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accepted"] = self.accepted
        data["timings"] = {key: round(value, 3) for key, value in self.timings.items()}
        return data


def write_rejects(rejects: list[Reject], path: str | Path) -> Path:
    """Write the rejects as CSV (UTF-8 with BOM so that Excel shows the Chinese text)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REJECT_COLUMNS)
        for reject in sorted(rejects, key=lambda r: r.row):
            writer.writerow(
                [reject.row, reject.field, reject.value, reject.reason, reject.reason_zh]
            )
    return target
