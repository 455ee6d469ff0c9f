"""Evidence over the JSON API (both backends): uploads whole and resumable, refusals with
their reasons, attaching to an inspection (idempotent, team only), fetching files, and the
on-site record PDF rendered by a real worker and served by the API."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from enforcement import outbox, tasks
from enforcement.models import FieldInspection, Role, User
from enforcement.services.evidence import evidence_store
from tests.evidence_helpers import Scene, finish, make_scene, pdf_text, photo, signature_png
from tests.mobile_api.conftest import PASSWORD
from tests.workers import running_worker


def token_for(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def scene(data: Session) -> Scene:
    scene = make_scene(data)
    data.commit()
    return scene


@pytest.fixture
def people(
    testapp: webtest.TestApp, scene: Scene, make_user: Callable[..., User]
) -> dict[str, dict[str, str]]:
    """Bearer headers: the team (lead, member), an inspector of another team, a supervisor
    in scope and one of another department, the inspected enterprise."""
    make_user("lead", Role.INSPECTOR, inspector_id=scene.lead.id)
    make_user("member", Role.INSPECTOR, inspector_id=scene.member.id)
    make_user("outsider", Role.INSPECTOR, inspector_id=scene.outsider.id)
    make_user("supervisor", Role.SUPERVISOR, department_id=scene.department.id)
    make_user("elsewhere", Role.SUPERVISOR, department_id=scene.other_department.id)
    make_user("shop", Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    names = ("lead", "member", "outsider", "supervisor", "elsewhere", "shop")
    return {name: token_for(testapp, name) for name in names}


def upload(
    app: webtest.TestApp,
    body: bytes,
    headers: dict[str, str],
    content_type: str = "image/jpeg",
    status: int | str = "*",
) -> webtest.TestResponse:
    return app.post(
        "/api/v1/evidence", body, headers=headers, content_type=content_type, status=status
    )


def attach_path(scene: Scene, attachment: uuid.UUID) -> str:
    return f"/api/v1/inspections/{scene.inspection.uuid}/evidence/{attachment}"


# ------------------------------------------------------------------------------ uploads


def test_upload_a_photo_and_fetch_it(testapp: webtest.TestApp, people: dict) -> None:
    data = photo()
    sha = hashlib.sha256(data).hexdigest()
    first = upload(testapp, data, {**people["lead"], "X-Filename": "IMG_0001.jpg"}, status=201)
    assert first.json == {
        "sha256": sha,
        "media_type": "image/jpeg",
        "kind": "photo",
        "size": len(data),
        "exif": {
            "time": "2025-03-04T01:41:12Z",
            "lon": pytest.approx(120.1551),
            "lat": pytest.approx(30.2741),
        },
    }
    assert first.location.endswith(f"/api/v1/evidence/{sha}")
    # The same bytes again (declared as nothing in particular): the stored file, 200.
    again = upload(testapp, data, people["lead"], "application/octet-stream", status=200)
    assert again.json["sha256"] == sha

    got = testapp.get(f"/api/v1/evidence/{sha}", headers=people["lead"], status=200)
    assert got.body == data and got.content_type == "image/jpeg"
    assert got.headers["ETag"] == f'"{sha}"'
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    testapp.get(
        f"/api/v1/evidence/{sha}",
        headers={**people["lead"], "If-None-Match": f'"{sha}"'},
        status=304,
    )
    # Nobody else sees an unattached upload; an unknown hash looks the same.
    for who in ("member", "outsider", "supervisor", "shop"):
        refused = testapp.get(f"/api/v1/evidence/{sha}", headers=people[who], status=404)
        assert refused.json["error"]["code"] == "not_found"
    testapp.get(f"/api/v1/evidence/{'ef' * 32}", headers=people["lead"], status=404)
    testapp.get(f"/api/v1/evidence/{sha}", status=401)


def test_only_inspectors_upload(testapp: webtest.TestApp, people: dict) -> None:
    for who in ("supervisor", "shop"):
        refused = upload(testapp, photo(), people[who], status=403)
        assert refused.json["error"]["code"] == "forbidden"
    assert upload(testapp, photo(), {}, status=401).json["error"]["code"] == "unauthenticated"


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "x" * 100)
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "field"),
    [
        (_zip(), "application/octet-stream", 415, "type_not_allowed", None),
        (b"just some text, not a photo" * 20, "image/jpeg", 415, "type_unknown", None),
        (signature_png(), "image/jpeg", 415, "type_mismatch", "Content-Type"),
        (signature_png(), "video/mp4", 415, "kind_mismatch", "X-Evidence-Kind"),
        (photo() + _zip(), "image/jpeg", 422, "polyglot", "body"),
        (photo()[:4000], "image/jpeg", 422, "image_corrupt", "body"),
        (b"", "image/jpeg", 400, "empty", "body"),
    ],
    ids=["zip", "text", "png-as-jpeg", "png-as-video", "jpeg-zip-polyglot", "truncated", "empty"],
)
def test_wrong_types_are_refused_with_their_reason(
    testapp: webtest.TestApp,
    people: dict,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
    field: str | None,
) -> None:
    refused = upload(testapp, body, people["lead"], content_type, status=status)
    error = refused.json["error"]
    assert error["code"] == code
    assert error["message"] and error["detail"]
    if field is not None:
        assert field in error["fields"]
    english = testapp.post(  # the signed-in user's locale (zh_CN) wins over Accept-Language
        "/api/v1/evidence?_LOCALE_=en",
        body,
        headers=people["lead"],
        content_type=content_type,
        status=status,
    )
    assert english.json["error"]["code"] == code
    assert english.json["error"]["message"] != error["message"]  # zh-CN by default


@pytest.fixture
def small_app(
    web_engine: Engine, build_app: Callable[..., Router], data: Session
) -> webtest.TestApp:
    """The application with a 20 kB evidence limit (``suijian.evidence.max_bytes``)."""
    return webtest.TestApp(build_app(web_engine, **{"suijian.evidence.max_bytes": "20000"}))


def test_oversized_uploads_are_refused(
    small_app: webtest.TestApp, people: dict, scene: Scene
) -> None:
    big = photo()
    assert len(big) > 20000
    refused = upload(small_app, big, people["lead"], status=413)
    assert refused.json["error"]["code"] == "too_large"
    assert "20000" in refused.json["error"]["fields"]["body"]
    begun = small_app.post_json(
        "/api/v1/uploads",
        {"size": len(big), "sha256": hashlib.sha256(big).hexdigest(), "kind": "photo"},
        headers=people["lead"],
        status=413,
    )
    assert begun.json["error"]["code"] == "too_large" and "size" in begun.json["error"]["fields"]
    # Under the limit is fine on the same application.
    small = signature_png()
    assert upload(small_app, small, people["lead"], "image/png", status=201).json["size"] == len(
        small
    )


def test_resumable_upload_out_of_order_with_a_lost_connection(
    testapp: webtest.TestApp, people: dict
) -> None:
    data = photo(seed=45)
    sha = hashlib.sha256(data).hexdigest()
    size = len(data)
    begun = testapp.post_json(
        "/api/v1/uploads",
        {"size": size, "sha256": sha, "filename": "IMG_0002.JPG"},
        headers=people["lead"],
        status=201,
    ).json
    assert begun["size"] == size and begun["received"] == 0 and begun["missing"] == [[0, size]]
    upload_path = f"/api/v1/uploads/{begun['id']}"

    def put(start: int, end: int, status: int = 200, **headers: str) -> webtest.TestResponse:
        return testapp.put(
            upload_path,
            data[start:end],
            headers={
                **people["lead"],
                "Content-Range": f"bytes {start}-{end - 1}/{size}",
                **headers,
            },
            content_type="application/octet-stream",
            status=status,
        )

    third = size // 3
    put(2 * third, size)  # the last part first
    state = put(0, third).json
    assert state["received"] == size - third and state["missing"] == [[third, 2 * third]]
    # The connection dropped: ask what is missing, send a chunk twice, then the rest.
    assert testapp.get(upload_path, headers=people["lead"]).json == state
    put(0, third)
    clash = testapp.put(
        upload_path,
        b"\x00" * 10,
        headers={**people["lead"], "Content-Range": f"bytes 0-9/{size}"},
        content_type="application/octet-stream",
        status=409,
    )
    assert clash.json["error"]["code"] == "chunk_conflict"
    early = testapp.post(f"{upload_path}/complete", headers=people["lead"], status=409)
    assert early.json["error"]["code"] == "upload_incomplete"
    assert put(third, 2 * third).json["missing"] == []
    # Another user cannot see or complete this upload.
    testapp.get(upload_path, headers=people["member"], status=404)
    testapp.post(f"{upload_path}/complete", headers=people["member"], status=404)

    done = testapp.post(f"{upload_path}/complete", headers=people["lead"], status=201).json
    assert done["sha256"] == sha and done["kind"] == "photo" and done["exif"] is not None
    retried = testapp.post(f"{upload_path}/complete", headers=people["lead"], status=200).json
    assert retried == done
    assert testapp.get(f"/api/v1/evidence/{sha}", headers=people["lead"]).body == data


def test_resumable_upload_refusals(testapp: webtest.TestApp, people: dict) -> None:
    png = signature_png()
    begun = testapp.post_json(
        "/api/v1/uploads",
        {"size": len(png), "sha256": hashlib.sha256(png).hexdigest(), "content_type": "image/jpeg"},
        headers=people["lead"],
        status=201,
    ).json
    path = f"/api/v1/uploads/{begun['id']}"
    missing_range = testapp.put(path, png, headers=people["lead"], status=422)
    assert "Content-Range" in missing_range.json["error"]["fields"]
    wrong = testapp.put(
        path,
        png,
        headers={**people["lead"], "Content-Range": f"bytes 0-{len(png) - 1}/{len(png)}"},
        content_type="application/octet-stream",
        status=415,
    )
    assert wrong.json["error"]["code"] == "type_mismatch"  # PNG bytes declared as JPEG
    testapp.get(path, headers=people["lead"], status=404)  # refused uploads are discarded
    no_kind = testapp.post_json(
        "/api/v1/uploads", {"size": 10, "sha256": "ab" * 32}, headers=people["lead"], status=422
    )
    assert "kind" in no_kind.json["error"]["fields"]
    bad = testapp.post_json(
        "/api/v1/uploads", {"size": 0, "sha256": "xyz"}, headers=people["lead"], status=422
    )
    assert {"size", "sha256"} <= set(bad.json["error"]["fields"])
    testapp.post_json(
        "/api/v1/uploads",
        {"size": 10, "sha256": "ab" * 32, "kind": "photo"},
        headers=people["shop"],
        status=403,
    )


# ------------------------------------------------------------------------------ attachments


def test_attach_replay_conflict_and_the_team_only(
    testapp: webtest.TestApp, people: dict, scene: Scene, data: Session
) -> None:
    sha = upload(testapp, photo(), people["lead"], status=201).json["sha256"]
    attachment = uuid.uuid4()
    body = {"sha256": sha, "caption": "仓库货架照片", "captured_at": "2025-03-04T09:41:12+08:00"}
    created = testapp.put_json(
        attach_path(scene, attachment), body, headers=people["lead"], status=201
    )
    document = created.json
    assert document["uuid"] == str(attachment) and document["sha256"] == sha
    assert document["kind"] == "photo" and document["media_type"] == "image/jpeg"
    assert document["captured_at"] == "2025-03-04T01:41:12Z"
    assert document["exif_check"]["verdict"] == "consistent"
    assert document["exif_check"]["distance_m"] == pytest.approx(35.0, abs=1.0)
    assert created.headers["ETag"] == '"2"'

    # The member of the team replays the tablet's queue: the stored attachment, 200.
    replay = testapp.put_json(
        attach_path(scene, attachment), body, headers=people["member"], status=200
    )
    assert replay.json == document and replay.headers["ETag"] == '"2"'
    changed = testapp.put_json(
        attach_path(scene, attachment),
        {**body, "caption": "改过的说明"},
        headers=people["lead"],
        status=409,
    )
    assert changed.json["error"]["code"] == "conflict"
    assert changed.json["current"] == document

    # Other people: not found (another team), forbidden (wrong role), unauthenticated.
    other = attach_path(scene, uuid.uuid4())
    hidden = testapp.put_json(other, body, headers=people["outsider"], status=404)
    nowhere = testapp.put_json(
        f"/api/v1/inspections/{uuid.uuid4()}/evidence/{uuid.uuid4()}",
        body,
        headers=people["outsider"],
        status=404,
    )
    assert hidden.json["error"]["code"] == nowhere.json["error"]["code"] == "not_found"
    testapp.put_json(other, body, headers=people["supervisor"], status=403)
    testapp.put_json(other, body, headers=people["shop"], status=403)
    testapp.put_json(other, body, status=401)

    unknown = testapp.put_json(other, {"sha256": "ab" * 32}, headers=people["lead"], status=422)
    assert "sha256" in unknown.json["error"]["fields"]
    invalid = testapp.put_json(other, {"sha256": "no"}, headers=people["lead"], status=422)
    assert "sha256" in invalid.json["error"]["fields"]

    data.expire_all()
    stored = data.scalar(select(FieldInspection).where(FieldInspection.id == scene.inspection.id))
    assert stored.version == 2 and [e.uuid for e in stored.evidence] == [attachment]

    # Attached: the team and supervisors in scope may fetch the file; others may not.
    for who in ("lead", "member", "supervisor"):
        assert testapp.get(f"/api/v1/evidence/{sha}", headers=people[who]).body == photo()
    for who in ("outsider", "elsewhere", "shop"):
        testapp.get(f"/api/v1/evidence/{sha}", headers=people[who], status=404)


def test_a_photo_from_elsewhere_is_flagged(
    testapp: webtest.TestApp, people: dict, scene: Scene
) -> None:
    far = photo(lat=30.2741 + 0.05, seed=46)  # 5.5 km north of the enterprise
    sha = upload(testapp, far, people["lead"], status=201).json["sha256"]
    check = testapp.put_json(
        attach_path(scene, uuid.uuid4()), {"sha256": sha}, headers=people["lead"], status=201
    ).json["exif_check"]
    assert check["verdict"] == "far" and check["distance_m"] > 5000


# ------------------------------------------------------------------------------ the record


def test_the_onsite_record_from_the_worker_and_the_api(
    testapp: webtest.TestApp,
    web_app: Router,
    people: dict,
    scene: Scene,
    data: Session,
    redis_url: str,
) -> None:
    shot = upload(testapp, photo(), people["lead"], status=201).json["sha256"]
    testapp.put_json(
        attach_path(scene, uuid.uuid4()),
        {"sha256": shot, "caption": "仓库货架照片"},
        headers=people["lead"],
        status=201,
    )
    signature = upload(testapp, signature_png(), people["lead"], "image/png", status=201).json
    record_path = f"/api/v1/inspections/{scene.inspection.uuid}/record.pdf"
    testapp.get(record_path, headers=people["lead"], status=404)  # not finished yet

    inspection = data.scalar(
        select(FieldInspection).where(FieldInspection.id == scene.inspection.id)
    )
    data.refresh(inspection)
    finish(inspection, signature["sha256"])
    outbox.publish(data, "inspection.record", {"inspection_uuid": str(inspection.uuid)})
    data.commit()

    settings: dict[str, Any] = {
        **web_app.registry.settings,
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
    }
    with running_worker(settings):
        assert tasks.drain_outbox.delay().get(timeout=60) >= 1  # sends the render task
        # Queued behind the one the outbox sent: finds the record already stored.
        again = tasks.render_onsite_record.delay(str(inspection.uuid)).get(timeout=180)
    assert again["status"] == "exists"
    data.expire_all()
    sha256 = data.get(FieldInspection, inspection.id).record_sha256
    assert sha256 == again["sha256"]
    store = evidence_store(web_app.registry.settings)
    with store.open(sha256) as handle:
        stored = handle.read()

    served = testapp.get(record_path, headers=people["member"], status=200)
    assert served.content_type == "application/pdf"
    assert served.body == stored and served.headers["ETag"] == f'"{sha256}"'
    text = pdf_text(served.body)
    for fact in (
        "现场检查笔录",
        "杭州龙井人家茶叶有限公司",
        "张晓明（执法证号：",
        "李丽华（执法证号：",
        "仓库货架照片",
        f"SHA-256:{shot}",
        "当事人签名王建国（负责人）",
        "仓库内发现超过保质期的袋装绿茶12袋",
        "不合格",
    ):
        assert fact in text, fact
    for who in ("lead", "supervisor"):
        assert testapp.get(record_path, headers=people[who]).body == stored
    for who in ("outsider", "elsewhere", "shop"):
        testapp.get(record_path, headers=people[who], status=404)
    testapp.get(record_path, status=401)
    # The record is a document in the store, fetchable by those who may read the inspection.
    assert testapp.get(f"/api/v1/evidence/{sha256}", headers=people["supervisor"]).body == stored
    testapp.get(f"/api/v1/evidence/{sha256}", headers=people["outsider"], status=404)


def test_the_api_renders_the_record_when_the_worker_has_not(
    testapp: webtest.TestApp, web_app: Router, people: dict, scene: Scene, data: Session
) -> None:
    signature = upload(testapp, signature_png(1), people["lead"], "image/png", status=201).json
    inspection = data.scalar(
        select(FieldInspection).where(FieldInspection.id == scene.inspection.id)
    )
    data.refresh(inspection)
    finish(inspection, signature["sha256"])
    data.commit()
    path = f"/api/v1/inspections/{scene.inspection.uuid}/record.pdf"
    first = testapp.get(path, headers=people["lead"], status=200)
    sha256 = hashlib.sha256(first.body).hexdigest()
    assert first.headers["ETag"] == f'"{sha256}"'
    data.expire_all()
    assert data.get(FieldInspection, inspection.id).record_sha256 == sha256
    assert evidence_store(web_app.registry.settings).verify(sha256)
    assert testapp.get(path, headers=people["member"]).body == first.body
    assert "本次检查未采集证据材料" in pdf_text(first.body)


def test_a_record_that_cannot_be_made_is_a_conflict_not_a_crash(
    testapp: webtest.TestApp, people: dict, scene: Scene, data: Session
) -> None:
    inspection = data.scalar(
        select(FieldInspection).where(FieldInspection.id == scene.inspection.id)
    )
    data.refresh(inspection)
    inspection.task.enterprise.uscc = None  # imported without a unified social credit code
    finish(inspection, None, refused=True)
    data.commit()
    path = f"/api/v1/inspections/{scene.inspection.uuid}/record.pdf"
    refused = testapp.get(path, headers=people["lead"], status=409)
    assert refused.json["error"]["code"] == "record_incomplete"
    assert "uscc" in refused.json["error"]["detail"]
