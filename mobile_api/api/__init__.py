"""The versioned JSON API under ``/api/v1``, described and validated by ``openapi.yaml``."""

from __future__ import annotations

from typing import Any

from pyramid.view import view_config


class api_view(view_config):  # noqa: N801 - a decorator, named like view_config
    """``view_config`` for the API: JSON renderer, OpenAPI validation of the request and the
    response, and no CSRF token (state-changing API requests authenticate with a bearer
    token, never the session cookie; see ``mobile_api.security``)."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("renderer", "json")
        settings.setdefault("openapi", True)
        settings.setdefault("require_csrf", False)
        super().__init__(**settings)
