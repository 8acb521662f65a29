"""Recurring checks on the working-day calendar (专项督查 月检查, 重点企业 月回访).

The rule is a python-dateutil rrule over calendar days; each occurrence then moves to the
first working day on or after it (so "the 1st of each month" becomes "the first working
day of each month": 2 January, 8 October…).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from dateutil.rrule import MONTHLY, rrule

from ledger.clock import LOCAL_TZ
from ledger.workcalendar import WorkCalendar

CHECK_AT = time(9, 0)  # local time the monthly asks go out
PROVISIONAL_AHEAD = timedelta(days=31)


def first_workdays_of_months(cal: WorkCalendar, after: date, count: int,
                             until: date | None = None) -> list[date]:
    """The first working day of each month, strictly after `after`, at most `count` of them
    and none after `until`. In a year whose holidays are not entered yet (provisional) only
    an ask due within `PROVISIONAL_AHEAD` is planned: the rest is planned (topped up daily)
    nearer the time or once the office enters that year, so few fixed dates rest on a guess."""
    start = date(after.year, after.month, 1)
    out: list[date] = []
    for occurrence in rrule(MONTHLY, dtstart=datetime(start.year, start.month, 1),
                            bymonthday=1, count=count + 1):
        if until is not None and occurrence.date() > until:
            break
        if not cal.knows(occurrence.year) and (
                not cal.covers(occurrence.year)
                or occurrence.date() - after > PROVISIONAL_AHEAD):
            break
        day = cal.workday_on_or_after(occurrence.date())
        if day <= after:
            continue
        if until is not None and day > until:
            break
        out.append(day)
        if len(out) == count:
            break
    return out


def previous_workday(cal: WorkCalendar, day: date) -> date:
    """The last working day strictly before `day`."""
    d = day - timedelta(days=1)
    for _ in range(40):
        if cal.is_workday(d):
            return d
        d -= timedelta(days=1)
    raise ValueError(f"no working day in the 40 days before {day}")


def local_moment(day: date, at: time = CHECK_AT) -> datetime:
    """`day` at local `at`, as an aware datetime (the outbox's due time)."""
    return datetime.combine(day, at, tzinfo=LOCAL_TZ)


def period_of(day: date) -> str:
    """The month a figure belongs to: "2026-11"."""
    return f"{day.year:04d}-{day.month:02d}"
