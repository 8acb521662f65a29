"""The provisional calendar (暂定) of a year neither built in nor entered, checked against
the State Council's published arrangements for 2024, 2025 and 2026 (chinesecalendar)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from ledger.statutory import statutory_days
from ledger.workcalendar import WorkCalendar, provisional_schedule

OFFICIAL = WorkCalendar()
# The same years as if nothing were built in: every year is provisional.
PROVISIONAL = WorkCalendar(use_package=False)


def _days(year: int) -> list[date]:
    d = date(year, 1, 1)
    out = []
    while d.year == year:
        out.append(d)
        d += timedelta(days=1)
    return out


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_statutory_day_is_an_official_holiday(year: int) -> None:
    statutory = statutory_days(year)
    assert set(statutory.values()) == {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
    for day, name in statutory.items():
        assert not OFFICIAL.is_workday(day), (day, name)
        # chinesecalendar names the festival of each statutory day the same way
        holiday, detail = chinese_calendar.get_holiday_detail(day)
        assert holiday and detail is not None, (day, name)


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_differences_are_exactly_the_make_up_arrangements(year: int) -> None:
    """Where provisional and official disagree, it is a 调休: a weekend worked (official
    make-up day) or a weekday off that is no statutory day (moved or 补休)."""
    statutory = statutory_days(year)
    official = OFFICIAL.schedule(year)
    made_up = set()
    moved_off = set()
    for day in _days(year):
        if OFFICIAL.is_workday(day) == PROVISIONAL.is_workday(day):
            continue
        if OFFICIAL.is_workday(day):
            assert day.weekday() >= 5 and day in official.workdays, day
            made_up.add(day)
        else:
            assert day.weekday() < 5 and day not in statutory and day in official.holidays, day
            moved_off.add(day)
    assert made_up == set(official.workdays)
    assert moved_off  # every year has some 调休 off days
    assert PROVISIONAL.schedule(year).workdays == frozenset()


def test_known_dates_of_2027() -> None:
    days = statutory_days(2027)
    assert days[date(2027, 2, 5)] == "春节"  # 除夕
    assert [d for d, n in days.items() if n == "春节"] == [
        date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)]
    assert days[date(2027, 4, 5)] == "清明节"
    assert days[date(2027, 6, 9)] == "端午节"
    assert days[date(2027, 9, 15)] == "中秋节"
    assert len(days) == 13
    assert provisional_schedule(2027).holidays == frozenset(days)


def test_2024_follows_the_rule_then_in_force() -> None:
    # before the 2025 amendment: no 除夕, only 5月1日
    days = statutory_days(2024)
    assert date(2024, 2, 9) not in days and date(2024, 5, 2) not in days
    assert len(days) == 11


def test_provisional_status_and_marking() -> None:
    cal = WorkCalendar()
    assert cal.year_status(2026) == "builtin"
    assert cal.year_status(2027) == "provisional"
    assert cal.provisional_years(date(2026, 12, 1), date(2026, 12, 31)) == ()
    assert cal.provisional_years(date(2027, 1, 5), date(2026, 12, 20)) == (2027,)
    cal.set_entered({2027: provisional_schedule(2027)})
    assert cal.year_status(2027) == "entered"
    assert cal.provisional_years(date(2026, 12, 20), date(2027, 1, 5)) == ()


def test_deadline_across_new_year_in_a_provisional_year() -> None:
    cal = WorkCalendar()
    # Thu 2026-12-24 + 10: Dec 25, 28-31 (5), Jan 1 off, Jan 4-8 (10)
    assert cal.add_workdays(date(2026, 12, 24), 10) == date(2027, 1, 8)
    assert cal.workdays_between(date(2026, 12, 24), date(2027, 1, 8)) == 10


def test_deadline_across_spring_festival_in_a_provisional_year() -> None:
    cal = WorkCalendar()
    # Mon 2027-02-01 + 10: Feb 2-4 (3), Fri 5 除夕 and Mon 8 初三 off, Feb 9-12 (7), 15-17 (10)
    assert not cal.is_workday(date(2027, 2, 5)) and not cal.is_workday(date(2027, 2, 8))
    assert cal.add_workdays(date(2027, 2, 1), 10) == date(2027, 2, 17)


def test_entering_a_year_replaces_the_provisional_days() -> None:
    cal = WorkCalendar()
    before = cal.add_workdays(date(2027, 2, 1), 10)
    sched = WorkCalendar.parse_toml(
        '[2027]\nholidays = ["2027-02-05..2027-02-13"]\nworkdays = ["2027-02-20"]\n')
    cal.set_entered(sched)
    assert cal.add_workdays(date(2027, 2, 1), 10) != before
    assert cal.is_workday(date(2027, 2, 20))
