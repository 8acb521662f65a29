"""台账管理 (§2.1): 立项, 交办, 分解 (a unit's work split to its persons), 撤销 a mistaken
registration, and who gets a new matter by default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ledger import permissions as perm
from ledger.clock import Clock, local_today
from ledger.deadlines import (
    MAX_DAYS_AHEAD,
    MatterClass,
    check_deadline,
    default_workdays,
    resolve_deadline,
)
from ledger.errors import DomainError, InvalidInput, NotFound
from ledger.model import Assignment, Matter, Person, Role, Source, Unit
from ledger.ports import UnitOfWork, UnitOfWorkFactory
from ledger.usecases._shared import _actor, _office_matter, _save, _tell_persons
from ledger.usecases.receipts import queue_assignment_documents
from ledger.usecases.rollup import roll_up
from ledger.workcalendar import WorkCalendar


@dataclass(frozen=True)
class RegisterMatter:
    title: str
    body: str = ""
    source: Source = Source.COUNTY_DECISION
    klass: MatterClass = MatterClass.NORMAL
    confidential: bool = False
    tags: tuple[str, ...] = ()
    received_at: datetime | None = None
    instruction_text: str | None = None
    instruction_author: str | None = None
    deadline: date | None = None
    # the deadline typed as N个工作日: (counted from, how many), so it can be counted again
    deadline_counted: tuple[date, int] | None = None
    # a meeting decision, a visit's problem, an inspection's proposal (ledger.usecases.records)
    origin: dict[str, object] | None = None


@dataclass(frozen=True)
class AssignSpec:
    unit_id: int
    principal_id: int
    responsible_id: int
    handler_id: int
    lead: bool = False


async def register_matter(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                          cmd: RegisterMatter, max_days_ahead: int = MAX_DAYS_AHEAD) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        title = cmd.title.strip()
        if not title:
            raise InvalidInput("事项标题不能为空。")
        if len(title) > 200:
            raise InvalidInput("事项标题太长（最多200字），详细内容请写在正文里。")
        if cmd.source == Source.INSTRUCTION and not (cmd.instruction_text or "").strip():
            raise InvalidInput("领导批示件须录入批示内容。")
        now = clock.now()
        today = local_today(clock)
        if cmd.deadline is not None:
            check_deadline(cal, today, cmd.klass, cmd.deadline, max_days_ahead)
        office = await uow.people.get_office(actor.office_id)
        year = today.year
        seq = await uow.matters.next_seq(office.id, year)
        m = Matter.register(
            office_id=office.id, year=year, seq=seq, prefix=office.doc_prefix, title=title,
            body=cmd.body.strip(), source=cmd.source, klass=cmd.klass,
            confidential=cmd.confidential, tags=tuple(t.strip() for t in cmd.tags if t.strip()),
            received_at=cmd.received_at or now, at=now, actor_id=actor.id,
            instruction_text=(cmd.instruction_text or None),
            instruction_author=(cmd.instruction_author or None), deadline=cmd.deadline,
            origin=dict(cmd.origin) if cmd.origin else None,
            deadline_counted=cmd.deadline_counted)
        await uow.matters.add(m)
        await uow.commit()
        return m


async def _check_persons(uow: UnitOfWork, office_id: int, spec: AssignSpec) -> None:
    unit = await uow.people.get_unit(spec.unit_id)
    if unit.office_id != office_id:
        raise NotFound("找不到该单位。")
    units = {u.id: u for u in await uow.people.units(office_id)}

    def within(unit_id: int | None) -> bool:
        while unit_id is not None:
            if unit_id == spec.unit_id:
                return True
            unit_id = units[unit_id].parent_id if unit_id in units else None
        return False

    checks = [(spec.principal_id, Role.PRINCIPAL, "第一责任人"),
              (spec.responsible_id, None, "责任人"), (spec.handler_id, None, "承办人")]
    for pid, role, label in checks:
        p = await uow.people.get_person(pid)
        if not p.active or not within(p.unit_id):
            raise InvalidInput(f"{label}「{p.name}」不在{unit.name}。")
        if role is not None and not p.has(role):
            raise InvalidInput(f"「{p.name}」不是{unit.name}的第一责任人。")


async def assign(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                 matter_id: int, specs: Sequence[AssignSpec], deadline: date | None = None,
                 max_days_ahead: int = MAX_DAYS_AHEAD,
                 deadline_counted: tuple[date, int] | None = None) -> Matter:
    """Decompose a matter into assignments (one lead, any co-units) and send the notices.
    ``deadline_counted``: how ``deadline`` was counted when typed as N个工作日."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        if not specs:
            raise InvalidInput("请至少指定一个承办单位。")
        if m.lead is None and sum(s.lead for s in specs) != 1:
            raise InvalidInput("请指定一个牵头单位（其余为配合单位）。")
        now = clock.now()
        today = local_today(clock)
        explicit = deadline or m.deadline
        due = resolve_deadline(cal, today, m.klass, explicit, max_days_ahead)
        # A counted deadline (the default, or one typed as N个工作日) keeps its basis so it
        # can be counted again; a typed date is what was decided.
        counted: tuple[date, int] | None
        if explicit is None:
            counted = (today, default_workdays(m.klass))
        elif deadline is not None:
            counted = deadline_counted
        elif m.deadline_counted_from is not None and m.deadline_counted_workdays is not None:
            counted = (m.deadline_counted_from, m.deadline_counted_workdays)
        else:
            counted = None
        new: list[Assignment] = []
        for spec in specs:
            await _check_persons(uow, m.office_id, spec)
            new.append(m.assign(at=now, actor_id=actor.id, unit_id=spec.unit_id, lead=spec.lead,
                                principal_id=spec.principal_id,
                                responsible_id=spec.responsible_id,
                                handler_id=spec.handler_id, deadline=due,
                                counted=counted))
        await _save(uow, m)
        # The 交办通知单 first: the card, with its buttons, is then the latest message.
        await queue_assignment_documents(uow, m, new, now)
        for a in new:
            await _tell_persons(uow, m, "assignment", a.persons(), now, a.no)
        await uow.commit()
        return m


async def decompose(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                    matter_id: int, parent_no: int, responsible_id: int, handler_id: int,
                    deadline: date | None = None) -> Matter:
    """A unit splits its assignment for its own people (its own ledger, §2.1)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        parent = m.assignment(parent_no)
        if not actor.is_office:
            perm.require_lead_assignment(actor, parent)
        spec = AssignSpec(unit_id=parent.unit_id, principal_id=parent.principal_id,
                          responsible_id=responsible_id, handler_id=handler_id)
        await _check_persons(uow, m.office_id, spec)
        now = clock.now()
        due = deadline or parent.effective_deadline
        sub = m.assign(at=now, actor_id=actor.id, unit_id=parent.unit_id, lead=False,
                       principal_id=parent.principal_id, responsible_id=responsible_id,
                       handler_id=handler_id, deadline=due, parent_no=parent_no)
        await _save(uow, m)
        await _tell_persons(uow, m, "assignment", [responsible_id, handler_id], now, sub.no)
        await uow.commit()
        return m


async def cancel_matter(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                        reason: str) -> Matter:
    """A mistaken registration: marked cancelled, kept in the ledger and its history."""
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        m.cancel(at=clock.now(), actor_id=actor.id, reason=reason)
        for parent in await roll_up(uow, [m], clock.now()):  # 转办
            await _save(uow, parent)
        await _save(uow, m)
        await uow.outbox.cancel(matter_id)
        await uow.commit()
        return m


# ---------------------------------------------------------------- who gets a matter

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

    def spec(self, lead: bool) -> AssignSpec:
        assert self.principal and self.responsible and self.handler
        return AssignSpec(unit_id=self.unit.id, principal_id=self.principal.id,
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
                              actor_id: int, cmd: RegisterMatter, found: Sequence[Team],
                              cancel_reason: str, max_days_ahead: int = MAX_DAYS_AHEAD,
                              ) -> Matter:
    """立项 then 交办 to the teams (the first leads). A failed 交办 marks the fresh
    registration cancelled with `cancel_reason` (kept in its history) and re-raises."""
    m = await register_matter(uows(), clock, cal, actor_id, cmd, max_days_ahead)
    mid = m.id
    assert mid is not None
    specs = [t.spec(lead=i == 0) for i, t in enumerate(found)]
    try:
        return await assign(uows(), clock, cal, actor_id, mid, specs,
                            max_days_ahead=max_days_ahead)
    except DomainError:
        await cancel_matter(uows(), clock, actor_id, mid, cancel_reason)
        raise
