"""``/verify/{token}``: the public page an enterprise reaches by scanning an inspector's QR code
(亮证). It shows the same verdict as ``GET /api/v1/credentials/{token}``, for people."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from enforcement.models import utcnow
from mobile_api.api.credentials import STATUS_MESSAGES, credential_service

# No script on this page; nothing but its own styles; no framing by another site.
CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " + (
    "frame-ancestors 'none'; base-uri 'none'"
)


@view_config(route_name="credential.verify", request_method="GET", renderer="verify.jinja2")
def verify_page(request: Request) -> dict[str, Any]:
    verification = credential_service(request).verify(request.matchdict["token"])
    headers = request.response.headers
    request.response.cache_control = "no-store"  # the verdict is of this moment
    headers["Content-Security-Policy"] = CSP
    headers["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
    headers["X-Robots-Tag"] = "noindex"
    return {
        "verification": verification,
        "message": STATUS_MESSAGES[verification.status],
        "checked_at": utcnow(),
    }
