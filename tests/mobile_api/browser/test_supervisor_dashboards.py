"""The supervisor's dashboards in Chromium at 1280×800 (both backends): a drawn plan of the demo
on the real county polygons of the jurisdictions table, coloured by state; the indicator charts;
screenshots kept in var/test-artifacts/desk/; no critical axe-core violations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import InspectionTask, Role, TaskStatus
from tests.field_work import drawn_field_work
from tests.mobile_api.browser.desk import (
    TABLET,
    assert_accessible,
    open_desk_page,
    screenshot,
    sign_in,
)
from tests.mobile_api.browser.harness import LiveServer

PLAN = "2025-FIELD-01"


def vary_states(data: Session) -> dict[str, int]:
    """Give the drawn tasks a mix of states (the draw leaves them all open)."""
    tasks = data.scalars(
        select(InspectionTask)
        .where(InspectionTask.status == TaskStatus.OPEN)
        .order_by(InspectionTask.id)
    ).all()
    later = dt.date.today() + dt.timedelta(days=60)
    cycle = (
        (TaskStatus.DONE, None),
        (TaskStatus.IN_PROGRESS, later),
        (TaskStatus.CANCELLED, None),
        (TaskStatus.OPEN, later),
        (TaskStatus.OPEN, None),  # due in 2025: overdue
    )
    for index, task in enumerate(tasks):
        status, due = cycle[index % len(cycle)]
        task.status = status
        if due is not None:
            task.due_date = due
    data.commit()
    return {"tasks": len(tasks)}


def test_the_supervisor_sees_the_plan_on_the_county_map_and_the_indicator_charts(
    desk_page: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    data: Session,
    make_user: Any,
    backend: str,
) -> None:
    drawn_field_work(data)
    assert vary_states(data)["tasks"] >= 5
    make_user("desk-dash", Role.SUPERVISOR)
    page = desk_page
    sign_in(page, live_server, "desk-dash")

    page.goto(f"{live_server.url}/desk/dashboards/map?plan={PLAN}")
    page.locator("#task-map[data-state=ready]").wait_for()
    counties = page.request.get(f"{live_server.url}/desk/dashboards/counties.geojson").json()
    tasks = page.request.get(f"{live_server.url}/desk/dashboards/tasks.json?plan={PLAN}").json()
    assert len(counties["features"]) >= 1
    assert (
        {p["state"] for p in tasks["points"]}
        == set(tasks["counts"])
        == {
            "open",
            "in_progress",
            "done",
            "cancelled",
            "overdue",
        }
    )
    chart = page.locator("#task-map")
    assert chart.get_attribute("data-counties-total") == str(len(counties["features"]))
    drawn = chart.get_attribute("data-county-names").split("|")
    assert 1 <= len(drawn) <= len(counties["features"])
    assert set(drawn) <= {f["properties"]["name"] for f in counties["features"]}
    assert chart.get_attribute("data-points") == str(len(tasks["points"]))
    # ECharts drew into an SVG: a shape per county around the tasks and a symbol per task.
    assert page.locator("#task-map svg").count() == 1
    shapes = page.locator("#task-map svg path").count()
    assert shapes >= len(drawn) + len(tasks["points"])
    # Every county drawn is labelled with its name.
    drawn_text = " ".join(page.locator("#task-map svg text").all_text_contents())
    for name in drawn:
        assert name in drawn_text
    # The table fallback lists the same located tasks.
    assert page.locator("#table-tasks tbody tr").count() == len(tasks["points"])
    screenshot(page, f"dashboards-map-{backend}")
    chart.scroll_into_view_if_needed()
    screenshot(page, f"dashboards-map-chart-{backend}")
    assert_accessible(page)

    # This year (the default period): the tasks marked done above were completed today.
    page.goto(f"{live_server.url}/desk/dashboards/")
    page.wait_for_function("() => document.documentElement.dataset.chartsReady !== undefined")
    for chart_id in ("chart-shares", "chart-tiers"):
        assert page.locator(f"#{chart_id} svg").count() == 1
    # Every completed task is one of the plan's marked done above (the only work this year).
    cross = page.locator("#kpi-cross_department .kpi-detail").inner_text()
    assert cross.split(" · ")[0].split(" / ")[1] == str(tasks["counts"]["done"])
    assert page.locator("#kpi-item_coverage .kpi-value").inner_text().endswith("%")
    screenshot(page, f"dashboards-{backend}")
    assert_accessible(page)
    assert desk_errors == []


def test_the_dashboards_fit_a_portrait_tablet(
    browser: Any, live_server: LiveServer, data: Session, make_user: Any, backend: str
) -> None:
    drawn_field_work(data)
    make_user("desk-dash", Role.SUPERVISOR)
    errors: list[str] = []
    page = open_desk_page(browser, TABLET, errors=errors)
    try:
        sign_in(page, live_server, "desk-dash")
        for path, name in (("/desk/dashboards/", "dashboards"), ("/desk/dashboards/map", "map")):
            page.goto(f"{live_server.url}{path}?plan={PLAN}")
            if name == "map":
                page.locator("#task-map[data-state=ready]").wait_for()
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 800×1280"
            screenshot(page, f"dashboards-{name}-tablet-{backend}")
        assert errors == []
    finally:
        page.context.close()
