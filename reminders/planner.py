"""What is due, computed from the ledger: pure functions, no database, no Telegram.

The planner turns open assignments (storage's flat `AssignmentRow` scan) into outbox
`Notice`s with a unique key per (matter, assignment, kind, basis, slot, person):

    rem:{matter_id}:{no}:{kind}:{basis}:{slot}:p{person_id}

`basis` is what the slot was computed from (the deadline, or the day of the last progress
for stagnation), so a changed deadline makes new keys instead of reusing old ones; `slot`
is the moment the reminder is for (UTC, minute precision). Inserting the same key twice
does nothing, so planning is idempotent and a restart cannot send anything twice.

Series (each an ordered list of slots; only the latest one that is due is ever sent):
- deadline: n working days before (policy.before_workdays), on the day, then every
  sending day while overdue (the principal is added once overdue);
- urgent (急件): hourly from the assignment, inside the sending window of every day
  (holidays too, never at night), until closed; the principal added once overdue;
- stagnation: no progress for N working days asks the responsible person for an update,
  again every N working days, until the deadline series takes over.

A slot is *live* from its moment until the end of that day's sending window (daily) or
the next slot (hourly). A slot missed entirely (the bot was down all day) is not sent
late at night or the next day: the next slot of its series speaks for it. See
docs/reminders.md.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from ledger.clock import to_local
from ledger.deadlines import MatterClass, ServiceLevel, service_level_due
from ledger.model import AssignmentStatus, Source
from ledger.ports import AssignmentRow, Notice
from ledger.workcalendar import CalendarYearUnknown, WorkCalendar
from reminders import kinds
from reminders.timeline import DayTimes, Timeline, slot_key, utc
from settings import ReminderPolicy

DEFAULT_HORIZON = timedelta(minutes=15)

# (person_id, chat_id): where an office notice goes.
Target = tuple[int | None, int | None]
OfficeTargets = Callable[[int, bool], Sequence[Target]]


class EscalationKind(StrEnum):
    URGE = "urge"    # overdue long enough: automatic 催办 (services.auto_urge)
    FLAG = "flag"    # urging limit passed: flag for 通报批评 (services.flag_for_criticism)


@dataclass(frozen=True)
class Escalation:
    kind: EscalationKind
    matter_id: int
    no: int
    office_id: int
    overdue_workdays: int


@dataclass(frozen=True)
class UnassignedMatter:
    """A registered matter with no assignment yet (the office's own time limit, §2.2)."""

    matter_id: int
    office_id: int
    source: Source
    confidential: bool
    received_at: datetime
    registered_at: datetime
    paused: bool = False


@dataclass
class Plan:
    notices: list[Notice] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    unknown_years: set[int] = field(default_factory=set)
    skipped_rows: int = 0


def reminder_key(matter_id: int, no: int, kind: str, basis: str, slot: str,
                 person_id: int) -> str:
    """`slot`: `timeline.slot_key` of the slot moment."""
    return f"{kinds.REMINDER_PREFIX}{matter_id}:{no}:{kind}:{basis}:{slot}:p{person_id}"


def _target_text(target: Target) -> str:
    person_id, chat_id = target
    return f"p{person_id}" if person_id is not None else f"c{chat_id}"


def sla_key(matter_id: int, due: date, slot: str, target: Target) -> str:
    return f"{kinds.SLA_PREFIX}{matter_id}:{due.isoformat()}:{slot}:{_target_text(target)}"


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Tens of thousands of small acyclic objects set the cyclic GC off again and again;
    pause it for the (synchronous) loop."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_URGENT = MatterClass.URGENT.value
_REQUESTED = AssignmentStatus.COMPLETION_REQUESTED


def _persons(r: AssignmentRow, principal: bool) -> tuple[int, ...]:
    """Responsible person and handler (and the principal), each once."""
    a, b = r.responsible_id, r.handler_id
    out = (a,) if a == b else (a, b)
    if principal and r.principal_id not in out:
        out = (*out, r.principal_id)
    return out


@dataclass(frozen=True)
class _Window:
    """Which slots a planning call wants.

    live_at: also the slot that is live at this moment (catch-up); lo/hi: slots with
    lo < moment <= hi.
    """

    live_at: float | None
    lo: float
    hi: float


class Planner:
    """Computes reminder notices and escalations for a policy and calendar.

    Keeps one `Timeline` per local day; safe to reuse for every pass of a process.
    """

    def __init__(self, cal: WorkCalendar, policy: ReminderPolicy,
                 horizon: timedelta = DEFAULT_HORIZON) -> None:
        self.cal = cal
        self.policy = policy
        self.horizon = horizon
        self._timeline: Timeline | None = None
        self._cache_for: Timeline | None = None
        self._deadlines: dict[date, tuple[int, int, int, str]] = {}

    # ---- public API -------------------------------------------------------------------

    def timeline(self, now: datetime) -> Timeline:
        today = to_local(now).date()
        tl = self._timeline
        if tl is None or tl.today != today or tl.cal_version != self.cal.version:
            tl = Timeline(self.cal, self.policy, today)
            self._timeline = tl
        return tl

    def plan(self, rows: Iterable[AssignmentRow], now: datetime,
             horizon: timedelta | None = None) -> Plan:
        """Everything live now or due up to now+horizon, and the escalations due now."""
        tl = self.timeline(now)
        n = now.timestamp()
        win = _Window(live_at=n, lo=n, hi=n + (horizon or self.horizon).total_seconds())
        days = self._days(tl, win)
        today = tl.day(tl.local_ordinal(n))
        escalate = today.sending and today.send <= n < today.window_end
        plan = Plan()
        with _gc_paused():
            for row in rows:
                try:
                    self._row(plan.notices, row, tl, win, days)
                    if escalate:
                        self._escalations(plan.escalations, row, tl, today)
                except CalendarYearUnknown as e:
                    plan.unknown_years.add(e.year)
                    plan.skipped_rows += 1
        return plan

    def sends_between(self, lo: datetime, hi: datetime, now: datetime) -> bool:
        """A sending day's daily moment (send_at) falls in (lo, hi]: the daily slots
        (before, due, overdue, stagnation, the office's time limits) all fall due then,
        so only then does the scheduler need to look at every open assignment."""
        try:
            tl = self.timeline(now)
        except CalendarYearUnknown:
            return True  # the sweep reports the unknown year
        return bool(self._days(tl, _Window(live_at=None, lo=lo.timestamp(),
                                           hi=hi.timestamp())))

    def escalating(self, now: datetime) -> bool:
        """Escalations (automatic 催办, criticism flags) are due only inside a sending
        day's window, from its send moment."""
        n = now.timestamp()
        try:
            tl = self.timeline(now)
            today = tl.day(tl.local_ordinal(n))
        except CalendarYearUnknown:
            return False
        return today.sending and today.send <= n < today.window_end

    def escalating_policies(self, now: datetime) -> frozenset[int]:
        """Which policies (by office id; -1 the deployment's) have escalations due now."""
        return frozenset({-1}) if self.escalating(now) else frozenset()

    def live(self, row: AssignmentRow, now: datetime) -> list[Notice]:
        """The row's notices that may be sent at `now` (send-time check)."""
        tl = self.timeline(now)
        n = now.timestamp()
        win = _Window(live_at=n, lo=n, hi=n)
        out: list[Notice] = []
        self._row(out, row, tl, win, self._days(tl, win))
        return out

    def for_office(self, office_id: int) -> Planner:
        """The planner of that office's policy (one policy: this one)."""
        return self

    def release_at(self, due_at: datetime, now: datetime,
                   office_id: int | None = None) -> datetime:
        """When a notice due at `due_at` may go out, seen at `now`: nothing is sent in quiet
        hours or on a non-working day (with workdays_only); what falls due then goes out at
        the next sending day's send_at. (Urgent matters are exempt: callers skip this.)"""
        tl = self.timeline(now)
        release = max(tl.release(due_at.timestamp()), tl.release(now.timestamp()))
        return due_at if release <= due_at.timestamp() else utc(release)

    def still_due(self, notice: Notice, row: AssignmentRow | None, now: datetime) -> bool:
        """Send-time check of a reminder: the ledger (its open assignment row, None when it
        is closed or gone) still makes exactly this notice the live one of its series.
        False means it is stale (progress reported, deadline moved, paused, completion
        requested, closed) or superseded by a later slot."""
        if row is None:
            return False
        try:
            return any(x.key == notice.key for x in self.live(row, now))
        except CalendarYearUnknown:
            return False

    def upcoming(self, rows: Iterable[AssignmentRow], now: datetime, until: datetime,
                 person_id: int | None = None) -> list[Notice]:
        """Reminders that will go out after `now` up to `until` if nothing changes
        (for /mine), sorted by time. `person_id`: only that person's."""
        tl = self.timeline(now)
        win = _Window(live_at=None, lo=now.timestamp(), hi=until.timestamp())
        days = self._days(tl, win)
        out: list[Notice] = []
        for row in rows:
            try:
                self._row(out, row, tl, win, days)
            except CalendarYearUnknown:
                continue
        if person_id is not None:
            out = [x for x in out if x.person_id == person_id]
        out.sort(key=lambda x: (x.due_at, x.matter_id or 0, x.assignment_no or 0))
        return out

    def plan_unassigned(self, matters: Iterable[UnassignedMatter], now: datetime,
                        targets: OfficeTargets, horizon: timedelta | None = None,
                        ) -> Plan:
        """The office's own time limits (§2.2): a registered matter not yet decomposed and
        assigned within one working day, or a leader's instruction not yet delivered to a
        unit within one working day, reminds the office on the day it is due and on every
        sending day after."""
        tl = self.timeline(now)
        n = now.timestamp()
        win = _Window(live_at=n, lo=n, hi=n + (horizon or self.horizon).total_seconds())
        plan = Plan()
        for m in matters:
            try:
                self._unassigned(plan.notices, m, tl, win, targets)
            except CalendarYearUnknown as e:
                plan.unknown_years.add(e.year)
                plan.skipped_rows += 1
        return plan

    def live_unassigned(self, m: UnassignedMatter, now: datetime,
                        targets: OfficeTargets) -> list[Notice]:
        tl = self.timeline(now)
        n = now.timestamp()
        out: list[Notice] = []
        self._unassigned(out, m, tl, _Window(live_at=n, lo=n, hi=n), targets)
        return out

    # ---- internals --------------------------------------------------------------------

    def _days(self, tl: Timeline, win: _Window) -> list[DayTimes]:
        """Sending days with a daily slot the window wants (live now, or lo < send <= hi)."""
        out: list[DayTimes] = []
        if win.live_at is not None:
            today = tl.day(tl.local_ordinal(win.live_at))
            if today.sending and today.send <= win.live_at < today.window_end:
                out.append(today)
        first = tl.local_ordinal(win.lo)
        last = tl.local_ordinal(win.hi)
        for o in range(first, last + 1):
            try:
                day = tl.day(o)
            except CalendarYearUnknown:
                break
            if day.sending and win.lo < day.send <= win.hi:
                out.append(day)
        return out

    def _row(self, out: list[Notice], r: AssignmentRow, tl: Timeline, win: _Window,
             days: list[DayTimes]) -> None:
        if r.paused or r.status is _REQUESTED:
            return
        if r.klass == _URGENT:
            self._urgent(out, r, tl, win)
            return
        if not days:
            return
        p = self.policy
        dl, i, due_o, deadline = self._deadline(tl, r.deadline)
        assigned = r.assigned_at
        for day in days:
            if day.send_at <= assigned:
                continue
            o = day.ordinal
            if o > dl:
                if not p.overdue_every_workday:
                    continue
                kind = kinds.OVERDUE
                payload: dict[str, Any] = {
                    "deadline": deadline, "overdue_workdays": day.index - i,
                    "overdue_days": o - dl, "urge_count": r.urge_count,
                    "urge_limit": r.urge_limit.isoformat() if r.urge_limit else None}
                persons = _persons(r, True)
            elif o == due_o:
                if not p.on_due_day:
                    continue
                kind = kinds.DUE
                payload = {"deadline": deadline, "workdays_left": 0}
                persons = _persons(r, False)
            elif day.workday and o < due_o and (left := i - day.index) in tl.before:
                kind = kinds.BEFORE
                payload = {"deadline": deadline, "workdays_left": left}
                persons = _persons(r, False)
            else:
                self._stagnant(out, r, tl, day, i, due_o)
                continue
            prefix = f"{kinds.REMINDER_PREFIX}{r.matter_id}:{r.no}:{kind}:{deadline}:{day.send_key}:p"
            for pid in persons:
                out.append(Notice(
                    key=prefix + str(pid), office_id=r.office_id, kind=kind,
                    due_at=day.send_at, person_id=pid, matter_id=r.matter_id,
                    assignment_no=r.no, payload=payload.copy()))

    def _deadline(self, tl: Timeline, deadline: date) -> tuple[int, int, int, str]:
        """(ordinal, working-day index, the day the due reminder goes out, iso text),
        cached: a county's deadlines fall on a few hundred distinct days."""
        if self._cache_for is not tl:
            self._cache_for = tl
            self._deadlines.clear()
        found = self._deadlines.get(deadline)
        if found is None:
            dl = deadline.toordinal()
            i = tl.floor_index(dl)
            due_o = dl if (not self.policy.workdays_only or tl.is_workday(dl)) \
                else tl.workday_at(i)
            found = (dl, i, due_o, deadline.isoformat())
            self._deadlines[deadline] = found
        return found

    def _stagnant(self, out: list[Notice], r: AssignmentRow, tl: Timeline, day: DayTimes,
                  i: int, due_o: int) -> None:
        n = self.policy.stagnant_workdays
        if n <= 0 or not day.workday or day.ordinal >= due_o:
            return
        last_at = r.last_progress_at or r.assigned_at
        if day.send_at <= last_at:
            return
        last = tl.local_ordinal(last_at.timestamp())
        quiet = day.index - tl.floor_index(last)
        if quiet < n or quiet % n:
            return
        basis = date.fromordinal(last).isoformat()
        out.append(Notice(
            key=reminder_key(r.matter_id, r.no, kinds.STAGNANT, basis, day.send_key,
                             r.responsible_id),
            office_id=r.office_id, kind=kinds.STAGNANT, due_at=day.send_at,
            person_id=r.responsible_id, matter_id=r.matter_id, assignment_no=r.no,
            payload={"since": basis, "stagnant_workdays": quiet,
                     "deadline": r.deadline.isoformat(), "workdays_left": i - day.index}))

    def _urgent(self, out: list[Notice], r: AssignmentRow, tl: Timeline,
                win: _Window) -> None:
        h = self.policy.urgent_every_hours * 3600.0
        if h <= 0:
            return
        a = r.assigned_at.timestamp()
        slots: list[float] = []
        if win.live_at is not None:
            k = math.floor((win.live_at - a) / h)
            if k >= 1:
                t = a + k * h
                day = tl.in_window(t)
                if day is not None and win.live_at < day.window_end:
                    slots.append(t)
        k = max(1, math.floor((win.lo - a) / h) + 1)
        t = a + k * h
        while t <= win.hi:
            if tl.in_window(t) is not None:
                slots.append(t)
            k += 1
            t = a + k * h
        if not slots:
            return
        dl = r.deadline.toordinal()
        deadline = r.deadline.isoformat()
        for t in slots:
            o = tl.local_ordinal(t)
            overdue = o > dl
            persons = (_persons(r, True) if overdue
                       else _persons(r, False))
            payload: dict[str, Any] = {
                "deadline": deadline, "overdue": overdue,
                "overdue_workdays": max(0, tl.floor_index(o) - tl.floor_index(dl)),
                "hours": round((t - a) / 3600)}
            for pid in persons:
                out.append(Notice(
                    key=reminder_key(r.matter_id, r.no, kinds.URGENT, deadline, slot_key(t),
                                     pid),
                    office_id=r.office_id, kind=kinds.URGENT, due_at=utc(t), person_id=pid,
                    matter_id=r.matter_id, assignment_no=r.no, payload=dict(payload)))

    def _escalations(self, out: list[Escalation], r: AssignmentRow, tl: Timeline,
                     today: DayTimes) -> None:
        if r.paused or r.status is _REQUESTED:
            return
        o = today.ordinal
        dl = r.deadline.toordinal()
        if o <= dl:
            return
        overdue = tl.floor_index(o) - tl.floor_index(dl)
        m = self.policy.auto_urge_after_workdays
        if r.urge_count == 0 and m > 0 and overdue >= m:
            out.append(Escalation(EscalationKind.URGE, r.matter_id, r.no, r.office_id,
                                  overdue))
        elif (r.urge_limit is not None and not r.criticized
              and o > r.urge_limit.toordinal()):
            out.append(Escalation(EscalationKind.FLAG, r.matter_id, r.no, r.office_id,
                                  overdue))

    def _unassigned(self, out: list[Notice], m: UnassignedMatter, tl: Timeline,
                    win: _Window, targets: OfficeTargets) -> None:
        if m.paused:
            return
        level = (ServiceLevel.INSTRUCTION if m.source is Source.INSTRUCTION
                 else ServiceLevel.REGISTER)
        received = to_local(m.received_at).date()
        due = service_level_due(self.cal, received, level)
        due_o = due.toordinal()
        registered = m.registered_at.timestamp()
        for day in self._days(tl, win):
            o = day.ordinal
            if o < due_o or day.send <= registered:
                continue
            late = day.index - tl.floor_index(due_o)
            payload = {"level": level.value, "due": due.isoformat(),
                       "received": received.isoformat(), "late_workdays": late,
                       "late": o > due_o}
            for target in targets(m.office_id, m.confidential):
                person_id, chat_id = target
                out.append(Notice(
                    key=sla_key(m.matter_id, due, day.send_key, target),
                    office_id=m.office_id, kind=kinds.OFFICE_SLA, due_at=day.send_at,
                    person_id=person_id,
                    chat_id=chat_id, matter_id=m.matter_id, payload=dict(payload)))



class OfficePlanners(Planner):
    """The planner for a deployment whose offices have their own reminder policies
    ([offices."城关督".reminders]): each row, notice and matter is planned with its office's
    policy (an office not named: the deployment's). The same interface as `Planner`."""

    def __init__(self, cal: WorkCalendar, policy: ReminderPolicy,
                 by_office: Mapping[int, ReminderPolicy],
                 horizon: timedelta = DEFAULT_HORIZON) -> None:
        super().__init__(cal, policy, horizon)
        self.default = Planner(cal, policy, horizon)
        self.own = {oid: Planner(cal, p, horizon) for oid, p in by_office.items()}

    def for_office(self, office_id: int) -> Planner:
        return self.own.get(office_id, self.default)

    def _all(self) -> list[Planner]:
        return [self.default, *self.own.values()]

    def _split(self, rows: Iterable[AssignmentRow]) -> dict[int, list[AssignmentRow]]:
        by: dict[int, list[AssignmentRow]] = {}
        for r in rows:
            by.setdefault(r.office_id if r.office_id in self.own else -1, []).append(r)
        return by

    def _planner(self, key: int) -> Planner:
        return self.default if key == -1 else self.own[key]

    def timeline(self, now: datetime) -> Timeline:
        return self.default.timeline(now)

    def plan(self, rows: Iterable[AssignmentRow], now: datetime,
             horizon: timedelta | None = None) -> Plan:
        out = Plan()
        for key, part in self._split(rows).items():
            _merge(out, self._planner(key).plan(part, now, horizon))
        return out

    def sends_between(self, lo: datetime, hi: datetime, now: datetime) -> bool:
        return any(p.sends_between(lo, hi, now) for p in self._all())

    def escalating(self, now: datetime) -> bool:
        return any(p.escalating(now) for p in self._all())

    def escalating_policies(self, now: datetime) -> frozenset[int]:
        out = {oid for oid, p in self.own.items() if p.escalating(now)}
        return frozenset(out | ({-1} if self.default.escalating(now) else set()))

    def live(self, row: AssignmentRow, now: datetime) -> list[Notice]:
        return self.for_office(row.office_id).live(row, now)

    def release_at(self, due_at: datetime, now: datetime,
                   office_id: int | None = None) -> datetime:
        planner = self.default if office_id is None else self.for_office(office_id)
        return planner.release_at(due_at, now)

    def upcoming(self, rows: Iterable[AssignmentRow], now: datetime, until: datetime,
                 person_id: int | None = None) -> list[Notice]:
        out: list[Notice] = []
        for key, part in self._split(rows).items():
            out += self._planner(key).upcoming(part, now, until, person_id)
        out.sort(key=lambda x: (x.due_at, x.matter_id or 0, x.assignment_no or 0))
        return out

    def plan_unassigned(self, matters: Iterable[UnassignedMatter], now: datetime,
                        targets: OfficeTargets, horizon: timedelta | None = None,
                        ) -> Plan:
        out = Plan()
        by: dict[int, list[UnassignedMatter]] = {}
        for m in matters:
            by.setdefault(m.office_id if m.office_id in self.own else -1, []).append(m)
        for key, part in by.items():
            _merge(out, self._planner(key).plan_unassigned(part, now, targets, horizon))
        return out

    def live_unassigned(self, m: UnassignedMatter, now: datetime,
                        targets: OfficeTargets) -> list[Notice]:
        return self.for_office(m.office_id).live_unassigned(m, now, targets)


def _merge(into: Plan, part: Plan) -> None:
    into.notices += part.notices
    into.escalations += part.escalations
    into.unknown_years |= part.unknown_years
    into.skipped_rows += part.skipped_rows


def planner_for(cal: WorkCalendar, policy: ReminderPolicy,
                by_office: Mapping[int, ReminderPolicy] | None = None,
                horizon: timedelta = DEFAULT_HORIZON) -> Planner:
    """One policy: a plain `Planner`; offices with their own: `OfficePlanners`."""
    if not by_office:
        return Planner(cal, policy, horizon)
    return OfficePlanners(cal, policy, by_office, horizon)
