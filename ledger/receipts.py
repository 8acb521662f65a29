"""已阅 receipts: which formal notices ask to be acknowledged, who is expected to read
each, and when the unread are reminded and their unit's principal told.

A receipt is one notice (a 催办通知单, a meeting invitation, a bulletin in a group); its
readers are the persons expected to read it (plus anyone else who pressed 「已阅」).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ledger.clock import LOCAL_TZ
from ledger.model import Assignment, Person, Role
from ledger.workcalendar import CalendarYearUnknown, WorkCalendar

URGE = "urge"          # 催办通知单 of one assignment
MEETING = "meeting"    # 联席会议 invitation
BULLETIN = "bulletin"  # 督查通报 posted to a group

KIND_LABELS = {URGE: "催办通知单", MEETING: "会议通知", BULLETIN: "督查通报"}


@dataclass(frozen=True)
class ReceiptPolicy:
    """[receipts] in duban.toml: the unread are reminded `remind_after_hours` working hours
    after the notice, and their unit's principal told `escalate_after_hours` working
    hours after that (0: not at all)."""

    remind_after_hours: float = 2.0
    escalate_after_hours: float = 2.0
    # Office hours (Asia/Shanghai) on working days: the hours counted.
    hours: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)),
                                            (time(14, 0), time(17, 30)))


@dataclass(frozen=True)
class Reader:
    person_id: int
    unit_id: int | None
    expected: bool = True
    read_at: datetime | None = None


@dataclass
class Receipt:
    office_id: int
    kind: str
    created_at: datetime
    matter_id: int | None = None
    assignment_no: int | None = None
    record_id: int | None = None
    title: str = ""
    chat_id: int | None = None       # a post in a group (None: private messages)
    message_id: int | None = None
    readers: list[Reader] = field(default_factory=list)
    id: int | None = None

    def reader(self, person_id: int) -> Reader | None:
        return next((r for r in self.readers if r.person_id == person_id), None)

    @property
    def unread(self) -> list[Reader]:
        """Expected and not yet read: who /unread names."""
        return [r for r in self.readers if r.expected and r.read_at is None]

    @property
    def done(self) -> bool:
        return not self.unread

    def unread_in_unit(self, unit_id: int | None) -> list[Reader]:
        return [r for r in self.unread if r.unit_id == unit_id]


def urge_readers(a: Assignment) -> list[Reader]:
    """A 催办通知单 is read by whom it goes to: the unit's principal and responsible person."""
    ids = dict.fromkeys((a.principal_id, a.responsible_id))
    return [Reader(pid, a.unit_id) for pid in ids]


def bulletin_readers(unit_id: int | None, persons: Sequence[Person]) -> list[Reader]:
    """A bulletin posted to a group is read by the group's leaders: in a unit's group its
    principal and responsible persons, in the office's own group the county leaders."""
    wanted = (Role.PRINCIPAL, Role.RESPONSIBLE) if unit_id is not None else (Role.LEADER,)
    return [Reader(p.id, p.unit_id) for p in persons
            if p.active and (unit_id is None or p.unit_id == unit_id)
            and any(p.has(r) for r in wanted)]


def posted_only(r: Receipt) -> bool:
    """A group post's receipt counts once the post went out (a failed post is retried
    with a new one)."""
    return r.kind != BULLETIN or r.message_id is not None


def add_working_hours(cal: WorkCalendar, start: datetime, hours: float,
                      policy: ReceiptPolicy) -> datetime:
    """`start` plus `hours` of office hours on working days (a moment outside them counts
    from the next office hour). Aware UTC in, aware UTC out."""
    left = timedelta(hours=hours)
    local = start.astimezone(LOCAL_TZ)
    day: date = local.date()
    for _ in range(400):  # a year and more of days: enough for any holiday run
        try:
            working = cal.is_workday(day)
        except CalendarYearUnknown:
            working = day.weekday() < 5
        if working:
            for begin_t, end_t in policy.hours:
                begin = datetime.combine(day, begin_t, LOCAL_TZ)
                end = datetime.combine(day, end_t, LOCAL_TZ)
                begin = max(begin, local)
                if begin >= end:
                    continue
                if left <= end - begin:
                    return (begin + left).astimezone(UTC)
                left -= end - begin
        day += timedelta(days=1)
    raise ValueError("no office hours within a year")


def remind_at(cal: WorkCalendar, sent: datetime, policy: ReceiptPolicy) -> datetime:
    return add_working_hours(cal, sent, policy.remind_after_hours, policy)


def escalate_at(cal: WorkCalendar, sent: datetime, policy: ReceiptPolicy) -> datetime:
    return add_working_hours(cal, remind_at(cal, sent, policy), policy.escalate_after_hours,
                             policy)


def principals_to_tell(unread: Sequence[Reader], principal_of: dict[int, int]) -> dict[int, int]:
    """unit id → its principal, for the units with someone unread."""
    return {r.unit_id: principal_of[r.unit_id] for r in unread
            if r.unit_id is not None and r.unit_id in principal_of}
