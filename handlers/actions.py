"""Button presses on cards, notices and feed lines. Callback data is only a hint: each
press loads the matter as the presser and goes through a use case, which re-checks."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import Ctx
from handlers.cards import Directory, card_buttons, card_text, feed_buttons
from handlers.common import ALERT_MAX, is_group, line, remember, require_person
from handlers.keys import MatterPress, parse_list_key, parse_matter_key
from handlers.replies import ask, clear_prompt
from handlers.views import list_turn, send_history, show_matter
from ledger import permissions as perm
from ledger import services as svc
from ledger.errors import InvalidInput, InvalidTransition
from ledger.model import AssignmentStatus, Matter, Person

log = logging.getLogger(__name__)

_PROMPTS = frozenset({"sign", "prog", "done", "ext", "ret", "extno"})


async def on_button(update: Update, context: Ctx) -> None:
    """Every inline button outside the /new flow."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    page = parse_list_key(query.data)
    if page is not None:
        await list_turn(update, context, *page)
        return
    press = parse_matter_key(query.data)
    if press is None:
        await query.answer(line(deps, "bad_button")[:ALERT_MAX], show_alert=True)
        return
    actor = await require_person(update, context)
    if press.action == "show":
        _, m = await svc.get_matter(deps.uow(), actor.id, press.matter_id)
        await show_matter(update, context, actor, m)
        await query.answer()
        return
    if press.action == "hist":
        _, m = await svc.get_matter(deps.uow(), actor.id, press.matter_id)
        await send_history(update, context, actor, m)
        await query.answer()
        return
    if press.action in _PROMPTS:
        await _prompt(update, context, actor, press)
        return
    await _act(update, context, actor, press)


async def _prompt(update: Update, context: Ctx, actor: Person, press: MatterPress) -> None:
    """Buttons that need words first: check who may, then ask with a ForceReply."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    _, m = await svc.get_matter(deps.uow(), actor.id, press.matter_id)
    if is_group(update.effective_chat) and m.confidential:
        raise InvalidInput(line(deps, "confidential_group", m=m))
    m.require_open()
    values: dict[str, object] = {}
    if press.action in ("ret", "extno"):
        perm.require_office(actor)
    else:
        if press.no is None:
            raise InvalidInput(line(deps, "bad_button"))
        a = m.assignment(press.no)
        if press.action == "done":
            perm.require_lead_assignment(actor, a)
        else:
            perm.require_work_on(actor, a)
        if press.action == "sign" and a.status != AssignmentStatus.ASSIGNED:
            raise InvalidTransition(line(deps, "already_signed", m=m))
        values["a"] = a
    if press.action == "extno":
        if press.no is None:
            raise InvalidInput(line(deps, "bad_button"))
        values["a"] = m.assignment(press.no)
    clear_prompt(context)
    await ask(update, context, press.action, m, press.no, **values)
    await query.answer()


async def _act(update: Update, context: Ctx, actor: Person, press: MatterPress) -> None:
    """Buttons that act at once: 确认延期, 销号, 催办, 同意延期."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    mid, no = press.matter_id, press.no
    if press.action == "cext":
        if no is None:
            raise InvalidInput(line(deps, "bad_button"))
        m = await svc.confirm_extension(deps.uow(), deps.clock, actor.id, mid, no)
    elif press.action == "close":
        m = await svc.close_matter(deps.uow(), deps.clock, actor.id, mid)
    elif press.action == "urge":
        m = await svc.urge(deps.uow(), deps.clock, deps.cal, actor.id, mid, None)
    elif press.action == "extok":
        if no is None:
            raise InvalidInput(line(deps, "bad_button"))
        m = await svc.decide_extension(deps.uow(), deps.clock, actor.id, mid, no, True)
    else:
        await query.answer(line(deps, "bad_button")[:ALERT_MAX], show_alert=True)
        return
    deps.kick()
    done = line(deps, "done_" + press.action, m=m, actor=actor.name)
    await query.answer(done[:ALERT_MAX])
    await _refresh(update, context, actor, m)
    msg = query.message
    if isinstance(msg, Message):
        sent = await msg.reply_text(done, do_quote=True)
        await remember(deps, sent, m.id, no)


async def _refresh(update: Update, context: Ctx, actor: Person, m: Matter) -> None:
    """Bring the pressed message up to date: a card gets the new card, a feed line new
    buttons (a 查看 button marks a feed line)."""
    deps = context.deps
    query = update.callback_query
    assert query is not None and m.id is not None
    msg = query.message
    if not isinstance(msg, Message):
        return
    names = await Directory.fetch(deps, m.office_id)
    old = msg.reply_markup
    is_feed = old is not None and any(
        b.callback_data is not None and str(b.callback_data).startswith("m:show:")
        for row in old.inline_keyboard for b in row)
    try:
        if is_feed:
            kind = _feed_kind(old)
            await msg.edit_reply_markup(feed_buttons(deps, kind, m, names))
        else:
            markup: InlineKeyboardMarkup = card_buttons(deps, m, actor, names)
            await msg.edit_text(card_text(deps, m, names), reply_markup=markup)
    except BadRequest as e:  # not modified, too old: the confirmation line says it all
        log.debug("refresh of %s failed: %s", msg.message_id, e)


def _feed_kind(markup: InlineKeyboardMarkup | None) -> str:
    actions = {str(b.callback_data).split(":")[1] for row in (
        markup.inline_keyboard if markup else ()) for b in row if b.callback_data}
    if actions & {"close", "ret"}:
        return "office_completion_requested"
    if actions & {"extok", "extno"}:
        return "office_extension_requested"
    return "office_progress"
