"""Credit over the API: who sees a rating, and the credit-repair workflow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import CreditList, Enterprise, ListEntry, OutboxMessage, Role
from enforcement.services.credit import RatingService
from tests.factories import EnterpriseFactory
from tests.mobile_api.conftest import PASSWORD


def _token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def world(data: Session, make_user: Callable[..., Any]) -> dict[str, Any]:
    own, other = EnterpriseFactory(), EnterpriseFactory()
    entry = ListEntry(
        enterprise=own,
        list=CreditList.ABNORMAL_OPERATION,
        reason="通过登记的住所无法联系",
        listed_on=dt.date(2026, 1, 10),
    )
    data.add(entry)
    data.flush()
    RatingService(data).rate()
    data.commit()
    for enterprise in (own, other):
        data.refresh(enterprise)  # the rating wrote them set-based
    make_user("firm", Role.ENTERPRISE, enterprise_id=own.id)
    make_user("boss", Role.SUPERVISOR)
    make_user("officer", Role.INSPECTOR)
    return {"own": own, "other": other, "entry": entry}


def test_who_sees_an_enterprises_credit(testapp: webtest.TestApp, world: dict[str, Any]) -> None:
    own, other = world["own"], world["other"]
    firm = _token(testapp, "firm")
    mine = testapp.get(f"/api/v1/enterprises/{own.id}/credit", headers=firm).json
    assert mine["tier"] == own.credit_tier and mine["reasons"] and mine["history"]
    assert any("经营异常" in reason["zh"] for reason in mine["reasons"])
    hidden = testapp.get(f"/api/v1/enterprises/{other.id}/credit", headers=firm, status=404)
    missing = testapp.get("/api/v1/enterprises/999999/credit", headers=firm, status=404)
    assert hidden.json == missing.json  # another firm's rating is not told apart from nothing
    testapp.get(
        f"/api/v1/enterprises/{own.id}/credit", headers=_token(testapp, "officer"), status=404
    )
    testapp.get(f"/api/v1/enterprises/{own.id}/credit", status=404)  # the public: off by default
    boss = testapp.get(f"/api/v1/enterprises/{other.id}/credit", headers=_token(testapp, "boss"))
    assert boss.json["tier"] == other.credit_tier


def test_tiers_can_be_published(
    build_app: Callable[..., Router], web_engine: Any, world: dict[str, Any]
) -> None:
    public = webtest.TestApp(build_app(web_engine, **{"suijian.publish_tiers": "true"}))
    shown = public.get(f"/api/v1/enterprises/{world['own'].id}/credit").json
    assert shown["tier"] == world["own"].credit_tier
    assert "reasons" not in shown and "score_band" not in shown


def test_repair_workflow(testapp: webtest.TestApp, data: Session, world: dict[str, Any]) -> None:
    firm, boss = _token(testapp, "firm"), _token(testapp, "boss")
    body = {
        "subject": "list_entry",
        "subject_id": world["entry"].id,
        "statement": "已办理住所变更登记，现可通过登记住所联系。",
        "evidence": [{"name": "住所证明.pdf", "sha256": "cd" * 32}],
    }
    short = testapp.post_json(
        "/api/v1/credit-repairs", {**body, "statement": "改了"}, headers=firm, status=422
    )
    assert "statement" in short.json["error"]["fields"]
    applied = testapp.post_json("/api/v1/credit-repairs", body, headers=firm, status=201).json
    assert applied["status"] == "submitted"
    again = testapp.post_json("/api/v1/credit-repairs", body, headers=firm, status=409)
    assert again.json["error"]["code"] == "conflict"
    testapp.post_json("/api/v1/credit-repairs", body, headers=boss, status=403)

    assert [
        r["id"]
        for r in testapp.get("/api/v1/credit-repairs?status=submitted", headers=boss).json[
            "repairs"
        ]
    ] == [applied["id"]]
    url = f"/api/v1/credit-repairs/{applied['id']}"
    testapp.get(url, headers=_token(testapp, "officer"), status=404)
    testapp.post_json(f"{url}/decision", {"approve": True}, headers=firm, status=403)
    decided = testapp.post_json(f"{url}/decision", {"approve": True}, headers=boss).json
    assert decided["status"] == "approved" and decided["decided_at"]
    assert testapp.get(url, headers=firm).json["status"] == "approved"

    data.commit()
    entry = data.get(ListEntry, world["entry"].id)
    data.refresh(entry)
    assert entry.removed_on is not None
    message = data.scalars(select(OutboxMessage)).one()
    assert message.payload["cause"] == "repair"
    assert data.get(Enterprise, world["own"].id) is not None
