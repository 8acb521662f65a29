"""Read-side use cases of reminders, for handlers.

- `/mine`: `upcoming_reminders(deps.uow(), deps.clock, deps.cal, deps.reminder_policy(office),
  actor_id)` — what will be sent to the actor in the next days if nothing changes.
- pausing is a ledger use case: `ledger.usecases.accountability.pause_reminders /
  resume_reminders / reminders_paused`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledger.clock import Clock
from ledger.errors import PermissionDenied
from ledger.permissions import load_actor
from ledger.ports import UnitOfWork
from ledger.workcalendar import WorkCalendar
from reminders.planner import Planner
from settings import ReminderPolicy


@dataclass(frozen=True)
class Upcoming:
    due_at: datetime             # aware UTC; show with ledger.clock.to_local
    kind: str                    # reminders.kinds
    matter_id: int
    assignment_no: int
    number: str                  # 督〔2026〕12号
    title: str
    payload: dict[str, Any]      # as the notice will carry it


async def upcoming_reminders(uow: UnitOfWork, clock: Clock, cal: WorkCalendar,
                             policy: ReminderPolicy, actor_id: int,
                             person_id: int | None = None, days: int = 7,
                             limit: int = 30) -> list[Upcoming]:
    """The reminders `person_id` (default: the actor) will get in the next `days` days,
    soonest first. Only the office may look at someone else's."""
    async with uow:
        actor = await load_actor(uow, actor_id)
        target = actor.id if person_id is None else person_id
        if target != actor.id and not actor.is_office:
            raise PermissionDenied("只能查看自己的提醒。")
        rows = await uow.matters.open_assignments(person_id=target)
        now = clock.now()
        planner = Planner(cal, policy)
        found = planner.upcoming(rows, now, now + timedelta(days=days), person_id=target)
        found = found[:limit]
        titles: dict[int, tuple[str, str]] = {}
        for n in found:
            assert n.matter_id is not None
            if n.matter_id not in titles:
                m = await uow.matters.get(n.matter_id)
                titles[n.matter_id] = (m.number, m.title)
        return [Upcoming(n.due_at, n.kind, n.matter_id or 0, n.assignment_no or 0,
                         *titles[n.matter_id or 0], n.payload) for n in found]
