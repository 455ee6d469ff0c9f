"""The tablet app in Chromium at tablet sizes (1280×800 landscape, 800×1280 portrait), with
emulated geolocation: a whole inspection done offline lands exactly once on the server when
the network returns (and a replay of the queue adds nothing); a check-in 2 km away is
flagged after the app asks for the reason; every control is a large touch target."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import (
    EvidenceFile,
    FieldInspection,
    GeofenceVerdict,
    InspectionEvidence,
    InspectionFinding,
    InspectionResult,
    InspectionStatus,
    Inspector,
    TaskStatus,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture says so (skip, or fail under CI)
    expect = None

from tests.field_work import PASSWORD, FieldWork, drawn_field_work, offset
from tests.mobile_api.browser.harness import TABLET_SIZES, LiveServer

SIZES = pytest.mark.parametrize("size", list(TABLET_SIZES), ids=list(TABLET_SIZES))
MIN_TOUCH_PX = 48
#: Controls people touch (a checkbox counts through its label, a file input through its button).
TOUCH_TARGETS = (
    "button, a.button, a.nav, a.task-card, label.button, label.check, select, textarea, "
    "input:not([type=checkbox]):not([type=file])"
)

READ_STORE = """(name) => new Promise((resolve, reject) => {
  const open = indexedDB.open('suijian-tablet');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction(name).objectStore(name).getAll();
    request.onsuccess = () => { db.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
})"""

REQUEUE = """(operations) => new Promise((resolve, reject) => {
  const open = indexedDB.open('suijian-tablet');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction('queue', 'readwrite');
    for (const operation of operations) tx.objectStore('queue').put(operation);
    tx.oncomplete = () => { db.close(); resolve(operations.length); };
    tx.onerror = () => reject(tx.error);
  };
})"""

SYNCED = """() => {
  const status = document.querySelector('[data-testid=status]');
  return status && status.dataset.online === 'true' && status.dataset.pending === '0'
    && status.dataset.running === 'false';
}"""


@pytest.fixture
def field(data: Session) -> FieldWork:
    return drawn_field_work(data)


@pytest.fixture
def errors() -> list[str]:
    """Uncaught errors in the page: any is a failure of the app."""
    return []


def open_page(
    browser: Any, size: str, lon: float, lat: float, errors: list[str], accuracy: float = 10.0
) -> Any:
    width, height = TABLET_SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation={"longitude": lon, "latitude": lat, "accuracy": accuracy},
        permissions=["geolocation"],
        service_workers="allow",
    )
    context.set_default_timeout(20000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A policy violation is a feature that silently does not work.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page


@pytest.fixture
def pages() -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()


def sign_in(page: Any, server: LiveServer, username: str = "field-lead") -> None:
    page.goto(f"{server.url}/tablet/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("task-list").wait_for()


def wait_synced(page: Any) -> None:
    page.wait_for_function(SYNCED, timeout=30000)


def fresh(session: Session) -> Session:
    session.commit()  # end the read transaction: see what the app committed
    session.expire_all()
    return session


def photo_bytes() -> bytes:
    image = Image.new("RGB", (640, 480), (200, 210, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 80, 560, 400), outline=(180, 30, 30), width=12)
    draw.line((80, 400, 560, 80), fill=(30, 30, 30), width=8)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def draw_signature(page: Any) -> None:
    pad = page.get_by_test_id("signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    left, top = box["x"] + 40, box["y"] + box["height"] * 0.6
    page.mouse.move(left, top)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(left + step * 12, top - 40 * ((step % 6) / 6), steps=2)
    page.mouse.up()


def shanghai_date(days: int = 0) -> str:
    return (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=days)).isoformat()


def inspections_of(session: Session, field: FieldWork) -> list[FieldInspection]:
    return list(
        session.scalars(select(FieldInspection).where(FieldInspection.task_id == field.task.id))
    )


def screenshot(page: Any, folder: Path, name: str) -> None:
    """What the inspector sees, and the whole screen from the top (test artefacts)."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header stays at the top of the image
    page.screenshot(path=str(folder / f"{name}-full.png"), full_page=True)


# ---------------------------------------------------------------------------- the offline visit


@SIZES
def test_an_inspection_done_offline_lands_once_when_the_network_returns(
    browser: Any,
    live_server: LiveServer,
    field: FieldWork,
    data: Session,
    errors: list[str],
    pages: list[Any],
    artifacts: Path,
    backend: str,
    size: str,
) -> None:
    page = open_page(browser, size, field.lon, field.lat, errors)
    pages.append(page)
    sign_in(page, live_server)
    card = page.locator(f"[data-task='{field.task.uuid}']")
    card.wait_for()
    # The service worker has cached the shell and controls the page.
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    page.context.set_offline(True)
    reloaded = page.reload()
    assert reloaded is not None and reloaded.from_service_worker, "the shell came from the network"
    page.wait_for_selector("[data-testid=status][data-online=false]")
    card.click()  # the tasks came from IndexedDB

    page.get_by_test_id("checkin").click()
    summary = page.get_by_test_id("checkin-summary")
    summary.wait_for()
    expect(summary).to_have_attribute("data-verdict", "inside")
    expect(summary).to_have_attribute("data-source", "local")

    checklist = [entry["code"] for entry in field.task.checklist]
    first = checklist[0]
    page.get_by_test_id(f"answer-{first}-non_compliant").click()
    page.get_by_test_id(f"note-{first}").fill("未按时公示年报")
    page.get_by_test_id(f"note-{first}").press("Tab")
    for code in checklist[1:]:
        page.get_by_test_id(f"answer-{code}-compliant").click()
    expect(page.get_by_test_id("checklist-progress")).to_have_text(
        f"已检查 {len(checklist)}/{len(checklist)}"
    )

    photo = photo_bytes()
    photo_sha = hashlib.sha256(photo).hexdigest()
    page.get_by_test_id("evidence-caption").fill("店面公示栏")
    page.get_by_test_id("evidence-input").set_input_files(
        files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    item = page.locator(f"[data-testid=evidence-item][data-sha256='{photo_sha}']")
    item.wait_for()
    assert item.get_attribute("data-uploaded") == "false"

    page.get_by_test_id("finding-item").select_option(first)
    page.get_by_test_id("severity-serious").click()
    page.get_by_test_id("finding-description").fill("2024年度报告未公示")
    page.get_by_test_id("finding-evidence-option").check()
    page.get_by_test_id("add-finding").click()
    page.get_by_test_id("finding").wait_for()

    page.get_by_test_id("signer-name").fill("刘洋群")
    draw_signature(page)
    page.get_by_test_id("save-signature").click()
    page.get_by_test_id("signature-summary").wait_for()

    due = shanghai_date(30)
    page.get_by_test_id("result-rectification_ordered").click()
    page.get_by_test_id("rectification-due").fill(due)
    page.get_by_test_id("result-note").fill("责令三十日内整改")
    page.get_by_test_id("finish").click()
    page.get_by_test_id("confirm-finish-ok").click()
    page.get_by_test_id("finished").wait_for()

    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-online", "false")
    # check-in, answers (one replace for all the taps), evidence, finding, signature, result
    expect(status).to_have_attribute("data-pending", "6")
    queued = page.evaluate(READ_STORE, "queue")
    # The photo and the signature wait on the tablet, by their SHA-256.
    assert len(page.evaluate(READ_STORE, "blobs")) == 2
    assert {op["kind"] for op in queued} == {
        "checkin",
        "answers",
        "evidence",
        "finding",
        "signature",
        "result",
    }
    assert inspections_of(fresh(data), field) == []  # nothing reached the server yet
    screenshot(page, artifacts, f"offline-finished-{size}-{backend}")

    page.context.set_offline(False)
    wait_synced(page)
    page.wait_for_selector("[data-testid=checkin-summary][data-source=server]")
    expect(item).to_have_attribute("data-uploaded", "true")
    # Finished on the server: the tablet no longer keeps the files.
    assert page.evaluate(READ_STORE, "blobs") == []
    screenshot(page, artifacts, f"synced-{size}-{backend}")

    session = fresh(data)
    (inspection,) = inspections_of(session, field)
    assert inspection.status == InspectionStatus.FINISHED
    assert inspection.geofence == GeofenceVerdict.INSIDE and not inspection.flagged
    assert inspection.reported_crs == "wgs84"
    assert inspection.checkin_lon == pytest.approx(field.lon, abs=1e-6)
    assert inspection.checkin_lat == pytest.approx(field.lat, abs=1e-6)
    assert inspection.answers == {
        first: {"answer": "non_compliant", "note": "未按时公示年报"},
        **{code: {"answer": "compliant", "note": ""} for code in checklist[1:]},
    }
    (finding,) = inspection.findings
    assert (finding.item_code, finding.severity) == (first, "serious")
    assert finding.description == "2024年度报告未公示"
    assert finding.evidence_sha256 == [photo_sha]
    (attachment,) = inspection.evidence
    assert attachment.sha256 == photo_sha and attachment.caption == "店面公示栏"
    assert attachment.file.media_type == "image/jpeg"
    assert inspection.signer_name == "刘洋群" and not inspection.refused_to_sign
    signature = session.get(EvidenceFile, inspection.signature_sha256)
    assert signature is not None and signature.media_type == "image/png"
    assert inspection.result == InspectionResult.RECTIFICATION_ORDERED
    assert inspection.rectification_due == dt.date.fromisoformat(due)
    assert inspection.result_note == "责令三十日内整改"
    assert inspection.task.status == TaskStatus.DONE

    # The whole queue sent again (a tablet that lost the answers): nothing new is stored,
    # every operation is answered as the replay it is, and the app drops them all.
    counts = _counts(session, inspection)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/batch")) as replay:
        page.evaluate(REQUEUE, queued)
        page.get_by_test_id("nav-sync").click()
        page.get_by_test_id("sync-now").click()
    results = replay.value.json()["results"]
    assert sorted(r["status"] for r in results) == [200] * len(queued), json.dumps(results)
    wait_synced(page)
    assert page.get_by_test_id("sync-op").count() == 0
    assert page.get_by_test_id("rejected-op").count() == 0
    session = fresh(data)
    assert _counts(session, inspection) == counts
    assert len(inspections_of(session, field)) == 1
    assert errors == []


def _counts(session: Session, inspection: FieldInspection) -> dict[str, int]:
    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "inspections": count(FieldInspection),
        "findings": count(InspectionFinding, InspectionFinding.inspection_id == inspection.id),
        "evidence": count(InspectionEvidence, InspectionEvidence.inspection_id == inspection.id),
        "files": count(EvidenceFile),
        "version": session.scalar(
            select(FieldInspection.version).where(FieldInspection.id == inspection.id)
        )
        or 0,
    }


# ---------------------------------------------------------------------------- the geofence


@SIZES
def test_a_check_in_2_km_away_asks_for_the_reason_and_is_flagged(
    browser: Any,
    live_server: LiveServer,
    field: FieldWork,
    data: Session,
    errors: list[str],
    pages: list[Any],
    artifacts: Path,
    backend: str,
    size: str,
) -> None:
    lon, lat = offset(field.lon, field.lat, 2000.0)
    page = open_page(browser, size, lon, lat, errors)
    pages.append(page)
    sign_in(page, live_server)
    page.locator(f"[data-task='{field.task.uuid}']").click()

    # Asked, and declined: nothing is recorded.
    page.get_by_test_id("checkin").click()
    dialog = page.get_by_test_id("outside-reason")
    dialog.wait_for()
    assert "2.00 公里" in dialog.inner_text()
    screenshot(page, artifacts, f"outside-reason-{size}-{backend}")
    page.get_by_test_id("outside-reason-ok").click()  # an empty reason is refused
    expect(dialog.get_by_role("alert")).to_have_text("必须填写原因。")
    page.get_by_test_id("outside-reason-cancel").click()
    assert page.get_by_test_id("checkin").is_enabled()

    reason = "企业实际经营地址与登记地址不一致，在新址检查"
    page.get_by_test_id("checkin").click()
    page.get_by_test_id("outside-reason-text").fill(reason)
    page.get_by_test_id("outside-reason-ok").click()
    wait_synced(page)
    summary = page.locator("[data-testid=checkin-summary][data-source=server]")
    summary.wait_for()
    expect(summary).to_have_attribute("data-verdict", "outside")
    page.get_by_test_id("flagged").wait_for()
    screenshot(page, artifacts, f"flagged-{size}-{backend}")

    (inspection,) = inspections_of(fresh(data), field)
    assert inspection.geofence == GeofenceVerdict.OUTSIDE
    assert inspection.flagged is True
    assert inspection.outside_reason == reason
    assert inspection.distance_m == pytest.approx(2000.0, abs=5.0)
    assert errors == []


def test_when_only_the_server_finds_the_check_in_outside_the_app_asks_then(
    browser: Any,
    live_server: LiveServer,
    field: FieldWork,
    data: Session,
    errors: list[str],
    pages: list[Any],
) -> None:
    """The tablet's own check is advisory (an old copy of the app may use another radius):
    the server's 422 for a missing reason brings the question back, and the answer goes."""
    lon, lat = offset(field.lon, field.lat, 2000.0)
    page = open_page(browser, "landscape", lon, lat, errors, accuracy=5.0)
    pages.append(page)

    def wide_fence(route: Any) -> None:
        shell = route.fetch()
        body = shell.text().replace('"geofence_radius_m": 200.0', '"geofence_radius_m": 50000.0')
        assert body != shell.text()
        route.fulfill(response=shell, body=body)

    page.route(f"{live_server.url}/tablet/", wide_fence)
    sign_in(page, live_server)
    page.locator(f"[data-task='{field.task.uuid}']").click()
    page.get_by_test_id("checkin").click()  # inside, says the tablet: no question yet
    page.get_by_test_id("checkin-summary").wait_for()
    dialog = page.get_by_test_id("outside-reason")
    dialog.wait_for()  # the server refused: the question comes now
    page.get_by_test_id("needs-reason").wait_for()
    assert inspections_of(fresh(data), field) == []

    page.get_by_test_id("outside-reason-text").fill("道路施工，在路口签到")
    page.get_by_test_id("outside-reason-ok").click()
    wait_synced(page)
    page.get_by_test_id("flagged").wait_for()
    (inspection,) = inspections_of(fresh(data), field)
    assert inspection.flagged and inspection.outside_reason == "道路施工，在路口签到"
    assert page.get_by_test_id("needs-reason").count() == 0
    assert errors == []


# ---------------------------------------------------------------------------- the screens


SMALL_TARGETS = """([selector, minimum]) => [...document.querySelectorAll(selector)]
  .filter((element) => element.offsetParent !== null)
  .map((element) => [element, element.getBoundingClientRect()])
  .filter(([, box]) => box.width < minimum || box.height < minimum)
  .map(([element, box]) => {
    const name = element.dataset.testid || element.textContent.trim().slice(0, 20);
    return `${element.tagName} ${name}: ${Math.round(box.width)}x${Math.round(box.height)}`;
  })"""


def _small_targets(page: Any) -> list[str]:
    """Visible controls smaller than a fingertip (48 × 48 CSS px), described."""
    return page.evaluate(SMALL_TARGETS, [TOUCH_TARGETS, MIN_TOUCH_PX])


def _overflows(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


@SIZES
def test_every_screen_has_large_touch_targets_and_fits(
    browser: Any,
    live_server: LiveServer,
    field: FieldWork,
    data: Session,
    errors: list[str],
    pages: list[Any],
    artifacts: Path,
    backend: str,
    size: str,
) -> None:
    page = open_page(browser, size, field.lon, field.lat, errors)
    pages.append(page)
    page.goto(f"{live_server.url}/tablet/")
    page.get_by_test_id("login-username").wait_for()
    assert _small_targets(page) == [] and not _overflows(page)
    sign_in(page, live_server)
    page.locator(f"[data-task='{field.task.uuid}']").wait_for()
    assert _small_targets(page) == [] and not _overflows(page)
    page.locator(f"[data-task='{field.task.uuid}']").click()
    page.get_by_test_id("checkin").click()
    page.get_by_test_id("signature-pad").wait_for()
    assert _small_targets(page) == [] and not _overflows(page)
    screenshot(page, artifacts, f"inspection-{size}-{backend}")

    page.get_by_test_id("nav-credential").click()
    qr = page.get_by_test_id("credential-qr")
    qr.wait_for()
    page.wait_for_function("document.querySelector('[data-testid=credential-qr]').naturalWidth > 0")
    credential_no = data.get(Inspector, field.lead.inspector_id).credential_no  # type: ignore[union-attr]
    expect(page.get_by_test_id("credential-no")).to_have_text(credential_no)
    assert _small_targets(page) == [] and not _overflows(page)
    screenshot(page, artifacts, f"credential-{size}-{backend}")

    page.get_by_test_id("nav-sync").click()
    page.get_by_test_id("sync-summary").wait_for()
    assert _small_targets(page) == [] and not _overflows(page)

    page.get_by_test_id("nav-tasks").click()
    page.get_by_test_id("language").click()
    expect(page.locator("h1")).to_have_text("My tasks")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert _small_targets(page) == [] and not _overflows(page)
    screenshot(page, artifacts, f"tasks-en-{size}-{backend}")
    assert errors == []


# ---------------------------------------------------------------------------- what is refused


def test_conflicts_and_refused_evidence_stay_visible_until_resolved(
    browser: Any,
    live_server: LiveServer,
    field: FieldWork,
    data: Session,
    errors: list[str],
    pages: list[Any],
    artifacts: Path,
    backend: str,
) -> None:
    """Offline, the tablet checks in and keeps a "photo" that is no image; meanwhile another
    device stores other content under the same inspection UUID. Back online the server
    answers 409 and 415: the conflict stays queued and shown until the inspector takes the
    server's version; the refused file is listed as not accepted, not retried forever."""
    page = open_page(browser, "landscape", field.lon, field.lat, errors)
    pages.append(page)
    sign_in(page, live_server)
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    page.locator(f"[data-task='{field.task.uuid}']").click()
    page.get_by_test_id("checkin").click()
    page.get_by_test_id("checkin-summary").wait_for()
    page.get_by_test_id("evidence-input").set_input_files(
        files=[{"name": "scan.jpg", "mimeType": "image/jpeg", "buffer": b"no picture at all"}]
    )
    page.get_by_test_id("evidence-item").wait_for()
    (checkin,) = [op for op in page.evaluate(READ_STORE, "queue") if op["kind"] == "checkin"]

    with httpx.Client(base_url=live_server.url) as other_device:
        answer = other_device.post(
            "/api/v1/tokens", json={"username": "field-lead", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        body = json.loads(json.dumps(checkin["body"]))
        body["checkin"]["device_time"] = "2025-04-02T01:30:00Z"
        stored = other_device.put(checkin["path"], json=body, headers=headers)
        assert stored.status_code == 201

    page.context.set_offline(False)
    page.get_by_test_id("conflict-banner").wait_for()
    expect(page.get_by_test_id("evidence-item")).to_contain_text("服务器拒收")
    page.get_by_test_id("nav-sync").click()
    conflict = page.locator("[data-testid=sync-op][data-state=conflict]")
    conflict.wait_for()
    expect(page.get_by_test_id("rejected-op")).to_have_count(1)
    expect(page.get_by_test_id("rejected-op")).to_contain_text("HTTP 415")
    screenshot(page, artifacts, f"conflict-{backend}")

    page.get_by_test_id("use-server-version").click()
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("sync-op")).to_have_count(0)
    wait_synced(page)
    (inspection,) = inspections_of(fresh(data), field)
    assert inspection.device_time == dt.datetime(2025, 4, 2, 1, 30, tzinfo=dt.UTC)
    assert inspection.evidence == []
    page.get_by_test_id("nav-tasks").click()
    page.locator(f"[data-task='{field.task.uuid}']").click()
    expect(page.get_by_test_id("checkin-summary")).to_have_attribute("data-source", "server")
    assert errors == []
