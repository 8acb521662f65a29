"""The traffic light (红黄绿灯), derived from an assignment's state and the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ledger.clock import to_local
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
    last = to_local(a.last_progress_at or a.assigned_at).date()
    return max(0, workdays_left(cal, last, today))


def standing(a: Assignment, cal: WorkCalendar, today: date, policy: LightPolicy) -> Standing:
    """The one traffic-light classification (cards, lists, bulletins, reminders ask it)."""
    if not a.is_open:
        return Standing.DONE
    if today > a.effective_deadline:
        return Standing.OVERDUE
    if workdays_left(cal, today, a.effective_deadline) <= policy.near_workdays:
        return Standing.DUE_SOON
    if stagnant_for(cal, today, a) >= policy.stagnant_workdays:
        return Standing.STAGNANT
    return Standing.ON_TRACK


_LIGHT = {Standing.DONE: Light.GREEN, Standing.OVERDUE: Light.RED,
          Standing.DUE_SOON: Light.YELLOW, Standing.STAGNANT: Light.YELLOW,
          Standing.ON_TRACK: Light.GREEN}


def assignment_light(a: Assignment, cal: WorkCalendar, today: date,
                     policy: LightPolicy) -> Light:
    return _LIGHT[standing(a, cal, today, policy)]


_ORDER = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}


def matter_light(m: Matter, cal: WorkCalendar, today: date, policy: LightPolicy) -> Light:
    """The worst light of the matter's open assignments."""
    lights = [assignment_light(a, cal, today, policy) for a in m.assignments if a.is_open]
    return max(lights, key=_ORDER.__getitem__, default=Light.GREEN)
