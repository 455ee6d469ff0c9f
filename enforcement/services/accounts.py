"""Signing in with a username and password, with a lock after repeated failures; creating
accounts and changing passwords under the password policy; ending an account's sessions.

(The per-address limit on failed sign-ins is ``enforcement.services.signin_limits``.)"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import security
from enforcement.models import Role, User, utcnow
from enforcement.reasons import Reason, reason
from enforcement.services import audit

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)

MIN_PASSWORD_LENGTH = 12
# argon2 hashes any length; a megabyte "password" would only be a way to make it work hard.
MAX_PASSWORD_LENGTH = 128
#: Passwords that top every leaked-password list (compared case-insensitively, and also with
#: trailing digits and punctuation removed, so "Password2024!" counts as "password").
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssw0rd",
        "qwerty",
        "qwertyuiop",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "asdfghjkl",
        "iloveyou",
        "woaini",
        "woaini1314",
        "admin",
        "administrator",
        "welcome",
        "letmein",
        "changeme",
        "abc",
        "abcdef",
        "abc123456789",
        "a123456789",
        "aa123456789",
        "123456789012",
        "1234567890ab",
        "suijian",
        "zhangsan",
    }
)


class AuthenticationError(Exception):
    """A refused sign-in. Show every subclass to the person signing in as the same message."""


# The names read as outcomes, as in the service's contract; hence no Error suffix.
class InvalidCredentialsError(AuthenticationError):
    """Unknown username, wrong password or inactive account (deliberately indistinguishable)."""

    def __init__(self) -> None:
        super().__init__("invalid username or password")


class AccountLockedError(AuthenticationError):
    """Too many consecutive failures: no password is accepted before ``until`` (UTC)."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(f"account locked until {until.isoformat()}")
        self.until = until


class AccountValidationError(ValueError):
    """Refused account data: ``errors`` maps each field to the reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def _sequential(text: str) -> bool:
    """One character repeated, or a run up or down the character table ("123456...")."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def password_problem(password: object, *, username: str = "") -> Reason | None:
    """Why ``password`` may not be used (None when it may): too short or long, a well-known
    password, one repeated or consecutive character run, or the username itself."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return reason("must be at least ${n} characters", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return reason("must be at most ${n} characters", n=MAX_PASSWORD_LENGTH)
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!@#$%^&*.?_-+= ")
    if lowered in COMMON_PASSWORDS or stem in COMMON_PASSWORDS:
        return reason("is one of the most common passwords; choose another")
    if _sequential(lowered):
        return reason("is a repeated or consecutive run of characters; choose another")
    name = username.strip().lower()
    if name and (name in lowered or stem == name):
        return reason("must not contain the username")
    return None


class AccountService:
    """Password authentication against ``users.password_hash`` (argon2id).

    The caller owns the transaction and must commit even when ``authenticate`` raises:
    the failure count and the lock are written to the session before the exception.
    """

    def __init__(self, session: Session, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.session = session
        self.clock = clock

    def authenticate(self, username: str, password: str) -> User:
        """The user when the password is right and the account usable.

        Raises ``InvalidCredentialsError`` or ``AccountLockedError``. Every refusal costs one hash
        verification, so timing does not tell whether the username exists or is locked.
        The ``MAX_FAILED_LOGINS``-th consecutive failure locks the account for ``LOCKOUT``
        (and raises ``AccountLockedError``); a success clears the count and upgrades an outdated
        hash.
        """
        now = self.clock()
        # FOR UPDATE (PostgreSQL) serialises concurrent attempts on one account so none is lost.
        user = self.session.scalar(select(User).where(User.username == username).with_for_update())
        if user is None or not user.active:
            security.dummy_verify(password)
            raise InvalidCredentialsError()
        if user.locked_until is not None and user.locked_until > now:
            security.dummy_verify(password)
            raise AccountLockedError(user.locked_until)
        result = security.verify_password(user.password_hash, password)
        if not result.ok:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
                raise AccountLockedError(user.locked_until)
            raise InvalidCredentialsError()
        user.failed_logins = 0
        user.locked_until = None
        if result.new_hash:
            user.password_hash = result.new_hash
        return user

    # --- accounts and passwords ------------------------------------------------------------

    def create_user(
        self,
        *,
        username: str,
        display_name: str,
        role: Role | str,
        password: str,
        actor: User | None = None,
        **scope: int | None,
    ) -> User:
        """A new account; ``scope`` is ``department_id``, ``enterprise_id`` or
        ``inspector_id``. Raises ``AccountValidationError`` naming each refused field."""
        errors: dict[str, str] = {}
        username = (username or "").strip()
        if not 1 <= len(username) <= 64:
            errors["username"] = reason("must be 1 to ${n} characters", n=64)
        elif self.session.scalar(select(User.id).where(User.username == username)) is not None:
            errors["username"] = reason("is taken")
        display_name = (display_name or "").strip()
        if not 1 <= len(display_name) <= 100:
            errors["display_name"] = reason("must be 1 to ${n} characters", n=100)
        try:
            role = Role(role)
        except ValueError:
            errors["role"] = reason(
                "must be one of ${choices}", choices=", ".join(r.value for r in Role)
            )
        problem = password_problem(password, username=username)
        if problem is not None:
            errors["password"] = problem
        unknown = set(scope) - {"department_id", "enterprise_id", "inspector_id"}
        if unknown:
            raise TypeError(f"unknown scope fields: {sorted(unknown)}")
        if errors:
            raise AccountValidationError(errors)
        user = User(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=security.hash_password(password),
            **scope,
        )
        self.session.add(user)
        self.session.flush()
        audit.record(self.session, actor, "account.create", user, {"role": role.value})
        return user

    def change_password(self, user: User, current_password: str, new_password: str) -> None:
        """The account holder's change: the current password must be right (a failure counts
        towards the lock, as a sign-in would) and the new one must pass the policy."""
        if user.locked_until is not None and user.locked_until > self.clock():
            security.dummy_verify(current_password)
            raise AccountLockedError(user.locked_until)
        result = security.verify_password(user.password_hash, current_password)
        if not result.ok:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = self.clock() + LOCKOUT
                user.failed_logins = 0
            raise AccountValidationError({"current_password": reason("is not right")})
        self.set_password(user, new_password, actor=user)

    def set_password(self, user: User, new_password: str, *, actor: User | None = None) -> None:
        """A new password (an administrator's reset, or ``change_password``), under the
        policy; the failure count and any lock are cleared."""
        problem = password_problem(new_password, username=user.username)
        if problem is not None:
            raise AccountValidationError({"password": problem})
        if security.verify_password(user.password_hash, new_password).ok:
            raise AccountValidationError({"password": reason("must differ from the current one")})
        user.password_hash = security.hash_password(new_password)
        user.failed_logins = 0
        user.locked_until = None
        self.end_sessions(user)  # whoever knew the old password may be signed in
        audit.record(self.session, actor, "account.password", user, {})

    def end_sessions(self, user: User) -> None:
        """Sign out every session of ``user`` (sign-out, a new password, deactivation): the
        generation their cookies carry no longer matches. API tokens are not affected."""
        # Incremented in SQL, so concurrent ends cannot lose one another's step.
        user.session_epoch = User.session_epoch + 1
        self.session.flush()

    def set_active(self, user: User, active: bool, *, actor: User | None = None) -> bool:
        """Let ``user`` sign in (``active``) or stop them; deactivation also ends their
        sessions, so reactivating later does not revive them. Returns False (and records
        nothing) when the account already is so."""
        if user.active == active:
            return False
        user.active = active
        if not active:
            self.end_sessions(user)
        audit.record(self.session, actor, f"account.{'activate' if active else 'deactivate'}", user)
        return True
