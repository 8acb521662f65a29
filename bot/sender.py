"""Delivers one outbox notice through the Bot API and remembers the message."""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.context import Deps
from ledger.errors import NotFound
from ledger.model import Person
from ledger.ports import MessageRef, Notice
from reminders.outbox import RetryLater, Unreachable
from reminders.ratelimit import retry_seconds


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
                if viewer.telegram_id is None:
                    raise Unreachable(viewer.id, "未绑定 Telegram")
                chat_id = viewer.telegram_id
            if chat_id is None:
                raise Unreachable(None, "notice has no recipient")
            text, markup = await compose_notice(self.deps, uow, notice, viewer)
        try:
            message = await self.bot.send_message(chat_id, text, reply_markup=markup)
        except RetryAfter as e:
            raise RetryLater(retry_seconds(e), "429 Too Many Requests") from e
        except Forbidden as e:
            raise Unreachable(notice.person_id, e.message) from e
        except BadRequest as e:
            if "chat not found" in e.message.lower():
                raise Unreachable(notice.person_id, e.message) from e
            raise
        except (TimedOut, NetworkError) as e:
            raise RetryLater(2.0 ** min(notice.attempts, 8), f"network: {e}") from e
        if notice.matter_id is not None:
            async with self.deps.uow() as uow:
                await uow.chats.remember(MessageRef(message.chat_id, message.message_id,
                                                    notice.matter_id, notice.assignment_no))
                await uow.commit()
        if viewer is not None and not viewer.reachable:
            from ledger import services
            await services.mark_reachable(self.deps.uow(), self.deps.clock, viewer.id)
