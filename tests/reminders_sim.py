"""A pure simulation of the reminder machinery for planner tests: no database, no Telegram.

It does what the real service does, in memory: on each wake-up it plans (insert-ignore by
key into a dict "outbox"), applies escalations to the rows, and delivers every due notice
that `Planner.still_due` accepts at that moment, or cancels it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from bot.config import ReminderPolicy
from ledger.clock import LOCAL_TZ, to_local
from ledger.deadlines import MatterClass
from ledger.model import AssignmentStatus
from ledger.ports import AssignmentRow, Notice
from ledger.workcalendar import WorkCalendar
from reminders import kinds
from reminders.planner import EscalationKind, Planner, Target, UnassignedMatter

CAL = WorkCalendar()


def local(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LOCAL_TZ).astimezone(UTC)


def row(matter_id: int = 1, no: int = 1, *, deadline: date, assigned_at: datetime,
        klass: MatterClass = MatterClass.NORMAL, principal: int = 3, responsible: int = 4,
        handler: int = 5, **kw: object) -> AssignmentRow:
    values: dict[str, object] = dict(
        matter_id=matter_id, no=no, office_id=1, klass=klass.value, confidential=False,
        status=AssignmentStatus.SIGNED, unit_id=1, principal_id=principal,
        responsible_id=responsible, handler_id=handler, deadline=deadline,
        assigned_at=assigned_at, last_progress_at=None, urge_limit=None, urge_count=0,
        criticized=False, paused=False)
    values.update(kw)
    return AssignmentRow(**values)  # type: ignore[arg-type]


@dataclass
class Sent:
    at: datetime
    notice: Notice

    @property
    def local(self) -> str:
        return to_local(self.at).strftime("%m-%d %H:%M")

    @property
    def due(self) -> str:
        return to_local(self.notice.due_at).strftime("%m-%d %H:%M")


@dataclass
class Sim:
    planner: Planner
    rows: dict[tuple[int, int], AssignmentRow]
    unassigned: dict[int, UnassignedMatter] = field(default_factory=dict)
    targets: Callable[[int, bool], list[Target]] = lambda office, private: [(1, None)]
    outbox: dict[str, Notice] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    escalations: list[tuple[datetime, EscalationKind, int, int]] = field(default_factory=list)

    @classmethod
    def of(cls, *rows: AssignmentRow, policy: ReminderPolicy | None = None,
           horizon: timedelta = timedelta(minutes=15)) -> Sim:
        planner = Planner(CAL, policy or ReminderPolicy(), horizon)
        return cls(planner, {(r.matter_id, r.no): r for r in rows})

    def change(self, matter_id: int, no: int = 1, **kw: object) -> None:
        self.rows[(matter_id, no)] = replace(self.rows[(matter_id, no)], **kw)  # type: ignore[arg-type]

    def close(self, matter_id: int, no: int = 1) -> None:
        del self.rows[(matter_id, no)]

    def wake(self, now: datetime) -> None:
        plan = self.planner.plan(list(self.rows.values()), now)
        for esc in plan.escalations:
            self.escalations.append((now, esc.kind, esc.matter_id, esc.no))
            if esc.kind is EscalationKind.URGE:
                limit = CAL.add_workdays(to_local(now).date(),
                                         self.planner.policy.urge_limit_workdays)
                self.change(esc.matter_id, esc.no, urge_count=1, urge_limit=limit)
            else:
                self.change(esc.matter_id, esc.no, criticized=True)
        plan = self.planner.plan(list(self.rows.values()), now)
        office = self.planner.plan_unassigned(list(self.unassigned.values()), now,
                                              self.targets)
        for x in [*plan.notices, *office.notices]:
            if x.key not in self.outbox:
                self.outbox[x.key] = x
                self.status[x.key] = "pending"
        for key, x in sorted(self.outbox.items(), key=lambda kv: kv[1].due_at):
            if self.status[key] != "pending" or x.due_at > now:
                continue
            if x.kind == kinds.OFFICE_SLA:
                assert x.matter_id is not None
                m = self.unassigned.get(x.matter_id)
                ok = m is not None and any(
                    y.key == key for y in self.planner.live_unassigned(m, now, self.targets))
            else:
                assert x.matter_id is not None and x.assignment_no is not None
                ok = self.planner.still_due(x, self.rows.get((x.matter_id, x.assignment_no)),
                                            now)
            self.status[key] = "sent" if ok else "cancelled"
            if ok:
                self.sent.append(Sent(now, x))

    def run(self, start: datetime, end: datetime,
            step: timedelta | Callable[[], timedelta] = timedelta(minutes=5),
            events: Iterable[tuple[datetime, Callable[[], None]]] = ()) -> None:
        """Planning passes every `step` (the sweep) and a wake-up at the next due moment
        (the JobQueue job at outbox.next_due_at); `events` change the rows in between."""
        pending = sorted(events, key=lambda e: e[0])
        now = start
        while now <= end:
            while pending and pending[0][0] <= now:
                pending.pop(0)[1]()
            self.wake(now)
            nxt = now + (step if isinstance(step, timedelta) else step())
            due = [x.due_at for k, x in self.outbox.items()
                   if self.status[k] == "pending" and x.due_at > now]
            now = min([nxt, *due])

    def log(self) -> list[tuple[str, str, int | None, str]]:
        """(local send time, kind, person, payload summary) of everything sent."""
        out = []
        for s in self.sent:
            p = s.notice.payload
            detail = ",".join(f"{k}={p[k]}" for k in sorted(p)
                              if k in ("workdays_left", "overdue_workdays", "late_workdays",
                                       "stagnant_workdays", "overdue"))
            out.append((s.local, s.notice.kind, s.notice.person_id, detail))
        return out


def at_local(d: date, t: time) -> datetime:
    return datetime.combine(d, t, tzinfo=LOCAL_TZ).astimezone(UTC)
