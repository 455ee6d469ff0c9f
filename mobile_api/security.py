"""Who is signed in (session) and what each role may do (one table, applied as an ACL)."""

from __future__ import annotations

import enum
import time
from typing import Any

from pyramid.authentication import SessionAuthenticationHelper
from pyramid.authorization import ALL_PERMISSIONS, ACLHelper, Allow, Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.events import NewResponse
from pyramid.request import Request, RequestLocalCache
from pyramid.security import Allowed, Denied

from enforcement.models import Role, User
from enforcement.services.tokens import TokenService


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
        return self.helper.remember(request, userid, **kw)

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        self.identity_cache.clear(request)
        return self.helper.forget(request, **kw)


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
    config.add_subscriber(add_security_headers, NewResponse)
    config.add_request_method(lambda request: None, "api_token", reify=True)
    config.set_root_factory(Root)
    config.set_security_policy(SecurityPolicy())
