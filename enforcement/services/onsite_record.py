"""The on-site record (现场检查笔录) of a finished inspection: built from the database,
rendered to PDF and kept in the evidence store.

The PDF is a function of the finished inspection alone: its generation time is the
inspection's finish time, and lists are in a fixed order, so the worker (after the finish)
and a web request (when the worker has not run yet) produce the same bytes and the same
SHA-256, which is recorded as ``field_inspections.record_sha256``.

What the data model does not hold is stated, never invented: inspectors sign the tablet
session, not the paper, so their signature boxes are left blank (names and credential
numbers are printed); a refusal to sign is witnessed by the team, as the workflow records it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import os
import tempfile
import uuid
from functools import cache
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enforcement.documents import (
    CheckIn,
    ChecklistRow,
    EvidenceItem,
    Inspector,
    OnSiteRecord,
    PartySignature,
    render_onsite_record,
)
from enforcement.documents.base import SHANGHAI
from enforcement.evidence import EvidenceStore
from enforcement.evidence.store import storage_error
from enforcement.models import (
    Department,
    Enterprise,
    EvidenceFile,
    FieldInspection,
    GeofenceVerdict,
    InspectionResult,
    InspectionStatus,
    MemberRole,
    TaskMember,
    utcnow,
)
from enforcement.reasons import reason
from enforcement.services.inspection_documents import evidence_in_order, findings_in_order

log = logging.getLogger(__name__)

PDF_MEDIA_TYPE = "application/pdf"
NOT_RECORDED = "未登记"

_ANSWER_RESULTS = {"compliant": "合格", "non_compliant": "不合格", "not_applicable": "不适用"}
_RESULT_LABELS = {
    InspectionResult.NO_PROBLEM: "未发现问题",
    InspectionResult.RECTIFICATION_ORDERED: "发现问题，责令整改",
    InspectionResult.CASE_FILED: "发现问题，立案调查",
    InspectionResult.SUSPECTED_CRIME: "涉嫌犯罪，依法移送",
}
_SEVERITY_LABELS = {"minor": "一般", "serious": "较重", "critical": "严重"}
_VERDICTS = {
    GeofenceVerdict.INSIDE: "inside",
    GeofenceVerdict.OUTSIDE: "outside",
    GeofenceVerdict.UNCERTAIN: "uncertain",
    # The document has no "no location" verdict; the findings text says what happened.
    GeofenceVerdict.NO_LOCATION: "uncertain",
}
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/3gpp": "3gp",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/amr": "amr",
    "audio/amr-wb": "awb",
    "audio/ogg": "ogg",
    "audio/webm": "weba",
    "audio/3gpp": "3gp",
}


class RecordNotAvailableError(LookupError):
    """The inspection is not finished: it has no on-site record yet."""


class RecordIncompleteError(ValueError):
    """The finished inspection lacks what the record must show (e.g. the enterprise has no
    unified social credit code); the message names the field."""


@cache
def _blank_signature() -> bytes:
    """A transparent box: the inspector's signature is not captured as an image."""
    out = io.BytesIO()
    Image.new("RGBA", (480, 160), (255, 255, 255, 0)).save(out, format="PNG")
    return out.getvalue()


def _cn_date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _findings_text(inspection: FieldInspection) -> str:
    """检查情况: the check-in remark, each problem found and the result."""
    lines: list[str] = []
    if inspection.geofence == GeofenceVerdict.NO_LOCATION:
        lines.append("签到说明：检查对象无登记位置，签到位置未能核验。")
    if inspection.outside_reason:
        lines.append(f"签到说明：{inspection.outside_reason}")
    for number, finding in enumerate(findings_in_order(inspection), start=1):
        severity = _SEVERITY_LABELS.get(finding.severity, finding.severity)
        lines.append(f"发现问题{number}（{finding.item_code}，{severity}）：{finding.description}")
        if finding.evidence_sha256:
            lines.append(f"问题{number}证据：{'、'.join(h[:16] for h in finding.evidence_sha256)}")
    if not inspection.findings:
        lines.append("经现场检查，未发现问题。")
    result = _RESULT_LABELS.get(inspection.result, str(inspection.result or ""))
    conclusion = f"检查结论：{result}"
    if inspection.rectification_due is not None:
        conclusion += f"，整改期限至{_cn_date(inspection.rectification_due)}"
    lines.append(conclusion + "。")
    if inspection.result_note:
        lines.append(f"备注：{inspection.result_note}")
    return "\n".join(line.replace("\n", " ") for line in lines)


def build_record(
    session: Session, inspection: FieldInspection, store: EvidenceStore
) -> OnSiteRecord:
    """The plain-data record of a finished inspection (validated by the document module).

    :class:`RecordNotAvailableError` before the finish; :class:`RecordIncompleteError` when
    the data cannot make a valid record (the message names the field)."""
    if inspection.status != InspectionStatus.FINISHED or inspection.finished_at is None:
        raise RecordNotAvailableError(
            reason("inspection ${uuid} is not finished", uuid=inspection.uuid)
        )
    try:
        return _build(session, inspection, store)
    except RecordIncompleteError:
        raise
    except ValueError as exc:  # the document module names the field it refuses
        raise RecordIncompleteError(
            reason(
                "the on-site record of inspection ${uuid} cannot be made: ${error}",
                uuid=inspection.uuid,
                error=str(exc),
            )
        ) from exc


def _department_name(session: Session, code: object) -> str | None:
    return session.scalar(select(Department.name).where(Department.code == str(code)))


def _build(session: Session, inspection: FieldInspection, store: EvidenceStore) -> OnSiteRecord:
    assert inspection.finished_at is not None  # checked by build_record
    task = inspection.task
    enterprise = task.enterprise
    members = sorted(task.members, key=lambda m: (m.role != MemberRole.LEAD, m.id))
    lead = members[0].inspector if members else inspection.inspector
    items = {item.code: item for item in task.items}

    checklist = []
    for entry in task.checklist:
        code = entry["code"]
        answer = inspection.answers.get(code) or {}
        item = items.get(code)
        department = (
            item.department.name
            if item is not None
            else _department_name(session, entry.get("department"))
        )
        checklist.append(
            ChecklistRow(
                item_code=code,
                item_name=entry.get("name") or (item.name if item else code),
                department=department or str(entry.get("department") or NOT_RECORDED),
                result=_ANSWER_RESULTS[answer.get("answer", "not_applicable")],
                note=answer.get("note") or "",
            )
        )

    evidence = []
    for attachment in evidence_in_order(inspection):
        file = attachment.file
        extension = _EXTENSIONS.get(file.media_type, "bin")
        evidence.append(
            EvidenceItem(
                kind=file.kind,
                file_name=attachment.caption or f"{file.sha256[:16]}.{extension}",
                sha256=file.sha256,
                size_bytes=file.size,
                captured_at=attachment.captured_at or file.exif_time or attachment.created_at,
            )
        )

    names = "、".join(m.inspector.name for m in members)
    if inspection.refused_to_sign:
        party = PartySignature(
            signer_name=inspection.signer_name or NOT_RECORDED,
            refused=True,
            refusal_note="当事人拒绝在笔录上签字，执法人员在场见证。",
            witness_name=f"执法人员{names}",
        )
    else:
        if inspection.signature_sha256 is None:
            raise RecordIncompleteError(
                reason(
                    "inspection ${uuid}: no signature image and no refusal to sign",
                    uuid=inspection.uuid,
                )
            )
        with store.open(inspection.signature_sha256) as handle:
            png = handle.read()
        signer = inspection.signer_name or NOT_RECORDED
        if inspection.signer_role:
            signer = f"{signer}（{inspection.signer_role}）"
        party = PartySignature(signer_name=signer, signature_png=png)

    started = inspection.device_time
    year = inspection.finished_at.astimezone(SHANGHAI).year
    return _record(
        inspection, enterprise, lead.department, members, checklist, evidence, party, started, year
    )


def _record(
    inspection: FieldInspection,
    enterprise: Enterprise,
    department: Department,
    members: list[TaskMember],
    checklist: list[ChecklistRow],
    evidence: list[EvidenceItem],
    party: PartySignature,
    started: dt.datetime,
    year: int,
) -> OnSiteRecord:
    return OnSiteRecord(
        inspection_id=inspection.uuid,
        document_number=f"{department.code}现检〔{year}〕{inspection.id:05d}号",
        authority=department.name,
        enterprise_name=enterprise.name,
        uscc=enterprise.uscc or "",
        enterprise_address=enterprise.registered_address or NOT_RECORDED,
        legal_representative=enterprise.legal_representative or NOT_RECORDED,
        inspection_place=enterprise.registered_address or NOT_RECORDED,
        started_at=started,
        ended_at=max(inspection.finished_at, started),
        inspectors=[
            Inspector(
                name=m.inspector.name,
                credential_number=m.inspector.credential_no,
                signature_png=_blank_signature(),
            )
            for m in members
        ],
        check_in=CheckIn(
            verdict=_VERDICTS[inspection.geofence],
            distance_m=inspection.distance_m or 0.0,
            accuracy_m=inspection.accuracy_m,
        ),
        checklist=checklist,
        findings=_findings_text(inspection),
        evidence=evidence,
        party_signature=party,
    )


def render_record(session: Session, inspection: FieldInspection, store: EvidenceStore) -> bytes:
    """The record's PDF; generated at the finish time, so the bytes are reproducible."""
    record = build_record(session, inspection, store)
    return render_onsite_record(record, generated_at=inspection.finished_at)


def put_document(store: EvidenceStore, data: bytes) -> str:
    """Keep server-made bytes (the PDF) in the store under their SHA-256; the upload path
    would refuse them, since a PDF is not evidence a client may send. Atomic, like uploads."""
    sha256 = hashlib.sha256(data).hexdigest()
    target = store.path_for(sha256)
    if target.is_file() and target.stat().st_size == len(data):
        return sha256
    tmp_dir = store.root / ".tmp"
    try:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        # "upload-*.part": a crash leaves what EvidenceStore.purge_stale_temp cleans up.
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=tmp_dir)
    except OSError as exc:
        raise storage_error(exc, "creating a temporary file") from exc
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o444)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.replace(target)
        directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise storage_error(exc, "storing the on-site record") from exc
    return sha256


def _register_document(session: Session, sha256: str, size: int) -> None:
    if session.get(EvidenceFile, sha256) is not None:
        return
    try:
        with session.begin_nested():  # the worker and a web request may race here
            session.add(
                EvidenceFile(
                    sha256=sha256,
                    media_type=PDF_MEDIA_TYPE,
                    kind="document",
                    size=size,
                    uploaded_by_id=None,
                    uploaded_at=utcnow(),
                )
            )
    except IntegrityError:
        if session.get(EvidenceFile, sha256) is None:
            raise


def ensure_record(
    session: Session, inspection: FieldInspection, store: EvidenceStore
) -> tuple[str, bytes | None]:
    """Store the record once: returns (sha256, pdf bytes if rendered now, else None).

    Already stored: nothing is rendered. Otherwise the PDF is rendered, put in the store,
    registered as a ``document`` evidence file and its hash set on the inspection. A hash
    recorded earlier is never replaced (it may have been sent to the data center): a
    re-rendering that differs (new fonts or WeasyPrint) is logged and kept beside it.
    """
    if inspection.record_sha256 is not None and store.exists(inspection.record_sha256):
        return inspection.record_sha256, None
    pdf = render_record(session, inspection, store)
    sha256 = put_document(store, pdf)
    _register_document(session, sha256, len(pdf))
    if inspection.record_sha256 is None:
        inspection.record_sha256 = sha256
    elif inspection.record_sha256 != sha256:
        log.error(
            "on-site record of %s re-rendered to %s, recorded as %s (renderer changed?)",
            inspection.uuid,
            sha256,
            inspection.record_sha256,
        )
    session.flush()
    return sha256, pdf


def store_onsite_record(
    session: Session, inspection_uuid: uuid.UUID | str, store: EvidenceStore
) -> dict[str, str | None]:
    """The worker's job (idempotent): render and keep the record of a finished inspection."""
    key = uuid.UUID(str(inspection_uuid))
    inspection = session.scalar(
        select(FieldInspection).where(FieldInspection.uuid == key).with_for_update()
    )
    if inspection is None:
        return {"inspection_uuid": str(key), "status": "missing", "sha256": None}
    if inspection.status != InspectionStatus.FINISHED:
        return {"inspection_uuid": str(key), "status": "not_finished", "sha256": None}
    try:
        sha256, rendered = ensure_record(session, inspection, store)
    except RecordIncompleteError as exc:  # retrying cannot help; say so loudly
        log.error("%s", exc)
        return {"inspection_uuid": str(key), "status": "incomplete", "sha256": None}
    status = "rendered" if rendered is not None else "exists"
    return {"inspection_uuid": str(key), "status": status, "sha256": sha256}


__all__ = [
    "PDF_MEDIA_TYPE",
    "RecordIncompleteError",
    "RecordNotAvailableError",
    "build_record",
    "ensure_record",
    "put_document",
    "render_record",
    "store_onsite_record",
]
