"""Deadline rules (RULES.md rule 1) and the office's own service levels (rule 2, §2.2).

All counts are working days on a :class:`~ledger.workcalendar.WorkCalendar`, the
assignment day not counted. Functions that need the calendar may raise
:class:`~ledger.workcalendar.CalendarYearUnknown`.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from ledger.clock import cn_date
from ledger.errors import InvalidInput
from ledger.workcalendar import WorkCalendar

__all__ = [
    "DEFAULT_WORKDAYS",
    "MAJOR_MAX_WORKDAYS",
    "MAX_DAYS_AHEAD",
    "SERVICE_LEVEL_WORKDAYS",
    "DeadlineError",
    "MatterClass",
    "ServiceLevel",
    "check_deadline",
    "check_horizon",
    "default_deadline",
    "default_workdays",
    "resolve_deadline",
    "service_level_due",
]

DEFAULT_WORKDAYS = 10  # §2.3 没有明确要求的，一般在10个工作日内办结
MAJOR_MAX_WORKDAYS = 20  # §2.3 重大疑难件办理时间不得超过20个工作日
# A deadline, urging limit or extension at most this many days after it is set
# (`office.max_days_ahead` in the config): a year; anything later is a typing slip.
MAX_DAYS_AHEAD = 365


class MatterClass(StrEnum):
    URGENT = "urgent"  # 急件，随交随办
    NORMAL = "normal"  # 一般
    MAJOR = "major"  # 重大疑难


class ServiceLevel(StrEnum):
    """What the office itself must do, and by when (§2.2)."""

    REGISTER = "register"  # 一个工作日内完成分解立项
    NOTICE = "notice"  # 两个工作日内发送分解立项文件或《交办通知单》
    INSTRUCTION = "instruction"  # 一个工作日内将交办通知单和领导批示复印件送达承办单位


SERVICE_LEVEL_WORKDAYS: dict[ServiceLevel, int] = {
    ServiceLevel.REGISTER: 1,
    ServiceLevel.NOTICE: 2,
    ServiceLevel.INSTRUCTION: 1,
}


class DeadlineError(InvalidInput, ValueError):
    """An explicit deadline breaks the rules; the message is the reply text."""


def default_deadline(cal: WorkCalendar, assigned_on: date, klass: MatterClass) -> date:
    """The deadline when none was given: urgent same (working) day, normal +10, major +20."""
    if klass is MatterClass.URGENT:
        return cal.workday_on_or_after(assigned_on)
    if klass is MatterClass.MAJOR:
        return cal.add_workdays(assigned_on, MAJOR_MAX_WORKDAYS)
    return cal.add_workdays(assigned_on, DEFAULT_WORKDAYS)


def check_horizon(
    start: date, day: date, what: str, max_days_ahead: int = MAX_DAYS_AHEAD
) -> date:
    """A date set for work (`what`: 办结时限, 催办限期, 延期后的时限) lies between `start`
    (the day it is set, or the assignment day) and `max_days_ahead` days after it, both
    ends included; else DeadlineError saying why. Returns `day` unchanged."""
    if day < start:
        raise DeadlineError(
            f"{what} {cn_date(day)} 早于 {cn_date(start)}，请重新填写。"
        )
    latest = start + timedelta(days=max_days_ahead)
    if day > latest:
        raise DeadlineError(
            f"{what} {cn_date(day)} 太远了：最迟只能定到 {cn_date(latest)}"
            f"（{max_days_ahead}天内），请重新填写。"
        )
    return day


def check_deadline(
    cal: WorkCalendar, assigned_on: date, klass: MatterClass, deadline: date,
    max_days_ahead: int = MAX_DAYS_AHEAD,
) -> date:
    """Accept an explicit deadline or raise DeadlineError; returns it unchanged.

    Explicit deadlines win (also for urgent matters), but never before the
    assignment day nor more than `max_days_ahead` days after it, and a major
    matter never beyond 20 working days.
    """
    if deadline < assigned_on:
        raise DeadlineError(
            f"办结时限 {cn_date(deadline)} 早于交办日期 {cn_date(assigned_on)}，请重新填写。"
        )
    check_horizon(assigned_on, deadline, "办结时限", max_days_ahead)
    if klass is MatterClass.MAJOR:
        latest = cal.add_workdays(assigned_on, MAJOR_MAX_WORKDAYS)
        if deadline > latest:
            raise DeadlineError(
                f"重大疑难件办理时间不得超过{MAJOR_MAX_WORKDAYS}个工作日："
                f"{cn_date(assigned_on)} 交办，最迟 {cn_date(latest)}，"
                f"所填 {cn_date(deadline)} 超出了。"
            )
    return deadline


def resolve_deadline(
    cal: WorkCalendar, assigned_on: date, klass: MatterClass, explicit: date | None,
    max_days_ahead: int = MAX_DAYS_AHEAD,
) -> date:
    if explicit is None:
        return default_deadline(cal, assigned_on, klass)
    return check_deadline(cal, assigned_on, klass, explicit, max_days_ahead)


def default_workdays(klass: MatterClass) -> int:
    """How many working days the default deadline counts (0: the same working day)."""
    if klass is MatterClass.URGENT:
        return 0
    return MAJOR_MAX_WORKDAYS if klass is MatterClass.MAJOR else DEFAULT_WORKDAYS


def service_level_due(cal: WorkCalendar, start: date, kind: ServiceLevel) -> date:
    """When the office's own step is due, counted from ``start`` (the day the decision
    or instruction reached the office; that day not counted)."""
    return cal.add_workdays(start, SERVICE_LEVEL_WORKDAYS[kind])
