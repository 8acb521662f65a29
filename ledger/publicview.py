"""What the public may see of a matter (公示, §2.7): number, title, units, responsible
person, handler, deadline, status, close date. Nothing else, and never a confidential
matter (RULES 5). The channel post and the web page both render these rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from ledger.clock import to_local
from ledger.model import Matter, MatterStatus, Person, Unit
from ledger.policy import PUBLIC_STATUSES, Place, may_show
from ledger.ports import MatterQuery, UnitOfWork


@dataclass(frozen=True)
class PublicRow:
    matter_id: int
    number: str
    title: str
    lead_unit: str
    co_units: tuple[str, ...]
    responsible: str
    handler: str
    deadline: date | None
    status: MatterStatus
    closed_on: date | None
    priority: bool
    lead_unit_id: int | None

    @property
    def units(self) -> str:
        return "、".join((self.lead_unit, *self.co_units))


def is_public(m: Matter) -> bool:
    """Posted: assigned (so there are names and a deadline), not confidential, not
    cancelled."""
    return may_show(None, Place.PUBLIC, m)


def public_row(m: Matter, units: Mapping[int, Unit], persons: Mapping[int, Person],
               ) -> PublicRow:
    if not is_public(m):
        raise ValueError("not a public matter")
    lead = m.lead
    assert lead is not None and m.id is not None

    def unit(uid: int) -> str:
        u = units.get(uid)
        return u.name if u else "—"

    def person(pid: int) -> str:
        p = persons.get(pid)
        return p.name if p else "—"

    co = tuple(unit(a.unit_id) for a in m.top_assignments if not a.lead)
    return PublicRow(
        matter_id=m.id, number=m.number, title=m.title, lead_unit=unit(lead.unit_id),
        co_units=co, responsible=person(lead.responsible_id), handler=person(lead.handler_id),
        deadline=lead.effective_deadline, status=m.status,
        closed_on=to_local(m.closed_at).date() if m.closed_at else None,
        priority=m.priority, lead_unit_id=lead.unit_id)


@dataclass(frozen=True)
class PublicFilter:
    text: str | None = None
    unit_id: int | None = None
    status: MatterStatus | None = None  # None: in progress, awaiting review and closed


async def public_rows(uow: UnitOfWork, office_id: int, f: PublicFilter = PublicFilter(),
                      limit: int | None = 200) -> tuple[list[PublicRow], list[Unit]]:
    """The public matters (priority first, newest next) and the units to filter by."""
    async with uow:
        statuses = frozenset({f.status}) if f.status in PUBLIC_STATUSES else PUBLIC_STATUSES
        q = MatterQuery(office_id=office_id, statuses=statuses, unit_id=f.unit_id,
                        include_confidential=False, text=f.text or None, limit=limit)
        found = [m for m in await uow.matters.list(q) if is_public(m)]
        units = {u.id: u for u in await uow.people.units(office_id)}
        persons = {p.id: p for p in await uow.people.persons(office_id)}
        rows = [public_row(m, units, persons) for m in found]
        return rows, sorted(units.values(), key=lambda u: u.id)
