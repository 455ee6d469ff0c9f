"""Who is signed in (session) and what each role may do (one table, applied as an ACL); the
per-address limit on failed sign-ins as configured."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from pyramid.authentication import SessionAuthenticationHelper
from pyramid.authorization import ALL_PERMISSIONS, ACLHelper, Allow, Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.events import NewResponse
from pyramid.i18n import TranslationString
from pyramid.request import Request, RequestLocalCache
from pyramid.security import Allowed, Denied

from enforcement.models import Role, User
from enforcement.services import signin_limits
from enforcement.services.signin_limits import (
    DEFAULT_MAX_FAILURES,
    DEFAULT_WINDOW,
    SigninLimit,
)
from enforcement.services.tokens import TokenService
from enforcement.settings import SettingsError
from mobile_api.i18n import _

log = logging.getLogger(__name__)


class Permission(enum.StrEnum):
    VIEW_DIRECTORY = "directory.view"  # the enterprise directory (名录库)
    GOVERN_PLANS = "plans.govern"  # sampling plans and draws; department scope in services
    AUTHENTICATED = "authenticated"  # any signed-in account (its own profile, its tokens)
    RECORD_INSPECTIONS = "inspections.record"  # on-site work on one's own tasks (tablet)
    VIEW_CASES = "cases.view"  # penalty cases of one's department (read)
    HANDLE_CASES = "cases.handle"  # file and investigate cases, coercive measures
    DECIDE_CASES = "cases.decide"  # legal review, decisions, withdrawal, extensions (负责人)
    WATCH_CLOCKS = "clocks.watch"  # statutory clocks and their alerts, one's department
    VIEW_RECTIFICATIONS = "rectifications.view"  # orders: own enterprise's, or department's
    REPORT_RECTIFICATION = "rectifications.report"  # report an order rectified
    OVERSEE_PUBLICATION = "publication.oversee"  # appeals, what awaits publication (一公开)
    EXPORT_JOINT_LIST = "joint_list.export"  # the joint rewards-and-punishments list (联合奖惩)
    VIEW_AUDIT = "audit.view"  # an entity's audit trail (全过程记录); department scope in services
    TRACK_TRANSFERS = "transfers.track"  # the liaison desk: send, track, export packages
    USE_PORTAL = "portal.use"  # the enterprise portal: its own credit, orders, commitments
    VIEW_COMMITMENTS = "commitments.view"  # every enterprise's commitments (告知承诺)
    REVIEW_COMMITMENTS = "commitments.review"  # accept, reject, verify; department in services
    USE_CONSOLE = "console.use"  # the supervisor console: imports, jobs, case desk, feed


#: What each role may do. Admin may do everything.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SUPERVISOR: frozenset(
        {
            Permission.VIEW_DIRECTORY,
            Permission.GOVERN_PLANS,
            Permission.VIEW_CASES,
            Permission.HANDLE_CASES,
            Permission.DECIDE_CASES,
            Permission.WATCH_CLOCKS,
            Permission.VIEW_RECTIFICATIONS,
            Permission.OVERSEE_PUBLICATION,
            Permission.EXPORT_JOINT_LIST,
            Permission.VIEW_AUDIT,
            Permission.VIEW_COMMITMENTS,
            Permission.REVIEW_COMMITMENTS,
            Permission.USE_CONSOLE,
        }
    ),
    Role.INSPECTOR: frozenset(
        {
            Permission.VIEW_DIRECTORY,
            Permission.RECORD_INSPECTIONS,
            Permission.VIEW_CASES,
            Permission.HANDLE_CASES,
            Permission.VIEW_RECTIFICATIONS,
            Permission.REPORT_RECTIFICATION,
        }
    ),
    Role.LIAISON: frozenset(
        {Permission.VIEW_CASES, Permission.WATCH_CLOCKS, Permission.TRACK_TRANSFERS}
    ),
    Role.ENTERPRISE: frozenset(
        {
            Permission.VIEW_RECTIFICATIONS,
            Permission.REPORT_RECTIFICATION,
            Permission.USE_PORTAL,
        }
    ),
}


def role_principal(role: Role | str) -> str:
    return f"role:{Role(role).value}"


class Root:
    """The root resource; its ACL is ``ROLE_PERMISSIONS`` spelt in Pyramid's terms."""

    __acl__: list[tuple[Any, ...]] = [
        (Allow, role_principal(Role.ADMIN), ALL_PERMISSIONS),
        (Allow, Authenticated, Permission.AUTHENTICATED),
    ] + [
        (Allow, role_principal(role), sorted(permissions))
        for role, permissions in ROLE_PERMISSIONS.items()
        if permissions
    ]

    def __init__(self, request: Request) -> None:
        self.request = request


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: A sign-in lasts at most this long however active the session (``suijian.session_max_age``,
#: seconds): idle expiry alone would let a busy session, or a copied cookie, live forever.
DEFAULT_SESSION_MAX_AGE = 12 * 3600
SIGNED_IN_AT = "signed_in_at"
#: The account's ``users.session_epoch`` when the session signed in: once the account's value
#: moves on (sign-out, a new password, deactivation) the session is anonymous.
SESSION_EPOCH = "session_epoch"
SIGNIN_LIMIT_KEY = "suijian.signin_limit"


def session_max_age(request: Request) -> int:
    value = request.registry.settings.get("suijian.session_max_age")
    return int(value) if value else DEFAULT_SESSION_MAX_AGE


def bearer_secret(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


class SecurityPolicy:
    """Pyramid 2 security policy: a bearer token (API clients) or the session (pages) names
    the user; the database holds the rest.

    A state-changing API request must carry a token: the session cookie is not accepted
    there, so no other site can make a signed-in browser change data through the API (CSRF).
    A request with an invalid token is anonymous, whatever its cookie says.
    """

    def __init__(self) -> None:
        self.helper = SessionAuthenticationHelper()
        self.acl = ACLHelper()
        self.identity_cache = RequestLocalCache(self._load_identity)

    def _load_identity(self, request: Request) -> User | None:
        secret = bearer_secret(request)
        if secret is not None:
            token = TokenService(request.dbsession).authenticate(secret)
            request.api_token = token
            return None if token is None else token.user
        if request.path_info.startswith("/api/") and request.method not in SAFE_METHODS:
            return None
        userid = self.helper.authenticated_userid(request)
        if userid is None:
            return None
        signed_in_at = request.session.get(SIGNED_IN_AT)
        if not isinstance(signed_in_at, int) or time.time() - signed_in_at > session_max_age(
            request
        ):
            request.session.invalidate()  # too old (or from before the limit): sign in again
            return None
        user = request.dbsession.get(User, userid)
        if user is None or not user.active:
            return None
        if request.session.get(SESSION_EPOCH) != user.session_epoch:
            request.session.invalidate()  # signed out elsewhere (or a copy of an ended session)
            return None
        return user

    def identity(self, request: Request) -> User | None:
        return self.identity_cache.get_or_create(request)

    def authenticated_userid(self, request: Request) -> int | None:
        user = self.identity(request)
        return None if user is None else user.id

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        principals = [Everyone]
        user = self.identity(request)
        if user is not None:
            principals += [Authenticated, f"user:{user.id}", role_principal(user.role)]
        return self.acl.permits(context, principals, permission)

    def remember(self, request: Request, userid: Any, **kw: Any) -> list[tuple[str, str]]:
        self.identity_cache.clear(request)
        request.session[SIGNED_IN_AT] = int(time.time())
        user = request.dbsession.get(User, userid)
        request.session[SESSION_EPOCH] = None if user is None else user.session_epoch
        return self.helper.remember(request, userid, **kw)

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        self.identity_cache.clear(request)
        return self.helper.forget(request, **kw)


def keep_session(request: Request, user: User) -> None:
    """Keep this request's session signed in after ``user``'s sessions were ended (a password
    change ends the others, not the one that made it)."""
    request.session[SESSION_EPOCH] = user.session_epoch


def client_address(request: Request) -> str | None:
    """The address failed sign-ins are counted under: the peer of the connection
    (``REMOTE_ADDR``). Not ``client_addr``, which believes any ``X-Forwarded-For`` a client
    sends; behind a reverse proxy, waitress's ``trusted_proxy`` settings put the real client
    in ``REMOTE_ADDR`` (see production.ini)."""
    return request.remote_addr


def _positive_int(settings: Mapping[str, Any], key: str, default: int) -> int:
    value = settings.get(key)
    if value is None or str(value).strip() == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SettingsError(f"{key}: {value!r} is not a whole number") from None
    if number < 1:
        raise SettingsError(f"{key}: must be at least 1, not {number}")
    return number


def signin_limit_from_settings(settings: Mapping[str, Any]) -> SigninLimit:
    """``suijian.signin.max_failures_per_address`` failed sign-ins per client address within
    ``suijian.signin.address_window_seconds`` (defaults: 20 in 15 minutes)."""
    return SigninLimit(
        max_failures=_positive_int(
            settings, "suijian.signin.max_failures_per_address", DEFAULT_MAX_FAILURES
        ),
        window=dt.timedelta(
            seconds=_positive_int(
                settings,
                "suijian.signin.address_window_seconds",
                int(DEFAULT_WINDOW.total_seconds()),
            )
        ),
    )


def signin_limit(request: Request) -> SigninLimit:
    return request.registry[SIGNIN_LIMIT_KEY]


def signin_refusal(request: Request) -> tuple[int, TranslationString] | None:
    """When the client's address has too many recent failed sign-ins: the seconds until it
    may try again and the message saying so (logged here). None when it may try now.

    Shared by the login page and the API's token endpoint; checked before any password."""
    address = client_address(request)
    seconds = signin_limits.retry_after(request.dbsession, address, signin_limit(request))
    if seconds is None:
        return None
    log.warning(
        "sign-in refused on %s: address %s is over the failed sign-in limit for %d s",
        request.path,
        address,
        seconds,
    )
    message = _(
        "Too many failed sign-ins from your network address. Try again in ${minutes} minutes.",
        mapping={"minutes": math.ceil(seconds / 60)},
    )
    return seconds, message


def record_signin_failure(request: Request) -> None:
    """Count a refused sign-in against the client's address (committed with the request,
    which answers without raising)."""
    signin_limits.record_failure(request.dbsession, client_address(request), signin_limit(request))


#: The default Content-Security-Policy of pages: our own scripts only (no inline script runs),
#: inline style attributes (the map's swatches), no plugins, no framing, forms post to us.
PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: API answers are data, never a document to render or frame.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def add_security_headers(event: NewResponse) -> None:
    """Headers every response carries; a view that sets its own policy (the tablet shell,
    the API docs, the credential page) keeps it."""
    request, headers = event.request, event.response.headers
    api = request.path_info.startswith("/api/")
    headers.setdefault("Content-Security-Policy", API_CSP if api else PAGE_CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.scheme == "https":  # over plain HTTP the header would be ignored anyway
        headers.setdefault("Strict-Transport-Security", HSTS)


def includeme(config: Configurator) -> None:
    config.registry[SIGNIN_LIMIT_KEY] = signin_limit_from_settings(config.get_settings())
    config.add_subscriber(add_security_headers, NewResponse)
    config.add_request_method(lambda request: None, "api_token", reify=True)
    config.set_root_factory(Root)
    config.set_security_policy(SecurityPolicy())
