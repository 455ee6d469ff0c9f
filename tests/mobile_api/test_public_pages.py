"""The public pages (一公开) and open-data files, without signing in: search by enterprise name
or USCC, a record with its replies, masking, withdrawn and pending records, English, ETags; the
inspection-item list, published plans and draws with their verification bundles (re-run on
the page), the open-data page with every download and its dictionary; tiers hidden unless the
configuration publishes them; nothing personal or private on any page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from enforcement.models import Inspector, PublicKind, PublicRecord, Role, SamplingPlan, User
from enforcement.services import disclosure, open_data
from enforcement.services.disclosure import DisclosureService
from enforcement.services.publication import PublicationService, bundle_sha256, verify_bundle
from tests import factories
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene
from tests.factories import user_named
from tests.field_work import drawn_field_work


@pytest.fixture
def scene(data: Session) -> Scene:
    scene = make_scene(data)
    finish(scene.inspection, None, refused=True)
    data.flush()
    disclosure.run(data, clock=lambda: FINISHED_AT + dt.timedelta(hours=1))
    data.commit()
    return scene


@pytest.fixture
def record(data: Session, scene: Scene) -> PublicRecord:
    return data.scalars(select(PublicRecord)).one()


def test_results_are_searchable_by_name_or_uscc_without_signing_in(
    testapp: webtest.TestApp, scene: Scene, record: PublicRecord
) -> None:
    page = testapp.get("/public/")
    assert page.status_int == 200 and page.html.find("html")["lang"] == "zh-CN"
    row = page.html.find(id=f"record-{record.id}")
    assert row is not None and "杭州龙井人家茶叶有限公司" in row.text
    by_uscc = testapp.get("/public/", {"q": scene.enterprise.uscc})
    assert by_uscc.html.find(id=f"record-{record.id}") is not None
    by_name = testapp.get("/public/", {"q": "龙井"})
    assert by_name.html.find(id=f"record-{record.id}") is not None
    miss = testapp.get("/public/", {"q": "不存在"})
    assert miss.html.find(id="records") is None
    penalties = testapp.get("/public/", {"kind": "penalty"})
    assert penalties.html.find(id="records") is None
    bad = testapp.get("/public/", {"kind": "secrets", "page": "x", "q": "x" * 101})
    assert len(bad.html.select(".field-error")) == 3
    english = testapp.get("/public/", {"_LOCALE_": "en"})
    assert english.html.find("html")["lang"] == "en"
    assert "Public information" in english.text


def test_a_record_shows_its_result_masked_with_the_replies(
    testapp: webtest.TestApp, data: Session, scene: Scene, record: PublicRecord
) -> None:
    owner = User(
        username="shop",
        display_name="茶叶公司",
        role=Role.ENTERPRISE,
        password_hash="x",
        enterprise_id=scene.enterprise.id,
    )
    data.add(owner)
    data.flush()
    DisclosureService(data, owner).reply(record.id, "已于3月10日完成整改，联系电话13812345678。")
    data.commit()

    page = testapp.get(f"/public/records/{record.id}")
    assert page.html.find(id="team").text == "张*、李*"
    assert "张晓明" not in page.text and scene.lead.credential_no not in page.text
    replies = page.html.find(id="replies").text
    assert "已于3月10日完成整改" in replies and "138****5678" in replies
    assert "13812345678" not in page.text
    assert page.html.find(id="withdrawn") is None


def test_withdrawn_pending_and_unknown_records(
    testapp: webtest.TestApp, data: Session, scene: Scene, record: PublicRecord
) -> None:
    disclosure.withdraw(data, record, "检查对象有误，撤回公示。", now=FINISHED_AT, actor=None)
    data.commit()
    page = testapp.get(f"/public/records/{record.id}")
    assert "检查对象有误，撤回公示。" in page.html.find(id="withdrawn").text
    assert page.html.find(id="document") is None and "龙井人家" not in page.text

    held = make_scene(data)
    finish(held.inspection, None, refused=True)
    data.flush()
    disclosure.run(
        data,
        settings={"suijian.publication.hold_working_days": "5"},
        clock=lambda: FINISHED_AT,
    )
    data.commit()
    pending = data.scalars(select(PublicRecord).where(PublicRecord.published_at.is_(None))).one()
    testapp.get(f"/public/records/{pending.id}", status=404)
    testapp.get("/public/records/99999999999999999999", status=404)


def test_open_data_files_dictionary_and_etags(
    testapp: webtest.TestApp, scene: Scene, record: PublicRecord
) -> None:
    index = testapp.get("/open-data/")
    for name in open_data.DATASETS:
        assert index.html.find(id=f"dataset-{name}") is not None
    dictionary = testapp.get("/open-data/dictionary.json")
    assert dictionary.content_type == "application/json"
    assert dictionary.json == open_data.dictionary()

    results = testapp.get("/open-data/results.csv")
    assert results.content_type == "text/csv" and results.charset == "utf-8"
    assert "public" in results.headers["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(results.text)))
    assert [r["record_id"] for r in rows] == [str(record.id)]
    assert rows[0]["team"] == "张*;李*"
    testapp.get("/open-data/results.csv", headers={"If-None-Match": results.etag}, status=304)

    as_json = testapp.get("/open-data/results.json").json
    assert as_json["count"] == 1 and as_json["records"][0]["record_id"] == record.id
    assert testapp.get("/open-data/plans.json").json["records"] == []
    testapp.get("/open-data/secrets.csv", status=404)
    testapp.get("/open-data/results.xml", status=404)


# --------------------------------------------------------------------- issue 7: desk pages

PUBLIC_PAGES = ["/", "/public/", "/public/items/", "/public/plans/", "/open-data/"]


def published_plan(data: Session) -> SamplingPlan:
    """The demo's drawn plan, published, with its plan and draw records public; committed."""
    field = drawn_field_work(data)
    plan = field.task.draw.plan
    now = plan.drawn_at + dt.timedelta(days=1)
    PublicationService(data, user_named(data, "supervisor"), clock=lambda: now).publish(plan)
    data.flush()
    disclosure.run(data, clock=lambda: now + dt.timedelta(hours=1))
    data.commit()
    return plan


def test_the_home_page_and_every_page_lead_the_public_to_the_disclosure(
    testapp: webtest.TestApp,
) -> None:
    home = testapp.get("/")
    entry = home.html.find(id="public-entry")
    links = {a["href"] for a in entry.find_all("a")}
    assert links == {"/public/", "/public/items/", "/public/plans/", "/open-data/"}
    for path in PUBLIC_PAGES[1:]:
        page = testapp.get(path)
        assert page.status_int == 200
        assert page.html.find("main", id="main") is not None
        assert page.html.select_one("nav.main a[href='/public/']") is not None
        assert page.html.select_one("nav.sub a[aria-current=page]") is not None


def test_the_inspection_item_list_is_public_searchable_and_by_department(
    testapp: webtest.TestApp, data: Session
) -> None:
    food = factories.DepartmentFactory(name="食品安全监管处")
    other = factories.DepartmentFactory(name="特种设备安全监察处")
    factories.InspectionItemFactory(
        code="SPAQ-JY-101", department=food, name="食品经营者进货查验记录的检查"
    )
    factories.InspectionItemFactory(
        code="TZSB-SY-101",
        department=other,
        name="电梯使用单位安全管理的检查",
        legal_basis="《中华人民共和国特种设备安全法》第三十九条",
    )
    factories.InspectionItemFactory(
        code="OLD-001", department=food, name="已废止事项", active=False
    )
    data.commit()

    page = testapp.get("/public/items/")
    codes = [row["id"] for row in page.html.select("#items tbody tr")]
    assert codes == ["item-SPAQ-JY-101", "item-TZSB-SY-101"]  # by code
    assert "已废止事项" not in page.text
    row = page.html.find(id="item-TZSB-SY-101")
    assert "特种设备安全法" in row.text and "特种设备安全监察处" in row.text
    # (the label is translated once the lead updates the catalogues)
    assert row.select("td")[4].text in {"现场检查", "On-site inspection"}
    options = {o.text for o in page.html.select("#department option")[1:]}
    assert options == {"特种设备安全监察处", "食品安全监管处"}

    by_text = testapp.get("/public/items/", {"q": "电梯"})
    assert [r["id"] for r in by_text.html.select("#items tbody tr")] == ["item-TZSB-SY-101"]
    by_law = testapp.get("/public/items/", {"q": "特种设备安全法"})
    assert by_law.html.find(id="item-TZSB-SY-101") is not None
    by_department = testapp.get("/public/items/", {"department": str(food.id)})
    assert [r["id"] for r in by_department.html.select("#items tbody tr")] == ["item-SPAQ-JY-101"]
    none = testapp.get("/public/items/", {"q": "不存在的事项"})
    assert none.html.find(id="items") is None and none.html.find(id="no-items") is not None

    bad = testapp.get("/public/items/", {"department": "999999", "page": "0", "q": "x" * 101})
    assert bad.status_int == 200 and len(bad.html.select(".field-error")) == 3
    english = testapp.get("/public/items/", {"_LOCALE_": "en"})
    assert english.html.find("html")["lang"] == "en" and "On-site inspection" in english.text


def test_published_plans_with_draws_bundles_and_the_verification_result(
    testapp: webtest.TestApp, data: Session
) -> None:
    plan = published_plan(data)
    listing = testapp.get("/public/plans/")
    row = listing.html.find(id=f"plan-{plan.code}")
    assert row is not None and plan.title in row.text
    links = {a["href"] for a in row.find_all("a")}
    verification_url = f"/public/plans/{plan.code}/verification"
    assert {verification_url, f"/api/v1/plans/{plan.code}/bundle"} <= links
    assert testapp.get("/public/plans/", {"q": plan.code}).html.find(id=f"plan-{plan.code}")
    assert testapp.get("/public/plans/", {"q": "没有这个计划"}).html.find(id="no-plans")

    bundle = testapp.get(f"/api/v1/plans/{plan.code}/bundle").json
    assert verify_bundle(bundle) is None
    page = testapp.get(verification_url)
    assert page.html.find(id="verdict")["data-verified"] == "true"
    assert page.html.find(id="sha256").text == bundle_sha256(bundle)
    assert page.html.find(id="drawn").text == str(len(bundle["result"]["drawn"]))
    assert page.html.find(id="bundle")["href"] == f"/api/v1/plans/{plan.code}/bundle"

    draw = data.scalars(select(PublicRecord).where(PublicRecord.kind == PublicKind.DRAW)).one()
    record = testapp.get(f"/public/records/{draw.id}")
    assert record.html.find(id="verification")["href"] == verification_url
    # Inspectors are never named: not on the plan pages, not in the bundle.
    for inspector in data.scalars(select(Inspector)):
        for text in (listing.text, page.text, record.text, str(bundle)):
            assert inspector.name not in text and inspector.credential_no not in text

    testapp.get("/public/plans/NO-SUCH-PLAN/verification", status=404)
    testapp.get(f"/public/plans/{'x' * 65}/verification", status=404)


def test_a_drawn_but_unpublished_plan_has_no_bundle_or_verification(
    testapp: webtest.TestApp, data: Session
) -> None:
    field = drawn_field_work(data)
    plan = field.task.draw.plan
    disclosure.run(data, clock=lambda: plan.drawn_at + dt.timedelta(days=1))
    data.commit()
    row = testapp.get("/public/plans/").html.find(id=f"plan-{plan.code}")
    assert row is not None and "/bundle" not in str(row) and "verification" not in str(row)
    testapp.get(f"/public/plans/{plan.code}/verification", status=404)


def test_tiers_are_hidden_by_default_and_shown_when_configured(
    testapp: webtest.TestApp,
    data: Session,
    scene: Scene,
    record: PublicRecord,
    build_app: Callable[..., Router],
    web_engine: Engine,
) -> None:
    scene.enterprise.credit_tier = "C"
    scene.enterprise.credit_score = 61.5
    data.commit()
    for page in (testapp.get("/public/"), testapp.get(f"/public/records/{record.id}")):
        assert page.html.find(id="tier") is None and page.html.select("td.tier") == []
        assert "信用等级" not in page.text and "Credit tier" not in page.text
        assert "61.5" not in page.html.find("main").text

    published = webtest.TestApp(build_app(web_engine, **{"suijian.publish_tiers": "true"}))
    listing = published.get("/public/")
    assert listing.html.find(id=f"record-{record.id}").select_one("td.tier").text == "C"
    shown = published.get(f"/public/records/{record.id}")
    assert shown.html.find(id="tier").text == "C"
    assert "61.5" not in shown.html.find(id="document").text  # never the score


def test_open_data_page_lists_every_download_with_its_dictionary(
    testapp: webtest.TestApp, scene: Scene, record: PublicRecord
) -> None:
    page = testapp.get("/open-data/")
    dictionary = open_data.dictionary()
    for ds in dictionary["datasets"]:
        row = page.html.find(id=f"download-{ds['name']}")
        assert {a["href"] for a in row.find_all("a", download=True)} == set(ds["urls"].values())
        table = page.html.select_one(f"table.dictionary[data-dataset={ds['name']}]")
        names = [tr.find("td").text for tr in table.select("tbody tr")]
        assert names == [c["name"] for c in ds["columns"]]
        header = next(csv.reader(io.StringIO(testapp.get(ds["urls"]["csv"]).text)))
        assert header == names
    english = testapp.get("/open-data/", {"_LOCALE_": "en"})
    first = dictionary["datasets"][0]["columns"][0]["description"]["en"]
    assert first in english.text


def test_nothing_personal_or_private_on_the_public_pages(
    testapp: webtest.TestApp, data: Session, scene: Scene, record: PublicRecord
) -> None:
    factories.InspectionItemFactory(department=scene.department)
    data.commit()
    texts = [testapp.get(path).text for path in PUBLIC_PAGES]
    texts.append(testapp.get(f"/public/records/{record.id}").text)
    for inspector in (scene.lead, scene.member, scene.outsider):
        for text in texts:
            assert inspector.name not in text and inspector.credential_no not in text
    assert "张*、李*" in texts[-1]  # the team, masked
    for text in texts:
        assert "csrf_token" not in text.split("</header>", 1)[1]  # no forms for the public
        assert "Sign out" not in text and "退出" not in text
    assert all(testapp.get(p).headers.get("Set-Cookie") is None for p in PUBLIC_PAGES[1:])


def test_public_pages_do_not_need_a_session(testapp: webtest.TestApp, data: Any) -> None:
    for path in PUBLIC_PAGES:
        assert testapp.get(path, headers={"Cookie": ""}).status_int == 200
