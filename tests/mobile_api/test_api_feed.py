"""The feed over the API: backlog, dead letters and re-queue for supervisors and admins;
everybody else is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import mobile_api
from enforcement import feed
from enforcement.models import AuditLog, FeedRecord, Role, utcnow
from enforcement.models.feed import FEED_KINDS
from tests.mobile_api.conftest import PASSWORD

DEAD_LETTERS = "/api/v1/feed/dead-letters"


def _token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def people(testapp: webtest.TestApp, make_user: Callable[..., Any]) -> dict[str, dict[str, str]]:
    make_user("boss", Role.SUPERVISOR)
    make_user("root", Role.ADMIN)
    make_user("officer", Role.INSPECTOR)
    make_user("firm", Role.ENTERPRISE)
    make_user("liaison", Role.LIAISON)
    return {name: _token(testapp, name) for name in ("boss", "root", "officer", "firm", "liaison")}


@pytest.fixture
def records(data: Session) -> dict[str, FeedRecord]:
    """Two dead letters, one pending record and one delivered one."""
    now = utcnow()
    found = {}
    for name in ("dead1", "dead2", "pending", "delivered"):
        found[name] = feed.publish(
            data, "inspection", f"{name}-uuid", {"name": name, "结果": "合格"}
        )
    for name in ("dead1", "dead2"):
        found[name].attempts, found[name].dead_at = 8, now - dt.timedelta(minutes=5)
        found[name].last_error = "ConnectError: [Errno 111] Connection refused"
    found["delivered"].delivered_at = now
    data.commit()
    return found


def test_supervisors_see_the_backlog(
    testapp: webtest.TestApp, people: dict[str, dict[str, str]], records: dict[str, FeedRecord]
) -> None:
    state = testapp.get("/api/v1/feed/status", headers=people["boss"]).json
    assert (state["pending"], state["due"], state["delivered"], state["dead"]) == (1, 1, 1, 2)
    assert state["by_kind"]["inspection"] == {"pending": 1, "due": 1, "delivered": 1, "dead": 2}
    assert state["oldest_pending_at"].endswith("+00:00")


def test_dead_letters_list_and_requeue(
    testapp: webtest.TestApp,
    people: dict[str, dict[str, str]],
    records: dict[str, FeedRecord],
    data: Session,
) -> None:
    listed = testapp.get(DEAD_LETTERS, headers=people["boss"]).json
    assert [row["record_key"] for row in listed["dead_letters"]] == ["dead1-uuid", "dead2-uuid"]
    first = listed["dead_letters"][0]
    assert first["state"] == "dead" and first["attempts"] == 8
    assert first["idempotency_key"] == "inspection:dead1-uuid:1"
    assert "Connection refused" in first["last_error"]
    assert "payload" not in first  # what and why, not the record itself
    assert listed["next_after"] is None

    page = testapp.get(DEAD_LETTERS, params={"limit": 1}, headers=people["root"]).json
    assert [row["id"] for row in page["dead_letters"]] == [records["dead1"].id]
    rest = testapp.get(
        DEAD_LETTERS, params={"limit": 1, "after": page["next_after"]}, headers=people["root"]
    ).json
    assert [row["id"] for row in rest["dead_letters"]] == [records["dead2"].id]

    url = f"{DEAD_LETTERS}/{records['dead1'].id}/requeue"
    answer = testapp.post(url, headers=people["boss"]).json["record"]
    assert (answer["state"], answer["attempts"], answer["dead_at"]) == ("pending", 0, None)
    again = testapp.post(url, headers=people["boss"]).json["record"]  # a retried request
    assert again["state"] == "pending"

    data.expire_all()
    stored = data.get_one(FeedRecord, records["dead1"].id)
    assert stored.dead_at is None and stored.attempts == 0
    audited = data.scalar(
        select(func.count()).where(
            AuditLog.action == "feed.requeue", AuditLog.entity_id == str(stored.id)
        )
    )
    assert audited == 1  # the repeat changed nothing and logged nothing
    remaining = testapp.get(DEAD_LETTERS, headers=people["boss"]).json["dead_letters"]
    assert [row["record_key"] for row in remaining] == ["dead2-uuid"]


def test_requeue_refusals(
    testapp: webtest.TestApp, people: dict[str, dict[str, str]], records: dict[str, FeedRecord]
) -> None:
    boss = people["boss"]
    testapp.post(f"{DEAD_LETTERS}/999999/requeue", headers=boss, status=404)
    delivered = testapp.post(
        f"{DEAD_LETTERS}/{records['delivered'].id}/requeue", headers=boss, status=409
    )
    assert delivered.json["error"]["code"] == "already_delivered"
    testapp.post(f"{DEAD_LETTERS}/0/requeue", headers=boss, status=422)


@pytest.mark.parametrize("who", ["officer", "firm", "liaison"])
def test_other_roles_are_refused(
    testapp: webtest.TestApp,
    people: dict[str, dict[str, str]],
    records: dict[str, FeedRecord],
    who: str,
) -> None:
    headers = people[who]
    for url in ("/api/v1/feed/status", DEAD_LETTERS):
        refused = testapp.get(url, headers=headers, status=403)
        assert refused.json["error"]["code"] == "forbidden"
    testapp.post(f"{DEAD_LETTERS}/{records['dead1'].id}/requeue", headers=headers, status=403)


def test_anonymous_is_refused(testapp: webtest.TestApp, records: dict[str, FeedRecord]) -> None:
    for url in ("/api/v1/feed/status", DEAD_LETTERS):
        assert testapp.get(url, status=401).json["error"]["code"] == "unauthenticated"
    testapp.post(f"{DEAD_LETTERS}/{records['dead1'].id}/requeue", status=401)


def test_the_document_names_every_kind_the_feed_carries() -> None:
    """A dead letter of any kind must pass the response validation of the feed endpoints."""
    document = yaml.safe_load((Path(mobile_api.__file__).parent / "openapi.yaml").read_text())
    enums = [
        found
        for found in _enums_of_property(document, "kind")
        if "inspection_result" in found  # the feed's kinds, not the evidence's
    ]
    assert len(enums) >= 2
    for kinds in enums:
        assert sorted(kinds) == sorted(FEED_KINDS)


def _enums_of_property(node: Any, name: str) -> list[list[str]]:
    found: list[list[str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name and isinstance(value, dict) and "enum" in value:
                found.append(list(value["enum"]))
            found.extend(_enums_of_property(value, name))
    elif isinstance(node, list):
        for value in node:
            found.extend(_enums_of_property(value, name))
    return found
