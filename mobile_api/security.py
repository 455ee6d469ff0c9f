"""Who is signed in (session) and what each role may do (one table, applied as an ACL)."""

from __future__ import annotations

import enum
from typing import Any

from pyramid.authentication import SessionAuthenticationHelper
from pyramid.authorization import ALL_PERMISSIONS, ACLHelper, Allow, Authenticated, Everyone
from pyramid.config import Configurator
from pyramid.request import Request, RequestLocalCache
from pyramid.security import Allowed, Denied

from enforcement.models import Role, User


class Permission(enum.StrEnum):
    VIEW_DIRECTORY = "directory.view"  # the enterprise directory (名录库)


#: What each role may do. Admin may do everything.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SUPERVISOR: frozenset({Permission.VIEW_DIRECTORY}),
    Role.INSPECTOR: frozenset({Permission.VIEW_DIRECTORY}),
    Role.LIAISON: frozenset(),
    Role.ENTERPRISE: frozenset(),
}


def role_principal(role: Role | str) -> str:
    return f"role:{Role(role).value}"


class Root:
    """The root resource; its ACL is ``ROLE_PERMISSIONS`` spelt in Pyramid's terms."""

    __acl__: list[tuple[Any, ...]] = [(Allow, role_principal(Role.ADMIN), ALL_PERMISSIONS)] + [
        (Allow, role_principal(role), sorted(permissions))
        for role, permissions in ROLE_PERMISSIONS.items()
        if permissions
    ]

    def __init__(self, request: Request) -> None:
        self.request = request


class SecurityPolicy:
    """Pyramid 2 security policy: the session holds the user id, the database the rest."""

    def __init__(self) -> None:
        self.helper = SessionAuthenticationHelper()
        self.acl = ACLHelper()
        self.identity_cache = RequestLocalCache(self._load_identity)

    def _load_identity(self, request: Request) -> User | None:
        userid = self.helper.authenticated_userid(request)
        if userid is None:
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
        return self.helper.remember(request, userid, **kw)

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        self.identity_cache.clear(request)
        return self.helper.forget(request, **kw)


def includeme(config: Configurator) -> None:
    config.set_root_factory(Root)
    config.set_security_policy(SecurityPolicy())
