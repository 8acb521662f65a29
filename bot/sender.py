"""Delivers one outbox notice through the Bot API and remembers the message."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from telegram import Bot, InlineKeyboardMarkup, Message

from bot.context import Deps
from handlers.common import fit
from ledger.errors import NotFound
from ledger.model import Person
from ledger.people import may_receive
from ledger.ports import MessageRef, Notice
from reminders.outbox import Unreachable
from reminders.ratelimit import outbox_errors


class TelegramSender:
    def __init__(self, bot: Bot, deps: Deps) -> None:
        self.bot = bot
        self.deps = deps

    async def send(self, notice: Notice) -> None:
        from handlers.cards import compose_notice

        async with self.deps.uow() as uow:
            viewer: Person | None = None
            chat_id = notice.chat_id
            if notice.person_id is not None:
                try:
                    viewer = await uow.people.get_person(notice.person_id)
                except NotFound:
                    raise Unreachable(None, "no such person") from None
                if not may_receive(viewer, notice.kind):
                    # Revoked: nothing but the goodbye (not "unreachable": no alarm).
                    raise Unreachable(None, "账号已停用")
                if viewer.telegram_id is None:
                    raise Unreachable(viewer.id, "未绑定 Telegram")
                chat_id = viewer.telegram_id
            if chat_id is None:
                raise Unreachable(None, "notice has no recipient")
            text, markup = await compose_notice(self.deps, uow, notice, viewer)
        message = await self._post(notice, chat_id, text, markup)
        if notice.matter_id is not None:
            async with self.deps.uow() as uow:
                await uow.chats.remember(MessageRef(message.chat_id, message.message_id,
                                                    notice.matter_id, notice.assignment_no))
                await uow.commit()
        if viewer is not None and not viewer.reachable:
            from ledger import services
            await services.mark_reachable(self.deps.uow(), self.deps.clock, viewer.id)

    async def send_digest(self, notices: Sequence[Notice]) -> None:
        """Progress lines waiting for one group, as one message with a 查看 button per
        matter (not remembered: a reply to it is about no single matter)."""
        from handlers.cards import button, compose_notice

        first = notices[0]
        if first.chat_id is None:
            raise Unreachable(None, "notice has no recipient")
        lines: list[str] = []
        shown: dict[int, str] = {}
        async with self.deps.uow() as uow:
            for n in notices:
                text, _ = await compose_notice(self.deps, uow, n, None)
                lines.append(text)
                if n.matter_id is not None and n.matter_id not in shown:
                    with contextlib.suppress(NotFound):
                        shown[n.matter_id] = (await uow.matters.get(n.matter_id)).number
        buttons = [button(self.deps, "show", mid, suffix=f" {number}")
                   for mid, number in shown.items()]
        markup = InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])
        text = fit(self.deps.render("office_digest.j2", lines=lines))
        await self._post(first, first.chat_id, text, markup if buttons else None)

    async def _post(self, notice: Notice, chat_id: int, text: str,
                    markup: InlineKeyboardMarkup | None) -> Message:
        with outbox_errors(notice.person_id, 2.0 ** min(notice.attempts, 8)):
            return await self.bot.send_message(chat_id, text, reply_markup=markup)
