"""After a press or a prompt's answer: bring the message it started from up to date
(one case of the live cards, handlers.livecards)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from telegram import Message

from handlers import livecards
from handlers.deps import Ctx
from ledger.model import Matter, Person
from ledger.ports import LiveCard


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
    """The pressed message is a live card like any other (handlers.livecards): the use
    case's save queued a redraw of every recorded card; a message not recorded yet (sent
    before cards were recorded) is recorded now, showing the presser's buttons as before,
    and redrawn through the outbox like the rest."""
    if origin is None or (origin.layout == "notice" and origin.chat_id < 0):
        return  # a notice in a group keeps its neutral 查看/历史 buttons
    deps = context.deps
    assert m.id is not None
    layout = {"card": livecards.CARD, "feed": livecards.FEED}.get(origin.layout,
                                                                   livecards.BUTTONS)
    async with deps.uow() as uow:
        card = await uow.cards.get(origin.chat_id, origin.message_id)
        was = card
        if card is None or card.matter_id != m.id:
            card = LiveCard(origin.chat_id, origin.message_id, m.id, layout, deps.clock.now(),
                            None if layout == livecards.FEED else viewer.id,
                            origin.feed_kind if layout == livecards.FEED else None,
                            origin.files)
        elif card.layout != livecards.FEED and card.viewer_id != viewer.id:
            card = replace(card, viewer_id=viewer.id, digest=None)  # the presser's buttons
        if card != was:
            await uow.cards.record(card)
        await uow.cards.redraw(m.id, deps.clock.now(), (origin.chat_id, origin.message_id),
                               tag="" if card == was else f"p{viewer.id}")
        await uow.commit()
    deps.kick()
