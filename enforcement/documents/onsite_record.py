"""The on-site inspection record (现场检查笔录) as plain data, and its PDF.

The tablet app collects everything on site (check-in, checklist, evidence files with their
SHA-256, e-signatures); a service builds an :class:`OnSiteRecord` from it and calls
:func:`render_onsite_record`.  Construction validates every field, so an incomplete record
fails with a ``ValueError`` naming the field before any PDF exists.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from enforcement.documents.base import DocumentMeta, render_pdf
from enforcement.documents.fields import (
    optional_text,
    require_aware,
    require_choice,
    require_count,
    require_items,
    require_non_negative,
    require_png,
    require_sha256,
    require_text,
    require_uuid,
)
from enforcement.uscc import validate_uscc

__all__ = [
    "TITLE",
    "CheckIn",
    "CheckInVerdict",
    "ChecklistResult",
    "ChecklistRow",
    "EvidenceItem",
    "EvidenceKind",
    "Inspector",
    "OnSiteRecord",
    "PartySignature",
    "render_onsite_record",
]

TITLE = "现场检查笔录"
MIN_INSPECTORS = 2  # on-site enforcement needs at least two officers with credentials


class CheckInVerdict(enum.StrEnum):
    """Geofence check of the inspectors' position against the enterprise's registered site."""

    INSIDE = "inside"
    OUTSIDE = "outside"
    UNCERTAIN = "uncertain"  # GPS accuracy too poor to decide

    @property
    def label(self) -> str:
        return _VERDICT_LABELS[self]


_VERDICT_LABELS = {
    CheckInVerdict.INSIDE: "位于检查对象登记位置范围内",
    CheckInVerdict.OUTSIDE: "不在检查对象登记位置范围内",
    CheckInVerdict.UNCERTAIN: "无法确定（定位精度不足）",
}


class ChecklistResult(enum.StrEnum):
    PASS = "合格"
    FAIL = "不合格"
    NOT_APPLICABLE = "不适用"


class EvidenceKind(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"

    @property
    def label(self) -> str:
        return {"photo": "照片", "video": "视频", "audio": "录音"}[self.value]


@dataclass(frozen=True, kw_only=True)
class Inspector:
    name: str
    credential_number: str  # 执法证号
    signature_png: bytes  # the inspector's e-signature

    def __post_init__(self) -> None:
        require_text("Inspector.name", self.name)
        require_text("Inspector.credential_number", self.credential_number)
        require_png("Inspector.signature_png", self.signature_png)


@dataclass(frozen=True, kw_only=True)
class CheckIn:
    verdict: CheckInVerdict
    distance_m: float  # from the registered location
    accuracy_m: float  # the device's reported horizontal accuracy

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "verdict", require_choice("CheckIn.verdict", self.verdict, CheckInVerdict)
        )
        require_non_negative("CheckIn.distance_m", self.distance_m)
        require_non_negative("CheckIn.accuracy_m", self.accuracy_m)


@dataclass(frozen=True, kw_only=True)
class ChecklistRow:
    item_code: str  # inspection item code from the item list (检查事项清单)
    item_name: str
    department: str  # implementing department (实施部门)
    result: ChecklistResult
    note: str = ""

    def __post_init__(self) -> None:
        require_text("ChecklistRow.item_code", self.item_code)
        require_text("ChecklistRow.item_name", self.item_name)
        require_text("ChecklistRow.department", self.department)
        object.__setattr__(
            self, "result", require_choice("ChecklistRow.result", self.result, ChecklistResult)
        )
        optional_text("ChecklistRow.note", self.note)


@dataclass(frozen=True, kw_only=True)
class EvidenceItem:
    kind: EvidenceKind
    file_name: str
    sha256: str  # lowercase hex of the file as uploaded
    size_bytes: int
    captured_at: datetime  # aware

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "kind", require_choice("EvidenceItem.kind", self.kind, EvidenceKind)
        )
        require_text("EvidenceItem.file_name", self.file_name)
        require_sha256("EvidenceItem.sha256", self.sha256)
        require_count("EvidenceItem.size_bytes", self.size_bytes)
        require_aware("EvidenceItem.captured_at", self.captured_at)


@dataclass(frozen=True, kw_only=True)
class PartySignature:
    """The inspected party's e-signature, or its refusal to sign in front of a witness."""

    signer_name: str  # the person who signs (or refuses) for the party
    signature_png: bytes | None = None
    refused: bool = False  # 拒绝签字
    refusal_note: str = ""  # what happened, e.g. 当事人对检查结果有异议，拒绝签字
    witness_name: str = ""  # required when refused
    witness_signature_png: bytes | None = None

    def __post_init__(self) -> None:
        require_text("PartySignature.signer_name", self.signer_name)
        optional_text("PartySignature.refusal_note", self.refusal_note)
        optional_text("PartySignature.witness_name", self.witness_name)
        if self.refused:
            if self.signature_png is not None:
                raise ValueError(
                    "PartySignature.signature_png: must be None when the party refused to sign"
                )
            require_text("PartySignature.witness_name", self.witness_name)
        elif self.signature_png is None:
            raise ValueError(
                "PartySignature.signature_png: is required unless refused=True "
                "(refusal to sign needs a witness)"
            )
        else:
            require_png("PartySignature.signature_png", self.signature_png)
        if self.witness_signature_png is not None:
            require_png("PartySignature.witness_signature_png", self.witness_signature_png)


@dataclass(frozen=True, kw_only=True)
class OnSiteRecord:
    inspection_id: uuid.UUID
    document_number: str  # 文书编号
    authority: str  # issuing authority (执法机关)
    enterprise_name: str
    uscc: str  # 统一社会信用代码, validated (GB 32100-2015)
    enterprise_address: str
    legal_representative: str  # 法定代表人（负责人）
    inspection_place: str
    started_at: datetime  # aware
    ended_at: datetime  # aware
    inspectors: Sequence[Inspector]
    check_in: CheckIn
    checklist: Sequence[ChecklistRow]
    findings: str  # 检查情况; one paragraph per line
    evidence: Sequence[EvidenceItem] = field(default_factory=tuple)
    party_signature: PartySignature
    party_statement: str = ""  # 当事人意见; empty: shown as no statement made

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "inspection_id", require_uuid("OnSiteRecord.inspection_id", self.inspection_id)
        )
        for name in (
            "document_number",
            "authority",
            "enterprise_name",
            "uscc",
            "enterprise_address",
            "legal_representative",
            "inspection_place",
            "findings",
        ):
            require_text(f"OnSiteRecord.{name}", getattr(self, name))
        if (problem := validate_uscc(self.uscc)) is not None:
            raise ValueError(f"OnSiteRecord.uscc: invalid code {self.uscc!r}: {problem.reason}")
        require_aware("OnSiteRecord.started_at", self.started_at)
        require_aware("OnSiteRecord.ended_at", self.ended_at)
        if self.ended_at < self.started_at:
            raise ValueError(
                f"OnSiteRecord.ended_at: {self.ended_at.isoformat()} is before "
                f"started_at {self.started_at.isoformat()}"
            )
        sequences = (
            ("inspectors", Inspector, MIN_INSPECTORS),
            ("checklist", ChecklistRow, 1),
            ("evidence", EvidenceItem, 0),
        )
        for name, item_type, minimum in sequences:
            items = require_items(
                f"OnSiteRecord.{name}", getattr(self, name), item_type, minimum=minimum
            )
            object.__setattr__(self, name, items)
        if not isinstance(self.check_in, CheckIn):
            raise ValueError(f"OnSiteRecord.check_in: must be a CheckIn, got {self.check_in!r}")
        if not isinstance(self.party_signature, PartySignature):
            raise ValueError(
                "OnSiteRecord.party_signature: must be a PartySignature, "
                f"got {type(self.party_signature).__name__}"
            )
        optional_text("OnSiteRecord.party_statement", self.party_statement)
        _require_unique("OnSiteRecord.checklist", [row.item_code for row in self.checklist])
        _require_unique(
            "OnSiteRecord.inspectors", [person.credential_number for person in self.inspectors]
        )


def _require_unique(field_name: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise ValueError(f"{field_name}[{index}]: duplicate {key!r}")
        seen.add(key)


def render_onsite_record(
    record: OnSiteRecord, *, locale: str = "zh_CN", generated_at: datetime | None = None
) -> bytes:
    """The on-site inspection record as PDF bytes.

    ``generated_at`` (aware) is printed in the footer and written as the PDF creation date; it
    defaults to now.  Pass the stored generation time to get the same bytes again: the same
    record with the same ``generated_at`` renders to identical bytes (see ``base``).
    """
    if not isinstance(record, OnSiteRecord):
        raise ValueError(f"record: must be an OnSiteRecord, got {type(record).__name__}")
    meta = DocumentMeta(
        title=TITLE,
        authority=record.authority,
        document_number=record.document_number,
        generated_at=datetime.now(UTC) if generated_at is None else generated_at,
        keywords=(str(record.inspection_id),),
    )
    return render_pdf("onsite_record.html", meta, {"record": record}, locale=locale)
