"""A limit on failed sign-ins per client address, over a sliding window.

The per-account lock (``AccountService.authenticate``) stops guessing one account's password;
it does not slow down an address that tries one or two passwords on each of many usernames
(password spraying). Here every refused sign-in of an address is kept for ``window``; once an
address has ``max_failures`` of them in the window, its sign-ins are refused *before* any
password is checked (so a right password during the refusal reveals nothing) until enough of
them have aged out. A success does not clear the count: an attacker who knows one password
must not be able to reset it.

The caller owns the transaction and must commit after ``record_failure`` even though the
sign-in failed. Concurrent attempts of one address may each pass the check before the others
are recorded, so the limit can be overrun by the number of attempts in flight; it is a brake,
not an exact quota.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from enforcement.models import SigninFailure, utcnow

DEFAULT_MAX_FAILURES = 20
DEFAULT_WINDOW = dt.timedelta(minutes=15)
#: The address recorded when the server did not say (never behind a WSGI server).
UNKNOWN_ADDRESS = "unknown"
MAX_ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class SigninLimit:
    """At most ``max_failures`` failed sign-ins per address within ``window``."""

    max_failures: int = DEFAULT_MAX_FAILURES
    window: dt.timedelta = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.window <= dt.timedelta(0):
            raise ValueError("window must be positive")


def normalise_address(address: str | None) -> str:
    """The address as stored: the server's text, or ``UNKNOWN_ADDRESS`` when there is none."""
    address = (address or "").strip()
    return address[:MAX_ADDRESS_LENGTH] if address else UNKNOWN_ADDRESS


def retry_after(
    session: Session,
    address: str | None,
    limit: SigninLimit,
    *,
    now: dt.datetime | None = None,
) -> int | None:
    """Seconds until ``address`` may try again (at least 1), or None when it may try now.

    The address is over the limit when its ``max_failures``-th most recent failure is still
    within the window; it may try again when that one ages out (then fewer than
    ``max_failures`` remain).
    """
    now = now or utcnow()
    cutoff = now - limit.window
    oldest_counted = session.scalar(
        select(SigninFailure.at)
        .where(SigninFailure.address == normalise_address(address), SigninFailure.at > cutoff)
        .order_by(SigninFailure.at.desc())
        .offset(limit.max_failures - 1)
        .limit(1)
    )
    if oldest_counted is None:
        return None
    return max(1, math.ceil((oldest_counted + limit.window - now).total_seconds()))


def failures(
    session: Session,
    address: str | None,
    limit: SigninLimit,
    *,
    now: dt.datetime | None = None,
) -> int:
    """How many failed sign-ins of ``address`` are within the window."""
    cutoff = (now or utcnow()) - limit.window
    return session.scalar(
        select(func.count())
        .select_from(SigninFailure)
        .where(SigninFailure.address == normalise_address(address), SigninFailure.at > cutoff)
    )


def record_failure(
    session: Session,
    address: str | None,
    limit: SigninLimit,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Count one refused sign-in of ``address``, and forget every failure (of any address)
    older than the window."""
    now = now or utcnow()
    prune(session, limit, now=now)
    session.add(SigninFailure(address=normalise_address(address), at=now))
    session.flush()


def prune(session: Session, limit: SigninLimit, *, now: dt.datetime | None = None) -> int:
    """Delete the failures that no longer count; returns how many."""
    cutoff = (now or utcnow()) - limit.window
    result = session.execute(
        delete(SigninFailure)
        .where(SigninFailure.at <= cutoff)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
