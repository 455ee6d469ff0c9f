"""Every URL of the application, in one list."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    # Pages
    config.add_route("home", "/")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("set_locale", "/lang/{locale}")
    config.add_route("directory.enterprises", "/directory/enterprises")
    config.add_route("healthz", "/healthz")
    # JSON API (described in openapi.yaml; the document itself: mobile_api.openapi)
    config.add_route("api.health", "/api/v1/health")
    config.add_route("api.tokens", "/api/v1/tokens")
    config.add_route("api.tokens.current", "/api/v1/tokens/current")
    config.add_route("api.me", "/api/v1/me")
    config.add_route("api.plans", "/api/v1/plans")
    config.add_route("api.plan", "/api/v1/plans/{code}")
    config.add_route("api.plan.approval", "/api/v1/plans/{code}/approval")
    config.add_route("api.plan.seed_commitment", "/api/v1/plans/{code}/seed-commitment")
    config.add_route("api.plan.draw", "/api/v1/plans/{code}/draw")
    config.add_route("api.plan.tasks", "/api/v1/plans/{code}/tasks")
    config.add_route("api.plan.publication", "/api/v1/plans/{code}/publication")
    config.add_route("api.plan.redraw", "/api/v1/plans/{code}/redraw")
    config.add_route("api.plan.bundle", "/api/v1/plans/{code}/bundle")
    config.add_route("api.enterprise.credit", "/api/v1/enterprises/{enterprise_id}/credit")
    config.add_route("api.repairs", "/api/v1/credit-repairs")
    config.add_route("api.repair", "/api/v1/credit-repairs/{repair_id}")
    config.add_route("api.repair.decision", "/api/v1/credit-repairs/{repair_id}/decision")
