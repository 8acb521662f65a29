"""China's official working-day calendar (工作日), with office-editable overrides.

Sources, per calendar year, first match wins:
1. a ``[YYYY]`` section of the office's ``schedule.toml`` (replaces the whole year);
2. a year the office entered (stored in the database, handed in by ``set_entered``);
3. the ``chinesecalendar`` package (2004–2026 in version 1.11);
4. otherwise the year is **provisional** (暂定): weekends plus the statutory holidays of
   《全国年节及纪念日放假办法》 (``ledger.statutory``), no 调休 guessed. Whatever is counted
   across such a year says 暂定 where it is shown (``provisional_years``).
``CalendarYearUnknown`` is raised only by a calendar built with ``provisional=False`` or for
a year the lunar tables do not reach.

Counting rule (see docs/working-days.md): ``add_workdays(d, n)`` is the n-th working
day after ``d``, ``d`` itself not counted; ``add_workdays(d, 0)`` is the first working
day on or after ``d``.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import chinese_calendar

from ledger.errors import DomainError
from ledger.statutory import FIRST_YEAR, LAST_YEAR, statutory_days

YearStatus = Literal["builtin", "entered", "provisional", "unknown"]
STATUS_LABELS: dict[str, str] = {
    "builtin": "内置", "entered": "已录入", "provisional": "暂定", "unknown": "未知",
}

__all__ = [
    "STATUS_LABELS",
    "CalendarYearUnknown",
    "ScheduleError",
    "WorkCalendar",
    "YearSchedule",
    "YearStatus",
    "provisional_schedule",
]

_WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_SECTION_KEYS = ("holidays", "workdays")
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")


class CalendarYearUnknown(DomainError):
    """No holiday data for ``year``: the office must add it to schedule.toml."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"{year}年的节假日安排尚未录入：请用 duban holidays import 录入国务院办公厅的"
            f"通知，或在 schedule.toml 中添加 [{year}] 一节（holidays 与 workdays）。"
        )


class ScheduleError(ValueError):
    """schedule.toml (or a YearSchedule) is malformed; the message names year and entry."""

    def __init__(self, message: str, *, year: int | None = None, entry: str | None = None) -> None:
        self.year = year
        self.entry = entry
        super().__init__(message)


def _weekday_name(d: date) -> str:
    return _WEEKDAY_NAMES[d.weekday()]


@dataclass(frozen=True)
class YearSchedule:
    """One year's official arrangement: holidays, and weekend make-up working days (调休)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        for label, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            for d in days:
                if d.year != self.year:
                    raise ScheduleError(
                        f"[{self.year}] {label} 中的 {d.isoformat()} 不在 {self.year} 年内。",
                        year=self.year, entry=d.isoformat(),
                    )
        for d in sorted(self.holidays & self.workdays):
            raise ScheduleError(
                f"[{self.year}] 中 {d.isoformat()} 既是放假日又是调休上班日，请删去其中一处。",
                year=self.year, entry=d.isoformat(),
            )
        for d in sorted(self.workdays):
            if d.weekday() < 5:
                raise ScheduleError(
                    f"[{self.year}] workdays 中的 {d.isoformat()} 是{_weekday_name(d)}："
                    "调休上班日只能是周六或周日。",
                    year=self.year, entry=d.isoformat(),
                )


class WorkCalendar:
    """Working-day arithmetic over the official calendar.

    Immutable apart from a per-instance cache of each year's working days (sorted
    ordinals), built lazily on first use so lookups are a bisect, not a day-by-day walk.
    """

    def __init__(
        self, overrides: Mapping[int, YearSchedule] | None = None, *, use_package: bool = True,
        entered: Mapping[int, YearSchedule] | None = None, provisional: bool = True,
    ) -> None:
        self._overrides: dict[int, YearSchedule] = {}
        for year, schedule in (overrides or {}).items():
            if schedule.year != year:
                raise ScheduleError(
                    f"[{year}] 一节的安排写的是 {schedule.year} 年，两者必须一致。", year=year
                )
            self._overrides[year] = schedule
        self._use_package = use_package
        self._package_years: range = range(0)
        if use_package:
            years = [d.year for d in chinese_calendar.holidays]
            self._package_years = range(min(years), max(years) + 1)
        self._package: dict[int, YearSchedule] | None = None
        self._days: dict[int, list[int]] = {}
        self._provisional = provisional
        self._entered: dict[int, YearSchedule] = {}
        # Bumped whenever entered years change: caches built on this calendar (the reminder
        # planner's timeline) rebuild when it moves.
        self.version = 0
        if entered:
            self.set_entered(entered)

    def set_entered(self, schedules: Mapping[int, YearSchedule]) -> None:
        """The years the office entered (from storage): replaces the previous set.

        Called at start and whenever the office enters a year; cached days are rebuilt.
        """
        fresh = dict(schedules)
        for year, schedule in fresh.items():
            if schedule.year != year:
                raise ScheduleError(f"{year} 年的安排写的是 {schedule.year} 年。", year=year)
        if fresh == self._entered:
            return  # the periodic re-read usually finds nothing new
        # One assignment each: a reader on another thread sees the old or the new state.
        self._entered = fresh
        self._days = {}
        self.version += 1

    def with_entered(self, schedules: Mapping[int, YearSchedule]) -> WorkCalendar:
        """A copy of this calendar with these entered years (to count before committing)."""
        copy = WorkCalendar(self._overrides, use_package=self._use_package,
                            provisional=self._provisional)
        copy.set_entered(schedules)
        return copy

    # -- construction from the office's file --------------------------------------------

    @classmethod
    def from_toml(cls, path: Path | None) -> WorkCalendar:
        """Package data plus the overrides in ``path``; None or a missing file → package only."""
        if path is None or not path.exists():
            return cls()
        # utf-8-sig: the file is often saved by Windows Notepad with a BOM
        return cls(cls.parse_toml(path.read_text(encoding="utf-8-sig")))

    @classmethod
    def parse_toml(cls, text: str) -> dict[int, YearSchedule]:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScheduleError(f"schedule.toml 格式有误：{exc}") from exc
        result: dict[int, YearSchedule] = {}
        for key, section in data.items():
            if not re.fullmatch(r"[0-9]{4}", key) or int(key) < 1:
                raise ScheduleError(
                    f"schedule.toml 中的「{key}」不是年份：每一节应写成 [2027] 这样的四位年份。",
                    entry=key,
                )
            year = int(key)
            if not isinstance(section, dict):
                raise ScheduleError(
                    f"schedule.toml 中的 {key} 应是一节 [{key}]，下面写 holidays 与 workdays。",
                    year=year,
                )
            result[year] = _parse_section(year, section)
        return result

    # -- queries ------------------------------------------------------------------------

    def covers(self, year: int) -> bool:
        """Working days of ``year`` can be counted (exactly, or provisionally)."""
        return self.knows(year) or (self._provisional and FIRST_YEAR <= year <= LAST_YEAR)

    def knows(self, year: int) -> bool:
        """The official arrangement of ``year`` is built in or entered (not provisional)."""
        return (year in self._overrides or year in self._entered
                or year in self._package_years)

    def year_status(self, year: int) -> YearStatus:
        """内置 (package) / 已录入 (schedule.toml or database) / 暂定 (provisional)."""
        if year in self._overrides or year in self._entered:
            return "entered"
        if year in self._package_years:
            return "builtin"
        return "provisional" if self.covers(year) else "unknown"

    def is_provisional(self, year: int) -> bool:
        return self.year_status(year) == "provisional"

    def provisional_years(self, a: date, b: date) -> tuple[int, ...]:
        """The provisional years a count between ``a`` and ``b`` (either order) touches."""
        lo, hi = (a, b) if a <= b else (b, a)
        return tuple(y for y in range(lo.year, hi.year + 1) if self.is_provisional(y))

    def schedule(self, year: int) -> YearSchedule:
        """The year's arrangement as used (for a provisional year: the statutory days)."""
        return self._schedule(year)

    def holiday_names(self, year: int) -> dict[date, str]:
        """The statutory festival of each of the year's statutory days."""
        return statutory_days(year)

    def is_workday(self, d: date) -> bool:
        days = self._year_days(d.year)
        o = d.toordinal()
        i = bisect_left(days, o)
        return i < len(days) and days[i] == o

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (start not counted); n=0: on or after start."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        o = start.toordinal()
        year = start.year
        days = self._year_days(year)
        idx = bisect_left(days, o) if n == 0 else bisect_right(days, o) + n - 1
        while idx >= len(days):
            idx -= len(days)
            year += 1
            days = self._year_days(year)
        return date.fromordinal(days[idx])

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end < start.

        ``workdays_between(s, add_workdays(s, n)) == n`` for n >= 1, and for n = 0
        when s is a working day.
        """
        if end < start:
            return -self.workdays_between(end, start)
        if end == start:
            return 0
        lo_ord, hi_ord = start.toordinal(), end.toordinal()
        total = 0
        for year in range((start + timedelta(days=1)).year, end.year + 1):
            days = self._year_days(year)
            total += bisect_right(days, hi_ord) - bisect_right(days, lo_ord)
        return total

    def next_workday(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_workdays(d, 1)

    def workday_on_or_after(self, d: date) -> date:
        return self.add_workdays(d, 0)

    # -- internals ----------------------------------------------------------------------

    def _schedule(self, year: int) -> YearSchedule:
        if year in self._overrides:
            return self._overrides[year]
        entered = self._entered.get(year)
        if entered is not None:
            return entered
        if year in self._package_years:
            if self._package is None:
                self._package = _package_schedules()
            return self._package.get(year) or YearSchedule(year, frozenset(), frozenset())
        if self.covers(year):
            return provisional_schedule(year)
        raise CalendarYearUnknown(year)

    def _year_days(self, year: int) -> list[int]:
        days = self._days.get(year)
        if days is None:
            days = _working_ordinals(self._schedule(year))
            self._days[year] = days
        return days


def provisional_schedule(year: int) -> YearSchedule:
    """Weekends plus the statutory holidays; no make-up working days are guessed."""
    return YearSchedule(year, frozenset(statutory_days(year)), frozenset())


def _working_ordinals(schedule: YearSchedule) -> list[int]:
    first = date(schedule.year, 1, 1).toordinal()
    last = date(schedule.year, 12, 31).toordinal()
    holidays = {d.toordinal() for d in schedule.holidays}
    workdays = {d.toordinal() for d in schedule.workdays}
    # ordinal 1 (0001-01-01) is a Monday, so (o - 1) % 7 is the weekday
    return [
        o
        for o in range(first, last + 1)
        if o in workdays or (o not in holidays and (o - 1) % 7 < 5)
    ]


def _package_schedules() -> dict[int, YearSchedule]:
    holidays: dict[int, set[date]] = {}
    workdays: dict[int, set[date]] = {}
    for d in chinese_calendar.holidays:
        holidays.setdefault(d.year, set()).add(d)
    for d in chinese_calendar.workdays:
        workdays.setdefault(d.year, set()).add(d)
    return {
        y: YearSchedule(y, frozenset(holidays.get(y, ())), frozenset(workdays.get(y, ())))
        for y in set(holidays) | set(workdays)
    }


def _parse_section(year: int, section: dict[str, Any]) -> YearSchedule:
    for name in section:
        if name not in _SECTION_KEYS:
            raise ScheduleError(
                f"[{year}] 中有不认识的项「{name}」：只能写 holidays（放假日期）"
                "与 workdays（调休上班日期）。",
                year=year, entry=name,
            )
    for name in _SECTION_KEYS:
        if name not in section:
            raise ScheduleError(
                f"[{year}] 缺少 {name}：这一节会取代该年的全部安排，"
                f"没有的话也请写 {name} = []。",
                year=year, entry=name,
            )
    holidays = _parse_entries(year, "holidays", section["holidays"])
    workdays = _parse_entries(year, "workdays", section["workdays"])
    for d, entry in sorted(workdays.items()):
        if d in holidays:
            raise ScheduleError(
                f"[{year}] 中 {d.isoformat()} 既在 holidays（「{holidays[d]}」）"
                f"又在 workdays（「{entry}」），请删去其中一处。",
                year=year, entry=entry,
            )
        if d.weekday() < 5:
            raise ScheduleError(
                f"[{year}] workdays 中的「{entry}」含 {d.isoformat()}（{_weekday_name(d)}）："
                "调休上班日只能是周六或周日，平日本来就上班。",
                year=year, entry=entry,
            )
    return YearSchedule(year, frozenset(holidays), frozenset(workdays))


def _parse_entries(year: int, name: str, value: object) -> dict[date, str]:
    """Each date in the list, mapped to the entry text it came from (for error messages)."""
    if not isinstance(value, list):
        raise ScheduleError(
            f'[{year}] {name} 应写成列表，如 {name} = ["{year}-01-01", '
            f'"{year}-02-05..{year}-02-11"]。',
            year=year, entry=name,
        )
    out: dict[date, str] = {}
    for item in value:
        entry = str(item)
        for d in _expand_entry(year, name, item):
            if d.year != year:
                raise ScheduleError(
                    f"[{year}] {name} 中的「{entry}」不在 {year} 年内："
                    "每个日期要写在它所属年份的小节里。",
                    year=year, entry=entry,
                )
            out.setdefault(d, entry)
    return out


def _expand_entry(year: int, name: str, item: object) -> Iterable[date]:
    if isinstance(item, date) and not isinstance(item, datetime):  # a bare TOML date
        return [item]
    if not isinstance(item, str):
        raise ScheduleError(
            f"[{year}] {name} 中的「{item}」不是日期：请写成带引号的 \"{year}-01-01\"。",
            year=year, entry=str(item),
        )
    parts = [p.strip() for p in item.split("..")]
    if len(parts) > 2:
        raise ScheduleError(
            f"[{year}] {name} 中的「{item}」看不懂：区间写成 \"{year}-02-05..{year}-02-11\"。",
            year=year, entry=item,
        )
    bounds = [_parse_date(year, name, item, p) for p in parts]
    first, last = bounds[0], bounds[-1]
    if first > last:
        raise ScheduleError(
            f"[{year}] {name} 中的区间「{item}」起点晚于终点。", year=year, entry=item
        )
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _parse_date(year: int, name: str, entry: str, text: str) -> date:
    m = _DATE_RE.fullmatch(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise ScheduleError(
        f"[{year}] {name} 中的「{entry}」不是有效日期：应写成 {year}-02-05 "
        f"或区间 {year}-02-05..{year}-02-11。",
        year=year, entry=entry,
    )
