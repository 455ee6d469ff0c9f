"""Plain JSON documents of tasks and inspections: what the tablets read and what the data
center receives (one shape for both, so a record reads the same everywhere)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from enforcement.models import (
    FieldInspection,
    InspectionEvidence,
    InspectionFinding,
    InspectionStatus,
    InspectionTask,
)
from enforcement.services.inspections import enterprise_lonlat
from enforcement.services.wire import iso_utc


def finding_document(finding: InspectionFinding) -> dict[str, Any]:
    return {
        "uuid": str(finding.uuid),
        "item_code": finding.item_code,
        "description": finding.description,
        "severity": finding.severity,
        "evidence": list(finding.evidence_sha256),
        "created_at": iso_utc(finding.created_at),
    }


def findings_in_order(inspection: FieldInspection) -> list[InspectionFinding]:
    """By checklist item, then UUID: the same record whatever order a tablet's offline queue
    delivered them in (documents, hashes and the on-site record must not depend on it)."""
    return sorted(inspection.findings, key=lambda f: (f.item_code, str(f.uuid)))


def evidence_in_order(inspection: FieldInspection) -> list[InspectionEvidence]:
    """By attachment UUID, for the same reason as ``findings_in_order``."""
    return sorted(inspection.evidence, key=lambda e: str(e.uuid))


def inspection_document(inspection: FieldInspection) -> dict[str, Any]:
    task = inspection.task
    signature = None
    if inspection.signed_at is not None:
        signature = {
            "signer_name": inspection.signer_name,
            "signer_role": inspection.signer_role,
            "image_sha256": inspection.signature_sha256,
            "refused": inspection.refused_to_sign,
            "signed_at": iso_utc(inspection.signed_at),
        }
    result = None
    if inspection.status == InspectionStatus.FINISHED:
        result = {
            "result": inspection.result.value if inspection.result else None,
            "note": inspection.result_note,
            "rectification_due": (
                inspection.rectification_due.isoformat() if inspection.rectification_due else None
            ),
            "finished_at": iso_utc(inspection.finished_at),
        }
    return {
        "uuid": str(inspection.uuid),
        "task": str(task.uuid),
        "plan": task.draw.plan.code,
        "enterprise": {
            "id": task.enterprise_id,
            "name": task.enterprise.name,
            "uscc": task.enterprise.uscc,
        },
        "inspector": {
            "credential_no": inspection.inspector.credential_no,
            "name": inspection.inspector.name,
        },
        "status": inspection.status.value,
        "version": inspection.version,
        "checkin": {
            "lon": inspection.checkin_lon,
            "lat": inspection.checkin_lat,
            "reported": {
                "lon": inspection.reported_lon,
                "lat": inspection.reported_lat,
                "crs": inspection.reported_crs,
            },
            "accuracy_m": inspection.accuracy_m,
            "device_time": iso_utc(inspection.device_time),
            "received_at": iso_utc(inspection.checked_in_at),
            "geofence": {
                "verdict": inspection.geofence.value,
                "distance_m": inspection.distance_m,
                "radius_m": inspection.geofence_radius_m,
            },
            "outside_reason": inspection.outside_reason,
            "flagged": inspection.flagged,
        },
        "answers": dict(inspection.answers),
        "findings": [finding_document(f) for f in findings_in_order(inspection)],
        "evidence": [
            {
                "uuid": str(e.uuid),
                "sha256": e.sha256,
                "media_type": e.file.media_type,
                "kind": e.file.kind,
                "size": e.file.size,
                "caption": e.caption,
                "captured_at": iso_utc(e.captured_at),
                "exif_check": dict(e.exif_check),
            }
            for e in evidence_in_order(inspection)
        ],
        "signature": signature,
        "result": result,
        "record_sha256": inspection.record_sha256,
        "finished_at": iso_utc(inspection.finished_at),
        "rectification_due": (
            inspection.rectification_due.isoformat() if inspection.rectification_due else None
        ),
    }


#: What the data center receives for an inspection: the same document.
feed_document = inspection_document


def task_documents(
    session: Session, tasks: Sequence[InspectionTask], inspector_id: int
) -> list[dict[str, Any]]:
    """The documents of ``tasks``, with one query for the inspections of all their
    enterprises (a sync sends up to 500 tasks)."""
    enterprise_ids = {task.enterprise_id for task in tasks}
    rows = session.execute(
        select(InspectionTask.enterprise_id, FieldInspection)
        .join(InspectionTask, FieldInspection.task_id == InspectionTask.id)
        .where(InspectionTask.enterprise_id.in_(enterprise_ids))
        .order_by(FieldInspection.checked_in_at.desc())
        .options(selectinload(FieldInspection.findings))
    ).all()
    by_enterprise: dict[int, list[FieldInspection]] = defaultdict(list)
    for enterprise_id, inspection in rows:
        by_enterprise[enterprise_id].append(inspection)
    return [task_document(t, inspector_id, by_enterprise[t.enterprise_id]) for t in tasks]


def task_document(
    task: InspectionTask,
    inspector_id: int,
    inspections: Sequence[FieldInspection],
    previous_limit: int = 5,
) -> dict[str, Any]:
    """A task as a tablet needs it offline: the place, the checklist, the team, earlier
    results at the same enterprise (``inspections``: the enterprise's, newest first) and the
    inspection recorded for it, if any."""
    location = enterprise_lonlat(task)
    enterprise = task.enterprise
    items = {item.code: item for item in task.items}
    own = next((i for i in inspections if i.task_id == task.id), None)
    previous = [
        {
            "inspection_uuid": str(i.uuid),
            "finished_at": iso_utc(i.finished_at),
            "result": i.result.value if i.result else None,
            "findings": len(i.findings),
        }
        for i in inspections
        if i.task_id != task.id and i.status == InspectionStatus.FINISHED
    ][:previous_limit]
    mine = next((m for m in task.members if m.inspector_id == inspector_id), None)
    return {
        "uuid": str(task.uuid),
        "plan": {"code": task.draw.plan.code, "title": task.draw.plan.title},
        "status": task.status.value,
        "due_date": task.due_date.isoformat(),
        "round": task.round,  # 1: drawn; 2 and on: a re-inspection (复查) after rectification
        "my_role": mine.role.value if mine else None,
        "team": [
            {
                "name": m.inspector.name,
                "credential_no": m.inspector.credential_no,
                "role": m.role.value,
            }
            for m in task.members
        ],
        "enterprise": {
            "id": enterprise.id,
            "name": enterprise.name,
            "uscc": enterprise.uscc,
            "address": enterprise.registered_address,
            "legal_representative": enterprise.legal_representative,
            "location": None if location is None else {"lon": location[0], "lat": location[1]},
        },
        "checklist": [
            {
                "code": entry["code"],
                "name": entry["name"],
                "department": entry.get("department"),
                "legal_basis": items[entry["code"]].legal_basis if entry["code"] in items else None,
            }
            for entry in task.checklist
        ],
        "previous": previous,
        "inspection": str(own.uuid) if own is not None else None,
    }


__all__ = [
    "feed_document",
    "finding_document",
    "inspection_document",
    "task_document",
    "task_documents",
]
