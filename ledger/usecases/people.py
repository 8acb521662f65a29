"""People and chats: the office's first start, units, invitations, group binding,
who cannot be reached."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ledger import permissions as perm
from ledger.clock import Clock
from ledger.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    check_name,
)
from ledger.model import (
    Event,
    Person,
    Role,
    Unit,
)
from ledger.notices import tell_office
from ledger.offices import group_rebind_allowed, top_office
from ledger.ports import GroupChat, Invite, UnitOfWork
from ledger.usecases._shared import _actor

INVITE_TTL = timedelta(days=3)
# What an admin listed in DUBAN_ADMINS without a name is called until they give it (they
# act as the office meanwhile); never their Telegram id.
UNNAMED_ADMIN = "督查室"


async def bootstrap_office(uow: UnitOfWork, clock: Clock, name: str,
                           admin_telegram_ids: Sequence[int], doc_prefix: str = "督",
                           admin_names: Mapping[int, str] | None = None) -> int:
    """First start: one office, and its admins from DUBAN_ADMINS (`admin_names`: the names
    given as ID:姓名; an admin without one is asked on /start). Idempotent; a name given
    later names an admin still waiting for one."""
    async with uow:
        return await _bootstrap(uow, clock, name, admin_telegram_ids, doc_prefix,
                                admin_names or {})


async def _bootstrap(uow: UnitOfWork, clock: Clock, name: str,
                     admin_telegram_ids: Sequence[int], doc_prefix: str,
                     admin_names: Mapping[int, str]) -> int:
    # Several offices (issue 16): DUBAN_ADMINS are the top office's.
    office = top_office(await uow.people.offices()) or await uow.people.add_office(
        name, doc_prefix)
    now = clock.now()
    for tg in admin_telegram_ids:
        given = check_name(admin_names.get(tg, ""), "姓名")
        existing = await uow.people.by_telegram(tg, office.id)
        if existing is None:
            await add_admin(uow, now, office.id, tg, given)
        elif existing.name_pending and given:
            await _named(uow, now, existing, given, None)
    await uow.commit()
    return office.id


async def add_admin(uow: UnitOfWork, now: datetime, office_id: int, telegram_id: int,
                    name: str) -> Person:
    """An office's admin by Telegram id, for DUBAN_ADMINS and `duban office add --admin`.
    Without a name they are shown as 督查室 and asked for one on /start (give_name)."""
    p = await uow.people.add_person(office_id, name or UNNAMED_ADMIN,
                                    frozenset({Role.ADMIN}), telegram_id=telegram_id)
    if not name:
        p = replace(p, name_pending=True)
        await uow.people.save_person(p)
    await uow.events.append(Event(kind="person_added", at=now, actor_id=None,
                                  office_id=office_id, person_id=p.id,
                                  after={"name": p.name, "roles": ["admin"],
                                         "telegram_id": telegram_id,
                                         "name_pending": p.name_pending}))
    return p


async def _named(uow: UnitOfWork, now: datetime, person: Person, name: str,
                 actor_id: int | None) -> Person:
    named = replace(person, name=name, name_pending=False)
    await uow.people.save_person(named)
    await uow.events.append(Event(kind="person_named", at=now, actor_id=actor_id,
                                  office_id=person.office_id, person_id=person.id,
                                  before={"name": person.name}, after={"name": name}))
    return named


async def give_name(uow: UnitOfWork, clock: Clock, actor_id: int, text: str) -> Person:
    """An admin waiting for a name (DUBAN_ADMINS without ID:姓名) gives theirs: the next
    text they send after /start. Their history and group lines show it from then on."""
    async with uow:
        actor = await _actor(uow, actor_id)
        if not actor.name_pending:
            raise InvalidTransition(f"您的姓名已登记为「{actor.name}」。")
        name = check_name(" ".join(text.split()), "姓名")
        if not name or name.startswith("/"):
            raise InvalidInput("请直接回复您的姓名，如：王芳。")
        named = await _named(uow, clock.now(), actor, name, actor.id)
        await uow.commit()
        return named


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
        # Bound in another office is fine (issue 16); in this one, once.
        existing = await uow.people.by_telegram(telegram_id, invite.office_id)
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
        if not group_rebind_allowed(actor, old.office_id if old else None):
            raise PermissionDenied("这个群已绑定到其他督查室，不能改绑。")
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
