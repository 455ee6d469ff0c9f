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
    # JSON API
    config.add_route("api.health", "/api/v1/health")
