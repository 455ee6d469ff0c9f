"""Languages: Chinese (zh_CN) by default, English on request; gettext catalogues in locale/.

The locale comes from ``?_LOCALE_=`` (this request), then the ``_LOCALE_`` cookie (set by the
language switch), then the signed-in user's preference, then the ``Accept-Language`` header
(API clients), then the default.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.i18n import TranslationString, TranslationStringFactory
from pyramid.request import Request
from pyramid.threadlocal import get_current_request
from pyramid_jinja2.i18n import GetTextWrapper

from enforcement.reasons import Reason

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


def localize(request: Request, value: Any) -> Any:
    """``value`` in the request's language when it is translatable, else as it is.

    Handles the page's own strings (``_()``) and the services' reasons
    (``enforcement.reasons.reason``), including reasons inside a reason's values.
    """
    if isinstance(value, Reason):
        mapping = {k: localize(request, v) for k, v in value.mapping.items()}
        value = TranslationString(value.msgid, domain=DOMAIN, mapping=mapping)
    if isinstance(value, TranslationString):
        return request.localizer.translate(value)
    return value


def localize_output(value: Any) -> Any:
    """Jinja's ``finalize``: whatever a template prints goes out in the reader's language."""
    if isinstance(value, (Reason, TranslationString)):
        request = get_current_request()
        if request is not None:
            return localize(request, value)
    return value


class GetText(GetTextWrapper):
    """The templates' ``_()``: also translates the services' reasons."""

    def gettext(self, message: Any, mapping: dict[str, Any] | None = None) -> str:
        if isinstance(message, Reason) and not mapping:
            return localize_output(message)
        return super().gettext(message, mapping)


def includeme(config: Configurator) -> None:
    config.add_translation_dirs("mobile_api:locale")
    config.set_locale_negotiator(negotiate_locale)
