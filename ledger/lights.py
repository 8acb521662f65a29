"""The traffic light (红黄绿灯), derived from an assignment's state and the calendar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ledger.clock import Clock, local_today, to_local
from ledger.model import Assignment, Light, Matter
from ledger.workcalendar import WorkCalendar


@dataclass(frozen=True)
class LightPolicy:
    """The light's thresholds, declared here only; configuration reads values into it."""

    near_workdays: int = 2       # yellow when this few working days are left (or fewer)
    stagnant_workdays: int = 5   # yellow after this many working days without progress


class Standing(StrEnum):
    """Why an assignment has its light: the classification bulletins list it under."""

    DONE = "done"            # green: not open any more
    OVERDUE = "overdue"      # red
    DUE_SOON = "due_soon"    # yellow: the deadline is near
    STAGNANT = "stagnant"    # yellow: no progress for a while
    ON_TRACK = "on_track"    # green


def workdays_left(cal: WorkCalendar, today: date, deadline: date) -> int:
    """Working days from today to the deadline (negative when overdue).

    Always working days: a year not yet entered is counted provisionally (see
    `is_provisional_count`), never in calendar days.
    """
    return cal.workdays_between(today, deadline)


def is_provisional_count(cal: WorkCalendar, a: date, b: date) -> bool:
    """A figure counted between a and b touches a provisional (暂定) year."""
    return bool(cal.provisional_years(a, b))


def assignment_provisional(cal: WorkCalendar, today: date, a: Assignment) -> bool:
    """The assignment's deadline (when counted), its remaining or overdue working days, or
    its light depend on a day of a provisional (暂定) year: shown with 「暂定」."""
    start = min(a.counted_from or today, today)
    return bool(cal.provisional_years(start, max(a.effective_deadline, today)))


def matter_provisional(m: Matter, cal: WorkCalendar, today: date) -> bool:
    return any(assignment_provisional(cal, today, a) for a in m.assignments if a.is_open)


def stagnant_for(cal: WorkCalendar, today: date, a: Assignment) -> int:
    return _stagnant(cal, today, a.last_progress_at or a.assigned_at)


def _stagnant(cal: WorkCalendar, today: date, since: datetime) -> int:
    return max(0, workdays_left(cal, to_local(since).date(), today))


def standing(a: Assignment, cal: WorkCalendar, today: date, policy: LightPolicy) -> Standing:
    """The one traffic-light classification (cards, lists, bulletins, reminders ask it)."""
    return standing_of(a.is_open, a.effective_deadline, a.last_progress_at or a.assigned_at,
                       cal, today, policy)


def standing_of(is_open: bool, deadline: date, last_moved: datetime, cal: WorkCalendar,
                today: date, policy: LightPolicy) -> Standing:
    """`standing` on the few fields it reads (the effective deadline, the last progress or
    else the assignment time): the stored light is recounted from flat rows with it."""
    if not is_open:
        return Standing.DONE
    if today > deadline:
        return Standing.OVERDUE
    if workdays_left(cal, today, deadline) <= policy.near_workdays:
        return Standing.DUE_SOON
    if _stagnant(cal, today, last_moved) >= policy.stagnant_workdays:
        return Standing.STAGNANT
    return Standing.ON_TRACK


_LIGHT = {Standing.DONE: Light.GREEN, Standing.OVERDUE: Light.RED,
          Standing.DUE_SOON: Light.YELLOW, Standing.STAGNANT: Light.YELLOW,
          Standing.ON_TRACK: Light.GREEN}


def assignment_light(a: Assignment, cal: WorkCalendar, today: date,
                     policy: LightPolicy) -> Light:
    return _LIGHT[standing(a, cal, today, policy)]


_ORDER = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}


def worst(lights: Iterable[Light]) -> Light:
    """The worst of some lights (green when there are none)."""
    return max(lights, key=_ORDER.__getitem__, default=Light.GREEN)


def matter_light(m: Matter, cal: WorkCalendar, today: date, policy: LightPolicy) -> Light:
    """The worst light of the matter's open assignments."""
    return worst(assignment_light(a, cal, today, policy) for a in m.assignments if a.is_open)


@dataclass(frozen=True)
class LightStamp:
    """What the stored light (matters.light) is counted with: storage asks it whenever a
    matter is written, and the daily recount asks it for every open matter."""

    cal: WorkCalendar
    clock: Clock
    policy: LightPolicy = LightPolicy()

    def today(self) -> date:
        return local_today(self.clock)

    def of(self, m: Matter, today: date | None = None) -> Light:
        return matter_light(m, self.cal, today or self.today(), self.policy)

    def of_rows(self, rows: Iterable[tuple[bool, date, datetime]], today: date) -> Light:
        """The matter's light from its assignments as (open, deadline, last moved) rows."""
        return worst(_LIGHT[standing_of(o, d, moved, self.cal, today, self.policy)]
                     for o, d, moved in rows if o)
