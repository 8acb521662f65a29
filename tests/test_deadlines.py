"""Deadline rules (RULES.md rule 1) and office service levels (rule 2)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.deadlines import (
    DEFAULT_WORKDAYS,
    MAJOR_MAX_WORKDAYS,
    DeadlineError,
    MatterClass,
    ServiceLevel,
    check_deadline,
    default_deadline,
    resolve_deadline,
    service_level_due,
)
from ledger.workcalendar import CalendarYearUnknown, WorkCalendar

CAL = WorkCalendar()
d = date.fromisoformat


def test_constants() -> None:
    assert DEFAULT_WORKDAYS == 10 and MAJOR_MAX_WORKDAYS == 20
    assert [m.value for m in MatterClass] == ["urgent", "normal", "major"]


@pytest.mark.parametrize(
    ("klass", "assigned", "expected"),
    [
        (MatterClass.NORMAL, "2026-09-28", "2026-10-16"),
        (MatterClass.MAJOR, "2026-09-28", "2026-10-30"),
        (MatterClass.URGENT, "2026-09-28", "2026-09-28"),
        (MatterClass.URGENT, "2026-05-16", "2026-05-18"),  # Saturday → Monday
        (MatterClass.URGENT, "2026-10-01", "2026-10-08"),  # holiday → first working day
        (MatterClass.NORMAL, "2026-05-16", "2026-05-29"),
    ],
)
def test_default_deadline_documented_examples(
    klass: MatterClass, assigned: str, expected: str
) -> None:
    assert default_deadline(CAL, d(assigned), klass) == d(expected)
    assert resolve_deadline(CAL, d(assigned), klass, None) == d(expected)


@pytest.mark.parametrize("klass", list(MatterClass))
def test_explicit_deadline_wins(klass: MatterClass) -> None:
    # a Saturday, and for normal/urgent further out than the default: still used as given
    explicit = d("2026-10-17") if klass is MatterClass.MAJOR else d("2026-12-19")
    assert resolve_deadline(CAL, d("2026-09-28"), klass, explicit) == explicit


@pytest.mark.parametrize("klass", list(MatterClass))
def test_explicit_deadline_before_assignment_rejected(klass: MatterClass) -> None:
    with pytest.raises(DeadlineError) as info:
        check_deadline(CAL, d("2026-09-28"), klass, d("2026-09-27"))
    assert "早于交办日期" in str(info.value)


def test_same_day_explicit_deadline_allowed() -> None:
    assert check_deadline(CAL, d("2026-09-28"), MatterClass.URGENT, d("2026-09-28"))


def test_major_never_beyond_20_working_days() -> None:
    assert check_deadline(CAL, d("2026-09-28"), MatterClass.MAJOR, d("2026-10-30"))
    with pytest.raises(DeadlineError) as info:
        resolve_deadline(CAL, d("2026-09-28"), MatterClass.MAJOR, d("2026-10-31"))
    assert "不得超过20个工作日" in str(info.value)
    assert "最迟 2026年10月30日" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_normal_explicit_deadline_needs_no_calendar_year() -> None:
    # far-future explicit dates are not counted, so an unknown year does not matter
    assert check_deadline(CAL, d("2026-12-20"), MatterClass.NORMAL, d("2027-03-01"))


def test_default_into_unknown_year_raises() -> None:
    with pytest.raises(CalendarYearUnknown):
        default_deadline(WorkCalendar(provisional=False), d("2026-12-20"), MatterClass.NORMAL)
    # provisionally: Dec 21-25, 28-31 (9), Jan 1 off, Jan 4 (10)
    assert default_deadline(CAL, d("2026-12-20"), MatterClass.NORMAL) == d("2027-01-04")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ServiceLevel.REGISTER, "2026-10-08"),
        (ServiceLevel.NOTICE, "2026-10-09"),
        (ServiceLevel.INSTRUCTION, "2026-10-08"),
    ],
)
def test_service_levels_documented_examples(kind: ServiceLevel, expected: str) -> None:
    assert service_level_due(CAL, d("2026-09-30"), kind) == d(expected)


@given(
    st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 31)),
    st.sampled_from(list(MatterClass)),
)
def test_default_deadline_properties(assigned: date, klass: MatterClass) -> None:
    due = default_deadline(CAL, assigned, klass)
    assert due >= assigned and CAL.is_workday(due)
    assert check_deadline(CAL, assigned, klass, due) == due
    assert CAL.workdays_between(assigned, due) <= MAJOR_MAX_WORKDAYS
