"""The inspector's e-credential (亮证): a short-lived signed token shown as a QR code.

On site the inspector's tablet shows a QR code holding the URL of the public page
``/verify/<token>``; the enterprise scans it and the server says whether the credential is
genuine and in force. The token is signed with the application's secret key (itsdangerous,
HMAC-SHA256, its own salt so it cannot be confused with a session cookie) and carries only
the inspector's id and the time it was issued: nothing is stored, and a screenshot is useless
once the token's lifetime (``suijian.credential.token_seconds``, default 600 s) has passed.

Verification answers with a status and only what an enterprise may see about the inspector:
the name, the credential number, the department and the certificate's validity.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import segno
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from enforcement.models import Inspector, utcnow
from enforcement.reasons import reason

SHANGHAI = ZoneInfo("Asia/Shanghai")  # a certificate expires at the end of a Beijing day
DEFAULT_TOKEN_SECONDS = 600
TOKEN_SECONDS_SETTING = "suijian.credential.token_seconds"
SALT = "suijian.credential"
# Longer strings are not tokens this module issues (they are about 60 characters).
MAX_TOKEN_LENGTH = 512
# Tablets and the server may disagree by a little; a token from further ahead is refused.
CLOCK_SKEW = dt.timedelta(seconds=60)


class CredentialStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"  # the QR code is older than the token lifetime: show a fresh one
    TAMPERED = "tampered"  # not signed by this server, altered, or not a token at all
    INACTIVE = "inactive"  # the inspector is deactivated or no longer in the directory
    CERTIFICATE_EXPIRED = "certificate_expired"  # the enforcement certificate (执法证) lapsed


class CredentialError(Exception):
    """No e-credential can be issued (the inspector is not in service)."""


@dataclass(frozen=True)
class CredentialCard:
    """What an enterprise may see about an inspector, and nothing else."""

    credential_no: str
    name: str
    department: str
    department_en: str | None
    expires_on: dt.date | None  # the certificate's last valid day; None: no expiry on record

    def department_name(self, locale: str | None) -> str:
        if locale == "en" and self.department_en:
            return self.department_en
        return self.department


@dataclass(frozen=True)
class IssuedCredential:
    token: str
    card: CredentialCard
    issued_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class Verification:
    status: CredentialStatus
    # None when the token names no inspector that can be shown (tampered, or deleted).
    card: CredentialCard | None

    @property
    def valid(self) -> bool:
        return self.status is CredentialStatus.VALID


def card_of(inspector: Inspector) -> CredentialCard:
    return CredentialCard(
        credential_no=inspector.credential_no,
        name=inspector.name,
        department=inspector.department.name,
        department_en=inspector.department.name_en,
        expires_on=inspector.credential_expires_on,
    )


class _ClockedSigner(TimestampSigner):
    """itsdangerous reads ``time.time()``; the service's clock is injectable instead."""

    def __init__(self, *args: Any, clock: Callable[[], dt.datetime], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


class CredentialService:
    def __init__(
        self,
        session: Session,
        secret_key: str,
        *,
        token_seconds: int = DEFAULT_TOKEN_SECONDS,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        if not secret_key:
            raise ValueError("an e-credential needs the application's secret key")
        if token_seconds <= 0:
            raise ValueError(f"{TOKEN_SECONDS_SETTING} must be positive")
        self.session = session
        self.lifetime = dt.timedelta(seconds=token_seconds)
        self.clock = clock
        self.serializer = URLSafeTimedSerializer(
            secret_key,
            salt=SALT,
            signer=_ClockedSigner,
            signer_kwargs={"digest_method": hashlib.sha256, "clock": clock},
        )

    @classmethod
    def from_settings(
        cls,
        session: Session,
        settings: Mapping[str, Any],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> CredentialService:
        seconds = settings.get(TOKEN_SECONDS_SETTING) or DEFAULT_TOKEN_SECONDS
        return cls(
            session,
            str(settings.get("suijian.secret_key") or ""),
            token_seconds=int(seconds),
            clock=clock,
        )

    def issue(self, inspector: Inspector) -> IssuedCredential:
        """A fresh token for ``inspector``. An inspector out of service gets none; one whose
        certificate lapsed still gets one, so the enterprise is told exactly that."""
        if not inspector.active:
            raise CredentialError(
                reason("inspector ${number} is not in service", number=inspector.credential_no)
            )
        now = self.clock()
        token = self.serializer.dumps({"i": inspector.id})
        issued_at = dt.datetime.fromtimestamp(int(now.timestamp()), dt.UTC)
        return IssuedCredential(
            token=token,
            card=card_of(inspector),
            issued_at=issued_at,
            expires_at=issued_at + self.lifetime,
        )

    def verify(self, token: str) -> Verification:
        """The token's status; the first failing check wins: authenticity, age, the
        inspector's standing, then the certificate's validity."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return Verification(CredentialStatus.TAMPERED, None)
        try:
            payload, signed_at = self.serializer.loads(token, return_timestamp=True)
        except BadData:
            return Verification(CredentialStatus.TAMPERED, None)
        inspector_id = payload.get("i") if isinstance(payload, dict) else None
        if not isinstance(inspector_id, int) or isinstance(inspector_id, bool):
            # Signed by us but not shaped like a credential (another use of the key).
            return Verification(CredentialStatus.TAMPERED, None)
        inspector = self.session.get(Inspector, inspector_id)
        card = None if inspector is None else card_of(inspector)
        now = self.clock()
        age = now - signed_at
        if age > self.lifetime or age < -CLOCK_SKEW:
            return Verification(CredentialStatus.EXPIRED, card)
        if inspector is None or not inspector.active:
            return Verification(CredentialStatus.INACTIVE, card)
        expires_on = inspector.credential_expires_on
        if expires_on is not None and expires_on < now.astimezone(SHANGHAI).date():
            return Verification(CredentialStatus.CERTIFICATE_EXPIRED, card)
        return Verification(CredentialStatus.VALID, card)


def qr_svg(data: str, *, title: str | None = None) -> str:
    """``data`` as a QR code in a standalone SVG (with its namespace, so it works inline in
    HTML and as an image file). It has a viewBox and no fixed size: the page sizes it."""
    code = segno.make(data, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        omitsize=True,
        border=4,  # the quiet zone scanners need
        title=title,
        svgclass="qr",
        lineclass=None,
    )
    return buffer.getvalue().decode("utf-8")


__all__ = [
    "DEFAULT_TOKEN_SECONDS",
    "TOKEN_SECONDS_SETTING",
    "CredentialCard",
    "CredentialError",
    "CredentialService",
    "CredentialStatus",
    "IssuedCredential",
    "Verification",
    "card_of",
    "qr_svg",
]
