"""Updates run concurrently, but in order where order matters.

A busy morning brings many people's replies at once; handled one by one, each waits for the
database and Telegram in turn. Here updates run side by side (up to `max_concurrent`),
except that updates with the same key run one after another, in arrival order:

- a person's commands, typed text and button presses in one chat share a key (the /new
  flow and the questions the bot asks depend on their order);
- a reply to a message is keyed by the message replied to as well: replies to different
  cards are reports on different matters and need not wait for each other; replies to the
  same card keep their order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def update_key(update: object) -> Hashable:
    if not isinstance(update, Update):
        return ("other",)
    chat = update.effective_chat
    user = update.effective_user
    key = (chat.id if chat else None, user.id if user else None)
    msg = update.message
    if msg is not None and msg.reply_to_message is not None:
        return (*key, msg.reply_to_message.message_id)
    return key


class KeyedUpdateProcessor(BaseUpdateProcessor):
    __slots__ = ("_tails",)

    def __init__(self, max_concurrent: int) -> None:
        super().__init__(max_concurrent)
        # key → the last update's completion, which the next update with that key awaits
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        before = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        try:
            if before is not None and not before.done():
                try:
                    await asyncio.shield(before)
                except BaseException:
                    if asyncio.iscoroutine(coroutine):
                        coroutine.close()  # cancelled while waiting its turn
                    raise
            await coroutine
        finally:
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
