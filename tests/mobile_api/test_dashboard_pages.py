"""The dashboard pages over HTTP (both backends): who may see them, the figures of the constructed
world of tests/enforcement/test_dashboards.py as the pages show them, the map's two JSON feeds,
and bad query fields named on the page."""

from __future__ import annotations

import json
import re

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from enforcement.models import JurisdictionLevel, Role
from tests.enforcement.test_dashboards import World, build_world
from tests.factories import JurisdictionFactory

PAGES = ("/desk/dashboards/", "/desk/dashboards/map")
FEEDS = ("/desk/dashboards/counties.geojson", "/desk/dashboards/tasks.json")
YEAR_2025 = {"from": "2025-01-01", "to": "2025-12-31"}


@pytest.fixture
def world(data: Session) -> World:
    built = build_world(data)
    JurisdictionFactory(
        adcode="330783",
        name="东阳市",
        level=JurisdictionLevel.COUNTY,
        polygon=WKTElement("MULTIPOLYGON(((120 29, 121 29, 121 30, 120 30, 120 29)))", srid=4326),
    )
    data.commit()
    return built


def kpi(html: str, key: str) -> str:
    match = re.search(rf'id="kpi-{key}".*?<p class="kpi-value"[^>]*>([^<]*)</p>', html, re.S)
    assert match, f"kpi {key} not on the page"
    return match.group(1).strip()


def count(html: str, key: str) -> int:
    match = re.search(rf'id="count-{key}"><dt>[^<]*</dt><dd>(\d+)</dd>', html)
    assert match, f"count {key} not on the page"
    return int(match.group(1))


@pytest.mark.parametrize("path", PAGES + FEEDS)
def test_anonymous_visitors_are_sent_to_sign_in(testapp, path) -> None:
    response = testapp.get(path, status=303)
    assert response.location.startswith("http://localhost/login?next=")


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.ENTERPRISE, Role.LIAISON])
def test_other_roles_are_refused_and_not_offered_the_link(
    testapp, make_user, sign_in, role
) -> None:
    make_user("account", role)
    sign_in(testapp, "account")
    for path in PAGES + FEEDS:
        testapp.get(path, status=403)
    assert 'href="/desk/dashboards/"' not in testapp.get("/").text


def test_a_department_supervisor_sees_the_figures_of_the_department(
    testapp, world, make_user, sign_in
) -> None:
    make_user("sup", Role.SUPERVISOR, department_id=world.a)
    sign_in(testapp, "sup")
    assert 'href="/desk/dashboards/"' in testapp.get("/").text
    page = testapp.get("/desk/dashboards/", params=YEAR_2025)
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert kpi(html, "item_coverage") == "75.0 %"
    assert kpi(html, "cross_department") == "20.0 %"
    assert kpi(html, "mobile_rate") == "75.0 %"
    assert (count(html, "outside"), count(html, "flagged"), count(html, "acknowledged")) == (
        1,
        1,
        0,
    )
    # Today is long after 2025: both of the department's orders and case clocks are overdue.
    assert count(html, "rectifications") == 2 and count(html, "clocks") == 2
    # Tables beside the charts: every item of the department, the funnel rows, the tiers.
    coverage = page.html.select("#table-coverage tbody tr")
    assert [row.select("td")[0].text for row in coverage] == ["A1", "A2", "A3", "A5"]
    assert [row.select("td")[2].text for row in coverage] == ["3", "1", "1", "0"]
    inspectors = page.html.select("#table-consistency tbody tr")
    assert [r.select("td")[0].text for r in inspectors] == ["甲一 (A-001)", "甲二 (A-002)"]
    assert len(page.html.select("#table-tiers tbody tr")) == 12
    data = json.loads(page.html.select_one("#dashboard-data").string)
    assert data["shares"]["mobile_rate"]["goal"] == 0.9
    assert data["shares"]["cross_department"]["goal"] == 0.05
    assert data["tiers"][1] == {"date": "2025-02-28", "A": 0, "B": 1, "C": 1, "D": 1}
    for chart in ("chart-shares", "chart-tiers", "chart-consistency"):
        assert page.html.select_one(f"#{chart}")["role"] == "img"
    assert "/static/vendor/echarts/echarts.min.js" in html


def test_an_administrator_sees_the_whole_bureau_in_english(
    testapp, world, make_user, sign_in
) -> None:
    make_user("admin", Role.ADMIN, locale="en")
    sign_in(testapp, "admin")
    html = testapp.get("/desk/dashboards/", params={**YEAR_2025, "lang": "en"}).text
    assert kpi(html, "item_coverage") == "80.0 %"
    assert kpi(html, "cross_department") == "16.7 %"
    assert kpi(html, "mobile_rate") == "80.0 %"
    assert count(html, "outside") == 2 and count(html, "acknowledged") == 1
    assert count(html, "rectifications") == 3


def test_bad_query_fields_are_named_and_the_typed_value_kept(
    testapp, world, make_user, sign_in
) -> None:
    make_user("sup", Role.SUPERVISOR, department_id=world.a)
    sign_in(testapp, "sup")
    page = testapp.get("/desk/dashboards/", params={"from": "2025-13-01", "to": "2025-12-31"})
    assert page.html.select_one("#from-error") is not None
    assert page.html.select_one("#from")["value"] == "2025-13-01"
    reversed_ = testapp.get("/desk/dashboards/", params={"from": "2025-06-01", "to": "2025-01-01"})
    assert reversed_.html.select_one("#to-error") is not None
    assert reversed_.html.select_one("#from-error") is None


def test_the_map_page_and_its_feeds(testapp, world, make_user, sign_in) -> None:
    make_user("sup", Role.SUPERVISOR, department_id=world.a)
    sign_in(testapp, "sup")
    counties = testapp.get("/desk/dashboards/counties.geojson").json
    assert [f["properties"]["name"] for f in counties["features"]] == ["东阳市"]
    # All open work (today is long after 2025: both open tasks are overdue).
    open_work = testapp.get("/desk/dashboards/tasks.json").json
    assert open_work["counts"] == {
        "open": 0,
        "in_progress": 0,
        "done": 0,
        "cancelled": 0,
        "overdue": 2,
    }
    plan = testapp.get("/desk/dashboards/tasks.json", params={"plan": world.plan_code}).json
    assert plan["counts"]["done"] == 6 and plan["counts"]["cancelled"] == 1
    assert plan["total"] == 9 and len(plan["points"]) == 8 and plan["unlocated"] == 1

    page = testapp.get("/desk/dashboards/map", params={"plan": world.plan_code})
    assert len(page.html.select("#table-tasks tbody tr")) == 8
    assert page.html.select_one('[data-count="done"]').text == "6"
    config = json.loads(page.html.select_one("#map-config").string)
    assert config["counties"] == "/desk/dashboards/counties.geojson"
    assert config["tasks"] == f"/desk/dashboards/tasks.json?plan={world.plan_code}"
    assert [s["key"] for s in config["states"]] == [
        "open",
        "in_progress",
        "done",
        "cancelled",
        "overdue",
    ]

    # A plan of another department: not found, named on the page, refused by the feed.
    other = testapp.get("/desk/dashboards/map", params={"plan": world.b_only_plan})
    assert other.html.select_one("#plan-error") is not None
    testapp.get("/desk/dashboards/tasks.json", params={"plan": world.b_only_plan}, status=404)
    testapp.get("/desk/dashboards/tasks.json", params={"plan": "x" * 65}, status=422)
