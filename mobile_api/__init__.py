"""Suijian's web application (Pyramid): server-rendered pages and the JSON API under /api/v1.

``main`` is the one place that assembles the application from settings; each module's
``includeme`` says what it provides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router

from enforcement.settings import SettingsError, apply_env_overrides
from mobile_api.i18n import LOCALES, normalise_locale

#: Settings the application relies on, unless the ini file says otherwise.
DEFAULT_SETTINGS: dict[str, Any] = {
    # One explicit transaction per request, joined by the SQLAlchemy session (zope.sqlalchemy).
    "tm.manager_hook": "pyramid_tm.explicit_manager",
    "tm.annotate_user": "false",
    "pyramid.default_locale_name": "zh_CN",
    "jinja2.i18n.domain": "suijian",
    "jinja2.i18n.gettext": "mobile_api.i18n.GetText",
    "jinja2.trim_blocks": "true",
    "jinja2.lstrip_blocks": "true",
}


def main(global_config: dict[str, Any] | None, **settings: Any) -> Router:
    """The WSGI application (``paste.app_factory``): ini settings plus environment overrides."""
    return configure(settings).make_wsgi_app()


def configure(settings: Mapping[str, Any]) -> Configurator:
    """The configured (not yet committed) application; ``main`` makes the WSGI app from it."""
    settings = apply_env_overrides(settings)
    for key, value in DEFAULT_SETTINGS.items():
        settings.setdefault(key, value)
    if settings.get("suijian.default_locale"):
        chosen = normalise_locale(settings["suijian.default_locale"])
        if chosen is None:
            raise SettingsError(
                f"suijian.default_locale: {settings['suijian.default_locale']!r} is not one of "
                f"{', '.join(LOCALES)}"
            )
        settings["pyramid.default_locale_name"] = chosen
    settings.setdefault("retry.attempts", 3)  # pyramid_retry: conflicts are retried
    config = Configurator(settings=settings)
    config.include(includeme)
    return config


def includeme(config: Configurator) -> None:
    config.include("pyramid_retry")
    config.include("pyramid_tm")
    config.include("pyramid_jinja2")
    config.include(".db")
    config.include(".i18n")
    config.include(".sessions")
    config.include(".security")
    config.include(".queue")
    config.include(".templating")
    config.include(".routes")
    config.include(".openapi")
    config.include(".api_errors")
    config.add_static_view("static", "mobile_api:static", cache_max_age=3600)
    config.scan(".views")
    config.scan(".api")
