"""The formal notices of one assignment, read from the ledger: what a handler sends.

    name, data = await assignment_notice(uow, clock, matter_id, no)
    name, data = await urging_notice(uow, clock, cal, matter_id, no)

The ledger is read in the unit of work; the .docx is built after it closes, in a thread
(python-docx takes tens of milliseconds: not on the event loop, not holding a connection).
"""

from __future__ import annotations

import asyncio

from ledger.clock import Clock, local_today
from ledger.lights import workdays_left
from ledger.model import Assignment, Matter
from ledger.ports import UnitOfWork
from ledger.workcalendar import WorkCalendar
from reports.documents import Names, assignment_notice_docx, urging_notice_docx

__all__ = ["assignment_notice", "notice_filename", "urging_notice"]


def notice_filename(kind: str, matter: Matter, unit: str) -> str:
    return f"{kind}_{matter.short_id}_{unit}.docx"


async def _names(uow: UnitOfWork, a: Assignment) -> Names:
    people = [await uow.people.get_person(pid) for pid in a.persons()]
    return Names(people[0].name, people[1].name, people[2].name)


async def assignment_notice(uow: UnitOfWork, clock: Clock, matter_id: int, no: int,
                            ) -> tuple[str, bytes]:
    """交办通知单 of assignment `no` of the matter, dated today."""
    async with uow:
        m = await uow.matters.get(matter_id)
        a = m.assignment(no)
        office = await uow.people.get_office(m.office_id)
        unit = (await uow.people.get_unit(a.unit_id)).name
        names = await _names(uow, a)
        others = [x for x in m.top_assignments if x.no != a.no and x.is_open]
        co_units = [(await uow.people.get_unit(x.unit_id)).name for x in others if not x.lead]
        lead = m.lead
        lead_unit = (await uow.people.get_unit(lead.unit_id)).name if lead else None
    data = await asyncio.to_thread(
        assignment_notice_docx, m, a, unit, names, office, issued_on=local_today(clock),
        co_units=co_units if a.lead else (), lead_unit=lead_unit)
    return notice_filename("交办通知单", m, unit), data


async def urging_notice(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, matter_id: int,
                        no: int) -> tuple[str, bytes]:
    """催办通知单 of assignment `no`, with the limit and the 说明 of its latest urge."""
    today = local_today(clock)
    async with uow:
        m = await uow.matters.get(matter_id)
        a = m.assignment(no)
        office = await uow.people.get_office(m.office_id)
        unit = (await uow.people.get_unit(a.unit_id)).name
        names = await _names(uow, a)
        urges = [e for e in await uow.events.for_matter(matter_id)
                 if e.kind == "urged" and e.assignment_no == no]
    note = str(urges[-1].after.get("note") or "") if urges else ""
    if a.urge_limit is None:
        raise ValueError(f"assignment {no} of {m.number} has not been urged")
    late = -workdays_left(cal, today, a.effective_deadline)
    data = await asyncio.to_thread(
        urging_notice_docx, m, a, unit, names, office, limit=a.urge_limit, issued_on=today,
        workdays_overdue=late if late > 0 else None, urge_count=a.urge_count,
        note=f"催办说明：{note}" if note else "")
    return notice_filename("催办通知单", m, unit), data
