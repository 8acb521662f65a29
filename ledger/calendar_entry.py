"""Entering a year's official holiday arrangement, and what becomes exact then.

The office enters the State Council's notice (``duban holidays import``, ``/holidays`` in
chat). The arrangement is stored with who and when; every open assignment whose deadline
was counted in working days across that year (the default one, or typed as N个工作日 at
registration, 签收, an extension) is counted again from the same day and the same number
of working days, and so is an urging limit. A changed date is an event (before, after,
reason), the
responsible person and the handler are told, the office gets one summary. Reminders are
re-planned from the events like after any other change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from ledger import permissions as perm
from ledger.clock import Clock, to_local
from ledger.holidays import Arrangement
from ledger.model import Assignment, Matter
from ledger.ports import EnteredYear, Notice, UnitOfWork, UnitOfWorkFactory
from ledger.workcalendar import WorkCalendar, YearSchedule

__all__ = ["RECOUNT_REASON", "EntryResult", "Recount", "enter_year", "load_entered",
           "next_year_warning_due", "next_year_warnings"]

RECOUNT_REASON = "节假日安排录入"
_SUMMARY_LINES = 30


@dataclass(frozen=True)
class Recount:
    matter_id: int
    number: str
    title: str
    no: int
    unit_id: int
    office_id: int
    before: date  # the 办结时限 (the effective one; the 交办时限 when only that changed)
    after: date
    limit_before: date | None = None  # the urging limit, when it changed
    limit_after: date | None = None


@dataclass(frozen=True)
class EntryResult:
    year: int
    status_before: str
    recounted: tuple[Recount, ...]


def _schedules(entries: list[EnteredYear]) -> dict[int, YearSchedule]:
    return {e.year: YearSchedule(e.year, e.holidays, e.workdays) for e in entries}


async def load_entered(uow: UnitOfWorkFactory, cal: WorkCalendar) -> list[EnteredYear]:
    """Hand the years entered in storage to the calendar (at start, and after an entry)."""
    async with uow() as u:
        entries = await u.holidays.latest()
    cal.set_entered(_schedules(entries))
    return entries


def _touches(year: int, start: date, *ends: date) -> bool:
    return start.year <= year <= max(ends).year


def _again(exact: WorkCalendar, year: int, start: date | None, n: int | None,
           *current: date) -> date | None:
    """A date counted from ``start`` over ``n`` working days, counted again on the exact
    calendar if the count touches ``year``; None if it was not counted or does not."""
    if start is None or n is None or not _touches(year, start, *current):
        return None
    return exact.add_workdays(start, n)


def _recounted(a: Assignment, exact: WorkCalendar, year: int,
               ) -> tuple[date, date | None, date | None] | None:
    """(deadline, committed deadline, urging limit) counted again from their own bases;
    None for the last two when not counted, None altogether when nothing was."""
    deadline = _again(exact, year, a.counted_from, a.counted_workdays, a.deadline,
                      a.effective_deadline)
    committed = limit = None
    if a.committed_deadline is not None:
        committed = _again(exact, year, a.committed_counted_from, a.committed_counted_workdays,
                           a.committed_deadline)
    if a.urge_limit is not None:
        limit = _again(exact, year, a.limit_counted_from, a.limit_counted_workdays,
                       a.urge_limit)
    if deadline is None and committed is None and limit is None:
        return None
    return deadline or a.deadline, committed, limit


async def enter_year(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, arrangement: Arrangement,
                     *, actor_id: int | None, actor_name: str) -> EntryResult:
    """Store the arrangement, recount what it changes, tell who needs to know.

    ``actor_id`` None: from the command line (``actor_name`` says who ran it). All in one
    transaction: nothing is half-stored."""
    year = arrangement.year
    now = clock.now()
    async with uow:
        if actor_id is not None:
            actor = await perm.load_actor(uow, actor_id)
            perm.require_office(actor)
            actor_name = actor.name
        status_before = cal.year_status(year)
        await uow.holidays.add(EnteredYear(
            year=year, holidays=arrangement.holidays, workdays=arrangement.workdays,
            source=arrangement.source, entered_by=actor_id, entered_by_name=actor_name,
            entered_at=now))
        schedules = _schedules(await uow.holidays.latest())
        exact = cal.with_entered(schedules)
        first = datetime(year + 1, 1, 1, tzinfo=now.tzinfo)
        rows = [r for r in await uow.matters.open_assignments()
                if r.assigned_at < first and (r.deadline.year >= year - 1 or (
                    r.urge_limit is not None and r.urge_limit.year >= year - 1))]
        matters = await uow.matters.get_many({r.matter_id for r in rows})
        changed: list[Matter] = []
        recounted: list[Recount] = []
        for m in matters.values():
            before_version = m.version
            for a in m.assignments:
                again = _recounted(a, exact, year) if a.is_open else None
                if again is None:
                    continue
                old, old_deadline, old_limit = a.effective_deadline, a.deadline, a.urge_limit
                if m.recount_deadline(at=now, no=a.no, deadline=again[0], committed=again[1],
                                      urge_limit=again[2], reason=RECOUNT_REASON):
                    assert m.id is not None
                    before, after = old, a.effective_deadline
                    if before == after:
                        before, after = old_deadline, a.deadline
                    moved = a.urge_limit != old_limit
                    recounted.append(Recount(
                        m.id, m.number, m.title, a.no, a.unit_id, m.office_id, before, after,
                        old_limit if moved else None, a.urge_limit if moved else None))
            if m.version != before_version:
                changed.append(m)
        if changed:
            await uow.matters.save_many(changed)
        by_matter = {m.id: m for m in changed}
        for r in recounted:
            m = by_matter[r.matter_id]
            a = m.assignment(r.no)
            for pid in dict.fromkeys((a.responsible_id, a.handler_id)):
                await uow.outbox.add(Notice(
                    key=f"recount:{m.id}:{r.no}:{m.version}:p{pid}", office_id=m.office_id,
                    kind="deadline_recounted", due_at=now, person_id=pid, matter_id=m.id,
                    assignment_no=r.no,
                    payload={"year": year, "old_deadline": r.before.isoformat(),
                             "deadline": r.after.isoformat(), "reason": RECOUNT_REASON,
                             **_limit_payload(r)}))
        await _summaries(uow, now, year, actor_name, recounted)
        await uow.commit()
    cal.set_entered(schedules)
    return EntryResult(year, status_before, tuple(recounted))


def _limit_payload(r: Recount) -> dict[str, str]:
    if r.limit_before is None or r.limit_after is None:
        return {}
    return {"old_limit": r.limit_before.isoformat(), "limit": r.limit_after.isoformat()}


def _summary_line(r: Recount, unit: str) -> str:
    text = f"{r.number} {unit}："
    if r.before != r.after:
        text += f"{r.before:%m月%d日} → {r.after:%m月%d日}"
    if r.limit_before is not None and r.limit_after is not None:
        text += ("，" if r.before != r.after else "")
        text += f"催办限期 {r.limit_before:%m月%d日} → {r.limit_after:%m月%d日}"
    return text


async def _office_admins(uow: UnitOfWork, office_id: int) -> list[int]:
    return [p.id for p in await uow.people.persons(office_id) if p.is_office and p.active]


async def _summaries(uow: UnitOfWork, now: datetime, year: int, actor_name: str,
                     recounted: list[Recount]) -> None:
    """One summary per office, to its admins privately (it lists matters of any secrecy)."""
    per_office: dict[int, list[Recount]] = defaultdict(list)
    for r in recounted:
        per_office[r.office_id].append(r)
    units: dict[int, str] = {}
    for office in await uow.people.offices():
        mine = per_office.get(office.id, [])
        for u in await uow.people.units(office.id):
            units[u.id] = u.name
        lines = [_summary_line(r, units.get(r.unit_id, "")) for r in mine[:_SUMMARY_LINES]]
        for pid in await _office_admins(uow, office.id):
            await uow.outbox.add(Notice(
                key=f"holidays:{year}:{now.isoformat()}:p{pid}", office_id=office.id,
                kind="office_holidays_entered", due_at=now, person_id=pid,
                payload={"year": year, "by": actor_name, "count": len(mine),
                         "lines": lines, "more": max(0, len(mine) - _SUMMARY_LINES)}))


# ---- warning ahead ---------------------------------------------------------------------

def next_year_warning_due(cal: WorkCalendar, now: datetime, *, from_month: int,
                          from_day: int) -> tuple[int, str] | None:
    """(next year, this week's key) when the office should be reminded to enter next
    year's arrangement: from ``from_month``/``from_day`` on, while next year is neither
    built in nor entered, on a working day. The key makes it once a week (the outbox
    refuses a key twice), on the week's first working day the scheduler runs."""
    today = to_local(now).date()
    nxt = today.year + 1
    if cal.knows(nxt) or today < date(today.year, from_month, from_day):
        return None
    if not cal.is_workday(today):
        return None
    iso = today.isocalendar()
    return nxt, f"{iso.year}-W{iso.week:02d}"


def next_year_warnings(cal: WorkCalendar, now: datetime, start: tuple[int, int] | None,
                       admins: dict[int, list[int]]) -> list[Notice]:
    """This week's warning to each office's admins (``admins``: office id → person ids)."""
    if start is None:
        return []
    due = next_year_warning_due(cal, now, from_month=start[0], from_day=start[1])
    if due is None:
        return []
    year, week = due
    return [Notice(key=f"holidays_missing:{year}:{week}:p{pid}", office_id=office_id,
                   kind="office_holidays_missing", due_at=now, person_id=pid,
                   payload={"year": year})
            for office_id, pids in admins.items() for pid in pids]
