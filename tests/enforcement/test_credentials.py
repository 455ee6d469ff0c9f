"""The inspector's e-credential (亮证): issue a signed token, verify it, refuse what is off."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import subprocess
from collections.abc import Callable

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy.orm import Session

from enforcement.models import Inspector
from enforcement.services.credentials import (
    CredentialError,
    CredentialService,
    CredentialStatus,
    qr_svg,
)
from tests.factories import DepartmentFactory, InspectorFactory

SECRET = "test-secret-for-credentials"
# 03:00 UTC is 11:00 in Beijing, the same calendar day.
NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db_session: Session, clock: Clock) -> CredentialService:
    return CredentialService(db_session, SECRET, token_seconds=600, clock=clock)


@pytest.fixture
def inspector(db_session: Session) -> Inspector:
    department = DepartmentFactory(name="市场监督管理局食品科", name_en="Food Safety Section")
    officer = InspectorFactory(
        name="王建国",
        credential_no="33078300123",
        department=department,
        credential_expires_on=dt.date(2027, 6, 30),
        specialties=["food"],
    )
    db_session.flush()
    return officer


def test_issue_and_verify_round_trip(service: CredentialService, inspector: Inspector) -> None:
    issued = service.issue(inspector)
    assert issued.issued_at == NOW and issued.expires_at == NOW + dt.timedelta(seconds=600)
    verification = service.verify(issued.token)
    assert verification.status is CredentialStatus.VALID and verification.valid
    card = verification.card
    assert card is not None
    assert (card.name, card.credential_no, card.expires_on) == (
        "王建国",
        "33078300123",
        dt.date(2027, 6, 30),
    )
    assert card.department_name("zh_CN") == "市场监督管理局食品科"
    assert card.department_name("en") == "Food Safety Section"
    # The card holds what an enterprise may see, and nothing else.
    assert set(vars(card)) == {"credential_no", "name", "department", "department_en", "expires_on"}


def test_token_names_only_the_inspector(service: CredentialService, inspector: Inspector) -> None:
    """The token is signed, not encrypted: it must carry nothing private."""
    payload = service.issue(inspector).token.split(".")[0]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert decoded == {"i": inspector.id}


def test_token_expires_after_its_lifetime(
    service: CredentialService, inspector: Inspector, clock: Clock
) -> None:
    token = service.issue(inspector).token
    clock.advance(seconds=600)
    assert service.verify(token).status is CredentialStatus.VALID  # the last second still counts
    clock.advance(seconds=1)
    expired = service.verify(token)
    assert expired.status is CredentialStatus.EXPIRED and not expired.valid
    assert expired.card is not None and expired.card.name == "王建国"  # genuine, but stale


def test_lifetime_comes_from_the_settings(
    db_session: Session, inspector: Inspector, clock: Clock
) -> None:
    settings = {"suijian.secret_key": SECRET, "suijian.credential.token_seconds": "60"}
    short = CredentialService.from_settings(db_session, settings, clock=clock)
    token = short.issue(inspector).token
    clock.advance(seconds=61)
    assert short.verify(token).status is CredentialStatus.EXPIRED
    default = CredentialService.from_settings(db_session, {"suijian.secret_key": SECRET})
    assert default.lifetime == dt.timedelta(seconds=600)
    with pytest.raises(ValueError, match="secret key"):
        CredentialService.from_settings(db_session, {})


def test_a_token_from_the_future_is_refused(
    service: CredentialService, inspector: Inspector, clock: Clock
) -> None:
    token = service.issue(inspector).token
    clock.advance(minutes=-5)  # the server's clock went back, or the token was forged ahead
    assert service.verify(token).status is CredentialStatus.EXPIRED


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: _flip(t, 3), id="payload"),
        pytest.param(lambda t: _flip(t, t.index(".") + 2), id="timestamp"),
        pytest.param(lambda t: _flip(t, len(t) - 5), id="signature"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="no-signature"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: t + "x" * 600, id="too-long"),
    ],
)
def test_tampered_tokens_are_refused(
    service: CredentialService, inspector: Inspector, tamper: Callable[[str], str]
) -> None:
    token = service.issue(inspector).token
    verification = service.verify(tamper(token))
    assert verification.status is CredentialStatus.TAMPERED
    assert verification.card is None  # nothing is told about anyone


def test_another_key_or_another_id_is_tampering(
    db_session: Session, service: CredentialService, inspector: Inspector, clock: Clock
) -> None:
    other = InspectorFactory()
    db_session.flush()
    foreign = CredentialService(db_session, "another-secret", clock=clock).issue(inspector).token
    assert service.verify(foreign).status is CredentialStatus.TAMPERED
    # Swap in another inspector's payload and keep the signature: refused.
    mine, theirs = service.issue(inspector).token, service.issue(other).token
    swapped = theirs.split(".")[0] + "." + ".".join(mine.split(".")[1:])
    assert service.verify(swapped).status is CredentialStatus.TAMPERED


def test_inactive_inspector(
    db_session: Session, service: CredentialService, inspector: Inspector
) -> None:
    token = service.issue(inspector).token
    inspector.active = False
    db_session.flush()
    verification = service.verify(token)
    assert verification.status is CredentialStatus.INACTIVE and not verification.valid
    with pytest.raises(CredentialError):
        service.issue(inspector)  # and no new QR code for them


def test_inspector_removed_from_the_directory(
    db_session: Session, service: CredentialService, inspector: Inspector
) -> None:
    token = service.issue(inspector).token
    db_session.delete(inspector)
    db_session.flush()
    verification = service.verify(token)
    assert verification.status is CredentialStatus.INACTIVE and verification.card is None


def test_expired_certificate(
    db_session: Session, service: CredentialService, inspector: Inspector, clock: Clock
) -> None:
    # The certificate is valid through its last day in Beijing time.
    inspector.credential_expires_on = dt.date(2026, 11, 22)
    db_session.flush()
    assert service.verify(service.issue(inspector).token).valid
    clock.now = dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.UTC)  # 00:00 on the 23rd in Beijing
    verification = service.verify(service.issue(inspector).token)
    assert verification.status is CredentialStatus.CERTIFICATE_EXPIRED
    assert verification.card is not None and verification.card.expires_on == dt.date(2026, 11, 22)


def test_no_expiry_on_record_is_not_expired(
    db_session: Session, service: CredentialService, inspector: Inspector
) -> None:
    inspector.credential_expires_on = None
    db_session.flush()
    verification = service.verify(service.issue(inspector).token)
    assert verification.valid and verification.card is not None
    assert verification.card.expires_on is None


def _render(svg: str, width: int = 600) -> Image.Image:
    """Rasterise with a real SVG renderer (librsvg), as a browser would draw it."""
    png = subprocess.run(
        ["rsvg-convert", "--width", str(width), "--format", "png", "--background-color", "white"],
        input=svg.encode(),
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(png))


def test_qr_svg_decodes_back_to_its_text() -> None:
    url = "http://127.0.0.1:6543/verify/eyJpIjo0Mn0.awJasA.bP42MFhNYMxM6qDfaAF6p92ZDNfq-loULa"
    svg = qr_svg(url, title="33078300123")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "viewBox" in svg
    decoded = zxingcpp.read_barcodes(_render(svg))
    assert [(code.format, code.text) for code in decoded] == [(zxingcpp.BarcodeFormat.QRCode, url)]
