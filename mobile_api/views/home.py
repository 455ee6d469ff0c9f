"""The home page: what Suijian is, with live counts from the system of record."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from enforcement.models import EnterpriseStatus
from enforcement.services.directory import registry_counts
from mobile_api.i18n import _

STATUS_LABELS = {
    EnterpriseStatus.IN_BUSINESS: _("In business"),
    EnterpriseStatus.DEREGISTERED: _("Deregistered"),
    EnterpriseStatus.REVOKED: _("Revoked"),
}


@view_config(route_name="home", renderer="home.jinja2")
def home(request: Request) -> dict[str, Any]:
    return {"counts": registry_counts(request.dbsession), "status_labels": STATUS_LABELS}
