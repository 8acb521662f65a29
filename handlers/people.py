"""People come and go: /revoke 姓名 [理由], /handover 姓名 新姓名 (ledger.usecases.turnover)."""

from __future__ import annotations

from telegram import Update

from handlers.common import args_text, chunks, require_person, usage
from handlers.deps import Ctx
from handlers.menus import clear_person_menu, set_person_menu
from ledger.usecases import turnover as people


async def revoke_command(update: Update, context: Ctx) -> None:
    """/revoke 姓名 [理由]: end a binding; the office sees the open work left behind."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split(maxsplit=1)
    if not parts:
        raise usage(deps, "revoke")
    done = await people.revoke(deps.uow(), deps.clock, actor.id, parts[0],
                               parts[1] if len(parts) > 1 else "")
    deps.kick()
    if done.person.telegram_id is not None:
        await clear_person_menu(context.bot, done.person.telegram_id)
    text = deps.render("people.j2", k="revoked", r=done)
    msg = update.effective_message
    assert msg is not None
    for part in chunks(text.split("\n")):
        await msg.reply_text(part, do_quote=False)


async def handover_command(update: Update, context: Ctx) -> None:
    """/handover 姓名 新姓名: open assignments and roles move to the successor."""
    deps = context.deps
    actor = await require_person(update, context)
    parts = args_text(update).split()
    if len(parts) != 2:
        raise usage(deps, "handover")
    done = await people.handover(deps.uow(), deps.clock, actor.id, parts[0], parts[1])
    deps.kick()
    if done.new.telegram_id is not None:
        await set_person_menu(context.bot, done.new.telegram_id, done.new.roles)
    if done.revoked and done.old.telegram_id is not None:
        await clear_person_menu(context.bot, done.old.telegram_id)
    text = deps.render("people.j2", k="handed_over", h=done)
    msg = update.effective_message
    assert msg is not None
    for part in chunks(text.split("\n")):
        await msg.reply_text(part, do_quote=False)
