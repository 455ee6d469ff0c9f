"""The home page: what Suijian is, with live counts from the system of record."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import (
    Department,
    Enterprise,
    EnterpriseStatus,
    InspectionItem,
    Inspector,
    Jurisdiction,
)
from mobile_api.i18n import _

STATUS_LABELS = {
    EnterpriseStatus.IN_BUSINESS: _("In business"),
    EnterpriseStatus.DEREGISTERED: _("Deregistered"),
    EnterpriseStatus.REVOKED: _("Revoked"),
}


def registry_counts(session: Session) -> dict[str, Any]:
    """Counts of the directories, read in one transaction."""

    def count(model: type, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    by_status = dict.fromkeys(EnterpriseStatus, 0)
    for status, n in session.execute(
        select(Enterprise.status, func.count()).group_by(Enterprise.status)
    ):
        by_status[EnterpriseStatus(status)] = n
    return {
        "jurisdictions": count(Jurisdiction),
        "enterprises": sum(by_status.values()),
        "enterprises_by_status": by_status,
        "inspectors": count(Inspector, Inspector.active.is_(True)),
        "inspection_items": count(InspectionItem, InspectionItem.active.is_(True)),
        "departments": count(Department),
    }


@view_config(route_name="home", renderer="home.jinja2")
def home(request: Request) -> dict[str, Any]:
    return {"counts": registry_counts(request.dbsession), "status_labels": STATUS_LABELS}
