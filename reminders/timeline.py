"""Fast calendar and clock arithmetic for the planner.

The planner looks at every open assignment of the county on each pass, so everything here
is precomputed once per day: the working days as sorted ordinals (index arithmetic instead
of date walking), each local day's start, send moment and sending window as UTC timestamps.

Local time is Asia/Shanghai (`ledger.clock.LOCAL_TZ`); all results are aware UTC.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ledger.clock import LOCAL_TZ
from ledger.workcalendar import CalendarYearUnknown, WorkCalendar
from settings import ReminderPolicy

DAY = 86_400.0


@dataclass(frozen=True)
class DayTimes:
    """One local day, as UTC timestamps."""

    ordinal: int
    start: float        # 00:00 local
    end: float          # next day 00:00 local
    window_start: float  # quiet hours end: the first moment anything may be sent
    window_end: float    # quiet hours start: nothing (but urgent) after this
    send: float          # when the day's reminders go out (send_at, inside the window)
    workday: bool
    sending: bool        # a day daily reminders may go out (a working day, unless configured)
    index: int           # of the last working day on or before this day
    send_at: datetime    # `send` as an aware UTC datetime
    send_key: str        # `send` as it appears in outbox keys


def _local_ts(day: date, at: time) -> float:
    return datetime.combine(day, at, tzinfo=LOCAL_TZ).timestamp()


class Timeline:
    """Working-day indexes and day windows around `today`, for one policy and calendar.

    Build one per local day (it is cheap: a few milliseconds) and reuse it for every row.
    Ordinals outside the years the calendar knows raise `CalendarYearUnknown`.
    """

    def __init__(self, cal: WorkCalendar, policy: ReminderPolicy, today: date,
                 years_back: int = 2, years_ahead: int = 2) -> None:
        self.cal = cal
        self.cal_version = cal.version  # the calendar's entered years this was built from
        self.policy = policy
        self.today = today
        self.before = frozenset(n for n in policy.before_workdays if n > 0)
        first = today.year - years_back
        last = today.year + years_ahead
        # The contiguous run of known years around today.
        years = [y for y in range(first, last + 1) if cal.covers(y)]
        lo = hi = today.year
        if today.year in years:
            while lo - 1 in years:
                lo -= 1
            while hi + 1 in years:
                hi += 1
        else:
            raise CalendarYearUnknown(today.year)
        self.first_ordinal = date(lo, 1, 1).toordinal()
        self.last_ordinal = date(hi, 12, 31).toordinal()
        self.workdays: list[int] = []
        one = timedelta(days=1)
        d = date(lo, 1, 1)
        end = date(hi, 12, 31)
        while d <= end:
            if cal.is_workday(d):
                self.workdays.append(d.toordinal())
            d += one
        self._days: dict[int, DayTimes] = {}
        self._floor: dict[int, int] = {}
        # Day starts around today, for local-ordinal lookups of timestamps.
        self._starts_from = today.toordinal() - 400
        self._starts = [_local_ts(date.fromordinal(o), time(0))
                        for o in range(self._starts_from, today.toordinal() + 401)]
        # A zone without daylight saving around today (Asia/Shanghai): plain arithmetic.
        self._uniform = all(b - a == DAY for a, b in zip(self._starts, self._starts[1:],
                                                         strict=False))

    # ---- working days -----------------------------------------------------------------

    def _check(self, ordinal: int) -> None:
        if ordinal < self.first_ordinal or ordinal > self.last_ordinal:
            raise CalendarYearUnknown(date.fromordinal(ordinal).year)

    def floor_index(self, ordinal: int) -> int:
        """Index of the last working day on or before `ordinal` (-1 if none known)."""
        found = self._floor.get(ordinal)
        if found is None:
            self._check(ordinal)
            found = bisect_right(self.workdays, ordinal) - 1
            self._floor[ordinal] = found
        return found

    def is_workday(self, ordinal: int) -> bool:
        self._check(ordinal)
        i = bisect_left(self.workdays, ordinal)
        return i < len(self.workdays) and self.workdays[i] == ordinal

    def workday_at(self, index: int) -> int:
        if index < 0 or index >= len(self.workdays):
            raise CalendarYearUnknown(self.today.year + (1 if index >= 0 else -1))
        return self.workdays[index]

    def workdays_between(self, a: int, b: int) -> int:
        """Working days in (a, b]; negative when b < a (as WorkCalendar.workdays_between)."""
        return self.floor_index(b) - self.floor_index(a)

    # ---- local days -------------------------------------------------------------------

    def local_ordinal(self, ts: float) -> int:
        first = self._starts[0]
        i = int((ts - first) // DAY) if self._uniform else bisect_right(self._starts, ts) - 1
        if 0 <= i < len(self._starts) - 1:
            return self._starts_from + i
        return datetime.fromtimestamp(ts, LOCAL_TZ).toordinal()

    def day(self, ordinal: int) -> DayTimes:
        found = self._days.get(ordinal)
        if found is None:
            found = self._make_day(ordinal)
            self._days[ordinal] = found
        return found

    def _make_day(self, ordinal: int) -> DayTimes:
        p = self.policy
        d = date.fromordinal(ordinal)
        start = _local_ts(d, time(0))
        end = _local_ts(d + timedelta(days=1), time(0))
        if p.quiet_start == p.quiet_end:
            ws, we = start, end
        elif p.quiet_end < p.quiet_start:  # quiet over midnight, the usual 20:00–08:30
            ws, we = _local_ts(d, p.quiet_end), _local_ts(d, p.quiet_start)
        else:  # quiet inside the day, e.g. 00:00–07:00: the window runs to midnight
            ws, we = _local_ts(d, p.quiet_end), end
        send = _local_ts(d, p.send_at)
        if send < ws or send >= we:
            send = ws
        workday = self.is_workday(ordinal)
        return DayTimes(ordinal, start, end, ws, we, send, workday,
                        workday or not p.workdays_only, self.floor_index(ordinal),
                        utc(send), slot_key(send))

    def in_window(self, ts: float) -> DayTimes | None:
        """The day whose sending window holds `ts`, or None in quiet hours."""
        day = self.day(self.local_ordinal(ts))
        return day if day.window_start <= ts < day.window_end else None

    def release(self, ts: float) -> float:
        """`ts` if it is inside the sending window of a sending day; else the next send
        moment (send_at of the next sending day: "the next working morning")."""
        o = self.local_ordinal(ts)
        day = self.day(o)
        if day.sending and day.window_start <= ts < day.window_end:
            return ts
        if day.sending and ts < day.send:
            return day.send
        for k in range(1, 60):
            nxt = self.day(o + k)
            if nxt.sending:
                return nxt.send
        raise CalendarYearUnknown(date.fromordinal(o).year)


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def slot_key(ts: float) -> str:
    """A slot moment as written in outbox keys: UTC, minute precision."""
    return utc(ts).strftime("%Y%m%dT%H%MZ")
