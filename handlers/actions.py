"""Button presses on cards, notices and feed lines. Callback data is only a hint: each
press loads the matter as the presser and goes through a use case, which re-checks."""

from __future__ import annotations

import logging

from telegram import Message, Update

from handlers.common import ALERT_MAX, line, remember, require_person, require_shown
from handlers.deps import Ctx
from handlers.keys import (
    MatterPress,
    is_page_key,
    parse_list_key,
    parse_matter_key,
    parse_mine_key,
)
from handlers.refresh import origin_of, refresh
from handlers.replies import PROMPT_KINDS, ask, clear_prompt
from handlers.views import list_turn, mine_turn, send_files, send_history, show_matter
from ledger import permissions as perm
from ledger.errors import InvalidInput, InvalidTransition
from ledger.model import AssignmentStatus, Person
from ledger.usecases import accountability as acct
from ledger.usecases import closing, reading
from ledger.usecases import deadlines as dl

log = logging.getLogger(__name__)



def _no(context: Ctx, press: MatterPress) -> int:
    """The assignment a button is about; buttons that need one and lack it are forged."""
    if press.no is None:
        raise InvalidInput(line(context.deps, "bad_button"))
    return press.no


async def on_button(update: Update, context: Ctx) -> None:
    """Every inline button outside the /new flow."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    page = parse_list_key(query.data)
    if page is not None:
        await list_turn(update, context, *page)
        return
    mine = parse_mine_key(query.data)
    if mine is not None:
        await mine_turn(update, context, mine)
        return
    if is_page_key(query.data):
        await query.answer(line(deps, "bad_page")[:ALERT_MAX], show_alert=True)
        return
    press = parse_matter_key(query.data)
    if press is None:
        await query.answer(line(deps, "bad_button")[:ALERT_MAX], show_alert=True)
        return
    actor = await require_person(update, context)
    if press.action == "show":
        _, m = await reading.get_matter(deps.uow(), actor.id, press.matter_id)
        await show_matter(update, context, actor, m)
        await query.answer()
        return
    if press.action == "hist":
        _, m = await reading.get_matter(deps.uow(), actor.id, press.matter_id)
        await send_history(update, context, actor, m)
        await query.answer()
        return
    if press.action == "files":
        _, m = await reading.get_matter(deps.uow(), actor.id, press.matter_id)
        await send_files(update, context, actor, m)
        await query.answer()
        return
    if press.action in PROMPT_KINDS:
        await _prompt(update, context, actor, press)
        return
    await _act(update, context, actor, press)


async def _prompt(update: Update, context: Ctx, actor: Person, press: MatterPress) -> None:
    """Buttons that need words first: check who may, then ask with a ForceReply."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    _, m = await reading.get_matter(deps.uow(), actor.id, press.matter_id)
    require_shown(deps, update, actor, m)
    m.require_open()
    values: dict[str, object] = {}
    if press.action == "ret":
        perm.require_office(actor)
    elif press.action == "extno":
        perm.require_office(actor)
        values["a"] = m.assignment(_no(context, press))
    else:
        a = m.assignment(_no(context, press))
        if press.action == "done":
            perm.require_lead_assignment(actor, a)
        else:
            perm.require_work_on(actor, a)
        if press.action == "sign" and a.status != AssignmentStatus.ASSIGNED:
            raise InvalidTransition(line(deps, "already_signed", m=m))
        values["a"] = a
    clear_prompt(context)
    await ask(update, context, press.action, m, press.no,
              origin_of(query.message, press.card), **values)
    await query.answer()


async def _act(update: Update, context: Ctx, actor: Person, press: MatterPress) -> None:
    """Buttons that act at once: 确认延期, 销号, 催办, 同意延期."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    mid, no = press.matter_id, press.no
    if press.action == "cext":
        m = await dl.confirm_extension(deps.uow(), deps.clock, actor.id, mid,
                                        _no(context, press))
    elif press.action == "close":
        m = await closing.close_matter(deps.uow(), deps.clock, actor.id, mid)
    elif press.action == "urge":
        m = await acct.urge(deps.uow(), deps.clock, deps.cal, actor.id, mid, None,
                            receipts=deps.config.reminders.receipts)
    elif press.action == "extok":
        m = await dl.decide_extension(deps.uow(), deps.clock, actor.id, mid,
                                       _no(context, press), True)
    else:
        await query.answer(line(deps, "bad_button")[:ALERT_MAX], show_alert=True)
        return
    deps.kick()
    done = line(deps, "done_" + press.action, m=m, actor=actor.name)
    await query.answer(done[:ALERT_MAX])
    await refresh(context, origin_of(query.message, press.card), actor, m)
    msg = query.message
    if isinstance(msg, Message):
        sent = await msg.reply_text(done, do_quote=True)
        await remember(deps, sent, m.id, no)
