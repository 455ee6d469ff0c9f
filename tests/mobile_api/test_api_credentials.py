"""The inspector's e-credential (亮证) over HTTP, and the API docs page."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import webtest
import zxingcpp
from PIL import Image
from pyramid.router import Router
from sqlalchemy.orm import Session

from enforcement.models import Inspector, Role
from enforcement.services.credentials import CredentialService
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectorFactory
from tests.mobile_api.conftest import PASSWORD

VISIBLE = {"valid", "status", "credential_no", "name", "department", "expires_on"}


def _token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def officer(data: Session, make_user: Callable[..., Any]) -> Inspector:
    department = DepartmentFactory(name="市场监督管理局食品科", name_en="Food Safety Section")
    inspector = InspectorFactory(
        name="王建国",
        credential_no="33078300123",
        department=department,
        credential_expires_on=dt.date(2099, 12, 31),
    )
    data.flush()
    make_user("officer", Role.INSPECTOR, inspector_id=inspector.id)
    return inspector


def _credential(app: webtest.TestApp, **headers: str) -> dict[str, Any]:
    answer = app.get("/api/v1/me/credential", headers={**_token(app, "officer"), **headers})
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.json


def _decode_svg(svg: str) -> list[str]:
    """Rasterise the SVG with librsvg, then read it with a real QR decoder (zxing-cpp)."""
    png = subprocess.run(
        ["rsvg-convert", "--width", "600", "--format", "png", "--background-color", "white"],
        input=svg.encode(),
        capture_output=True,
        check=True,
    ).stdout
    return [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_credential_round_trip(testapp: webtest.TestApp, officer: Inspector) -> None:
    mine = _credential(testapp)
    assert mine["name"] == "王建国" and mine["credential_no"] == "33078300123"
    assert mine["department"] == "市场监督管理局食品科" and mine["expires_on"] == "2099-12-31"
    assert mine["verify_url"] == f"http://localhost/verify/{mine['token']}"
    expires = dt.datetime.fromisoformat(mine["token_expires_at"])
    assert dt.timedelta(0) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=600)
    # What the enterprise's phone reads from the QR code is the page's address.
    assert _decode_svg(mine["qr_svg"]) == [mine["verify_url"]]

    check = testapp.get(f"/api/v1/credentials/{mine['token']}")  # public: no token sent
    assert check.headers["Cache-Control"] == "no-store"
    assert check.json == {
        "valid": True,
        "status": "valid",
        "credential_no": "33078300123",
        "name": "王建国",
        "department": "市场监督管理局食品科",
        "expires_on": "2099-12-31",
    }
    english = testapp.get(
        f"/api/v1/credentials/{mine['token']}", headers={"Accept-Language": "en"}
    ).json
    assert english["department"] == "Food Safety Section"

    page = testapp.get(urlsplit(mine["verify_url"]).path)
    assert page.html.find(id="verdict")["data-status"] == "valid"
    assert "王建国" in page.text and "33078300123" in page.text


def test_asking_again_gives_a_working_code(testapp: webtest.TestApp, officer: Inspector) -> None:
    first, second = _credential(testapp), _credential(testapp)
    assert {first["name"], second["name"]} == {"王建国"}
    for issued in (first, second):
        assert testapp.get(f"/api/v1/credentials/{issued['token']}").json["valid"]


def test_only_an_inspector_gets_a_credential(
    testapp: webtest.TestApp, data: Session, officer: Inspector, make_user: Callable[..., Any]
) -> None:
    anonymous = testapp.get("/api/v1/me/credential", status=401)
    assert anonymous.json["error"]["code"] == "unauthenticated"
    make_user("boss", Role.SUPERVISOR)
    make_user("firm", Role.ENTERPRISE, enterprise_id=EnterpriseFactory().id)
    make_user("liaison", Role.LIAISON)
    make_user("root", Role.ADMIN)  # every permission, but no certificate of its own
    make_user("newcomer", Role.INSPECTOR)  # an inspector's role, not in the directory
    for username in ("boss", "firm", "liaison", "root", "newcomer"):
        refused = testapp.get(
            "/api/v1/me/credential", headers=_token(testapp, username), status=403
        )
        assert refused.json["error"]["code"] == "forbidden", username
    newcomer = testapp.get(
        "/api/v1/me/credential?_LOCALE_=en", headers=_token(testapp, "newcomer"), status=403
    )
    assert newcomer.json["error"]["message"] == "Only an inspector's account has an e-credential."

    # An inspector taken out of service gets no new QR code.
    officer.active = False
    data.commit()
    out = testapp.get("/api/v1/me/credential", headers=_token(testapp, "officer"), status=403)
    assert out.json["error"]["message"] == "该执法人员已不在岗。"


def _check(app: webtest.TestApp, token: str, **headers: str) -> dict[str, Any]:
    body = app.get(f"/api/v1/credentials/{token}", headers=headers).json
    assert set(body) == VISIBLE | ({"reason"} if not body["valid"] else set())
    return body


def test_tampered_token(testapp: webtest.TestApp, officer: Inspector) -> None:
    token = _credential(testapp)["token"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    body = _check(testapp, forged)
    assert (body["valid"], body["status"]) == (False, "tampered")
    assert body["name"] is None and body["credential_no"] is None  # nothing told about anyone
    assert body["reason"] == "该二维码并非本系统签发，请勿信任。"
    english = _check(testapp, forged, **{"Accept-Language": "en"})
    assert english["reason"] == "This QR code was not issued by this system. Do not trust it."
    assert _check(testapp, "garbage")["status"] == "tampered"
    too_long = testapp.get(f"/api/v1/credentials/{'x' * 600}", status=422)
    assert too_long.json["error"]["code"] == "validation_failed"


def test_expired_token(web_app: Router, testapp: webtest.TestApp, data: Session) -> None:
    inspector = InspectorFactory(name="李娜")
    data.commit()
    # Issued 11 minutes ago with the application's own key and lifetime (600 s).
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
    service = CredentialService.from_settings(
        data, web_app.registry.settings, clock=lambda: earlier
    )
    body = _check(testapp, service.issue(inspector).token)
    assert (body["valid"], body["status"], body["name"]) == (False, "expired", "李娜")
    assert "过期" in body["reason"]


def test_inactive_inspector_and_expired_certificate(
    testapp: webtest.TestApp, data: Session, officer: Inspector
) -> None:
    token = _credential(testapp)["token"]
    officer.credential_expires_on = dt.date(2020, 1, 31)
    data.commit()
    lapsed = _check(testapp, token)
    assert (lapsed["valid"], lapsed["status"]) == (False, "certificate_expired")
    assert lapsed["expires_on"] == "2020-01-31"
    officer.active = False
    data.commit()
    assert _check(testapp, token)["status"] == "inactive"


def test_verify_page_in_chinese_and_english(
    testapp: webtest.TestApp, data: Session, officer: Inspector
) -> None:
    token = _credential(testapp)["token"]
    page = testapp.get(f"/verify/{token}")
    assert page.content_type == "text/html"
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src" not in page.headers["Content-Security-Policy"]  # no script at all
    assert page.html.find("html")["lang"] == "zh-CN"
    assert page.html.find("h1").text == "执法证件核验"
    assert page.html.find(id="verdict").text.strip() == "有效"
    assert page.html.find(id="credential-department").td.text == "市场监督管理局食品科"
    assert "北京时间" in page.text and not page.html.find("script")

    english = testapp.get(f"/verify/{token}?_LOCALE_=en")
    assert english.html.find("html")["lang"] == "en"
    assert english.html.find("h1").text == "Inspector credential check"
    assert english.html.find(id="verdict").text.strip() == "Valid"
    assert english.html.find(id="credential-department").td.text == "Food Safety Section"

    officer.credential_expires_on = None
    data.commit()
    unrecorded = testapp.get(f"/verify/{token}")
    assert unrecorded.html.find(id="credential-expires").td.text.strip() == "未登记有效期"

    forged = testapp.get("/verify/not-a-credential")
    assert forged.status_int == 200
    assert forged.html.find(id="verdict")["data-status"] == "tampered"
    assert forged.html.find(id="verdict").text.strip() == "无效"
    assert forged.html.find(id="reason").text.strip() == "该二维码并非本系统签发，请勿信任。"
    assert forged.html.find(id="credential-name") is None


def test_docs_page_is_served_from_this_application(testapp: webtest.TestApp) -> None:
    page = testapp.get("/api/v1/docs")
    assert page.content_type == "text/html"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    scripts = [tag.get("src") for tag in page.html.find_all("script")]
    assert None not in scripts, "no inline script: the CSP forbids them"
    styles = [tag["href"] for tag in page.html.find_all("link", rel="stylesheet")]
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in scripts
    assert "/static/vendor/swagger-ui/swagger-ui.css" in styles
    assert page.html.find(id="swagger-ui")["data-spec-url"] == "/api/v1/openapi.json"
    # Nothing from another origin: the page works with no internet.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)
    for url in scripts + styles:
        asset = testapp.get(url, expect_errors=True)
        assert asset.status_int == 200, f"{url}: {asset.status} (run `make vendor`)"
        assert asset.body
    assert testapp.get("/api/v1/openapi.json").json["paths"]["/api/v1/me/credential"]
