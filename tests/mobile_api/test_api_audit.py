"""The full-process record over the API, on the real application: requests committed by
pyramid_tm leave their audit rows chained; the anchors are public; an entity's trail is for
supervisors in its department and admins."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from enforcement import feed
from enforcement.models import AuditLog, FeedRecord, Role, utcnow
from enforcement.services import audit
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectionItemFactory
from tests.mobile_api.conftest import PASSWORD

ANCHORS = "/api/v1/audit/anchors"


def _token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


def _trail(entity_type: str, entity_id: object) -> str:
    return f"/api/v1/audit/entities/{entity_type}/{entity_id}"


@pytest.fixture
def scope(data: Session) -> dict[str, Any]:
    """Two departments, an inspection item of each, an enterprise; audit rows on all three."""
    own, other = DepartmentFactory(), DepartmentFactory()
    item, foreign = InspectionItemFactory(department=own), InspectionItemFactory(department=other)
    firm = EnterpriseFactory()
    data.flush()
    for entity in (item, foreign, firm):
        audit.record(data, None, "test.change", entity, {"名称": "测试", "n": 1})
    audit.record(data, None, "test.again", item, {"n": 2})
    data.commit()
    return {"own": own, "other": other, "item": item, "foreign": foreign, "firm": firm}


@pytest.fixture
def people(
    testapp: webtest.TestApp, make_user: Callable[..., Any], scope: dict[str, Any]
) -> dict[str, dict[str, str]]:
    make_user("boss", Role.SUPERVISOR, department_id=scope["own"].id)
    make_user("bureau", Role.SUPERVISOR)  # no department: the whole bureau
    make_user("root", Role.ADMIN)
    make_user("officer", Role.INSPECTOR)
    make_user("firm", Role.ENTERPRISE)
    return {name: _token(testapp, name) for name in ("boss", "bureau", "root", "officer", "firm")}


def test_a_request_committed_by_pyramid_tm_chains_its_audit_rows(
    testapp: webtest.TestApp, people: dict[str, dict[str, str]], data: Session
) -> None:
    record = feed.publish(data, "inspection", "dead-uuid", {"结果": "合格"})
    record.attempts, record.dead_at = 8, utcnow() - dt.timedelta(minutes=5)
    data.commit()
    testapp.post(f"/api/v1/feed/dead-letters/{record.id}/requeue", headers=people["boss"])

    data.rollback()  # a fresh read transaction
    data.expire_all()
    row = data.scalars(select(AuditLog).where(AuditLog.action == "feed.requeue")).one()
    assert row.seq is not None and row.entry_hash is not None
    report = audit.verify_chain(data)
    assert report.ok and report.head_seq == row.seq
    assert data.get_one(FeedRecord, record.id).dead_at is None


def test_the_anchors_are_public_and_paged(
    testapp: webtest.TestApp, data: Session, scope: dict[str, Any]
) -> None:
    assert testapp.get(ANCHORS).json == {
        "algorithm": "sha256-canonical-json/1",
        "anchors": [],
        "next_after": None,
    }
    made = []
    for n in range(3):
        audit.record(data, None, "test.more", scope["firm"], {"round": n})
        data.commit()
        anchor = audit.create_anchor(
            data, clock=lambda n=n: dt.datetime(2026, 5, 1, n, tzinfo=dt.UTC)
        )
        data.commit()
        made.append(anchor)
    listed = testapp.get(ANCHORS).json  # no sign-in
    assert [a["seq"] for a in listed["anchors"]] == [5, 6, 7]
    assert listed["anchors"][0] == {
        "seq": 5,
        "entry_hash": made[0].entry_hash,
        "at": "2026-05-01T00:00:00+00:00",
        "algorithm": "sha256-canonical-json/1",
    }
    assert listed["next_after"] is None
    page = testapp.get(ANCHORS, params={"limit": 2}).json
    assert [a["seq"] for a in page["anchors"]] == [5, 6] and page["next_after"] == 6
    rest = testapp.get(ANCHORS, params={"limit": 2, "after": page["next_after"]}).json
    assert [a["seq"] for a in rest["anchors"]] == [7] and rest["next_after"] is None
    testapp.get(ANCHORS, params={"limit": 0}, status=422)
    # What the public holds checks the bureau's log.
    kept = audit.published_anchors(listed["anchors"])
    assert audit.verify_chain(data, published=kept).published == 3


def test_a_supervisor_reads_the_trails_of_their_department(
    testapp: webtest.TestApp, people: dict[str, dict[str, str]], scope: dict[str, Any]
) -> None:
    item = _trail("inspection_items", scope["item"].id)
    trail = testapp.get(item, headers=people["boss"]).json
    assert trail["entity_type"] == "inspection_items" and trail["entity_id"] == str(
        scope["item"].id
    )
    assert [e["action"] for e in trail["entries"]] == ["test.change", "test.again"]
    first, second = trail["entries"]
    assert first["details"] == {"名称": "测试", "n": 1} and first["actor"] is None
    assert first["seq"] == 1 and second["seq"] == 4  # the rows of the other entities between
    assert first["prev_hash"] == "0" * 64 and len(second["prev_hash"]) == 64
    assert first["hash_ok"] is True and second["hash_ok"] is True

    foreign = _trail("inspection_items", scope["foreign"].id)
    testapp.get(foreign, headers=people["boss"], status=404)  # another department's
    assert len(testapp.get(foreign, headers=people["bureau"]).json["entries"]) == 1
    assert len(testapp.get(foreign, headers=people["root"]).json["entries"]) == 1
    firm = _trail("enterprises", scope["firm"].id)  # the whole bureau's
    assert len(testapp.get(firm, headers=people["boss"]).json["entries"]) == 1
    testapp.get(_trail("inspection_items", 999999), headers=people["boss"], status=404)
    assert testapp.get(_trail("nothing_here", 1), headers=people["root"]).json["entries"] == []

    testapp.get(item, headers=people["officer"], status=403)
    testapp.get(item, headers=people["firm"], status=403)
    testapp.get(item, status=401)
    testapp.get(_trail("Bad-Type", 1), headers=people["root"], status=422)


def test_the_trail_shows_an_entry_that_no_longer_hashes(
    testapp: webtest.TestApp,
    people: dict[str, dict[str, str]],
    scope: dict[str, Any],
    data: Session,
    web_engine: Any,
) -> None:
    victim = data.scalars(select(AuditLog).where(AuditLog.action == "test.again")).one()
    cast = "CAST(:details AS JSON)" if web_engine.dialect.name == "postgresql" else ":details"
    with web_engine.begin() as connection:
        connection.execute(
            text(f"UPDATE audit_log SET details = {cast} WHERE id = :id"),
            {"details": json.dumps({"n": 3}), "id": victim.id},
        )
    entries = testapp.get(
        _trail("inspection_items", scope["item"].id), headers=people["root"]
    ).json["entries"]
    assert [e["hash_ok"] for e in entries] == [True, False]
    assert entries[1]["details"] == {"n": 3}
