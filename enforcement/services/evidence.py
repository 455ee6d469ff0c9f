"""Evidence of field inspections in the database: the files (``evidence_files``) and their
attachment to an inspection (``inspection_evidence``).

The bytes live in the content-addressed :class:`~enforcement.evidence.EvidenceStore` (type
sniffed, size-limited, named by SHA-256); this service records what was stored, who uploaded
it and where and when the photo says it was taken, and attaches files to inspections:

* an attachment is keyed by the UUID the tablet generated: the same UUID with the same body
  returns the stored attachment, with another body it is an :class:`AttachmentConflictError`
  carrying the stored version, so a replayed offline queue lands exactly once;
* only the task's team attaches (anyone else gets :class:`EvidenceAccessError`, the same
  answer as for an inspection that does not exist), and a finished inspection is frozen;
* the photo's EXIF time and position are compared with the check-in when it is attached
  (``exif_check``), so supervisors can see evidence taken elsewhere or at another time.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enforcement.evidence import (
    DEFAULT_MAX_BYTES,
    CaptureMetadata,
    EvidenceStore,
    StoredEvidence,
    UploadManager,
    compare_with_checkin,
    read_capture_metadata,
)
from enforcement.models import (
    EvidenceFile,
    FieldInspection,
    InspectionEvidence,
    InspectionStatus,
    Role,
    User,
    utcnow,
)
from enforcement.services import audit, wire
from enforcement.services.plans import in_department_scope
from enforcement.services.wire import digest, iso_utc

log = logging.getLogger(__name__)

#: Kinds an inspector may attach (``document`` rows are the rendered records themselves).
ATTACHABLE_KINDS = frozenset({"photo", "video", "audio"})
DEFAULT_EXIF_MAX_DISTANCE_M = 200.0
DEFAULT_EXIF_MAX_MINUTES = 120.0


# ------------------------------------------------------------------------------ settings


def var_dir(settings: Mapping[str, Any]) -> Path:
    """``suijian.var_dir`` (default ``./var``), as the worker resolves it."""
    return Path(str(settings.get("suijian.var_dir") or "var")).resolve()


def evidence_dir(settings: Mapping[str, Any]) -> Path:
    """``suijian.evidence_dir``, default ``<var_dir>/evidence``."""
    configured = str(settings.get("suijian.evidence_dir") or "").strip()
    return Path(configured).resolve() if configured else var_dir(settings) / "evidence"


def max_bytes(settings: Mapping[str, Any]) -> int:
    """``suijian.evidence.max_bytes``: the size limit of one evidence file (default 50 MiB)."""
    value = settings.get("suijian.evidence.max_bytes")
    if value is None or str(value).strip() == "":
        return DEFAULT_MAX_BYTES
    limit = int(str(value).strip())
    if limit <= 0:
        raise ValueError(f"suijian.evidence.max_bytes: must be positive, got {value!r}")
    return limit


def evidence_store(settings: Mapping[str, Any]) -> EvidenceStore:
    """The store the web app and the workers share (same settings, same directory)."""
    return EvidenceStore(evidence_dir(settings), max_bytes(settings))


def upload_manager(settings: Mapping[str, Any], user_id: int) -> UploadManager:
    """Resumable uploads of one user: each user has a directory of their own, so an upload
    id of someone else is simply not found."""
    store = evidence_store(settings)
    return UploadManager(store.root / ".uploads" / str(int(user_id)), store)


# ------------------------------------------------------------------------------ errors


class EvidenceServiceError(Exception):
    """Base of the evidence workflow's refusals."""


class EvidenceAccessError(EvidenceServiceError, LookupError):
    """No such inspection or evidence for this user (also when it exists but is not theirs:
    ids reveal nothing)."""


class AttachmentValidationError(EvidenceServiceError, ValueError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class InspectionFrozenError(EvidenceServiceError):
    """The inspection is finished: its record no longer changes."""


class AttachmentConflictError(EvidenceServiceError):
    """The attachment UUID (or the file, in this inspection) is taken by other content;
    ``current`` is the stored attachment as the API shows it (None when it belongs to
    another inspection)."""

    def __init__(self, message: str, current: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.current = current


# ------------------------------------------------------------------------------ helpers


def parse_time(value: Any, field: str) -> dt.datetime | None:
    """An optional time: None when absent."""
    if value is None or value == "":
        return None
    return wire.parse_time(value, field, AttachmentValidationError)


def exif_summary(file: EvidenceFile) -> dict[str, Any] | None:
    if file.exif_time is None and file.exif_lon is None:
        return None
    return {"time": iso_utc(file.exif_time), "lon": file.exif_lon, "lat": file.exif_lat}


def evidence_document(file: EvidenceFile) -> dict[str, Any]:
    """An evidence file as the API shows it."""
    return {
        "sha256": file.sha256,
        "media_type": file.media_type,
        "kind": file.kind,
        "size": file.size,
        "exif": exif_summary(file),
    }


def attachment_document(attachment: InspectionEvidence) -> dict[str, Any]:
    """An attachment as the API shows it (also inside an inspection's ``evidence`` list)."""
    return {
        "uuid": str(attachment.uuid),
        "sha256": attachment.sha256,
        "media_type": attachment.file.media_type,
        "kind": attachment.file.kind,
        "size": attachment.file.size,
        "caption": attachment.caption,
        "captured_at": iso_utc(attachment.captured_at),
        "exif_check": dict(attachment.exif_check or {}),
    }


def may_read_inspection(actor: User | None, inspection: FieldInspection) -> bool:
    """The task's team, supervisors whose department is involved in the plan, admins."""
    if actor is None:
        return False
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.SUPERVISOR:
        return in_department_scope(actor, inspection.task.draw.plan.departments)
    if actor.role != Role.INSPECTOR or actor.inspector_id is None:
        return False
    return any(m.inspector_id == actor.inspector_id for m in inspection.task.members)


def _metadata_from_row(file: EvidenceFile) -> CaptureMetadata:
    has_gps = file.exif_lat is not None and file.exif_lon is not None
    return CaptureMetadata(file.exif_time, file.exif_lat, file.exif_lon, has_gps, frozenset())


# ------------------------------------------------------------------------------ the service


class EvidenceService:
    """Evidence recorded by ``actor`` (the uploader; an inspector of the team to attach)."""

    def __init__(
        self,
        session: Session,
        actor: User | None,
        store: EvidenceStore,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.store = store
        self.settings = settings or {}

    # -------------------------------------------------------------- files

    def register(self, stored: StoredEvidence) -> tuple[EvidenceFile, bool]:
        """The row of a stored file, created on its first upload (with the EXIF capture time
        and position); returns (row, created). The same bytes uploaded again, by anyone,
        find the first row: its uploader stays the first one."""
        existing = self.session.get(EvidenceFile, stored.sha256)
        if existing is not None:
            return existing, False
        meta = read_capture_metadata(stored.path)
        row = EvidenceFile(
            sha256=stored.sha256,
            media_type=stored.mime,
            kind=stored.kind,
            size=stored.size,
            uploaded_by_id=self.actor.id if self.actor is not None else None,
            uploaded_at=utcnow(),
            exif_time=meta.taken_at.astimezone(dt.UTC) if meta.taken_at else None,
            exif_lon=meta.longitude,
            exif_lat=meta.latitude,
        )
        try:
            with self.session.begin_nested():  # a concurrent upload of the same bytes may win
                self.session.add(row)
        except IntegrityError:
            existing = self.session.get(EvidenceFile, stored.sha256)
            if existing is None:
                raise
            return existing, False
        audit.record(
            self.session,
            self.actor,
            "evidence.upload",
            row,
            {"kind": row.kind, "media_type": row.media_type, "size": row.size},
            at=row.uploaded_at,
        )
        return row, True

    def file(self, sha256: str) -> EvidenceFile:
        """A file the actor may fetch: their own upload, or evidence, the signature or the
        record of an inspection they may read. Anything else is not found."""
        row = self.session.get(EvidenceFile, sha256)
        if row is None or not self._may_fetch(row):
            raise EvidenceAccessError(f"evidence {sha256} not found")
        return row

    def _may_fetch(self, row: EvidenceFile) -> bool:
        actor = self.actor
        if actor is None:
            return False
        if row.uploaded_by_id is not None and row.uploaded_by_id == actor.id:
            return True
        if actor.role not in (Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR):
            return False
        attached = select(InspectionEvidence.inspection_id).where(
            InspectionEvidence.sha256 == row.sha256
        )
        inspections = self.session.scalars(
            select(FieldInspection).where(
                or_(
                    FieldInspection.id.in_(attached),
                    FieldInspection.signature_sha256 == row.sha256,
                    FieldInspection.record_sha256 == row.sha256,
                )
            )
        ).all()
        return any(may_read_inspection(actor, inspection) for inspection in inspections)

    # -------------------------------------------------------------- attachments

    def attach(
        self,
        inspection_uuid: uuid.UUID,
        attachment_uuid: uuid.UUID,
        sha256: str,
        caption: str | None = None,
        captured_at: str | dt.datetime | None = None,
    ) -> tuple[InspectionEvidence, bool]:
        """Attach an uploaded file to an inspection of the actor's team; returns
        (attachment, created). See the module docstring for replays and conflicts."""
        inspection = self._recordable(inspection_uuid)
        sha256 = str(sha256).lower()
        caption = (caption or "").strip()
        when = parse_time(captured_at, "captured_at")
        sent = digest({"sha256": sha256, "caption": caption, "captured_at": iso_utc(when)})

        existing = self.session.scalar(
            select(InspectionEvidence).where(InspectionEvidence.uuid == attachment_uuid)
        )
        if existing is not None:
            if existing.inspection_id != inspection.id:
                raise AttachmentConflictError(
                    "this attachment UUID is used by another inspection", None
                )
            if existing.digest != sent:
                raise AttachmentConflictError(
                    "this attachment UUID was already used with other content",
                    attachment_document(existing),
                )
            return existing, False  # a replay: whatever state the inspection is in now

        if inspection.status == InspectionStatus.FINISHED:
            raise InspectionFrozenError(
                "the inspection is finished and its record is frozen; nothing can be attached"
            )
        file = self.session.get(EvidenceFile, sha256)
        if file is None:
            raise AttachmentValidationError(
                {"sha256": "no uploaded evidence file has this SHA-256: upload it first"}
            )
        if file.kind not in ATTACHABLE_KINDS:
            raise AttachmentValidationError(
                {"sha256": f"a {file.kind} cannot be attached: only photos, video and audio"}
            )
        same_file = next((e for e in inspection.evidence if e.sha256 == sha256), None)
        if same_file is not None:
            raise AttachmentConflictError(
                "this file is already attached to the inspection under another UUID",
                attachment_document(same_file),
            )

        attachment = InspectionEvidence(
            uuid=attachment_uuid,
            inspection_id=inspection.id,
            sha256=sha256,
            file=file,
            caption=caption,
            captured_at=when,
            exif_check=self.exif_check(inspection, file),
            digest=sent,
            created_at=utcnow(),
        )
        try:
            with self.session.begin_nested():  # the same UUID sent twice at once
                self.session.add(attachment)
        except IntegrityError:
            stored = self.session.scalar(
                select(InspectionEvidence).where(InspectionEvidence.uuid == attachment_uuid)
            )
            if stored is None:
                raise
            if stored.digest == sent and stored.inspection_id == inspection.id:
                return stored, False
            raise AttachmentConflictError(
                "this attachment UUID was already used with other content",
                attachment_document(stored) if stored.inspection_id == inspection.id else None,
            ) from None
        self.session.expire(inspection, ["evidence"])  # reloaded with the new attachment
        inspection.version += 1
        inspection.updated_at = utcnow()
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "evidence.attach",
            inspection,
            {
                "attachment": str(attachment.uuid),
                "sha256": sha256,
                "kind": file.kind,
                "exif_verdict": attachment.exif_check.get("verdict"),
            },
            at=attachment.created_at,
        )
        return attachment, True

    def exif_check(self, inspection: FieldInspection, file: EvidenceFile) -> dict[str, Any]:
        """The photo's EXIF time and position against the check-in (WGS-84, device time)."""
        if file.kind != "photo":
            return {
                "verdict": "not_applicable",
                "distance_m": None,
                "minutes_apart": None,
                "notes": [f"{file.kind}: metadata not read"],
                "exif": None,
            }
        path = self.store.path_for(file.sha256)
        meta = read_capture_metadata(path) if path.is_file() else _metadata_from_row(file)
        check = compare_with_checkin(
            meta,
            inspection.device_time,
            inspection.checkin_lat,
            inspection.checkin_lon,
            max_distance_m=float(
                self.settings.get("suijian.evidence.exif_max_distance_m")
                or DEFAULT_EXIF_MAX_DISTANCE_M
            ),
            max_minutes=float(
                self.settings.get("suijian.evidence.exif_max_minutes") or DEFAULT_EXIF_MAX_MINUTES
            ),
        )
        return {
            "verdict": check.verdict,
            "distance_m": None if check.distance_m is None else round(check.distance_m, 1),
            "minutes_apart": None if check.minutes_apart is None else round(check.minutes_apart, 1),
            "notes": list(check.notes),
            "exif": exif_summary(file),
        }

    def _recordable(self, inspection_uuid: uuid.UUID) -> FieldInspection:
        """The inspection, locked, if the actor's inspector is on its task's team."""
        inspection = self.session.scalar(
            select(FieldInspection)
            .where(FieldInspection.uuid == inspection_uuid)
            .with_for_update()  # attachments and the version of one inspection serialise
        )
        inspector_id = self.actor.inspector_id if self.actor is not None else None
        if (
            inspection is None
            or inspector_id is None
            or not any(m.inspector_id == inspector_id for m in inspection.task.members)
        ):
            raise EvidenceAccessError(f"inspection {inspection_uuid} not found")
        return inspection

    def readable_inspection(self, inspection_uuid: uuid.UUID) -> FieldInspection:
        """An inspection the actor may read (see :func:`may_read_inspection`)."""
        inspection = self.session.scalar(
            select(FieldInspection).where(FieldInspection.uuid == inspection_uuid)
        )
        if inspection is None or not may_read_inspection(self.actor, inspection):
            raise EvidenceAccessError(f"inspection {inspection_uuid} not found")
        return inspection


__all__ = [
    "ATTACHABLE_KINDS",
    "AttachmentConflictError",
    "AttachmentValidationError",
    "EvidenceAccessError",
    "EvidenceService",
    "EvidenceServiceError",
    "InspectionFrozenError",
    "attachment_document",
    "evidence_dir",
    "evidence_document",
    "evidence_store",
    "exif_summary",
    "max_bytes",
    "may_read_inspection",
    "parse_time",
    "upload_manager",
    "var_dir",
]
