"""Use cases. Each takes its dependencies as parameters, checks the actor's permission
first, changes the ledger through the unit of work, queues what must be told to whom in
the outbox in the same transaction, and commits once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from ledger import permissions as perm
from ledger import policy
from ledger.clock import Clock, local_today
from ledger.deadlines import (
    MAX_DAYS_AHEAD,
    MatterClass,
    check_deadline,
    default_workdays,
    resolve_deadline,
)
from ledger.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    check_name,
    shown,
)
from ledger.model import (
    Assignment,
    AssignmentStatus,
    Attachment,
    Event,
    Matter,
    MatterStatus,
    Person,
    Role,
    Source,
    Unit,
    parse_reference,
)
from ledger.notices import office_notices, tell_office
from ledger.policy import office_hears
from ledger.ports import GroupChat, Invite, MatterQuery, Notice, UnitOfWork
from ledger.workcalendar import WorkCalendar

INVITE_TTL = timedelta(days=3)

# ---------------------------------------------------------------- helpers


_actor = perm.load_actor


async def _tell_office(uow: UnitOfWork, m: Matter, e: Event, at: datetime) -> None:
    targets = await office_hears(uow, m.office_id, m.confidential)
    for n in _office_notices(m, e, at, targets):
        await uow.outbox.add(n)


def _office_notices(m: Matter, e: Event, at: datetime,
                    targets: Sequence[tuple[int | None, int | None]]) -> list[Notice]:
    assert m.id is not None
    return office_notices(targets, key=f"office:{m.id}:{m.version}", office_id=m.office_id,
                          kind=f"office_{e.kind}", at=at, matter_id=m.id,
                          assignment_no=e.assignment_no,
                          payload={"event": e.kind, "actor_id": e.actor_id, **e.after})


async def _tell_persons(uow: UnitOfWork, m: Matter, kind: str, person_ids: Sequence[int],
                        at: datetime, no: int | None, payload: dict[str, object] | None = None,
                        ) -> None:
    assert m.id is not None
    for pid in dict.fromkeys(person_ids):  # de-duplicate, keep order
        await uow.outbox.add(Notice(
            key=f"{kind}:{m.id}:{m.version}:p{pid}", office_id=m.office_id, kind=kind,
            due_at=at, person_id=pid, matter_id=m.id, assignment_no=no,
            payload=dict(payload or {})))


async def _save(uow: UnitOfWork, m: Matter) -> None:
    await uow.matters.save(m)


# ---------------------------------------------------------------- people and chats


async def bootstrap_office(uow: UnitOfWork, clock: Clock, name: str,
                           admin_telegram_ids: Sequence[int], doc_prefix: str = "督") -> int:
    """First start: one office, and its admins from DUBAN_ADMINS. Idempotent."""
    async with uow:
        return await _bootstrap(uow, clock, name, admin_telegram_ids, doc_prefix)


async def _bootstrap(uow: UnitOfWork, clock: Clock, name: str,
                     admin_telegram_ids: Sequence[int], doc_prefix: str) -> int:
    offices = await uow.people.offices()
    office = offices[0] if offices else await uow.people.add_office(name, doc_prefix)
    for tg in admin_telegram_ids:
        if await uow.people.by_telegram(tg) is None:
            p = await uow.people.add_person(office.id, f"管理员{tg}", frozenset({Role.ADMIN}),
                                            telegram_id=tg)
            await uow.events.append(Event(kind="person_added", at=clock.now(), actor_id=None,
                                          office_id=office.id, person_id=p.id,
                                          after={"name": p.name, "roles": ["admin"],
                                                 "telegram_id": tg}))
    await uow.commit()
    return office.id


async def add_unit(uow: UnitOfWork, clock: Clock, actor_id: int, name: str,
                   parent_id: int | None = None) -> Unit:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        name = check_name(name, "单位名称")
        if not name:
            raise InvalidInput("单位名称不能为空。")
        if await uow.people.unit_by_name(actor.office_id, name) is not None:
            raise InvalidInput(f"单位「{name}」已存在。")
        if parent_id is not None:
            parent = await uow.people.get_unit(parent_id)
            if parent.office_id != actor.office_id:
                raise NotFound("找不到上级单位。")
        unit = await uow.people.add_unit(actor.office_id, name, parent_id)
        await uow.events.append(Event(kind="unit_added", at=clock.now(), actor_id=actor.id,
                                      office_id=actor.office_id,
                                      after={"unit_id": unit.id, "name": name,
                                             "parent_id": parent_id}))
        await uow.commit()
        return unit


def _check_roles(roles: frozenset[Role], unit_id: int | None) -> None:
    if not roles:
        raise InvalidInput("请至少指定一个角色。")
    unit_roles = {Role.PRINCIPAL, Role.RESPONSIBLE, Role.HANDLER}
    if roles & unit_roles and unit_id is None:
        raise InvalidInput("第一责任人、责任人、承办人须属于某个单位。")


async def create_invite(uow: UnitOfWork, clock: Clock, actor_id: int, name: str,
                        roles: frozenset[Role], unit_id: int | None,
                        ttl: timedelta = INVITE_TTL) -> Invite:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        name = check_name(name, "姓名")
        if not name:
            raise InvalidInput("请写被邀请人的姓名。")
        _check_roles(roles, unit_id)
        if unit_id is not None:
            unit = await uow.people.get_unit(unit_id)
            if unit.office_id != actor.office_id:
                raise NotFound("找不到该单位。")
        now = clock.now()
        invite = Invite(token=secrets.token_urlsafe(16), office_id=actor.office_id, name=name,
                        roles=roles, unit_id=unit_id, created_by=actor.id, created_at=now,
                        expires_at=now + ttl)
        await uow.invites.add(invite)
        await uow.events.append(Event(kind="invited", at=now, actor_id=actor.id,
                                      office_id=actor.office_id,
                                      after={"name": name, "roles": sorted(roles),
                                             "unit_id": unit_id}))
        await uow.commit()
        return invite


async def accept_invite(uow: UnitOfWork, clock: Clock, token: str, telegram_id: int,
                        ) -> Person:
    async with uow:
        invite = await uow.invites.get(token)
        now = clock.now()
        if invite is None:
            raise InvalidInput("邀请链接无效，请向督查室重新索取。")
        if invite.used_at is not None:
            raise InvalidInput("这个邀请链接已经用过了，请向督查室重新索取。")
        if now > invite.expires_at:
            raise InvalidInput("邀请链接已过期，请向督查室重新索取。")
        existing = await uow.people.by_telegram(telegram_id)
        if existing is not None and existing.active:
            raise InvalidInput(f"这个 Telegram 账号已绑定为「{existing.name}」。")
        if existing is not None:
            # A revoked binding (/revoke, /handover) frees the account for a new post; the
            # old person stays in the ledger, unbound, with their history.
            await uow.people.save_person(replace(existing, telegram_id=None))
            await uow.events.append(Event(kind="person_unbound", at=now, actor_id=None,
                                          office_id=existing.office_id, person_id=existing.id,
                                          before={"telegram_id": telegram_id},
                                          after={"telegram_id": None}))
        person = await uow.people.add_person(invite.office_id, invite.name, invite.roles,
                                             unit_id=invite.unit_id, telegram_id=telegram_id)
        if not await uow.invites.mark_used(token, now, person.id):
            raise InvalidInput("这个邀请链接已经用过了，请向督查室重新索取。")
        await uow.events.append(Event(kind="person_bound", at=now, actor_id=person.id,
                                      office_id=invite.office_id, person_id=person.id,
                                      after={"name": person.name, "roles": sorted(person.roles),
                                             "unit_id": person.unit_id,
                                             "telegram_id": telegram_id}))
        await uow.commit()
        return person


async def bind_group(uow: UnitOfWork, clock: Clock, actor_id: int, chat_id: int, title: str,
                     unit_id: int | None) -> GroupChat:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        if unit_id is not None:
            unit = await uow.people.get_unit(unit_id)
            if unit.office_id != actor.office_id:
                raise NotFound("找不到该单位。")
        old = await uow.chats.get(chat_id)
        chat = GroupChat(chat_id=chat_id, office_id=actor.office_id, unit_id=unit_id,
                         title=title, bound_by=actor.id, bound_at=clock.now())
        await uow.chats.bind(chat)
        await uow.events.append(Event(
            kind="group_bound", at=chat.bound_at, actor_id=actor.id, office_id=actor.office_id,
            before={"unit_id": old.unit_id} if old else {},
            after={"chat_id": chat_id, "unit_id": unit_id, "title": title}))
        await uow.commit()
        return chat


async def mark_unreachable(uow: UnitOfWork, clock: Clock, person_id: int, reason: str) -> None:
    """Telegram said Forbidden: the person blocked the bot or never started it."""
    async with uow:
        person = await uow.people.get_person(person_id)
        if not person.reachable:
            return
        await uow.people.save_person(replace(person, reachable=False))
        await uow.events.append(Event(kind="person_unreachable", at=clock.now(), actor_id=None,
                                      office_id=person.office_id, person_id=person.id,
                                      before={"reachable": True},
                                      after={"reachable": False, "reason": reason}))
        now = clock.now()
        await tell_office(uow, office_id=person.office_id, confidential=False,
                          key=f"unreachable:{person.id}:{now.isoformat()}",
                          kind="office_unreachable", at=now,
                          payload={"person_id": person.id, "name": person.name,
                                   "reason": reason})
        await uow.commit()


async def mark_reachable(uow: UnitOfWork, clock: Clock, person_id: int) -> None:
    async with uow:
        person = await uow.people.get_person(person_id)
        if person.reachable:
            return
        await uow.people.save_person(replace(person, reachable=True))
        await uow.events.append(Event(kind="person_reachable", at=clock.now(), actor_id=None,
                                      office_id=person.office_id, person_id=person.id,
                                      before={"reachable": False}, after={"reachable": True}))
        await uow.commit()


# ---------------------------------------------------------------- registering


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
    # a meeting decision, a visit's problem, an inspection's proposal (ledger.special)
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
            origin=dict(cmd.origin) if cmd.origin else None)
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
                 max_days_ahead: int = MAX_DAYS_AHEAD) -> Matter:
    """Decompose a matter into assignments (one lead, any co-units) and send the notices."""
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
        # A default deadline is counted: keep its basis so it can be counted again.
        counted = None if explicit is not None else (today, default_workdays(m.klass))
        new: list[Assignment] = []
        for spec in specs:
            await _check_persons(uow, m.office_id, spec)
            new.append(m.assign(at=now, actor_id=actor.id, unit_id=spec.unit_id, lead=spec.lead,
                                principal_id=spec.principal_id,
                                responsible_id=spec.responsible_id,
                                handler_id=spec.handler_id, deadline=due,
                                counted=counted))
        await _save(uow, m)
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


# ---------------------------------------------------------------- the unit's side


def _pick(actor: Person, m: Matter, no: int | None) -> Assignment:
    m.require_open()
    if no is not None:
        a = m.assignment(no)
        perm.require_work_on(actor, a)
        return a
    mine = perm.actor_assignments(actor, m)
    if not mine:
        if any(perm.can_work_on(actor, a) for a in m.assignments):
            raise InvalidInput(f"您在事项 {m.number} 的分工已经办结或撤销。")
        raise PermissionDenied(f"事项 {m.number} 不是您负责的，不能代为报送。")
    return mine[0]


async def sign(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int, no: int | None,
               committed: date) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = _pick(actor, m, no)
        perm.require_work_on(actor, a)
        today = local_today(clock)
        if committed < today:
            raise InvalidInput("承诺办结时限不能早于今天。")
        m.sign(at=clock.now(), actor_id=actor.id, no=a.no, committed=committed)
        await _save(uow, m)
        await uow.commit()
        return m


@dataclass(frozen=True)
class ProgressReport:
    """One progress report from a phone: text and/or attachments about a matter."""

    actor_id: int
    matter_id: int
    no: int | None
    text: str
    attachments: tuple[Attachment, ...] = ()


ProgressOutcome = tuple[Matter, Assignment] | DomainError


async def report_progress(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                          no: int | None, text: str,
                          attachments: Sequence[Attachment] = ()) -> tuple[Matter, Assignment]:
    [outcome] = await report_progress_many(
        uow, clock, [ProgressReport(actor_id, matter_id, no, text, tuple(attachments))])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def report_progress_many(uow: UnitOfWork, clock: Clock,
                               reports: Sequence[ProgressReport]) -> list[ProgressOutcome]:
    """Several reports in one transaction (the bot gathers those arriving together, so a
    busy morning costs one commit per batch, not per message). Each report is checked on
    its own: a refused one gets its error back and does not stop the others. Reports
    about the same matter apply in the order given."""
    async with uow:
        actors: dict[int, Person | DomainError] = {}
        for r in reports:
            if r.actor_id not in actors:
                try:
                    actors[r.actor_id] = await _actor(uow, r.actor_id)
                except DomainError as e:
                    actors[r.actor_id] = e
        loaded = await uow.matters.get_many({r.matter_id for r in reports})
        targets: dict[tuple[int, bool], list[tuple[int | None, int | None]]] = {}
        now = clock.now()
        outcomes: list[ProgressOutcome] = []
        notices: list[Notice] = []
        touched: dict[int, Matter] = {}
        for r in reports:
            try:
                actor = actors[r.actor_id]
                if isinstance(actor, DomainError):
                    raise actor
                m = loaded.get(r.matter_id)
                if m is None:
                    raise NotFound("找不到这件事项。")
                a = _pick(actor, m, r.no)
                m.report_progress(at=now, actor_id=actor.id, no=a.no, text=r.text,
                                  attachments=r.attachments)
            except DomainError as e:
                outcomes.append(e)
                continue
            assert m.id is not None
            touched[m.id] = m
            key = (m.office_id, m.confidential)
            if key not in targets:
                targets[key] = await office_hears(uow, m.office_id, m.confidential)
            notices += _office_notices(m, m.last_event, now, targets[key])
            outcomes.append((m, a))
        await uow.matters.save_many(list(touched.values()))
        await uow.outbox.add_many(notices)
        await uow.commit()
        return outcomes


async def request_completion(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                             no: int | None, text: str,
                             attachments: Sequence[Attachment] = ()) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = _pick(actor, m, no)
        perm.require_lead_assignment(actor, a)
        now = clock.now()
        m.request_completion(at=now, actor_id=actor.id, no=a.no, text=text,
                             attachments=tuple(attachments))
        await _save(uow, m)
        await _tell_office(uow, m, m.last_event, now)
        await uow.commit()
        return m


async def request_extension(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                            no: int | None, reason: str, new_deadline: date,
                            max_days_ahead: int = MAX_DAYS_AHEAD) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = _pick(actor, m, no)
        perm.require_work_on(actor, a)
        by_principal = perm.is_principal(actor, a)
        now = clock.now()
        m.request_extension(at=now, actor_id=actor.id, no=a.no, reason=reason,
                            new_deadline=new_deadline, today=local_today(clock),
                            by_principal=by_principal, max_days_ahead=max_days_ahead)
        await _save(uow, m)
        if by_principal:
            await _tell_office(uow, m, m.last_event, now)
        else:
            await _tell_persons(uow, m, "extension_confirm", [a.principal_id], now, a.no)
        await uow.commit()
        return m


async def confirm_extension(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                            no: int) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = m.assignment(no)
        perm.require_principal(actor, a)
        now = clock.now()
        m.confirm_extension(at=now, actor_id=actor.id, no=no)
        await _save(uow, m)
        ext = a.extension
        assert ext is not None
        request = Event(kind="extension_requested", at=now, actor_id=ext.requested_by,
                        office_id=m.office_id, matter_id=m.id, assignment_no=no,
                        after={"reason": ext.reason,
                               "new_deadline": ext.new_deadline.isoformat(),
                               "confirmed_by": actor.id})
        await _tell_office(uow, m, request, now)
        await uow.commit()
        return m


# ---------------------------------------------------------------- the office's side


async def _office_matter(uow: UnitOfWork, actor_id: int, matter_id: int) -> tuple[Person, Matter]:
    actor = await _actor(uow, actor_id)
    perm.require_office(actor)
    m = await uow.matters.get(matter_id)
    perm.require_view(actor, m)
    return actor, m


async def decide_extension(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                           no: int, approve: bool, new_deadline: date | None = None,
                           reason: str = "", max_days_ahead: int = MAX_DAYS_AHEAD) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        a = m.assignment(no)
        ext = a.extension
        now = clock.now()
        m.decide_extension(at=now, actor_id=actor.id, no=no, approve=approve,
                           new_deadline=new_deadline, reason=reason, today=local_today(clock),
                           max_days_ahead=max_days_ahead)
        await _save(uow, m)
        kind = "extension_approved" if approve else "extension_rejected"
        asked = [ext.requested_by] if ext else []
        await _tell_persons(uow, m, kind, [*asked, a.responsible_id, a.principal_id], now, no,
                            dict(m.last_event.after))
        await uow.commit()
        return m


async def close_matter(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                       comment: str = "") -> Matter:
    """销号: only the office, only after the lead unit asked for it (RULES 6)."""
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        now = clock.now()
        m.close(at=now, actor_id=actor.id, comment=comment)
        await _save(uow, m)
        await uow.outbox.cancel(matter_id)
        persons = [p for a in m.top_assignments for p in (a.responsible_id, a.principal_id)]
        await _tell_persons(uow, m, "closed", persons, now, None, {"comment": comment})
        await uow.commit()
        return m


async def return_matter(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                        reason: str) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        now = clock.now()
        m.return_(at=now, actor_id=actor.id, reason=reason)
        await _save(uow, m)
        lead = m.lead
        assert lead is not None
        await _tell_persons(uow, m, "returned", [lead.responsible_id, lead.handler_id], now,
                            lead.no, {"reason": reason})
        await uow.commit()
        return m


async def urge(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int | None,
               matter_id: int, no: int | None, limit: date | None = None, note: str = "",
               limit_workdays: int = 3, max_days_ahead: int = MAX_DAYS_AHEAD) -> Matter:
    """催办: a formal push with a new limit, to the unit's principal and responsible person.
    `actor_id` None is the automatic escalation."""
    async with uow:
        if actor_id is None:
            m = await uow.matters.get(matter_id)
        else:
            _, m = await _office_matter(uow, actor_id, matter_id)
        today = local_today(clock)
        limit = limit or cal.add_workdays(today, limit_workdays)
        targets = [m.assignment(no)] if no is not None else [
            a for a in m.top_assignments if a.is_open]
        if not targets:
            raise InvalidInput("这件事项没有在办的分工，无需催办。")
        now = clock.now()
        for a in targets:
            m.urge(at=now, actor_id=actor_id, no=a.no, limit=limit, today=today, note=note,
                   max_days_ahead=max_days_ahead)
        await _save(uow, m)
        for a in targets:
            await _tell_persons(uow, m, "urged", [a.principal_id, a.responsible_id], now, a.no,
                                {"limit": limit.isoformat(), "note": note})
        await uow.commit()
        return m


async def auto_urge(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, matter_id: int, no: int,
                    after_workdays: int, limit_workdays: int) -> Matter | None:
    """The automatic 催办 (actor None) of an assignment overdue `after_workdays` working days
    and never urged. Checks again inside the transaction; None when it no longer applies
    (done, urged meanwhile, paused, completion requested)."""
    async with uow:
        m = await uow.matters.get(matter_id)
        a = m.assignment(no)
        if (not m.is_open or not a.is_open or a.status == AssignmentStatus.COMPLETION_REQUESTED
                or a.urge_count > 0 or await uow.matters.paused_ids([matter_id])):
            return None
        today = local_today(clock)
        if today <= a.effective_deadline:
            return None
        overdue = cal.workdays_between(a.effective_deadline, today)
        if overdue < after_workdays:
            return None
        limit = cal.add_workdays(today, limit_workdays)
        note = f"已超期{overdue}个工作日，系统自动催办。"
        now = clock.now()
        m.urge(at=now, actor_id=None, no=no, limit=limit, today=today, note=note)
        await _save(uow, m)
        await _tell_persons(uow, m, "urged", [a.principal_id, a.responsible_id], now, no,
                            {"limit": limit.isoformat(), "note": note, "auto": True,
                             "overdue_workdays": overdue})
        await uow.commit()
        return m


CRITICISM_FLAG_REASON = "催办限期内未落实"


async def flag_for_criticism(uow: UnitOfWork, clock: Clock, matter_id: int, no: int,
                             ) -> Matter | None:
    """Urged, and the urging limit passed with the assignment still open: 通报批评 in the next
    bulletin (a `criticized` event, actor None) and the office is told (§2.10). None when
    it no longer applies."""
    async with uow:
        m = await uow.matters.get(matter_id)
        a = m.assignment(no)
        today = local_today(clock)
        if (not m.is_open or not a.is_open or a.status == AssignmentStatus.COMPLETION_REQUESTED
                or a.criticized or a.urge_limit is None or today <= a.urge_limit
                or await uow.matters.paused_ids([matter_id])):
            return None
        limit = a.urge_limit
        now = clock.now()
        m.criticize(at=now, actor_id=None, no=no,
                    reason=f"{CRITICISM_FLAG_REASON}（催办限期 {limit:%Y-%m-%d}）")
        await _save(uow, m)
        await tell_office(uow, office_id=m.office_id, confidential=m.confidential,
                          key=f"critflag:{m.id}:{no}", kind="office_criticism_flag", at=now,
                          matter_id=m.id, assignment_no=no,
                          payload={"limit": limit.isoformat(), "urge_count": a.urge_count,
                                   "deadline": a.effective_deadline.isoformat(),
                                   "unit_id": a.unit_id, "reason": CRITICISM_FLAG_REASON})
        await uow.commit()
        return m


async def reminders_paused(uow: UnitOfWork, actor_id: int, matter_id: int) -> bool:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        return bool(await uow.matters.paused_ids([matter_id]))


async def _set_reminders(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                         paused: bool, reason: str) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        m.require_open()
        reason = reason.strip()
        if paused and not reason:
            raise InvalidInput("暂停提醒须写明理由。")
        if bool(await uow.matters.paused_ids([matter_id])) == paused:
            raise InvalidTransition(
                f"事项 {m.number} 的提醒{'已经暂停' if paused else '没有暂停'}。")
        assert m.id is not None
        e = Event(kind="reminders_paused" if paused else "reminders_resumed", at=clock.now(),
                  actor_id=actor.id, office_id=m.office_id, matter_id=m.id,
                  before={"paused": not paused}, after={"paused": paused, "reason": reason})
        m.apply(e)
        m.pending.append(e)
        await _save(uow, m)
        await uow.matters.set_paused(m.id, paused)
        await uow.commit()
        return m


async def pause_reminders(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                          reason: str) -> Matter:
    """The office stops every reminder and escalation of a matter, with a reason (an event).
    Reminders already queued are dropped when their time comes."""
    return await _set_reminders(uow, clock, actor_id, matter_id, True, reason)


async def resume_reminders(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                           reason: str = "") -> Matter:
    """Reminders start again from their next slot (what fell due meanwhile is not sent)."""
    return await _set_reminders(uow, clock, actor_id, matter_id, False, reason)


async def _judge(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int, no: int | None,
                 reason: str, kind: str) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        nos = [no] if no is not None else [a.no for a in m.top_assignments if a.lead]
        now = clock.now()
        for n in nos:
            getattr(m, kind)(at=now, actor_id=actor.id, no=n, reason=reason)
        await _save(uow, m)
        await uow.commit()
        return m


async def commend(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                  no: int | None, reason: str) -> Matter:
    return await _judge(uow, clock, actor_id, matter_id, no, reason, "commend")


async def criticize(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                    no: int | None, reason: str) -> Matter:
    return await _judge(uow, clock, actor_id, matter_id, no, reason, "criticize")


async def refer(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                no: int | None, reason: str) -> Matter:
    return await _judge(uow, clock, actor_id, matter_id, no, reason, "refer")


async def cancel_matter(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                        reason: str) -> Matter:
    """A mistaken registration: marked cancelled, kept in the ledger and its history."""
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        m.cancel(at=clock.now(), actor_id=actor.id, reason=reason)
        await _save(uow, m)
        await uow.outbox.cancel(matter_id)
        await uow.commit()
        return m


# ---------------------------------------------------------------- reading


async def find_matter(uow: UnitOfWork, clock: Clock, actor_id: int, reference: str) -> Matter:
    """A matter by number or short id, if the actor may see it."""
    async with uow:
        actor = await _actor(uow, actor_id)
        year, seq = parse_reference(reference, local_today(clock).year)
        try:
            m = await uow.matters.find(actor.office_id, year, seq)
        except NotFound:
            raise NotFound(f"找不到事项「{shown(reference)}」。") from None
        perm.require_view(actor, m)
        return m


async def get_matter(uow: UnitOfWork, actor_id: int, matter_id: int) -> tuple[Person, Matter]:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        return actor, m


async def history(uow: UnitOfWork, actor_id: int, matter_id: int) -> list[Event]:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        return await uow.events.for_matter(matter_id)


@dataclass(frozen=True)
class ListFilter:
    mine: bool = False
    unit_id: int | None = None
    overdue: bool = False
    status: MatterStatus | None = None
    open_only: bool = True
    text: str | None = None
    public_only: bool = False  # a group chat is asking: never confidential matters (RULES 5)


async def list_matters(uow: UnitOfWork, clock: Clock, actor_id: int, f: ListFilter,
                       limit: int = 10, offset: int = 0) -> tuple[list[Matter], int]:
    """What the actor may see, filtered; returns a page and the total count."""
    async with uow:
        actor = await _actor(uow, actor_id)
        place = policy.place_of(f.public_only)
        sees_all = policy.sees_whole_office(actor)
        statuses: frozenset[MatterStatus] | None = None
        if f.status is not None:
            statuses = frozenset({f.status})
        elif f.open_only:
            statuses = frozenset({MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                                  MatterStatus.COMPLETION_REQUESTED})
        unit_id = f.unit_id
        person_id = actor.id if f.mine else None
        if not sees_all and not f.mine:
            if actor.unit_id is None:
                person_id = actor.id
            elif unit_id is None:
                unit_id = actor.unit_id
            elif unit_id != actor.unit_id:
                raise PermissionDenied("只能查看本单位的事项。")
        q = MatterQuery(office_id=actor.office_id, statuses=statuses, unit_id=unit_id,
                        person_id=person_id,
                        include_confidential=policy.sees_confidential(actor, place),
                        overdue_on=local_today(clock) if f.overdue else None, text=f.text,
                        limit=limit, offset=offset)
        total = await uow.matters.count(q)
        page = await uow.matters.list(q)
        if not actor.is_office and person_id is None:
            # Confidential matters the actor is named on are fetched separately by /mine.
            page = policy.filter_shown(actor, place, page)
        return page, total


async def my_assignments(uow: UnitOfWork, actor_id: int) -> list[tuple[Matter, Assignment]]:
    """The actor's open work, most urgent first."""
    async with uow:
        actor = await _actor(uow, actor_id)
        q = MatterQuery(office_id=actor.office_id, person_id=actor.id,
                        statuses=frozenset({MatterStatus.IN_PROGRESS,
                                            MatterStatus.COMPLETION_REQUESTED}))
        out: list[tuple[Matter, Assignment]] = []
        for m in await uow.matters.list(q):
            for a in perm.actor_assignments(actor, m):
                out.append((m, a))
                break
        # 三个优先 (§2.8): flagged matters first, then the nearest deadline
        out.sort(key=lambda ma: (not ma[0].priority, ma[1].effective_deadline))
        return out
