"""Several offices on one deployment (issue 16): /office (which office the private chat
works in) and /offices (a parent office's admin: its child offices, and adding one with an
invitation for its first admin)."""

from __future__ import annotations

import re
from datetime import timedelta

from telegram import Update

from handlers.common import args_text, chunks, require_person, usage
from handlers.deps import Ctx
from handlers.menus import set_person_menu
from handlers.office_context import CHOOSE, choice_markup
from ledger.errors import InvalidInput
from ledger.model import Person
from ledger.usecases import offices as uc_offices

_ADD_WORDS = ("新增", "添加", "add")
CHILDREN_WORD = "下级"
_UNITS = re.compile(r"[,，、]+")


async def office_command(update: Update, context: Ctx) -> None:
    """/office: the offices the account is bound in, as buttons; the current one ticked."""
    deps = context.deps
    msg, user, chat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and chat is not None
    if chat.type != chat.PRIVATE:
        raise InvalidInput(deps.render("offices.j2", k="private_only"))
    found = await uc_offices.bindings_of((deps.read or deps.uow)(), user.id)
    if not found:
        raise InvalidInput(deps.render("lines.j2", k="unbound"))
    if len(found) == 1:
        await msg.reply_text(deps.render("offices.j2", k="only", office=found[0][1]),
                             do_quote=False)
        return
    acting = await require_person(update, context)
    current = next(o for p, o in found if p.office_id == acting.office_id)
    await msg.reply_text(deps.render("office_choose.j2", asked=False, current=current.name),
                         reply_markup=choice_markup([o for _, o in found], current.id),
                         do_quote=False)


async def on_choose(update: Update, context: Ctx) -> None:
    """An office button (of:<id>): the private chat works there from now on."""
    deps = context.deps
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    raw = (query.data or "")[len(CHOOSE):]
    if not raw.isdigit():
        raise InvalidInput(deps.render("lines.j2", k="bad_button"))
    person, office = await uc_offices.choose_office(deps.uow(), deps.clock, user.id, int(raw))
    await query.answer(deps.render("offices.j2", k="chosen", office=office)[:200])
    if query.message is not None:
        await context.bot.send_message(query.message.chat.id,
                                       deps.render("offices.j2", k="chosen", office=office))
    await set_person_menu(context.bot, user.id, person.roles)


async def offices_command(update: Update, context: Ctx) -> None:
    """/offices: the child offices; /offices 新增 名称 前缀 管理员姓名 adds one and invites
    its first admin with a deep link."""
    deps = context.deps
    actor = await require_person(update, context)
    msg = update.effective_message
    assert msg is not None
    parts = args_text(update).split()
    if parts and parts[0] in _ADD_WORDS:
        if len(parts) != 4:
            raise usage(deps, "offices")
        _, name, prefix, admin = parts
        # The invitation lives as long as /invite's.
        office, inv = await uc_offices.add_child_office(
            deps.uow(), deps.clock, actor.id, name, prefix, admin,
            ttl=timedelta(hours=deps.config.invite_ttl_hours))
        link = f"https://t.me/{context.bot.username}?start={inv.token}"
        await msg.reply_text(deps.render("offices.j2", k="added", office=office, admin=admin,
                                         link=link, expires=inv.expires_at), do_quote=False)
        return
    if parts:
        raise usage(deps, "offices")
    await children_reply(update, context, actor)


async def children_reply(update: Update, context: Ctx, actor: Person) -> None:
    """/offices and /list 下级: each child office, its size and its figures this month."""
    deps = context.deps
    msg = update.effective_message
    assert msg is not None
    mine, lines = await uc_offices.child_offices(
        (deps.read or deps.uow)(), actor.id, clock=deps.clock, cal=deps.cal,
        policy=deps.light_policy)
    for part in chunks(deps.render("offices.j2", k="list", office=mine, rows=lines)
                       .split("\n")):
        await msg.reply_text(part, do_quote=False)


async def passdown_command(update: Update, context: Ctx) -> None:
    """/passdown 上级编号 本级单位[,单位]: 转办 a parent office's matter into this office's
    ledger (the unit's own office's admin), assigned to its own units."""
    deps = context.deps
    actor = await require_person(update, context)
    msg = update.effective_message
    assert msg is not None
    parts = args_text(update).split()
    if len(parts) != 2:
        raise usage(deps, "passdown")
    reference, unit_text = parts
    county, child = await uc_offices.pass_down(
        deps.uow, deps.clock, deps.cal, actor.id, reference,
        [u for u in _UNITS.split(unit_text) if u])
    deps.kick()
    await msg.reply_text(deps.render("offices.j2", k="passed", county=county, child=child),
                         do_quote=False)
