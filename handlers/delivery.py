"""The chat layer's delivery adapter: the one place the bot sends on its own.

The outbox dispatcher (reminders.outbox) hands a `Notice` to a `NoticeSender`; here it is
rendered (handlers.notices.compose_notice: one place for a notice's text), sent through the
Bot API (paced by handlers.ratelimit.TelegramRateLimiter), and Telegram's refusals are
mapped to what the outbox acts on (`outbox_errors`: RetryLater / Unreachable). Scheduled
bulletins and the public channel use the same mapping and the same rate limiter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from handlers.cards import button
from handlers.common import fit
from handlers.deps import Deps
from handlers.downloads import FileFetcher
from handlers.notice_docs import DOCUMENT_KINDS, NoticeDocument, compose_document
from handlers.notices import RECEIPT_CARRIERS, compose_notice
from handlers.ratelimit import retry_seconds
from ledger.errors import NotFound
from ledger.model import Person
from ledger.ports import MessageRef, Notice, UnitOfWorkFactory
from ledger.usecases import people as services  # mark_reachable
from ledger.usecases.turnover import may_receive
from reminders import kinds
from reminders.outbox import RetryLater, Unreachable


@contextlib.contextmanager
def outbox_errors(person_id: int | None, network_retry_s: float) -> Iterator[None]:
    """Telegram's refusals as the outbox acts on them: wait as told (429), give up on this
    person (blocked, chat gone), try again later (network)."""
    try:
        yield
    except RetryAfter as e:
        raise RetryLater(retry_seconds(e), "429 Too Many Requests") from e
    except Forbidden as e:
        raise Unreachable(person_id, e.message) from e
    except BadRequest as e:
        if "chat not found" in e.message.lower():
            raise Unreachable(person_id, e.message) from e
        raise
    except (TimedOut, NetworkError) as e:
        raise RetryLater(network_retry_s, f"network: {e}") from e


class SendRefused(Exception):
    """A scheduled post (bulletin, channel) Telegram refused; `retry`: worth trying at the
    next run (429, network) rather than a chat that refuses (blocked, gone, bad request)."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


@contextlib.contextmanager
def scheduled_errors() -> Iterator[None]:
    """The outbox's reading of Telegram's refusals (`outbox_errors`) for the posts that keep
    their own record of what went out (bulletins: `delivered`; the channel: `public_posts`)
    and so are retried at their next run, not by the outbox."""
    try:
        with outbox_errors(None, 0.0):
            yield
    except RetryLater as e:
        raise SendRefused(str(e), retry=True) from e
    except Unreachable as e:
        raise SendRefused(str(e), retry=False) from e
    except TelegramError as e:
        raise SendRefused(str(e), retry=False) from e


async def send_bulletin(bot: Bot, chat_id: int, texts: Sequence[str], chart_png: bytes,
                        chart_caption: str, docx: bytes, docx_name: str, docx_caption: str,
                        docx_markup: InlineKeyboardMarkup | None = None) -> Message:
    """One bulletin to one chat: the text (already split at 4096), the chart, the .docx
    (with `docx_markup`, e.g. 「已阅」, in a group); returns the .docx's message."""
    with scheduled_errors():
        for text in texts:
            await bot.send_message(chat_id, text)
        await bot.send_photo(chat_id, chart_png, caption=chart_caption)
        return await bot.send_document(chat_id, docx, filename=docx_name,
                                       caption=docx_caption, reply_markup=docx_markup)


async def post_or_edit(bot: Bot, channel: int | str, text: str,
                       post: tuple[int, int] | None) -> tuple[int, int]:
    """A channel post: new (post None) or edited in place; returns (chat_id, message_id).
    An edit to the same text is no error."""
    with scheduled_errors():
        if post is None:
            msg = await bot.send_message(channel, text)
            return msg.chat_id, msg.message_id
        try:
            await bot.edit_message_text(text, chat_id=post[0], message_id=post[1])
        except BadRequest as e:
            if "not modified" not in e.message.lower():
                raise
        return post


class TelegramSender:
    def __init__(self, bot: Bot, deps: Deps) -> None:
        self.bot = bot
        self.deps = deps

    async def send(self, notice: Notice) -> None:
        if notice.kind == kinds.DOWNLOAD:  # evidence into the file store: nobody is messaged
            await FileFetcher(self.bot, self.deps).fetch(notice)
            return
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
            if notice.kind not in DOCUMENT_KINDS:
                text, markup = await compose_notice(self.deps, uow, notice, viewer)
        if notice.kind in DOCUMENT_KINDS:  # built after the unit of work, in a thread
            message = await self._post_document(notice, chat_id,
                                                await compose_document(self.deps, notice))
        else:
            message = await self._post(notice, chat_id, text, markup)
        receipt_id = notice.payload.get("receipt_id")
        carries = notice.kind in RECEIPT_CARRIERS and isinstance(receipt_id, int)
        if notice.matter_id is not None or carries:
            async with self.deps.uow() as uow:
                if notice.matter_id is not None:
                    await uow.chats.remember(MessageRef(message.chat_id, message.message_id,
                                                        notice.matter_id, notice.assignment_no))
                if carries:  # where the 「已阅」 button went (receipt_readers / receipts)
                    assert isinstance(receipt_id, int)
                    await uow.receipts.posted(receipt_id, message.chat_id, message.message_id,
                                              notice.person_id)
                await uow.commit()
        if viewer is not None and not viewer.reachable:
            await services.mark_reachable(self.deps.uow(), self.deps.clock, viewer.id)

    async def send_digest(self, notices: Sequence[Notice]) -> None:
        """Progress lines waiting for one group, as one message with a 查看 button per
        matter (not remembered: a reply to it is about no single matter)."""
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

    async def _post_document(self, notice: Notice, chat_id: int, doc: NoticeDocument,
                             ) -> Message:
        with outbox_errors(notice.person_id, 2.0 ** min(notice.attempts, 8)):
            return await self.bot.send_document(chat_id, doc.data, filename=doc.filename,
                                                caption=doc.caption, reply_markup=doc.markup)


class PlainSender:
    """Sends "[key] kind" to the person's private chat (or the group)."""

    def __init__(self, bot: Bot, uow: UnitOfWorkFactory) -> None:
        self.bot = bot
        self.uow = uow
        self._chats: dict[int, int | None] = {}

    async def _chat(self, notice: Notice) -> int:
        if notice.person_id is None:
            if notice.chat_id is None:
                raise Unreachable(None, "notice has no recipient")
            return notice.chat_id
        pid = notice.person_id
        if pid not in self._chats:
            async with self.uow() as u:
                try:
                    self._chats[pid] = (await u.people.get_person(pid)).telegram_id
                except NotFound:
                    self._chats[pid] = None
        chat = self._chats[pid]
        if chat is None:
            raise Unreachable(pid, "未绑定 Telegram")
        return chat

    async def send(self, notice: Notice) -> None:
        chat_id = await self._chat(notice)
        with outbox_errors(notice.person_id, min(30.0, 0.5 * 2.0 ** min(notice.attempts, 6))):
            await self.bot.send_message(chat_id, f"[{notice.key}] {notice.kind}")
