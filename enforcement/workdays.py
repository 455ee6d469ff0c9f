"""The working-day calendar: Chinese public holidays and make-up working days (调休).

Statutory periods in administrative enforcement are counted in two ways, and both need the
official holiday arrangement of the year, which the State Council publishes each autumn for
the next year (国务院办公厅关于××年部分节假日安排的通知):

* 行政处罚法 art. 85: periods of "three, five or seven days" mean working days
  (``add_working_days``);
* longer periods (e.g. the 90 days of a penalty case, 市场监督管理行政处罚程序规定) are natural
  days, and a period whose last day is a holiday ends on the next working day (期间届满日为
  法定节假日的顺延; ``add_days_rolled``).

The arrangement of each year is a TOML file (``enforcement/data/holidays/<year>.toml``, shipped
for the current years; more or corrected years from the directory named by the setting
``suijian.holidays_dir``, which win over the shipped files). A year without a file falls back to
"Monday to Friday" and is reported (``fallback_years``, ``suijian clocks calendar``) instead of
failing: a deadline must still be computed, but someone has to add the year.

Pure: no database, no web framework.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: The calendar files shipped with Suijian.
SHIPPED_DIR = Path(__file__).parent / "data" / "holidays"
#: The settings key naming a directory with more (or corrected) years.
SETTINGS_KEY = "suijian.holidays_dir"

_ONE_DAY = dt.timedelta(days=1)
# Far enough for any statutory period; stops a loop on an absurd calendar file.
_MAX_SCAN_DAYS = 3700


class CalendarError(ValueError):
    """A holiday file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Holiday:
    """One holiday of an arrangement: its days off and the weekend days worked instead."""

    name: str
    first: dt.date
    last: dt.date
    workdays: tuple[dt.date, ...] = ()

    @property
    def days_off(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class YearArrangement:
    """The State Council's arrangement of one year, as read from its file."""

    year: int
    source: str
    holidays: tuple[Holiday, ...]
    path: str = ""

    @property
    def days_off(self) -> frozenset[dt.date]:
        return frozenset(day for holiday in self.holidays for day in holiday.days_off)

    @property
    def workdays(self) -> frozenset[dt.date]:
        return frozenset(day for holiday in self.holidays for day in holiday.workdays)


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError(f"{where}: not a date (YYYY-MM-DD): {value!r}")


def parse_year(text: str, *, path: str = "<string>") -> YearArrangement:
    """Parse and check one year's TOML arrangement."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"{path}: not valid TOML: {exc}") from exc
    year = data.get("year")
    if not isinstance(year, int) or not 1949 <= year <= 2200:
        raise CalendarError(f"{path}: year: must be an integer year, got {year!r}")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CalendarError(f"{path}: source: name the State Council notice")
    entries = data.get("holiday", [])
    if not isinstance(entries, list):
        raise CalendarError(f"{path}: holiday: must be an array of tables ([[holiday]])")
    holidays: list[Holiday] = []
    for index, entry in enumerate(entries):
        where = f"{path}: holiday[{index}]"
        if not isinstance(entry, dict):
            raise CalendarError(f"{where}: must be a table")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CalendarError(f"{where}.name: required")
        first = _date(entry.get("first"), f"{where}.first")
        last = _date(entry.get("last"), f"{where}.last")
        if last < first:
            raise CalendarError(f"{where}.last: before first ({last} < {first})")
        if (last - first).days > 31:
            raise CalendarError(f"{where}.last: a holiday of more than a month ({first}..{last})")
        if abs(first.year - year) > 1:
            raise CalendarError(f"{where}.first: {first} is not near the year {year}")
        raw_workdays = entry.get("workdays", [])
        if not isinstance(raw_workdays, list):
            raise CalendarError(f"{where}.workdays: must be an array of dates")
        workdays = tuple(_date(day, f"{where}.workdays") for day in raw_workdays)
        for day in workdays:
            if day.weekday() < 5:
                raise CalendarError(
                    f"{where}.workdays: {day} is a weekday; make-up working days are weekend days"
                )
            if first <= day <= last:
                raise CalendarError(f"{where}.workdays: {day} is inside the holiday itself")
        holidays.append(Holiday(name.strip(), first, last, workdays))
    arrangement = YearArrangement(year, source.strip(), tuple(holidays), path)
    clash = arrangement.days_off & arrangement.workdays
    if clash:
        days = ", ".join(str(day) for day in sorted(clash))
        raise CalendarError(f"{path}: a day both off and worked: {days}")
    return arrangement


def load_directory(directory: Path) -> dict[int, YearArrangement]:
    """Every ``<year>.toml`` of ``directory``; the file name must match its ``year``."""
    years: dict[int, YearArrangement] = {}
    if not directory.is_dir():
        raise CalendarError(f"{directory}: holiday directory not found")
    for path in sorted(directory.glob("*.toml")):
        arrangement = parse_year(path.read_text(encoding="utf-8"), path=str(path))
        if path.stem != str(arrangement.year):
            raise CalendarError(f"{path}: year: {arrangement.year} does not match the file name")
        years[arrangement.year] = arrangement
    return years


@dataclass
class WorkCalendar:
    """Working days per the configured arrangements; weekends only for unconfigured years."""

    arrangements: Mapping[int, YearArrangement] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._off: set[dt.date] = set()
        self._worked: set[dt.date] = set()
        for arrangement in self.arrangements.values():
            self._off |= arrangement.days_off
            self._worked |= arrangement.workdays
        self._fallback_seen: set[int] = set()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, extra_dir: str | Path | None = None) -> WorkCalendar:
        """The shipped years, then ``extra_dir``'s (which replace a shipped year)."""
        years = load_directory(SHIPPED_DIR)
        if extra_dir:
            years.update(load_directory(Path(extra_dir)))
        return cls(years)

    @property
    def configured_years(self) -> tuple[int, ...]:
        return tuple(sorted(self.arrangements))

    def is_configured(self, year: int) -> bool:
        return year in self.arrangements

    @property
    def fallback_years(self) -> tuple[int, ...]:
        """Years this calendar was asked about without an arrangement (weekends only)."""
        return tuple(sorted(self._fallback_seen))

    def _note_fallback(self, year: int) -> None:
        if year in self._fallback_seen or year in self.arrangements:
            return
        with self._lock:
            if year not in self._fallback_seen:
                self._fallback_seen.add(year)
                log.warning(
                    "no holiday arrangement for %s: counting Monday to Friday as working days "
                    "(add %s.toml to %s)",
                    year,
                    year,
                    SETTINGS_KEY,
                )

    def is_working_day(self, day: dt.date) -> bool:
        """Monday to Friday except public holidays, plus make-up working days."""
        if day in self._worked:
            return True
        if day in self._off:
            return False
        if day.year not in self.arrangements:
            self._note_fallback(day.year)
        return day.weekday() < 5

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the first working day after it."""
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(day):
                return day
            day += _ONE_DAY
        raise CalendarError(f"no working day within {_MAX_SCAN_DAYS} days of {day}")

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day`` (before it for negative n; ``day`` for 0).

        ``day`` itself never counts (the period starts the day after the event)."""
        if n == 0:
            return day
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        for _ in range(remaining * 7 + _MAX_SCAN_DAYS):
            day += step
            if self.is_working_day(day):
                remaining -= 1
                if remaining == 0:
                    return day
        raise CalendarError(f"no {n} working days around {day}")

    def add_days_rolled(self, day: dt.date, n: int) -> dt.date:
        """``n`` natural days after ``day``; a last day off rolls to the next working day."""
        if n < 0:
            raise ValueError("n: must not be negative")
        return self.next_working_day(day + dt.timedelta(days=n))

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: ``add_working_days(a, n) == b`` gives n. Negative
        when ``end`` is before ``start``."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += _ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count

    def describe(self, years: Iterable[int]) -> list[dict[str, object]]:
        """For people (``suijian clocks calendar``): each year, its source or the fallback."""
        rows: list[dict[str, object]] = []
        for year in years:
            arrangement = self.arrangements.get(year)
            if arrangement is None:
                rows.append({"year": year, "configured": False, "source": None, "holidays": []})
                continue
            rows.append(
                {
                    "year": year,
                    "configured": True,
                    "source": arrangement.source,
                    "path": arrangement.path,
                    "holidays": [
                        {
                            "name": h.name,
                            "first": h.first.isoformat(),
                            "last": h.last.isoformat(),
                            "workdays": [d.isoformat() for d in h.workdays],
                        }
                        for h in arrangement.holidays
                    ],
                }
            )
        return rows


_cache: dict[str, WorkCalendar] = {}
_cache_lock = threading.Lock()


def calendar_for(settings: Mapping[str, object] | None = None) -> WorkCalendar:
    """The calendar for these settings (shipped years plus ``suijian.holidays_dir``), cached."""
    extra = str((settings or {}).get(SETTINGS_KEY) or "").strip()
    calendar = _cache.get(extra)
    if calendar is None:
        with _cache_lock:
            calendar = _cache.get(extra)
            if calendar is None:
                calendar = WorkCalendar.load(extra or None)
                _cache[extra] = calendar
    return calendar


def clear_cache() -> None:
    """Forget loaded calendars (after the holiday files changed)."""
    with _cache_lock:
        _cache.clear()
