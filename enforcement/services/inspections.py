"""On-site inspections from the tablets: check-in, checklist, findings, signature, result.

Every write is keyed by a UUID the tablet generated and is idempotent: the same UUID with the
same content returns what is stored; the same UUID with other content raises
``InspectionConflictError`` carrying the stored record. Edits of the checklist may carry the
version the tablet last saw (``if_match``); a stale one raises ``StaleVersionError``.

Only the task's team records (other users get ``InspectionNotFoundError``: ids reveal
nothing); supervisors read the inspections of plans in their department scope.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from enforcement import outbox
from enforcement.models import (
    Draw,
    EvidenceFile,
    FieldInspection,
    GeofenceVerdict,
    InspectionEvidence,
    InspectionFinding,
    InspectionResult,
    InspectionStatus,
    InspectionTask,
    Role,
    TaskMember,
    TaskStatus,
    User,
    utcnow,
)
from enforcement.reasons import reason
from enforcement.services import audit, wire
from enforcement.services.plans import TASK_STATUS_NAMES, in_department_scope
from enforcement.services.task_feed import note_task_changes
from enforcement.services.wire import digest
from gis.coords import to_wgs84
from gis.geofence import DEFAULT_RADIUS_M, INSIDE, OUTSIDE, geofence

ANSWERS = ("compliant", "non_compliant", "not_applicable")
SEVERITIES = ("minor", "serious", "critical")
#: Results that mean a problem was found (they count in the credit indicator findings_3y).
PROBLEM_RESULTS = frozenset(
    {
        InspectionResult.RECTIFICATION_ORDERED,
        InspectionResult.CASE_FILED,
        InspectionResult.SUSPECTED_CRIME,
    }
)
MAX_CLOCK_SKEW = dt.timedelta(days=1)  # a device time further in the future is refused


class InspectionError(Exception):
    """Base of the errors of the inspection workflow."""


class InspectionNotFoundError(InspectionError):
    """The record does not exist or is not the actor's to see (the message says which)."""


class InspectionPermissionError(InspectionError):
    """The account cannot record inspections (not an inspector)."""


class InspectionStateError(InspectionError):
    """The inspection (or task) is not in a state that allows this."""


class InspectionValidationError(InspectionError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(wire.errors_reason(errors))
        self.errors = dict(errors)


class InspectionConflictError(InspectionError):
    """The UUID is taken by a record with other content; ``current`` is that record."""

    def __init__(self, message: str, current: FieldInspection | InspectionFinding) -> None:
        super().__init__(message)
        self.current = current


class StaleVersionError(InspectionError):
    def __init__(self, current: FieldInspection) -> None:
        super().__init__(reason("the inspection is at version ${version}", version=current.version))
        self.current = current


def parse_time(value: str | dt.datetime, field: str) -> dt.datetime:
    return wire.parse_time(value, field, InspectionValidationError)


def enterprise_lonlat(task: InspectionTask) -> tuple[float, float] | None:
    location = task.enterprise.location
    if location is None:
        return None
    point = to_shape(location)
    return float(point.x), float(point.y)


class InspectionService:
    def __init__(
        self,
        session: Session,
        actor: User,
        settings: Mapping[str, Any] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session = session
        self.actor = actor
        self.settings = settings or {}
        self.clock = clock

    # ------------------------------------------------------------------ access

    @property
    def inspector_id(self) -> int:
        if self.actor.inspector_id is None:
            raise InspectionPermissionError(
                reason(
                    "this account is not linked to an inspector: only inspectors record inspections"
                )
            )
        return self.actor.inspector_id

    def task(self, task_uuid: uuid.UUID) -> InspectionTask:
        """A task of the actor's team (alternates on standby are nobody's yet)."""
        task = self.session.scalar(
            select(InspectionTask)
            .join(TaskMember, TaskMember.task_id == InspectionTask.id)
            .where(InspectionTask.uuid == task_uuid, TaskMember.inspector_id == self.inspector_id)
        )
        if task is None:
            raise InspectionNotFoundError(reason("task not found"))
        return task

    def readable(self, inspection_uuid: uuid.UUID) -> FieldInspection:
        """An inspection the actor may read: its team's, or in a supervisor's scope."""
        inspection = self._load(inspection_uuid)
        if inspection is None or not self._may_read(inspection):
            raise InspectionNotFoundError(reason("inspection not found"))
        return inspection

    def _may_read(self, inspection: FieldInspection) -> bool:
        if self.actor.role == Role.ADMIN:
            return True
        if self.actor.role == Role.SUPERVISOR:
            return in_department_scope(self.actor, inspection.task.draw.plan.departments)
        if self.actor.inspector_id is None:
            return False
        return any(m.inspector_id == self.actor.inspector_id for m in inspection.task.members)

    def _recordable(self, inspection_uuid: uuid.UUID) -> FieldInspection:
        inspection = self._load(inspection_uuid, lock=True)
        if inspection is None or not any(
            m.inspector_id == self.inspector_id for m in inspection.task.members
        ):
            raise InspectionNotFoundError(reason("inspection not found"))
        return inspection

    def _load(self, inspection_uuid: uuid.UUID, *, lock: bool = False) -> FieldInspection | None:
        # Everything the response document reads, in one round trip for the rows it has one
        # of (inner joins: the foreign keys are not null) and one per collection, instead of
        # a lazy load for each.
        task = joinedload(FieldInspection.task, innerjoin=True)
        query = (
            select(FieldInspection)
            .where(FieldInspection.uuid == inspection_uuid)
            .options(
                joinedload(FieldInspection.inspector, innerjoin=True),
                task.joinedload(InspectionTask.enterprise, innerjoin=True),
                task.joinedload(InspectionTask.draw, innerjoin=True).joinedload(
                    Draw.plan, innerjoin=True
                ),
                task.selectinload(InspectionTask.members),
                selectinload(FieldInspection.findings),
                selectinload(FieldInspection.evidence).joinedload(
                    InspectionEvidence.file, innerjoin=True
                ),
            )
        )
        if lock:  # concurrent edits of one inspection serialise (the inspection row only)
            query = query.with_for_update(of=FieldInspection)
        return self.session.scalar(query)

    @staticmethod
    def _require_open(inspection: FieldInspection) -> None:
        if inspection.status == InspectionStatus.FINISHED:
            raise InspectionStateError(
                reason(
                    "the inspection is finished and its record is frozen; nothing can be changed"
                )
            )

    @staticmethod
    def _check_version(inspection: FieldInspection, if_match: int | None) -> None:
        if if_match is not None and if_match != inspection.version:
            raise StaleVersionError(inspection)

    def _touch(self, inspection: FieldInspection) -> None:
        inspection.version += 1
        inspection.updated_at = self.clock()

    # ------------------------------------------------------------------ check-in

    def check_in(
        self, inspection_uuid: uuid.UUID, task_uuid: uuid.UUID, checkin: Mapping[str, Any]
    ) -> tuple[FieldInspection, bool]:
        """Start the inspection of a task with the device's position. Returns (inspection,
        created). Outside the fence a reason is required, and the check-in is flagged."""
        sent = digest({"task": str(task_uuid), "checkin": dict(checkin)})
        existing = self._load(inspection_uuid)
        if existing is not None:
            if existing.inspector_id != self.inspector_id and not self._may_read(existing):
                raise InspectionNotFoundError(reason("inspection not found"))
            if existing.created_digest != sent:
                raise InspectionConflictError(
                    reason("this inspection UUID was already used with other content"), existing
                )
            return existing, False
        task = self.task(task_uuid)
        if task.status not in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS):
            raise InspectionStateError(
                reason(
                    "the task is ${status}: it cannot be inspected",
                    status=TASK_STATUS_NAMES[TaskStatus(task.status)],
                )
            )
        inspection = self._new_inspection(inspection_uuid, task, checkin, sent)
        self.session.add(inspection)
        if task.status == TaskStatus.OPEN:
            task.status = TaskStatus.IN_PROGRESS
            note_task_changes(self.session, [task])
        self.session.flush()
        details = {
            "task": str(task.uuid),
            "geofence": inspection.geofence.value,
            "distance_m": inspection.distance_m,
        }
        audit.record(self.session, self.actor, "inspection.check_in", inspection, details)
        return inspection, True

    def _new_inspection(
        self,
        inspection_uuid: uuid.UUID,
        task: InspectionTask,
        checkin: Mapping[str, Any],
        sent_digest: str,
    ) -> FieldInspection:
        errors: dict[str, str] = {}
        crs = str(checkin.get("crs") or "wgs84").lower()
        lon, lat = float(checkin["lon"]), float(checkin["lat"])
        try:
            wlon, wlat = (float(v) for v in to_wgs84(lon, lat, crs))
        except ValueError as exc:
            raise InspectionValidationError(
                {
                    "checkin.crs": reason(
                        "unsupported coordinate system ${crs}; expected wgs84 (EPSG:4326), "
                        "gcj02 or bd09",
                        crs=crs,
                    )
                }
            ) from exc
        device_time = parse_time(checkin["device_time"], "checkin.device_time")
        now = self.clock()
        if device_time > now + MAX_CLOCK_SKEW:
            errors["checkin.device_time"] = reason("is more than a day ahead of the server's clock")
        accuracy = float(checkin["accuracy_m"])
        radius = float(self.settings.get("suijian.geofence.radius_m") or DEFAULT_RADIUS_M)
        target = enterprise_lonlat(task)
        distance: float | None = None
        if target is None:
            verdict = GeofenceVerdict.NO_LOCATION
        else:
            code, metres = geofence(wlon, wlat, accuracy, *target, radius_m=radius)
            verdict = {INSIDE: GeofenceVerdict.INSIDE, OUTSIDE: GeofenceVerdict.OUTSIDE}.get(
                int(code), GeofenceVerdict.UNCERTAIN
            )
            distance = round(float(metres), 1)
        outside_reason = (checkin.get("outside_reason") or "").strip() or None
        if verdict == GeofenceVerdict.OUTSIDE and outside_reason is None:
            errors["checkin.outside_reason"] = reason(
                "the check-in is ${distance} m from the enterprise, outside the ${radius} m "
                "fence: say why",
                distance=f"{distance:.0f}",
                radius=f"{radius:.0f}",
            )
        if errors:
            raise InspectionValidationError(errors)
        return FieldInspection(
            uuid=inspection_uuid,
            task=task,
            inspector_id=self.inspector_id,
            status=InspectionStatus.IN_PROGRESS,
            version=1,
            created_digest=sent_digest,
            reported_crs=crs,
            reported_lon=lon,
            reported_lat=lat,
            checkin_lon=wlon,
            checkin_lat=wlat,
            accuracy_m=accuracy,
            device_time=device_time,
            checked_in_at=now,
            geofence=verdict,
            distance_m=distance,
            geofence_radius_m=radius,
            outside_reason=outside_reason,
            flagged=verdict == GeofenceVerdict.OUTSIDE,
            answers={},
        )

    # ------------------------------------------------------------------ checklist

    def set_answers(
        self, inspection_uuid: uuid.UUID, answers: Mapping[str, Any], if_match: int | None = None
    ) -> FieldInspection:
        """Replace the checklist answers. Repeating the same answers changes nothing."""
        inspection = self._recordable(inspection_uuid)
        wanted = {code: _answer(value) for code, value in answers.items()}
        if wanted == inspection.answers:
            return inspection  # a replay: nothing to do, whatever version it was based on
        self._check_version(inspection, if_match)
        self._require_open(inspection)
        codes = {entry["code"] for entry in inspection.task.checklist}
        errors = {
            f"answers.{code}": reason("is not an item of this task's checklist")
            for code in wanted
            if code not in codes
        }
        for code, value in wanted.items():
            if value["answer"] not in ANSWERS:
                errors[f"answers.{code}.answer"] = reason(
                    "must be one of ${choices}", choices=", ".join(ANSWERS)
                )
        if errors:
            raise InspectionValidationError(errors)
        inspection.answers = wanted
        self._touch(inspection)
        return inspection

    def put_finding(
        self, inspection_uuid: uuid.UUID, finding_uuid: uuid.UUID, body: Mapping[str, Any]
    ) -> tuple[InspectionFinding, bool]:
        inspection = self._recordable(inspection_uuid)
        sent = digest({"inspection": str(inspection_uuid), **dict(body)})
        existing = self.session.scalar(
            select(InspectionFinding).where(InspectionFinding.uuid == finding_uuid)
        )
        if existing is not None:
            if existing.inspection_id != inspection.id or existing.digest != sent:
                raise InspectionConflictError(
                    reason("this finding UUID was already used with other content"), existing
                )
            return existing, False
        self._require_open(inspection)
        codes = {entry["code"] for entry in inspection.task.checklist}
        errors: dict[str, str] = {}
        if body["item_code"] not in codes:
            errors["item_code"] = reason("is not an item of this task's checklist")
        if not str(body["description"]).strip():
            errors["description"] = reason("must not be empty: describe the problem found")
        hashes = [str(h).lower() for h in body.get("evidence") or []]
        attached = {e.sha256 for e in inspection.evidence}
        unknown = [h for h in hashes if h not in attached]
        if unknown:
            errors["evidence"] = reason(
                "not attached to this inspection: ${files}", files=", ".join(unknown)
            )
        if errors:
            raise InspectionValidationError(errors)
        finding = InspectionFinding(
            uuid=finding_uuid,
            inspection=inspection,
            item_code=body["item_code"],
            description=str(body["description"]).strip(),
            severity=body["severity"],
            evidence_sha256=hashes,
            digest=sent,
            created_at=self.clock(),
        )
        self.session.add(finding)
        self._touch(inspection)
        self.session.flush()
        return finding, True

    # ------------------------------------------------------------------ signature

    def sign(self, inspection_uuid: uuid.UUID, body: Mapping[str, Any]) -> FieldInspection:
        """The inspected party's signature (an uploaded PNG), or a recorded refusal to sign
        (当事人拒绝签字, witnessed by the team)."""
        inspection = self._recordable(inspection_uuid)
        refused = bool(body.get("refused"))
        image = (body.get("image_sha256") or "").lower() or None
        signed_at = parse_time(body["signed_at"], "signed_at")
        wanted = (body["signer_name"].strip(), (body.get("signer_role") or "").strip(), image)
        if inspection.signed_at is not None:
            stored = (
                inspection.signer_name,
                inspection.signer_role or "",
                inspection.signature_sha256,
            )
            if stored == wanted and inspection.refused_to_sign == refused:
                return inspection
            raise InspectionConflictError(reason("the inspection is already signed"), inspection)
        self._require_open(inspection)
        errors: dict[str, str] = {}
        if not wanted[0]:
            errors["signer_name"] = reason("must not be empty")
        if refused == (image is not None):
            errors["image_sha256"] = reason("give the signature image, or refused: true, not both")
        elif image is not None and self.session.get(EvidenceFile, image) is None:
            errors["image_sha256"] = reason(
                "no uploaded evidence file has this SHA-256: upload it first"
            )
        elif image is not None and self.session.get(EvidenceFile, image).media_type != "image/png":
            errors["image_sha256"] = reason("the signature must be a PNG image")
        if errors:
            raise InspectionValidationError(errors)
        inspection.signer_name, inspection.signer_role, inspection.signature_sha256 = wanted
        inspection.signer_role = inspection.signer_role or None
        inspection.refused_to_sign = refused
        inspection.signed_at = signed_at
        self._touch(inspection)
        return inspection

    # ------------------------------------------------------------------ result

    def finish(self, inspection_uuid: uuid.UUID, body: Mapping[str, Any]) -> FieldInspection:
        """Enter the result and freeze the record: every checklist item answered and the
        signature (or the refusal) present. The task is done; the record goes to the data
        center, its PDF is rendered by a worker, and the enterprise is re-rated."""
        inspection = self._recordable(inspection_uuid)
        sent = digest(dict(body))
        if inspection.status == InspectionStatus.FINISHED:
            if inspection.finish_digest == sent:
                return inspection
            raise InspectionConflictError(reason("the inspection is already finished"), inspection)
        errors: dict[str, str] = {}
        result = InspectionResult(body["result"])
        missing = [
            e["code"] for e in inspection.task.checklist if e["code"] not in inspection.answers
        ]
        if missing:
            errors["answers"] = reason(
                "unanswered checklist items: ${items}", items=", ".join(missing)
            )
        if inspection.signed_at is None:
            errors["signature"] = reason("the inspected party has not signed (or refused to sign)")
        due = body.get("rectification_due")
        if result == InspectionResult.RECTIFICATION_ORDERED and not due:
            errors["rectification_due"] = reason("is required when rectification is ordered")
        if result != InspectionResult.NO_PROBLEM and not inspection.findings:
            errors["result"] = reason("a problem result needs at least one finding")
        if result == InspectionResult.NO_PROBLEM and inspection.findings:
            errors["result"] = reason("findings were recorded: the result cannot be no_problem")
        finished_at = parse_time(body["finished_at"], "finished_at")
        if errors:
            raise InspectionValidationError(errors)
        inspection.result = result
        inspection.result_note = (body.get("note") or "").strip() or None
        if isinstance(due, str):
            due = dt.date.fromisoformat(due)
        inspection.rectification_due = due or None
        inspection.finished_at = finished_at
        inspection.finish_digest = sent
        inspection.status = InspectionStatus.FINISHED
        self._touch(inspection)
        task = inspection.task
        task.status = TaskStatus.DONE
        note_task_changes(self.session, [task])
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "inspection.finish",
            inspection,
            {"result": result.value, "findings": len(inspection.findings)},
        )
        self._follow_up(inspection)
        return inspection

    def _follow_up(self, inspection: FieldInspection) -> None:
        from enforcement import feed  # the feed imports models only; kept lazy for clarity
        from enforcement.services.inspection_documents import feed_document

        key = str(inspection.uuid)
        document = feed_document(inspection)
        feed.publish(self.session, "inspection", key, document)
        feed.publish(
            self.session,
            "inspection_result",
            key,
            {
                "inspection_uuid": key,
                "enterprise_uscc": inspection.task.enterprise.uscc,
                "result": inspection.result.value,
                "finished_at": document["finished_at"],
                "rectification_due": document["rectification_due"],
            },
        )
        outbox.publish(self.session, "inspection.record", {"inspection_uuid": key})
        # Every outcome re-rates: a problem counts against the enterprise, and a clean
        # inspection is evidence too (findings_3y goes from "not inspected" to 0).
        outbox.publish(
            self.session,
            "credit.rerate",
            {
                "enterprise_ids": [inspection.task.enterprise_id],
                "cause": "event",
                "detail": f"inspection {key}: {inspection.result.value}",
            },
        )
        # Rectification order, case, or closing the order a re-inspection verified.
        from enforcement.services.outcomes import follow_up

        follow_up(self.session, self.actor, inspection, settings=self.settings, clock=self.clock)

    # ------------------------------------------------------------------ supervisors

    def flagged(self, limit: int = 200) -> list[FieldInspection]:
        """Check-ins outside the fence not yet acknowledged, in the actor's scope."""
        rows = self.session.scalars(
            select(FieldInspection)
            .where(FieldInspection.flagged.is_(True))
            .order_by(FieldInspection.checked_in_at.desc())
            .options(selectinload(FieldInspection.task))
        ).all()
        return [row for row in rows if self._may_read(row)][:limit]

    def acknowledge(self, inspection_uuid: uuid.UUID, note: str) -> FieldInspection:
        inspection = self.readable(inspection_uuid)
        if self.actor.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise InspectionNotFoundError(reason("inspection not found"))
        if inspection.flagged:
            inspection.flagged = False
            audit.record(
                self.session,
                self.actor,
                "inspection.flag_acknowledged",
                inspection,
                {"note": note.strip()},
            )
        return inspection


def _answer(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"answer": value, "note": ""}
    return {"answer": value.get("answer"), "note": (value.get("note") or "").strip()}


__all__ = [
    "ANSWERS",
    "PROBLEM_RESULTS",
    "SEVERITIES",
    "InspectionConflictError",
    "InspectionError",
    "InspectionNotFoundError",
    "InspectionPermissionError",
    "InspectionService",
    "InspectionStateError",
    "InspectionValidationError",
    "StaleVersionError",
    "digest",
    "parse_time",
]
