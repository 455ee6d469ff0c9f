"""Transfers to public security (两法衔接) over the API: the case group's report and the head's
decision (supervisors of the case's department), the liaison's steps (sent, received, public
security's decision, reconsideration, supervision, closure), the package download, and the
liaison desk with its CSV and XLSX export.

Every step answers with the transfer and its ``ETag`` (the transfer's version). Refusals are
the service's (``enforcement.services.transfers``): 403 for the role or the department, 404
for an unknown case or a case without a transfer, 409 for the wrong state (and a package that
cannot be built), 422 naming each bad field.

The package and the exports are binary: their routes are ``openapi=False`` (openapi-core
validates JSON bodies only) and check their query parameters here; they are still described
in ``openapi.yaml``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any
from urllib.parse import quote

from pyramid.request import Request
from pyramid.response import FileIter, Response
from pyramid.view import view_config

from enforcement.models import Transfer, TransferStatus
from enforcement.services.evidence import evidence_store, var_dir
from enforcement.services.transfers import (
    TransferService,
    TransferValidationError,
    desk_csv,
    desk_xlsx,
)
from enforcement.services.wire import parse_time
from mobile_api.api import api_view
from mobile_api.api_errors import ValidationError
from mobile_api.i18n import _
from mobile_api.security import Permission

READ_BLOCK = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_DESK_EXPORT = 100_000


def _service(request: Request) -> TransferService:
    return TransferService(request.dbsession, request.identity, settings=request.registry.settings)


def _case_id(request: Request) -> int:
    return int(request.openapi_validated.parameters.path["case_id"])


def _body(request: Request) -> dict[str, Any]:
    return dict(request.openapi_validated.body or {})


def _time(body: dict[str, Any], field: str) -> dt.datetime | None:
    value = body.get(field)
    if value is None:
        return None
    return parse_time(value, field, TransferValidationError)


def transfer_response(
    request: Request, service: TransferService, transfer: Transfer, status: int = 200
) -> dict[str, Any]:
    request.dbsession.flush()
    document = service.document(transfer)
    request.response.status_int = status
    request.response.etag = str(transfer.version)
    request.response.cache_control = "no-cache"
    return document


# ---------------------------------------------------------------------- report and decision


@api_view(route_name="api.case.transfer", request_method="GET", permission=Permission.AUTHENTICATED)
def transfer_detail(request: Request) -> dict[str, Any]:
    """The liaison, admins and the supervisors of the case's department read it."""
    service = _service(request)
    return transfer_response(request, service, service.get(_case_id(request)))


@api_view(route_name="api.case.transfer", request_method="PUT", permission=Permission.DECIDE_CASES)
def transfer_report(request: Request) -> dict[str, Any]:
    """The case group's report: 201 when it creates the transfer, 200 when it revises it."""
    service = _service(request)
    transfer, created = service.report(_case_id(request), _body(request))
    if created:
        request.response.location = request.route_url("api.case.transfer", case_id=transfer.case_id)
    return transfer_response(request, service, transfer, 201 if created else 200)


@api_view(
    route_name="api.case.transfer.decision",
    request_method="POST",
    permission=Permission.DECIDE_CASES,
)
def transfer_decide(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.decide(_case_id(request), body["decision"], body.get("reason"))
    return transfer_response(request, service, transfer)


# ---------------------------------------------------------------------- the liaison's steps


@api_view(
    route_name="api.case.transfer.sent",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_sent(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.send(
        _case_id(request),
        police_office=body.get("police_office"),
        procuratorate=body.get("procuratorate"),
        at=_time(body, "at"),
        procuratorate_copy_at=_time(body, "procuratorate_copy_at"),
    )
    return transfer_response(request, service, transfer)


@api_view(
    route_name="api.case.transfer.receipt",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_received(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.receive(_case_id(request), at=_time(body, "at"), note=body.get("note"))
    return transfer_response(request, service, transfer)


@api_view(
    route_name="api.case.transfer.police_decision",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_police_decision(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.police_decision(
        _case_id(request),
        body["decision"],
        reasons=body.get("reasons"),
        police_case_no=body.get("police_case_no"),
        at=_time(body, "at"),
    )
    return transfer_response(request, service, transfer)


@api_view(
    route_name="api.case.transfer.reconsideration",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_reconsideration(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.request_reconsideration(
        _case_id(request), reason=body["reason"], at=_time(body, "at")
    )
    return transfer_response(request, service, transfer)


@api_view(
    route_name="api.case.transfer.reconsideration_outcome",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_reconsideration_outcome(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.reconsideration_outcome(
        _case_id(request), body["outcome"], note=body.get("note"), at=_time(body, "at")
    )
    return transfer_response(request, service, transfer)


@api_view(
    route_name="api.case.transfer.supervision",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_supervision(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.request_supervision(
        _case_id(request), reason=body["reason"], at=_time(body, "at")
    )
    return transfer_response(request, service, transfer)


@api_view(
    route_name="api.case.transfer.supervision_outcome",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_supervision_outcome(request: Request) -> dict[str, Any]:
    body = _body(request)
    service = _service(request)
    transfer = service.supervision_outcome(
        _case_id(request), body["outcome"], note=body.get("note"), at=_time(body, "at")
    )
    return transfer_response(request, service, transfer)


@api_view(
    route_name="api.case.transfer.closure",
    request_method="POST",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_close(request: Request) -> dict[str, Any]:
    service = _service(request)
    transfer = service.close(_case_id(request), reason=_body(request)["reason"])
    return transfer_response(request, service, transfer)


# ---------------------------------------------------------------------- the package


def _path_case_id(request: Request) -> int:
    """The case id of a route outside the OpenAPI validation (same limits as the document)."""
    raw = request.matchdict["case_id"]
    if not raw.isdigit() or not 1 <= int(raw) <= 2147483647:
        raise ValidationError({"case_id": _("must be a whole number from 1 to 2147483647")})
    return int(raw)


@view_config(
    route_name="api.case.transfer.package",
    request_method="GET",
    permission=Permission.TRACK_TRANSFERS,
    openapi=False,
)
def transfer_package(request: Request) -> Response:
    """The package (ZIP), built now; the export is recorded (manifest hash, audit log)."""
    settings = request.registry.settings
    service = _service(request)
    folder = var_dir(settings) / "transfer-packages"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.zip"
    case_id = _path_case_id(request)
    try:
        result = service.export(case_id, path, evidence_store(settings))
        handle = path.open("rb")
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # an open handle keeps the bytes until the response is sent
    case_no = service.case(case_id).case_no
    response = Response(content_type="application/zip")
    response.etag = result.manifest_sha256
    response.headers["X-Manifest-SHA256"] = result.manifest_sha256
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    name = quote(f"移送材料-{case_no}.zip")
    response.content_disposition = f"attachment; filename*=UTF-8''{name}"
    response.content_length = result.size
    response.app_iter = FileIter(handle, READ_BLOCK)  # closed by the WSGI server
    return response


# ---------------------------------------------------------------------- the liaison desk


@api_view(route_name="api.transfers", request_method="GET", permission=Permission.TRACK_TRANSFERS)
def transfers_desk(request: Request) -> dict[str, Any]:
    query = request.openapi_validated.parameters.query
    limit = int(query.get("limit", 100))
    rows = _service(request).desk(
        status=query.get("status"),
        overdue=bool(query.get("overdue", False)),
        after=int(query.get("after", 0)),
        limit=limit,
    )
    request.response.cache_control = "no-store"
    return {
        "transfers": rows,
        "next_after": rows[-1]["transfer_id"] if len(rows) == limit else None,
    }


def _locale(request: Request) -> str:
    return "en" if str(request.localizer.locale_name).startswith("en") else "zh_CN"


@view_config(
    route_name="api.transfers.export",
    request_method="GET",
    permission=Permission.TRACK_TRANSFERS,
    openapi=False,
)
def transfers_export(request: Request) -> Response:
    """The desk as CSV (UTF-8 with BOM) or XLSX, with labels in the user's language."""
    params = request.GET
    fields: dict[str, Any] = {}
    fmt = params.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        fields["format"] = _("must be csv or xlsx")
    status = params.get("status") or None
    if status is not None and status not in {s.value for s in TransferStatus}:
        fields["status"] = _("is not a status of a transfer")
    overdue = params.get("overdue", "false").lower()
    if overdue not in ("true", "false"):
        fields["overdue"] = _("must be true or false")
    if fields:
        raise ValidationError(fields)
    rows = _service(request).desk(status=status, overdue=overdue == "true", limit=MAX_DESK_EXPORT)
    locale = _locale(request)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    if fmt == "csv":
        response = Response(body=desk_csv(rows, locale), content_type="text/csv", charset="utf-8")
    else:
        response = Response(body=desk_xlsx(rows, locale), content_type=XLSX)
    response.cache_control = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    name = quote(f"移送案件-{stamp}.{fmt}")
    response.content_disposition = f"attachment; filename*=UTF-8''{name}"
    return response


__all__ = ["transfer_response"]
