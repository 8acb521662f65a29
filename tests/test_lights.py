"""The traffic light at its exact boundaries (ledger/lights.py), and its one classification
as bulletins use it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.deadlines import MatterClass
from ledger.lights import LightPolicy, Standing, assignment_light, standing, workdays_left
from ledger.model import Assignment, Light, Matter, Source
from ledger.workcalendar import WorkCalendar

CAL = WorkCalendar()
AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 2026-11-23, 09:00 in Shanghai
DEADLINE = date(2026, 12, 11)                   # a Friday, three weeks on
QUIET = LightPolicy(near_workdays=2, stagnant_workdays=1000)  # never stagnant


def assignment() -> Assignment:
    m = Matter.register(
        office_id=1, year=2026, seq=1, prefix="督", title="修路", body="修路",
        source=Source.INSTRUCTION, klass=MatterClass.NORMAL, confidential=False, tags=(),
        received_at=AT, at=AT, actor_id=1, instruction_text=None, instruction_author=None,
        deadline=None)
    return m.assign(at=AT, actor_id=1, unit_id=1, lead=True, principal_id=2,
                    responsible_id=3, handler_id=4, deadline=DEADLINE)


def day_with_left(n: int) -> date:
    """The working day from which exactly `n` working days are left to DEADLINE."""
    day = next(d for d in (date.fromordinal(DEADLINE.toordinal() - k) for k in range(30))
               if CAL.is_workday(d) and workdays_left(CAL, d, DEADLINE) == n)
    return day


@pytest.mark.parametrize("near", [1, 2, 3, 5])
def test_yellow_exactly_at_the_near_threshold_not_one_day_before(near: int) -> None:
    a = assignment()
    policy = LightPolicy(near_workdays=near, stagnant_workdays=1000)
    assert assignment_light(a, CAL, day_with_left(near), policy) == Light.YELLOW
    assert standing(a, CAL, day_with_left(near), policy) == Standing.DUE_SOON
    assert assignment_light(a, CAL, day_with_left(near + 1), policy) == Light.GREEN
    assert standing(a, CAL, day_with_left(near + 1), policy) == Standing.ON_TRACK


def test_red_the_day_after_the_deadline_yellow_on_it() -> None:
    a = assignment()
    assert assignment_light(a, CAL, DEADLINE, QUIET) == Light.YELLOW
    assert assignment_light(a, CAL, date(2026, 12, 12), QUIET) == Light.RED
    assert standing(a, CAL, date(2026, 12, 12), QUIET) == Standing.OVERDUE


def test_stagnant_exactly_at_its_threshold() -> None:
    a = assignment()  # no progress since 11-23
    policy = LightPolicy(near_workdays=0, stagnant_workdays=5)
    assert standing(a, CAL, date(2026, 11, 30), policy) == Standing.STAGNANT  # 5 working days
    assert standing(a, CAL, date(2026, 11, 27), policy) == Standing.ON_TRACK  # 4


def test_the_default_thresholds_are_declared_once() -> None:
    from bot.config import Config, ReminderPolicy
    assert Config().near_workdays == LightPolicy().near_workdays
    assert ReminderPolicy().stagnant_workdays == LightPolicy().stagnant_workdays
