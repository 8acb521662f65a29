"""One message that tells how far a long job has come (「正在导出：12,000 / 100,000 行」),
sent once the job is big enough to wait for and edited at most every few seconds, so a
100k-row export costs a handful of Bot API calls, not one per batch."""

from __future__ import annotations

import asyncio
import logging

from telegram import Message
from telegram.error import TelegramError

from handlers.common import line
from handlers.deps import Deps

log = logging.getLogger(__name__)

EVERY_SECONDS = 3.0   # at most one edit this often
SHOW_FROM = 5000      # rows: a smaller job is done before anyone would wonder


class ChatProgress:
    """`await progress(done, total)` after each batch (reports.excel.Progress)."""

    def __init__(self, msg: Message, deps: Deps, verb: str, *,
                 every: float = EVERY_SECONDS, show_from: int = SHOW_FROM) -> None:
        self._msg, self._deps, self._verb = msg, deps, verb
        self._every, self._show_from = every, show_from
        self._sent: Message | None = None
        self._last = 0.0

    def _text(self, done: int, total: int | None) -> str:
        return line(self._deps, "progress", verb=self._verb, done=done, total=total)

    async def __call__(self, done: int, total: int | None = None) -> None:
        now = asyncio.get_running_loop().time()  # monotonic: pacing, not the ledger's time
        try:
            if self._sent is None:
                if (total if total is not None else done) < self._show_from:
                    return
                self._sent = await self._msg.reply_text(self._text(done, total),
                                                        do_quote=False)
            elif now - self._last >= self._every:
                await self._sent.edit_text(self._text(done, total))
            else:
                return
        except TelegramError as e:  # the job goes on; only the progress line is lost
            log.info("progress message not updated: %s", e)
        self._last = now

    async def finish(self) -> None:
        """The job is done: the progress line goes (the result follows)."""
        if self._sent is not None:
            try:
                await self._sent.delete()
            except TelegramError as e:
                log.info("progress message not deleted: %s", e)
