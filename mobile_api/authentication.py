"""Username and password sign-in with a lock after repeated failures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import User, utcnow
from enforcement.security import dummy_verify, verify_password

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


def authenticate(
    session: Session, username: str, password: str, now: dt.datetime | None = None
) -> User | None:
    """The user when the password is right and the account usable; else None.

    Every refusal looks the same to the caller and costs one hash verification, so neither
    the message nor the timing tells whether the username exists or is locked. The fifth
    consecutive failure locks the account for ``LOCKOUT``; a success clears the count.
    """
    now = now or utcnow()
    # FOR UPDATE (PostgreSQL) serialises concurrent attempts on one account so none is lost.
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None or not user.active:
        dummy_verify(password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        dummy_verify(password)
        return None
    result = verify_password(user.password_hash, password)
    if not result.ok:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        return None
    user.failed_logins = 0
    user.locked_until = None
    if result.new_hash:
        user.password_hash = result.new_hash
    return user
