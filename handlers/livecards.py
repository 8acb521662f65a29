"""Live cards (issue 13): every message the bot sends that shows a matter's state and
buttons is recorded (`ledger.ports.LiveCard`); each save of the matter queues a redraw of
each of them (storage.repositories.cards), and the delivery adapter edits it in place
(handlers.delivery) to the matter's state and the buttons its viewer may press now, rendered by
the same code as the card itself (handlers.cards, asking ledger.policy).

Telegram's answers: "message is not modified" is success; a message deleted, too old to
edit, or in a chat that is gone or blocked the bot is dropped from the record.
"""

from __future__ import annotations

import hashlib
import json

from telegram import InlineKeyboardMarkup, Message

from handlers import cards
from handlers.cards import Directory
from handlers.deps import Deps
from ledger.errors import NotFound
from ledger.model import Matter, Person
from ledger.ports import LiveCard, Notice, UnitOfWork
from ledger.usecases.records import NOTICE_KINDS as SPECIAL_NOTICE_KINDS

CARD = "card"               # the whole card (/show, after /new)
ASSIGNMENT = "assignment"   # the 交办通知 card of a person
BUTTONS = "buttons"         # a notice to a person: its text stays, its buttons follow
FEED = "feed"               # an office feed line: its text stays, its buttons follow
HANDOVER = "handover"        # the kind of a 交办通知 that hands work over: it keeps saying so
# Notices and feed lines followed per chat and matter (the newest): a month of daily
# reminders must not turn one change into thirty edits. Cards are all followed.
KEEP_NOTICES = 3

# Telegram's words for a message that cannot be edited any more.
GONE = ("message to edit not found", "message can't be edited", "message_id_invalid",
        "chat not found")


def digest(text: str | None, markup: InlineKeyboardMarkup | None) -> str:
    body = json.dumps([text, markup.to_dict() if markup else None], ensure_ascii=False,
                      sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


async def record_card(deps: Deps, msg: Message | None, matter_id: int | None,
                      viewer: Person | None, layout: str = CARD, kind: str | None = None,
                      files: bool = False) -> None:
    """Remember a message that shows a matter, so that it follows the matter's changes."""
    if msg is None or matter_id is None or msg.reply_markup is None:
        return
    async with deps.uow() as uow:
        await uow.cards.record(LiveCard(
            msg.chat_id, msg.message_id, matter_id, layout, deps.clock.now(),
            viewer.id if viewer is not None else None, kind, files))
        await uow.commit()


def keep(layout: str) -> int | None:
    return KEEP_NOTICES if layout in (BUTTONS, FEED) else None


def notice_layout(notice: Notice, viewer: Person | None,
                  markup: InlineKeyboardMarkup | None) -> tuple[str, str | None, bool] | None:
    """How a sent notice follows its matter (None: it does not; a group's notice keeps its
    neutral 查看/历史 buttons)."""
    if markup is None or notice.matter_id is None or notice.kind in SPECIAL_NOTICE_KINDS:
        return None
    if notice.kind in cards.OFFICE_FEED_KINDS:
        return FEED, notice.kind, bool(notice.payload.get("attachments"))
    if viewer is None:
        return None
    if notice.kind == "assignment":  # a handover's notice stays one when redrawn
        return ASSIGNMENT, HANDOVER if notice.payload.get("handover") else None, False
    return BUTTONS, None, False


async def render_card(deps: Deps, uow: UnitOfWork, card: LiveCard, m: Matter,
                      ) -> tuple[str | None, InlineKeyboardMarkup | None]:
    """What the card shows now: (text, buttons); text None: keep the message's text."""
    names = await Directory.load(uow, m.office_id)
    viewer: Person | None = None
    if card.viewer_id is not None:
        try:
            viewer = await uow.people.get_person(card.viewer_id)
        except NotFound:
            viewer = None
    if card.layout == CARD:
        return await cards.matter_card(deps, m, viewer, card.chat_id < 0, names)
    if card.layout == ASSIGNMENT:
        notice = Notice(key="", office_id=m.office_id, kind="assignment",
                        due_at=deps.clock.now(), matter_id=m.id,
                        payload={"handover": True} if card.kind == HANDOVER else {})
        text, markup = await cards.compose_notice(deps, uow, notice, viewer)
        return text, markup
    if card.layout == FEED:
        return None, cards.feed_buttons(deps, card.kind or "office_progress", m, names,
                                        card.files)
    return None, cards.card_buttons(deps, m, viewer, names)
