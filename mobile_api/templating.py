"""Jinja2 templates (pyramid_jinja2): search path, filters and globals used by every page."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pyramid.config import Configurator
from pyramid.request import Request

from mobile_api.i18n import LOCALE_PARAM, LOCALES, localize_output
from mobile_api.security import Root

# People read times in Beijing time; storage is UTC.
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def thousands(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def can(request: Request, permission: str) -> bool:
    """Whether the signed-in user has ``permission`` (against the root, also on error pages)."""
    return bool(request.has_permission(permission, Root(request)))


def locale_url(request: Request, locale: str) -> str:
    """The language switch: remembers the choice, then comes back to this page."""
    query = [(k, v) for k, v in request.GET.items() if k != LOCALE_PARAM]
    here = request.path + (("?" + urlencode(query)) if query else "")
    return request.route_path("set_locale", locale=locale, _query={"next": here})


def includeme(config: Configurator) -> None:
    config.add_jinja2_search_path("mobile_api:templates", name=".jinja2")

    def register() -> None:
        env = config.get_jinja2_environment()
        env.finalize = localize_output  # reasons and _() strings print translated
        env.filters["local_time"] = local_time
        env.filters["thousands"] = thousands
        env.globals.update(LOCALES=LOCALES, can=can, locale_url=locale_url)

    # After pyramid_jinja2 has created the environment (its actions run first).
    config.action(None, register, order=999)
