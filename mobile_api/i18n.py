"""Languages: Chinese (zh_CN) by default, English on request; gettext catalogues in locale/.

The locale comes from ``?_LOCALE_=`` (this request), then the ``_LOCALE_`` cookie (set by the
language switch), then the signed-in user's preference, then the ``Accept-Language`` header
(API clients), then the default.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.i18n import TranslationStringFactory
from pyramid.request import Request

DOMAIN = "suijian"
_ = TranslationStringFactory(DOMAIN)

#: Locales with a catalogue, and how each names itself in the language switch.
LOCALES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
LOCALE_PARAM = LOCALE_COOKIE = "_LOCALE_"


def normalise_locale(value: str | None) -> str | None:
    """Map browser and user spellings (zh, zh-CN, zh_Hans, en-GB...) to a supported locale."""
    if not value:
        return None
    language = value.strip().replace("-", "_").split("_")[0].lower()
    if language == "zh":
        return "zh_CN"
    if language == "en":
        return "en"
    return None


def negotiate_locale(request: Request) -> str | None:
    # The query string only: parsing a body (maybe a malformed form) must never break this.
    for candidate in (request.GET.get(LOCALE_PARAM), request.cookies.get(LOCALE_COOKIE)):
        locale = normalise_locale(candidate)
        if locale:
            return locale
    if request.authenticated_userid is not None:
        return normalise_locale(getattr(request.identity, "locale", None))
    if "Accept-Language" in request.headers:
        return normalise_locale(request.accept_language.lookup(["zh", "en"], default="zh"))
    return None  # Pyramid then uses pyramid.default_locale_name


def includeme(config: Configurator) -> None:
    config.add_translation_dirs("mobile_api:locale")
    config.set_locale_negotiator(negotiate_locale)
