"""Binding people and chats: /invite, /start, /bindgroup, /units, /addunit, /help."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.common import args_text, chunks, is_group, line, lookup_person, require_person, usage
from handlers.deps import Ctx, Deps
from handlers.menus import help_text, set_person_menu
from ledger import queries
from ledger.errors import DomainError, InvalidInput
from ledger.model import Person, Role, Unit
from ledger.usecases import people as uc_people
from ledger.usecases.ledger_mgmt import all_teams
from presentation.labels import ROLE_LABELS, roles_text

_ROLE_WORDS: dict[str, Role] = {
    **{label: role for role, label in ROLE_LABELS.items()},
    "联络员": Role.LIAISON, "管理员": Role.ADMIN, "领导": Role.LEADER,
    "主要负责人": Role.PRINCIPAL, "具体责任人": Role.RESPONSIBLE, "具体承办人": Role.HANDLER,
}
_NO_UNIT = frozenset({"督查室", "无", "-", "—", "县领导"})
_SPLIT = re.compile(r"[,，、/;；]+")


def parse_roles(text: str) -> frozenset[Role] | None:
    """`第一责任人,承办人` → roles; None when a word is not a role."""
    roles: set[Role] = set()
    for word in _SPLIT.split(text.strip()):
        if not word:
            continue
        role = _ROLE_WORDS.get(word)
        if role is None:
            return None
        roles.add(role)
    return frozenset(roles) or None


async def _unit_named(context: Ctx, office_id: int, name: str) -> Unit:
    async with context.deps.uow() as uow:
        unit = await queries.unit_named(uow, office_id, name)
    if unit is None:
        raise InvalidInput(line(context.deps, "unknown_unit", unit=name))
    return unit


def _describe(person: Person, unit: Unit | None) -> dict[str, object]:
    return {"person": person, "unit": unit.name if unit else None,
            "roles": roles_text(person.roles)}


async def _unit_of(context: Ctx, person: Person) -> Unit | None:
    if person.unit_id is None:
        return None
    async with context.deps.uow() as uow:
        return await queries.unit(uow, person.unit_id)


async def invite(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split()
    if len(parts) != 3:
        raise usage(deps, "invite")
    name, unit_name, role_text = parts
    roles = parse_roles(role_text)
    if roles is None:
        raise InvalidInput(line(deps, "unknown_role", text=role_text))
    unit_id = None
    if unit_name not in _NO_UNIT:
        unit_id = (await _unit_named(context, actor.office_id, unit_name)).id
    inv = await uc_people.create_invite(deps.uow(), deps.clock, actor.id, name, roles, unit_id,
                                  ttl=timedelta(hours=deps.config.invite_ttl_hours))
    link = f"https://t.me/{context.bot.username}?start={inv.token}"
    msg = update.effective_message
    assert msg is not None
    await msg.reply_text(deps.render(
        "invite.j2", invitee=name, unit=unit_name if unit_id else None, link=link,
        roles=roles_text(roles),
        expires=inv.expires_at), do_quote=False)


async def start(update: Update, context: Ctx) -> None:
    deps = context.deps
    msg, user, chat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and chat is not None
    token = context.args[0] if context.args else ""
    if token and chat.type == chat.PRIVATE:
        person = await uc_people.accept_invite(deps.uow(), deps.clock, token, user.id)
        unit = await _unit_of(context, person)
        await msg.reply_text(deps.render("welcome.j2", new=True, **_describe(person, unit)))
        await set_person_menu(context.bot, user.id, person.roles)
        return
    bound = await lookup_person(deps, user.id)
    if bound is None:
        await msg.reply_text(line(deps, "unbound"))
        return
    if bound.name_pending and chat.type == chat.PRIVATE:
        # DUBAN_ADMINS listed them without ID:姓名: the next text they send is their name.
        await msg.reply_text(deps.render("admin_name.j2", k="ask"))
        await set_person_menu(context.bot, user.id, bound.roles)
        return
    unit = await _unit_of(context, bound)
    await msg.reply_text(deps.render("welcome.j2", new=False, **_describe(bound, unit)))
    if chat.type == chat.PRIVATE:
        await set_person_menu(context.bot, user.id, bound.roles)


def may_be_unnamed(deps: Deps, telegram_id: int) -> bool:
    """Only an admin listed in DUBAN_ADMINS without a name can be waiting to give one: the
    check costs nothing for everyone else's messages."""
    config = deps.config
    return telegram_id in config.admins and telegram_id not in dict(config.admin_names)


async def on_name_reply(update: Update, context: Ctx) -> None:
    """The text an admin waiting for a name sends next is their name (then nothing else
    handles it). Anyone else's text goes on to the other handlers."""
    deps = context.deps
    msg, user = update.effective_message, update.effective_user
    if msg is None or user is None or not msg.text or not may_be_unnamed(deps, user.id):
        return
    person = await lookup_person(deps, user.id)
    if person is None or not person.name_pending or not person.active:
        return
    try:
        named = await uc_people.give_name(deps.uow(), deps.clock, person.id, msg.text)
    except DomainError as e:
        await msg.reply_text(str(e))
    else:
        await msg.reply_text(deps.render("admin_name.j2", k="named", person=named))
    raise ApplicationHandlerStop


async def help_command(update: Update, context: Ctx) -> None:
    deps = context.deps
    msg, user = update.effective_message, update.effective_user
    assert msg is not None and user is not None
    person = await lookup_person(deps, user.id)
    await msg.reply_text(help_text(deps, person), do_quote=False)


async def bind_group(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    chat, msg = update.effective_chat, update.effective_message
    assert chat is not None and msg is not None
    if not is_group(chat):
        raise InvalidInput(line(deps, "bind_in_group"))
    name = args_text(update)
    unit = await _unit_named(context, actor.office_id, name) if name else None
    await uc_people.bind_group(deps.uow(), deps.clock, actor.id, chat.id, chat.title or "",
                         unit.id if unit else None)
    await msg.reply_text(line(deps, "group_bound", unit=unit.name if unit else None))


async def units(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    msg = update.effective_message
    assert msg is not None
    async with deps.uow() as uow:
        found = await all_teams(uow, actor.office_id)
    rows = [UnitRow(u, count, _name(t.principal), _name(t.responsible), _name(t.handler))
            for u, count, t in found]
    for text in chunks(deps.render("units.j2", rows=_tree(rows)).split("\n")):
        await msg.reply_text(text, do_quote=False)


def _name(p: Person | None) -> str:
    return p.name if p is not None else ""


@dataclass
class UnitRow:
    unit: Unit
    count: int
    principal: str
    responsible: str
    handler: str
    depth: int = 0


def _tree(rows: list[UnitRow]) -> list[UnitRow]:
    """Parents first, each followed by its sub-units, indented by depth."""
    ids = {r.unit.id for r in rows}
    children: dict[int | None, list[UnitRow]] = {}
    for r in rows:
        parent = r.unit.parent_id if r.unit.parent_id in ids else None
        children.setdefault(parent, []).append(r)
    out: list[UnitRow] = []

    def walk(parent: int | None, depth: int) -> None:
        for r in children.get(parent, []):
            if r in out or depth > 8:
                continue
            r.depth = depth
            out.append(r)
            walk(r.unit.id, depth + 1)

    walk(None, 0)
    return out


async def add_unit(update: Update, context: Ctx) -> None:
    deps = context.deps
    actor = await require_person(update, context)
    msg = update.effective_message
    assert msg is not None
    parts = args_text(update).split()
    if not parts or len(parts) > 2:
        raise usage(deps, "addunit")
    parent = await _unit_named(context, actor.office_id, parts[1]) if len(parts) == 2 else None
    unit = await uc_people.add_unit(deps.uow(), deps.clock, actor.id, parts[0],
                              parent.id if parent else None)
    await msg.reply_text(line(deps, "unit_added", unit=unit.name,
                              parent=parent.name if parent else None))
