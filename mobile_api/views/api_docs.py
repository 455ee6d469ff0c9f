"""``/api/v1/docs``: the API document in Swagger UI, served from this application only.

Swagger UI's files come from the npm package ``swagger-ui-dist``, copied by ``make vendor`` to
``static/vendor/swagger-ui/``; the page loads them and ``static/api-docs.js`` (no inline
script, no CDN, no call to the online validator), so it works on a network with no internet.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

# Swagger UI sets inline styles and shows data: images; everything else is this origin's.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
)


@view_config(route_name="api.docs", request_method="GET", renderer="api_docs.jinja2")
def api_docs(request: Request) -> dict[str, Any]:
    request.response.headers["Content-Security-Policy"] = CSP
    return {"spec_url": request.route_path("api.openapi.json")}
