"""Signed-cookie sessions (no server-side state) and CSRF protection for every form."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.session import SignedCookieSessionFactory

from enforcement.settings import SettingsError, as_bool

COOKIE_NAME = "suijian_session"
DEFAULT_TIMEOUT = 2 * 3600  # seconds of inactivity before a sign-in expires


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    secret = str(settings.get("suijian.secret_key") or "").strip()
    if not secret:
        raise SettingsError("suijian.secret_key is not set (set $SECRET_KEY)")
    timeout = int(settings.get("suijian.session_timeout") or DEFAULT_TIMEOUT)
    factory = SignedCookieSessionFactory(
        secret,
        salt="suijian.session.",
        cookie_name=COOKIE_NAME,
        # Behind TLS set suijian.secure_cookies = true so the cookie never travels in clear.
        secure=as_bool(settings.get("suijian.secure_cookies", False)),
        httponly=True,
        samesite="Lax",
        timeout=timeout,
        reissue_time=max(timeout // 10, 1),
    )
    config.set_session_factory(factory)
    # Every unsafe method (POST, PUT...) must carry the session's token (form field
    # ``csrf_token`` or header ``X-CSRF-Token``); views opt out only by saying so.
    config.set_default_csrf_options(require_csrf=True)
