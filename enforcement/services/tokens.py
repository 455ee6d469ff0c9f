"""Bearer tokens of the JSON API: issued after a password check, expiring, revocable.

The secret is shown once, at issue; the database keeps only its SHA-256, so a stolen backup
cannot be used to sign in. Secrets have 256 bits of entropy, which is why a fast hash is
enough here (argon2 protects low-entropy passwords, not random tokens).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from enforcement.models import ApiToken, User, utcnow

TOKEN_PREFIX = "sj_"  # recognisable in logs and secret scanners
DEFAULT_LIFETIME = dt.timedelta(days=7)  # a tablet may stay offline for days in the field
MAX_LIFETIME = dt.timedelta(days=90)
# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
MAX_LABEL = 100


@dataclass(frozen=True)
class IssuedToken:
    secret: str  # shown to the client once
    token: ApiToken


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService:
    def __init__(self, session: Session, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.session = session
        self.clock = clock

    def issue(
        self, user: User, *, label: str = "", lifetime: dt.timedelta = DEFAULT_LIFETIME
    ) -> IssuedToken:
        """A new token for ``user`` (already authenticated by the caller)."""
        if not dt.timedelta(0) < lifetime <= MAX_LIFETIME:
            raise ValueError(f"token lifetime must be positive and at most {MAX_LIFETIME}")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        token = ApiToken(
            user=user,
            token_sha256=token_digest(secret),
            label=label.strip()[:MAX_LABEL],
            created_at=now,
            expires_at=now + lifetime,
        )
        self.session.add(token)
        self.session.flush()
        return IssuedToken(secret=secret, token=token)

    def authenticate(self, secret: str) -> ApiToken | None:
        """The live token for ``secret`` (not expired, not revoked, its user active), or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        token = self.session.scalar(
            select(ApiToken).where(ApiToken.token_sha256 == token_digest(secret))
        )
        now = self.clock()
        if (
            token is None
            or token.revoked_at is not None
            or token.expires_at <= now
            or not token.user.active
        ):
            return None
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            # A set-based update: concurrent requests with one token do not conflict.
            self.session.execute(
                update(ApiToken)
                .where(ApiToken.id == token.id)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
        return token

    def revoke(self, token: ApiToken) -> None:
        if token.revoked_at is None:
            token.revoked_at = self.clock()
            self.session.flush()

    def revoke_all(self, user: User) -> int:
        """Revoke every live token of ``user`` (lost tablet, left the bureau)."""
        now = self.clock()
        result = self.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0


__all__ = ["DEFAULT_LIFETIME", "IssuedToken", "TokenService", "token_digest"]
