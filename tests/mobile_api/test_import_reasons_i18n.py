"""The reasons of the registry importers, the plan service and the inspection service reach
people in their language: the console's per-row import report (stored as JSON by the job,
translatable again when shown), a plan form's field errors, and the API's ``fields`` of an
inspection refused on validation. Chinese by default, English on request.

That every reason has its Chinese is test_catalogues' concern; here the point is that the
reason the service gave is the one shown, translated, with its values filled in."""

from __future__ import annotations

import re
import uuid

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import BackgroundJob, User
from tests.field_work import FieldWork, drawn_field_work
from tests.mobile_api.test_api_inspections import checkin_body, token
from tests.mobile_api.test_console_pages import _upload, run_jobs, supervisor  # noqa: F401
from tests.mobile_api.test_plan_pages import demo, fill_plan, sign_in  # noqa: F401

# ---------------------------------------------------------------------- the import report


def _reasons(page: webtest.TestResponse) -> dict[tuple[int, str], str]:
    """(row, field) -> the reason shown in the rejects table."""
    table = page.text.split('id="rejects"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(
        r'<td class="num">(\d+)</td>\s*<td class="code">([a-z_()]+)</td>\s*'
        r'<td class="code wrap">[^<]*</td>\s*<td>([^<]*)</td>',
        table,
    )
    return {(int(row), field): reason for row, field, reason in cells}


def test_the_import_report_gives_each_rows_reason_in_the_readers_language(
    testapp: webtest.TestApp,
    web_engine,
    data: Session,
    supervisor: User,  # noqa: F811
) -> None:
    started = _upload(testapp, "enterprises_bad.csv")
    run_jobs(web_engine)
    # The job keeps the message id and values of each reason in its JSON report.
    data.rollback()
    stored = data.scalar(select(BackgroundJob.result))
    by_cell = {(r["row"], r["field"]): r for r in stored["rejects"]}
    assert by_cell[4, "registration_date"]["msgid"] == "no such date: '${value}'"
    assert by_cell[4, "registration_date"]["mapping"] == {"value": "2019-02-30"}

    chinese = _reasons(testapp.get(started.location))
    assert chinese[3, "name"] == "必填"
    assert chinese[4, "registration_date"] == "日期不存在：“2019-02-30”"
    assert chinese[5, "longitude"] == "经度190.5超出-180至180"
    assert chinese[2, "uscc"].startswith("第18位：校验码为“4”")

    english = _reasons(testapp.get(started.location, params={"_LOCALE_": "en"}))
    assert english[3, "name"] == "required"
    assert english[4, "registration_date"] == "no such date: &#39;2019-02-30&#39;"
    assert english[5, "longitude"] == "longitude 190.5 is outside -180..180"
    assert english[2, "uscc"].startswith("position 18: check character is &#39;4&#39;")


# ---------------------------------------------------------------------- a plan form


def _field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="([a-z_]+)">([^<]*)<', html))


@pytest.mark.parametrize(
    ("locale", "team_size", "ratios"),
    [
        (None, "必须在2至20之间，不能是1", "等级C：2.5不在0至1之间"),
        ("en", "must be between 2 and 20, not 1", "tier C: 2.5 is not between 0 and 1"),
    ],
)
def test_a_plan_forms_field_errors_are_the_services_reasons_translated(
    testapp: webtest.TestApp,
    demo: Session,  # noqa: F811
    locale: str | None,
    team_size: str,
    ratios: str,
) -> None:
    sign_in(testapp, "supervisor")
    if locale:
        testapp.set_cookie("_LOCALE_", locale)  # the language switch's cookie
    form = testapp.get("/desk/plans/new").forms["plan-form"]
    fill_plan(form, code="2025-I18N-01", title="语言测试", year="2025", team_size="1")
    form["ratio_C"] = "2.5"
    errors = _field_errors(form.submit(status=422).text)
    assert errors["team_size"] == team_size
    assert errors["tier_ratios"] == ratios


# ---------------------------------------------------------------------- the API


@pytest.fixture
def field(data: Session) -> FieldWork:
    return drawn_field_work(data)


def test_an_inspections_refused_fields_are_chinese_unless_english_is_asked_for(
    testapp: webtest.TestApp, field: FieldWork
) -> None:
    lead = token(testapp, "field-lead")
    path = f"/api/v1/inspections/{uuid.uuid4()}"
    # 2 km away without saying why, and a device clock years ahead: two fields refused.
    body = checkin_body(field, north_m=2000, device_time="2099-01-01T00:00:00Z")

    chinese = testapp.put_json(path, body, headers=lead, status=422).json["error"]
    assert chinese["fields"]["checkin.device_time"] == "比服务器时间提前超过一天"
    fence = chinese["fields"]["checkin.outside_reason"]
    assert re.fullmatch(r"签到位置距检查对象\d+米，超出\d+米的地理围栏：请说明原因", fence)
    assert chinese["detail"] == (
        f"checkin.device_time：比服务器时间提前超过一天；checkin.outside_reason：{fence}"
    )

    # A signed-in user's own language (zh_CN) wins over Accept-Language; ?_LOCALE_ over both.
    same = testapp.put_json(path, body, headers={**lead, "Accept-Language": "en"}, status=422)
    assert same.json["error"]["fields"] == chinese["fields"]
    english = testapp.put_json(f"{path}?_LOCALE_=en", body, headers=lead, status=422)
    fields = english.json["error"]["fields"]
    assert fields["checkin.device_time"] == "is more than a day ahead of the server's clock"
    assert re.fullmatch(
        r"the check-in is \d+ m from the enterprise, outside the \d+ m fence: say why",
        fields["checkin.outside_reason"],
    )
