"""Offices on one deployment (issue 16): adding an office under its parent, with its first
admins (CLI) or an invitation to its first admin (a parent admin's /offices); which office
an account acts in (ledger.offices decides) and the private chat's choice (/office)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ledger import offices as rules
from ledger import permissions as perm
from ledger.clock import LOCAL_TZ, Clock, local_today
from ledger.errors import DomainError, InvalidInput, NotFound, PermissionDenied, check_name, shown
from ledger.lights import LightPolicy
from ledger.model import Event, Matter, MatterStatus, Office, Person, Role, parse_reference
from ledger.ports import Invite, MatterQuery, UnitOfWork, UnitOfWorkFactory
from ledger.queries import units_named
from ledger.usecases._shared import _actor, _tell_office
from ledger.usecases.ledger_mgmt import RegisterMatter, cancel_matter, register_and_assign, teams
from ledger.usecases.people import INVITE_TTL, add_admin
from ledger.workcalendar import WorkCalendar


@dataclass(frozen=True)
class OfficeLine:
    """One office as /offices lists it."""

    office: Office
    admins: int
    persons: int
    units: int
    figures: rules.Rollup | None = None


async def _new_office(uow: UnitOfWork, clock: Clock, actor_id: int | None, name: str,
                      prefix: str, parent: Office | None) -> Office:
    name = check_name(name, "督查室名称")
    if not name:
        raise InvalidInput("请写督查室名称，如 duban office add 城关镇督查室 --prefix 城关督。")
    prefix = rules.check_prefix(prefix)
    if await uow.offices.by_name(name) is not None:
        raise InvalidInput(f"督查室「{shown(name)}」已存在。")
    taken = await uow.offices.by_prefix(prefix)
    if taken is not None:
        raise InvalidInput(f"编号前缀「{prefix}」已由「{taken.name}」使用，请换一个。")
    office = await uow.offices.add(name, prefix, parent.id if parent else None)
    await uow.events.append(Event(
        kind="office_added", at=clock.now(), actor_id=actor_id, office_id=office.id,
        after={"name": name, "doc_prefix": prefix,
               "parent_id": parent.id if parent else None}))
    return office


async def add_office(uow: UnitOfWork, clock: Clock, name: str, prefix: str,
                     parent: str | None, admins: Sequence[tuple[int, str | None]],
                     ) -> Office:
    """`duban office add 名称 --prefix 城关督 --parent 县督查室 --admin ID[:姓名]`."""
    async with uow:
        every = await uow.offices.all()
        above: Office | None = None
        if parent is not None:
            above = rules.office_named(every, parent)
            if above is None:
                known = "、".join(o.name for o in every) or "（还没有督查室）"
                raise InvalidInput(f"找不到上级督查室「{shown(parent)}」。现有：{known}")
        office = await _new_office(uow, clock, None, name, prefix, above)
        for tg, admin_name in dict(admins).items():
            await add_admin(uow, clock.now(), office.id, tg, admin_name or "")
        await uow.commit()
        return office


async def add_child_office(uow: UnitOfWork, clock: Clock, actor_id: int, name: str,
                           prefix: str, admin_name: str, ttl: timedelta = INVITE_TTL,
                           ) -> tuple[Office, Invite]:
    """/offices 新增: a child office of the actor's, and an invitation for its first admin."""
    async with uow:
        actor = await _actor(uow, actor_id)
        if not rules.may_manage_children(actor):
            raise PermissionDenied("只有督查室管理员可以新增下级督查室。")
        admin_name = check_name(admin_name, "姓名")
        if not admin_name:
            raise InvalidInput("请写下级督查室第一位管理员的姓名。")
        parent = await uow.people.get_office(actor.office_id)
        office = await _new_office(uow, clock, actor.id, name, prefix, parent)
        now = clock.now()
        invite = Invite(token=secrets.token_urlsafe(16), office_id=office.id, name=admin_name,
                        roles=frozenset({Role.ADMIN}), unit_id=None, created_by=actor.id,
                        created_at=now, expires_at=now + ttl)
        await uow.invites.add(invite)
        await uow.events.append(Event(kind="invited", at=now, actor_id=actor.id,
                                      office_id=office.id,
                                      after={"name": admin_name, "roles": ["admin"],
                                             "unit_id": None}))
        await uow.commit()
        return office, invite


_OPEN = frozenset({MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                   MatterStatus.COMPLETION_REQUESTED})


async def children_figures(uow: UnitOfWork, office_id: int, cal: WorkCalendar,
                           policy: LightPolicy, today: date, since: datetime,
                           until: datetime | None = None) -> list[tuple[Office, rules.Rollup]]:
    """In an open unit of work: each child office of `office_id` with its figures
    (`ledger.offices.rollup`: open, red, yellow, overdue as of `today`, closed in
    [since, until)). The one loading behind /list 下级 and the parent's bulletin: the
    child's open matters and those its events of the window closed."""
    out: list[tuple[Office, rules.Rollup]] = []
    for o in rules.children(await uow.offices.all(), office_id):
        found = {m.id: m for m in await uow.matters.list(MatterQuery(
            office_id=o.id, statuses=_OPEN, include_confidential=False))}
        for e in await uow.events.since(o.id, since, until):
            if e.kind == "closed" and e.matter_id is not None and e.matter_id not in found:
                found[e.matter_id] = await uow.matters.get(e.matter_id)
        out.append((o, rules.rollup(list(found.values()), cal, today, policy, since,
                                    until=until)))
    return out


async def child_offices(uow: UnitOfWork, actor_id: int, *, clock: Clock | None = None,
                        cal: WorkCalendar | None = None, policy: LightPolicy | None = None,
                        ) -> tuple[Office, list[OfficeLine]]:
    """/offices, /list 下级: the actor's office and its child offices, with their sizes and
    (given a clock and calendar) each child's figures this month (`children_figures`)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        if not rules.may_manage_children(actor):
            raise PermissionDenied("只有督查室管理员可以查看下级督查室。")
        every = await uow.offices.all()
        mine = next(o for o in every if o.id == actor.office_id)
        figures: dict[int, rules.Rollup] = {}
        if clock is not None and cal is not None:
            today = local_today(clock)
            since = datetime.combine(today.replace(day=1), time(0), LOCAL_TZ)
            figures = {o.id: f for o, f in await children_figures(
                uow, mine.id, cal, policy or LightPolicy(), today, since)}
        out: list[OfficeLine] = []
        for o in rules.children(every, mine.id):
            people = [p for p in await uow.people.persons(o.id) if p.active]
            out.append(OfficeLine(o, admins=sum(p.is_office for p in people),
                                  persons=len(people),
                                  units=len(await uow.people.units(o.id)),
                                  figures=figures.get(o.id)))
        return mine, out


# ---------------------------------------------------------------- who acts where


async def acting(uow: UnitOfWork, telegram_id: int, chat_id: int | None,
                 about_matter_id: int | None = None) -> Person | rules.Ambiguous | None:
    """The account's binding that acts in this chat (`chat_id` None: a private chat), about
    this matter (a reply to its card or a button on it) if any."""
    async with uow:
        bindings = await uow.offices.bindings(telegram_id)
        if not bindings:
            return None
        group_office = None
        if chat_id is not None:
            chat = await uow.chats.get(chat_id)
            group_office = chat.office_id if chat is not None else None
        several = sum(p.active for p in bindings) > 1
        about = (await uow.offices.office_of_matter(about_matter_id)
                 if about_matter_id is not None and several else None)
        chosen = (await uow.offices.chosen(telegram_id)
                  if group_office is None and several and about is None else None)
        return rules.acting_binding(bindings, group_office_id=group_office,
                                    chosen_office_id=chosen, about_office_id=about)


async def bindings_of(uow: UnitOfWork, telegram_id: int) -> list[tuple[Person, Office]]:
    """The account's active bindings and their offices (the /office buttons)."""
    async with uow:
        out = []
        for p in await uow.offices.bindings(telegram_id):
            if p.active:
                out.append((p, await uow.people.get_office(p.office_id)))
        return out


async def choose_office(uow: UnitOfWork, clock: Clock, telegram_id: int, office_id: int,
                        ) -> tuple[Person, Office]:
    """/office: the private chat works in `office_id` from now on."""
    async with uow:
        bindings = await uow.offices.bindings(telegram_id)
        if not rules.may_choose(bindings, office_id):
            raise PermissionDenied("您不是这个督查室的人员，不能切换过去。")
        await uow.offices.choose(telegram_id, office_id, clock.now())
        await uow.commit()
        person = next(p for p in bindings if p.office_id == office_id and p.active)
        return person, await uow.people.get_office(office_id)


async def names_office(uow: UnitOfWork, person: Person) -> Office | None:
    """The person's office, when cards and notices should name it (several bindings)."""
    if person.telegram_id is None:
        return None
    bindings = await uow.offices.bindings(person.telegram_id)
    if not rules.names_office(bindings):
        return None
    return await uow.people.get_office(person.office_id)


__all__ = ["OfficeLine", "acting", "add_child_office", "add_office", "bindings_of",
           "child_offices", "children_figures", "choose_office", "names_office"]


# ---------------------------------------------------------------- 转办


async def pass_down(uows: UnitOfWorkFactory, clock: Clock, cal: WorkCalendar, actor_id: int,
                    reference: str, unit_names: Sequence[str]) -> tuple[Matter, Matter]:
    """转办: the admin of a unit's own office registers a linked matter in its ledger for
    the unit's assignment on the parent office's matter, and assigns it to its own units.
    Its deadline is the parent assignment's (never later); the parent matter records the
    link as an event and its office hears of it. Returns (parent matter, child matter)."""
    async with uows() as uow:
        actor = await _actor(uow, actor_id)
        if not actor.is_office:
            raise PermissionDenied("转办由本单位自己的督查室管理员办理：请先用 /office 切换到"
                                   "本单位的督查室。")
        here = await uow.people.get_office(actor.office_id)
        if here.parent_id is None:
            raise InvalidInput(f"「{here.name}」没有上级督查室，无需转办。")
        parent = await uow.people.get_office(here.parent_id)
        year, seq = parse_reference(reference, local_today(clock).year)
        if not rules.reference_in_office(reference, parent):
            raise NotFound(f"「{parent.name}」没有事项「{shown(reference)}」。")
        try:
            county = await uow.matters.find(parent.id, year, seq)
        except NotFound:
            raise NotFound(f"「{parent.name}」没有事项「{shown(reference)}」。") from None
        there = next((p for p in await uow.offices.bindings(actor.telegram_id or 0)
                      if p.office_id == parent.id and p.active), None)
        mine = perm.actor_assignments(there, county) if there is not None else []
        if not mine:
            raise PermissionDenied(f"事项 {county.number} 没有您在「{parent.name}」承办的在办分工，"
                                   "不能转办。")
        a = mine[0]
        for e in await uow.events.for_matter(county.id or 0):
            if e.kind == "passed_down" and e.assignment_no == a.no:
                raise InvalidInput(f"事项 {county.number} 已转办为 {e.after.get('child_number')}。")
        unit_ids, unknown = await units_named(uow, here.id, unit_names)
        if unknown is not None:
            raise InvalidInput(f"没有「{shown(unknown)}」这个单位。发送 /units 查看单位名称。")
        found = await teams(uow, here.id, unit_ids)
    assert county.id is not None and there is not None
    cmd = RegisterMatter(
        title=county.title, body=county.body, source=county.source, klass=county.klass,
        confidential=county.confidential, deadline=a.effective_deadline,
        origin={"kind": "parent", "office_id": parent.id, "matter_id": county.id,
                "no": a.no, "number": county.number})
    child = await register_and_assign(uows, clock, cal, actor.id, cmd, found,
                                      f"转办 {county.number} 未成")
    assert child.id is not None
    try:
        async with uows() as uow:
            m = await uow.matters.get(county.id)
            now = clock.now()
            e = m.note_passed_down(at=now, actor_id=there.id, no=a.no, office_id=here.id,
                                   office=here.name, child_id=child.id,
                                   child_number=child.number)
            await uow.matters.save(m)
            await _tell_office(uow, m, e, now)
            await uow.commit()
    except DomainError:
        await cancel_matter(uows(), clock, actor.id, child.id, f"转办 {county.number} 未记入上级事项")
        raise
    return m, child
