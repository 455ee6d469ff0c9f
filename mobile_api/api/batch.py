"""``POST /api/v1/batch``: an offline tablet's queue, up to 500 operations in one request.

Each operation runs as a subrequest through the same views, validation and permissions as
a direct call, inside a savepoint of the request's transaction: an operation that fails
is rolled back alone and reports its own status, the others stand. Operations are applied
in dependency order (check-ins, then evidence, then findings, answers and signatures, then
results) whatever order the queue sent them in; among equals, the order sent is kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pyramid.request import Request

from mobile_api.api import api_view
from mobile_api.security import Permission

#: (method, path pattern, rank): lower ranks run first.
_RANKS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("PUT", re.compile(r"^/api/v1/inspections/[^/]+$"), 0),
    ("PUT", re.compile(r"^/api/v1/inspections/[^/]+/evidence/[^/]+$"), 1),
    ("PUT", re.compile(r"^/api/v1/inspections/[^/]+/result$"), 3),
)
_DEFAULT_RANK = 2
#: Headers of the batch request that each operation inherits.
_INHERITED_HEADERS = ("Authorization", "Accept-Language", "Cookie", "User-Agent")


def rank(operation: dict[str, Any]) -> int:
    path = operation["path"].split("?", 1)[0]
    for method, pattern, value in _RANKS:
        if operation["method"] == method and pattern.match(path):
            return value
    return _DEFAULT_RANK


def _run(request: Request, operation: dict[str, Any]) -> dict[str, Any]:
    if operation["path"].split("?", 1)[0] == "/api/v1/batch":
        return {"id": operation["id"], "status": 422, "body": _refusal("no batches in batches")}
    headers = {
        name: request.headers[name] for name in _INHERITED_HEADERS if name in request.headers
    }
    body = None
    if "body" in operation:
        body = json.dumps(operation["body"], ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    if operation.get("if_match"):
        headers["If-Match"] = operation["if_match"]
    try:
        sub = Request.blank(
            operation["path"],
            base_url=request.application_url,
            method=operation["method"],
            headers=headers,
        )
    except UnicodeError:
        reason = "must be ASCII: percent-encode other characters"
        return {"id": operation["id"], "status": 422, "body": _refusal(reason)}
    if body is not None:
        sub.body = body
    sub.dbsession = request.dbsession  # one transaction: the batch's
    savepoint = request.dbsession.begin_nested()
    try:
        response = request.invoke_subrequest(sub, use_tweens=False)
        request.dbsession.flush()
    except Exception:
        # Without tweens nothing turned the error into its envelope: the same exception
        # views as a direct call do it here.
        savepoint.rollback()
        response = sub.invoke_exception_view(reraise=True)
    if savepoint.is_active:
        if response.status_int >= 400:
            savepoint.rollback()
        else:
            savepoint.commit()
    parsed: Any = None
    if response.body and response.content_type == "application/json":
        parsed = json.loads(response.body)
    return {"id": operation["id"], "status": response.status_int, "body": parsed}


def _refusal(reason: str) -> dict[str, Any]:
    return {"error": {"code": "validation_failed", "message": reason, "fields": {"path": reason}}}


@api_view(route_name="api.batch", request_method="POST", permission=Permission.AUTHENTICATED)
def batch(request: Request) -> dict[str, Any]:
    operations = request.openapi_validated.body["operations"]
    order = sorted(range(len(operations)), key=lambda i: (rank(operations[i]), i))
    results: list[dict[str, Any] | None] = [None] * len(operations)
    for i in order:
        results[i] = _run(request, operations[i])
    return {"results": results}
