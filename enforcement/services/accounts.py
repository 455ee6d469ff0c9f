"""Signing in with a username and password, with a lock after repeated failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import security
from enforcement.models import User, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


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
