"""After a press or a prompt's answer: bring the message it started from up to date."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from handlers.cards import Directory, card_buttons, card_text, feed_buttons, mark_card
from handlers.deps import Ctx
from ledger.model import Matter, Person

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    """A message with buttons: a matter card (redrawn whole), an office feed line (new
    buttons) or a notice (new buttons, its text kept)."""

    chat_id: int
    message_id: int
    layout: str  # card | feed | notice
    feed_kind: str = "office_progress"
    files: bool = False


def origin_of(msg: object, card: bool) -> Origin | None:
    if not isinstance(msg, Message):
        return None
    markup = msg.reply_markup
    actions = {str(b.callback_data).split(":")[1] for row in (
        markup.inline_keyboard if markup else ()) for b in row
        if str(b.callback_data or "").startswith("m:")}
    if card:
        return Origin(msg.chat_id, msg.message_id, "card")
    if "show" in actions and "hist" not in actions:
        kind = ("office_completion_requested" if actions & {"close", "ret"}
                else "office_extension_requested" if actions & {"extok", "extno"}
                else "office_progress")
        return Origin(msg.chat_id, msg.message_id, "feed", kind, "files" in actions)
    return Origin(msg.chat_id, msg.message_id, "notice")


async def refresh(context: Ctx, origin: Origin | None, viewer: Person, m: Matter) -> None:
    if origin is None or (origin.layout == "notice" and origin.chat_id < 0):
        return  # a notice in a group keeps its neutral 查看/历史 buttons
    deps = context.deps
    names = await Directory.fetch(deps, m.office_id)
    bot = context.bot
    try:
        if origin.layout == "card":
            await bot.edit_message_text(
                card_text(deps, m, names), chat_id=origin.chat_id,
                message_id=origin.message_id,
                reply_markup=mark_card(card_buttons(deps, m, viewer, names)))
            return
        markup: InlineKeyboardMarkup = (
            feed_buttons(deps, origin.feed_kind, m, names, origin.files)
            if origin.layout == "feed"
            else card_buttons(deps, m, viewer, names))
        await bot.edit_message_reply_markup(origin.chat_id, origin.message_id,
                                            reply_markup=markup)
    except BadRequest as e:  # not modified, or too old: the confirmation line says it all
        log.debug("refresh of %s/%s failed: %s", origin.chat_id, origin.message_id, e)
