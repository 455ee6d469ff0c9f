"""The working-day calendar: weekends, public holidays, make-up working days, roll-over."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from enforcement.workdays import (
    SHIPPED_DIR,
    CalendarError,
    WorkCalendar,
    calendar_for,
    clear_cache,
    parse_year,
)

D = dt.date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


def test_shipped_years_are_configured_and_cite_their_notice(cal: WorkCalendar) -> None:
    assert {2024, 2025, 2026} <= set(cal.configured_years)
    for year in (2024, 2025, 2026):
        assert "国办发明电" in cal.arrangements[year].source
    assert sorted(p.stem for p in SHIPPED_DIR.glob("*.toml"))[:3] == ["2024", "2025", "2026"]


def test_weekends_and_weekdays(cal: WorkCalendar) -> None:
    assert cal.is_working_day(D(2026, 3, 10))  # Tuesday
    assert not cal.is_working_day(D(2026, 3, 14))  # Saturday
    assert not cal.is_working_day(D(2026, 3, 15))  # Sunday


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 1, 1),
        D(2026, 1, 2),  # Friday, but 元旦
        D(2026, 2, 16),
        D(2026, 2, 23),  # Monday, last day of 春节
        D(2026, 4, 6),
        D(2026, 5, 4),
        D(2026, 5, 5),
        D(2026, 6, 19),
        D(2026, 9, 25),
        D(2026, 10, 1),
        D(2026, 10, 7),
        D(2025, 1, 28),
        D(2025, 10, 8),
        D(2024, 2, 16),
    ],
)
def test_public_holidays_are_days_off(cal: WorkCalendar, day: dt.date) -> None:
    assert not cal.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 1, 4),  # Sunday
        D(2026, 2, 14),  # Saturday
        D(2026, 2, 28),
        D(2026, 5, 9),
        D(2026, 9, 20),  # Sunday before 国庆
        D(2026, 10, 10),  # Saturday after 国庆
        D(2025, 1, 26),
        D(2025, 9, 28),
        D(2024, 10, 12),
    ],
)
def test_make_up_days_are_working_days(cal: WorkCalendar, day: dt.date) -> None:
    assert day.weekday() >= 5
    assert cal.is_working_day(day)


def test_three_working_days_across_national_day_2026(cal: WorkCalendar) -> None:
    # Oct 1-7 off; Oct 8 (Thu), Oct 9 (Fri), Oct 10 (Sat, made up) are the next working days.
    assert cal.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert cal.add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert cal.add_working_days(D(2026, 9, 30), 4) == D(2026, 10, 12)
    assert cal.working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3


def test_working_days_count_both_ways(cal: WorkCalendar) -> None:
    start = D(2026, 9, 18)
    for n in range(40):
        end = cal.add_working_days(start, n)
        assert cal.working_days_between(start, end) == n
        if n:
            assert cal.add_working_days(end, -n) == start or not cal.is_working_day(start)
    assert cal.add_working_days(D(2026, 10, 8), -1) == D(2026, 9, 30)
    assert cal.working_days_between(D(2026, 10, 10), D(2026, 9, 30)) == -3


def test_ninety_days_rolled_past_national_day(cal: WorkCalendar) -> None:
    # Filed 2026-07-03: the 90th day is 2026-10-01, a holiday; the period ends on Oct 8.
    assert D(2026, 7, 3) + dt.timedelta(days=90) == D(2026, 10, 1)
    assert cal.add_days_rolled(D(2026, 7, 3), 90) == D(2026, 10, 8)
    # A last day on a working day stays put; one on a weekend rolls to Monday.
    assert cal.add_days_rolled(D(2026, 3, 2), 90) == D(2026, 6, 1)  # a Monday
    assert cal.add_days_rolled(D(2026, 3, 1), 90) == D(2026, 6, 1)  # Sat May 30 -> Mon
    # A make-up Saturday is a working day: no roll.
    assert cal.add_days_rolled(D(2026, 9, 10), 30) == D(2026, 10, 10)


def test_unconfigured_year_falls_back_to_weekends_and_says_so() -> None:
    cal = WorkCalendar.load()
    assert not cal.is_configured(2031)
    assert cal.fallback_years == ()
    assert cal.is_working_day(D(2031, 1, 1))  # a Wednesday: no holiday known
    assert not cal.is_working_day(D(2031, 1, 4))  # Saturday
    assert cal.fallback_years == (2031,)
    assert cal.describe([2031])[0]["configured"] is False


def test_extra_directory_adds_and_overrides_years(tmp_path: Path) -> None:
    (tmp_path / "2031.toml").write_text(
        'year = 2031\nsource = "test notice"\n'
        '[[holiday]]\nname = "元旦"\nfirst = 2031-01-01\nlast = 2031-01-01\n'
        "workdays = [2031-01-04]\n",
        encoding="utf-8",
    )
    clear_cache()
    try:
        cal = calendar_for({"suijian.holidays_dir": str(tmp_path)})
        assert calendar_for({"suijian.holidays_dir": str(tmp_path)}) is cal
        assert 2031 in cal.configured_years and 2026 in cal.configured_years
        assert not cal.is_working_day(D(2031, 1, 1))
        assert cal.is_working_day(D(2031, 1, 4))
        assert cal.fallback_years == ()
    finally:
        clear_cache()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("year = 'x'\nsource = 's'\n", "year"),
        ("year = 2030\n", "source"),
        (
            "year = 2030\nsource = 's'\n[[holiday]]\nname = 'a'\nfirst = 2030-01-03\n"
            "last = 2030-01-01\n",
            "last",
        ),
        (
            "year = 2030\nsource = 's'\n[[holiday]]\nname = 'a'\nfirst = 2030-01-01\n"
            "last = 2030-01-01\nworkdays = [2030-01-02]\n",
            "weekday",
        ),
        ("year = 2030\nsource = 's'\n[[holiday]]\nname = 'a'\nfirst = 'soon'\n", "first"),
        ("year = = 2030", "TOML"),
    ],
)
def test_bad_files_are_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_year(text, path="bad.toml")


def test_file_name_must_match_year(tmp_path: Path) -> None:
    (tmp_path / "2032.toml").write_text('year = 2031\nsource = "x"\n', encoding="utf-8")
    with pytest.raises(CalendarError, match="file name"):
        WorkCalendar.load(tmp_path)
