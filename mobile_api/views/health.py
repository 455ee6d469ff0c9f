"""``/healthz`` and ``/api/v1/health``: 200 when healthy, 503 otherwise (for load balancers)."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from enforcement.settings import as_bool
from mobile_api.db import engine
from mobile_api.health import DEFAULT_WORKER_TIMEOUT, health_report
from mobile_api.queue import CELERY_KEY


@view_config(route_name="healthz", renderer="json", request_method="GET")
@view_config(route_name="api.health", renderer="json", request_method="GET")
def health(request: Request) -> dict[str, Any]:
    with_worker = as_bool(request.params.get("worker", "0"))
    timeout = float(
        request.registry.settings.get("suijian.health_worker_timeout") or DEFAULT_WORKER_TIMEOUT
    )
    report = health_report(
        engine(request), request.registry[CELERY_KEY] if with_worker else None, timeout
    )
    request.response.status_int = 200 if report["status"] == "ok" else 503
    request.response.cache_control = "no-store"
    return report
