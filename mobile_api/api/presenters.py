"""JSON shapes of the API's records (one function per shape, used by every view)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from enforcement.models import InspectionTask, Role, SamplingPlan, User
from enforcement.services.draws import draw_summary
from enforcement.services.plans import plan_summary


def me(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": Role(user.role).value,
        "department": user.department.code if user.department is not None else None,
        "enterprise_id": user.enterprise_id,
        "inspector_id": user.inspector_id,
        "locale": user.locale,
    }


def plan(record: SamplingPlan) -> dict[str, Any]:
    return plan_summary(record)


def plan_list_entry(record: SamplingPlan) -> dict[str, Any]:
    return {
        "code": record.code,
        "title": record.title,
        "year": record.year,
        "status": record.status.value,
        "departments": [d.code for d in record.departments],
    }


def draw(record: SamplingPlan) -> dict[str, Any]:
    assert record.draw is not None
    return {"summary": draw_summary(record.draw), "report": record.draw.report}


def task(record: InspectionTask) -> dict[str, Any]:
    return {
        "id": record.id,
        "uuid": str(record.uuid),
        "enterprise": {
            "id": record.enterprise.id,
            "name": record.enterprise.name,
            "uscc": record.enterprise.uscc,
        },
        "stratum": record.stratum,
        "status": record.status.value,
        "is_alternate": record.is_alternate,
        "alternate_rank": record.alternate_rank,
        "due_date": record.due_date.isoformat(),
        "checklist": list(record.checklist),
        "team": [
            {"inspector_id": m.inspector_id, "name": m.inspector.name, "role": m.role.value}
            for m in record.members
        ],
    }


def etag(document: Any) -> str:
    """A strong validator of a JSON document: equal documents, equal tags."""
    data = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:32]
