"""台账管理 (§2.1): 立项 and 交办, and who gets a new matter by default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import services as svc
from ledger.clock import Clock
from ledger.deadlines import MAX_DAYS_AHEAD
from ledger.errors import DomainError
from ledger.model import Matter, Person, Role, Unit
from ledger.ports import UnitOfWork, UnitOfWorkFactory
from ledger.workcalendar import WorkCalendar

TEAM_ROLES = (Role.PRINCIPAL, Role.RESPONSIBLE, Role.HANDLER)


@dataclass(frozen=True)
class Team:
    """A unit's default persons for a new assignment: its first active principal,
    responsible person and handler (in the order they were bound)."""

    unit: Unit
    principal: Person | None
    responsible: Person | None
    handler: Person | None

    def missing(self) -> list[Role]:
        """The roles nobody in the unit holds: the unit cannot be assigned yet."""
        return [r for r, p in zip(TEAM_ROLES, (self.principal, self.responsible,
                                               self.handler), strict=True) if p is None]

    def spec(self, lead: bool) -> svc.AssignSpec:
        assert self.principal and self.responsible and self.handler
        return svc.AssignSpec(unit_id=self.unit.id, principal_id=self.principal.id,
                              responsible_id=self.responsible.id, handler_id=self.handler.id,
                              lead=lead)


def default_team(unit: Unit, members: Sequence[Person]) -> Team:
    """The rule of who gets a matter by default in `unit`, among its `members`."""
    active = [p for p in members if p.active and p.unit_id == unit.id]

    def first(role: Role) -> Person | None:
        return next((p for p in active if p.has(role)), None)

    return Team(unit, first(Role.PRINCIPAL), first(Role.RESPONSIBLE), first(Role.HANDLER))


async def teams(uow: UnitOfWork, office_id: int, unit_ids: Sequence[int]) -> list[Team]:
    """The default team of each unit, in the order given (the first: the lead unit).
    Takes an open unit of work."""
    out: list[Team] = []
    for uid in unit_ids:
        unit = await uow.people.get_unit(uid)
        out.append(default_team(unit, await uow.people.persons(office_id, uid)))
    return out


async def all_teams(uow: UnitOfWork, office_id: int) -> list[tuple[Unit, int, Team]]:
    """Every unit of the office with its count of active members and its default team.
    Takes an open unit of work."""
    people = await uow.people.persons(office_id)
    out = []
    for u in await uow.people.units(office_id):
        members = [p for p in people if p.unit_id == u.id and p.active]
        out.append((u, len(members), default_team(u, members)))
    return out


async def register_and_assign(uows: UnitOfWorkFactory, clock: Clock, cal: WorkCalendar,
                              actor_id: int, cmd: svc.RegisterMatter, found: Sequence[Team],
                              cancel_reason: str, max_days_ahead: int = MAX_DAYS_AHEAD,
                              ) -> Matter:
    """立项 then 交办 to the teams (the first leads). A failed 交办 marks the fresh
    registration cancelled with `cancel_reason` (kept in its history) and re-raises."""
    m = await svc.register_matter(uows(), clock, cal, actor_id, cmd, max_days_ahead)
    mid = m.id
    assert mid is not None
    specs = [t.spec(lead=i == 0) for i, t in enumerate(found)]
    try:
        return await svc.assign(uows(), clock, cal, actor_id, mid, specs,
                                max_days_ahead=max_days_ahead)
    except DomainError:
        await svc.cancel_matter(uows(), clock, actor_id, mid, cancel_reason)
        raise
