"""The versioned JSON API under ``/api/v1``, described and validated by ``openapi.yaml``."""

from __future__ import annotations

from typing import Any

from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config

from mobile_api.api_errors import ApiError


class api_view(view_config):  # noqa: N801 - a decorator, named like view_config
    """``view_config`` for the API: JSON renderer, OpenAPI validation of the request and the
    response, and no CSRF token (state-changing API requests authenticate with a bearer
    token, never the session cookie; see ``mobile_api.security``)."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("renderer", "json")
        settings.setdefault("openapi", True)
        settings.setdefault("require_csrf", False)
        super().__init__(**settings)


def if_match_version(request: Request, not_a_version: TranslationString) -> int | None:
    """The record version an ``If-Match`` header names (``"7"``, ``W/"7"`` or ``7``); None
    without one or with ``*``. Anything else is refused with 412, ``not_a_version`` saying
    whose version was expected."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise ApiError(412, code="precondition_failed", fields={"If-Match": not_a_version})
    return int(value)
