"""The chat layer's delivery adapter: the one place the bot sends on its own.

The outbox dispatcher (reminders.outbox) hands a `Notice` to a `NoticeSender`; here it is
rendered (handlers.notices.compose_notice: one place for a notice's text), sent through the
Bot API (paced by handlers.ratelimit.TelegramRateLimiter), and Telegram's refusals are
mapped to what the outbox acts on (`outbox_errors`: RetryLater / Unreachable). The outbox's
backoff is the only retry policy for everything the bot sends on its own: besides notices,
three kinds carry ids only and are rendered here when they go out (reminders.kinds):

- `card_edit`: one live card redrawn in place (handlers.livecards);
- `channel_post`: a matter's post in the public channel, new or edited (handlers.public);
- `bulletin`: a published issue to one chat, rebuilt from its record (text, chart, .docx;
  the rendering in a thread), each part sent once across retries.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from handlers import livecards
from handlers.cards import button
from handlers.common import fit
from handlers.deps import Deps
from handlers.downloads import FileFetcher
from handlers.notice_docs import DOCUMENT_KINDS, NoticeDocument, compose_document
from handlers.notices import RECEIPT_CARRIERS, compose_notice
from handlers.public import digest, post_text, record_post
from handlers.ratelimit import outbox_send, retry_seconds
from handlers.receipts import read_markup
from ledger import queries
from ledger.bulletins import Bulletin, BulletinKind, Period
from ledger.errors import NotFound
from ledger.model import Person
from ledger.ports import BulletinRecord, LiveCard, MessageRef, Notice, UnitOfWorkFactory
from ledger.usecases import people as services  # mark_reachable
from ledger.usecases.turnover import may_receive
from reminders import kinds
from reminders.outbox import RetryLater, Unreachable
from reports.bulletin import BulletinFiles, build_bulletin, render_files
from settings.offices import public_channel


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


def _retry_s(notice: Notice) -> float:
    return 2.0 ** min(notice.attempts, 8)


class TelegramSender:
    def __init__(self, bot: Bot, deps: Deps) -> None:
        self.bot = bot
        self.deps = deps

    async def send(self, notice: Notice) -> None:
        with outbox_send():  # a 429 is the outbox's to retry, not the rate limiter's
            if notice.kind == kinds.DOWNLOAD:  # evidence into the file store: nobody messaged
                await FileFetcher(self.bot, self.deps).fetch(notice)
            elif notice.kind == kinds.CARD_EDIT:
                await self._edit_card(notice)
            elif notice.kind == kinds.CHANNEL_POST:
                await self._channel_post(notice)
            elif notice.kind == kinds.BULLETIN:
                await self._bulletin(notice)
            else:
                await self._notice(notice)

    async def _notice(self, notice: Notice) -> None:
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
            text: str | None = None
            markup: InlineKeyboardMarkup | None = None
            if notice.kind not in DOCUMENT_KINDS:
                text, markup = await compose_notice(self.deps, uow, notice, viewer)
        if notice.kind in DOCUMENT_KINDS:  # built after the unit of work, in a thread
            message = await self._post_document(notice, chat_id,
                                                await compose_document(self.deps, notice))
        else:
            assert text is not None
            message = await self._post(notice, chat_id, text, markup)
        receipt_id = notice.payload.get("receipt_id")
        carries = notice.kind in RECEIPT_CARRIERS and isinstance(receipt_id, int)
        if notice.matter_id is not None or carries:
            live = (livecards.notice_layout(notice, viewer, markup)
                    if notice.matter_id is not None and notice.kind not in DOCUMENT_KINDS
                    else None)
            async with self.deps.uow() as uow:
                if notice.matter_id is not None:
                    await uow.chats.remember(MessageRef(message.chat_id, message.message_id,
                                                        notice.matter_id, notice.assignment_no))
                if live is not None and notice.matter_id is not None:
                    # it follows the matter from now on
                    layout, kind, files = live
                    await uow.cards.record(LiveCard(
                        message.chat_id, message.message_id, notice.matter_id, layout,
                        self.deps.clock.now(), viewer.id if viewer is not None else None,
                        kind, files, livecards.digest(text if layout in (
                            livecards.CARD, livecards.ASSIGNMENT) else None, markup)),
                        keep=livecards.keep(layout))
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
        with outbox_errors(notice.person_id, _retry_s(notice)):
            return await self.bot.send_message(chat_id, text, reply_markup=markup)

    async def _post_document(self, notice: Notice, chat_id: int, doc: NoticeDocument,
                             ) -> Message:
        with outbox_errors(notice.person_id, _retry_s(notice)):
            return await self.bot.send_document(chat_id, doc.data, filename=doc.filename,
                                                caption=doc.caption, reply_markup=doc.markup)

    # ---- live cards

    async def _edit_card(self, notice: Notice) -> None:
        """Redraw one live card to what it should show now; quiet when it already does,
        and dropped from the record when Telegram will not edit it any more."""
        message_id = notice.payload.get("message_id")
        if notice.chat_id is None or not isinstance(message_id, int) or notice.matter_id is None:
            return
        chat_id, deps = notice.chat_id, self.deps
        async with deps.uow() as uow:
            card = await uow.cards.get(chat_id, message_id)
            m = await queries.matter_or_none(uow, notice.matter_id)
            if card is None or m is None:
                return  # dropped since, or the matter is gone: nothing to redraw
            text, markup = await livecards.render_card(deps, uow, card, m)
        shows = livecards.digest(text, markup)
        if shows == card.digest:
            return  # it shows this already: no call
        try:
            with outbox_errors(None, _retry_s(notice)):
                if text is None:
                    await self.bot.edit_message_reply_markup(chat_id, message_id,
                                                             reply_markup=markup)
                else:
                    await self.bot.edit_message_text(text, chat_id=chat_id,
                                                     message_id=message_id,
                                                     reply_markup=markup)
        except BadRequest as e:
            reason = e.message.lower()
            if "not modified" not in reason:
                if not any(words in reason for words in livecards.GONE):
                    raise
                await self._drop(card)  # deleted, or too old to edit
                return
        except Unreachable:
            await self._drop(card)  # blocked the bot, or the chat is gone
            return
        async with deps.uow() as uow:
            await uow.cards.shown(chat_id, message_id, shows)
            await uow.commit()

    async def _drop(self, card: LiveCard) -> None:
        async with self.deps.uow() as uow:
            await uow.cards.drop(card.chat_id, card.message_id)
            await uow.commit()

    # ---- the public channel

    async def _channel_post(self, notice: Notice) -> None:
        """A matter's post in its office's public channel, new or edited in place;
        `public_posts` keeps what went out."""
        if notice.matter_id is None:
            return
        async with self.deps.uow() as uow:
            m = await queries.matter_or_none(uow, notice.matter_id)
            if m is None:
                return
            # Its own office's channel only (settings.offices); none: nothing to post.
            channel = public_channel(self.deps.config, await uow.people.offices(), m.office_id)
            if channel is None:
                return
            post = await uow.posts.get(notice.matter_id)
            text = await post_text(self.deps, uow, m, post)
        if text is None or (post is not None and post.digest == digest(text)):
            return  # nothing to show, or it shows this already
        with outbox_errors(None, _retry_s(notice)):
            chat_id, message_id = await self._post_or_edit(
                channel, text, None if post is None else (post.chat_id, post.message_id))
        async with self.deps.uow() as uow:
            await uow.posts.put(record_post(post, notice.matter_id, chat_id, message_id, text,
                                            self.deps))
            await uow.commit()

    async def _post_or_edit(self, channel: int | str, text: str,
                            post: tuple[int, int] | None) -> tuple[int, int]:
        if post is not None:
            try:
                await self.bot.edit_message_text(text, chat_id=post[0], message_id=post[1])
                return post
            except BadRequest as e:
                reason = e.message.lower()
                if "not modified" in reason:
                    return post
                if not any(words in reason for words in livecards.GONE):
                    raise
                # Deleted from the channel by hand: post it again.
        msg = await self.bot.send_message(channel, text)
        return msg.chat_id, msg.message_id

    # ---- bulletins

    async def _bulletin(self, notice: Notice) -> None:
        """One issue to one chat: its text (split at 4096), the chart, the .docx, rebuilt
        from the issue's record. Each part is noted as it goes, so a retry after 429 or a
        network failure sends only what is missing; `bulletins.delivered` says it is done."""
        deps = self.deps
        bulletin_id = notice.payload.get("bulletin_id")
        chat_id = notice.chat_id
        if not isinstance(bulletin_id, int) or chat_id is None:
            raise Unreachable(None, "bulletin notice without an issue or a chat")
        async with deps.uow() as uow:
            record = next((r for r in await uow.bulletins.list(notice.office_id)
                           if r.id == bulletin_id), None)
        if record is None:
            raise Unreachable(None, f"no bulletin {bulletin_id}")
        if chat_id in record.delivered:
            return  # posted already (a second process, or a replay)
        recipients = str(notice.payload.get("recipients") or "各乡镇，县直各部门")
        b, files = await self._bulletin_files(record, recipients)
        parts: list[tuple[str, object]] = [("text", t) for t in files.texts]
        parts += [("chart", files.chart_png), ("docx", files.docx)]
        receipt = notice.payload.get("receipt_id")  # in a bound group: 「已阅」 on the .docx
        receipt_id = receipt if isinstance(receipt, int) else None
        done = notice.payload.get("done", 0)
        done = done if isinstance(done, int) else 0
        assert notice.id is not None
        for i in range(done, len(parts)):
            kind, body = parts[i]
            with outbox_errors(None, _retry_s(notice)):
                if kind == "text":
                    await self.bot.send_message(chat_id, str(body))
                elif kind == "chart":
                    await self.bot.send_photo(chat_id, files.chart_png,
                                              caption=f"{b.name}　各单位按时办结与超期情况")
                else:
                    message = await self.bot.send_document(
                        chat_id, InputFile(io.BytesIO(files.docx), filename=files.docx_name),
                        caption=f"{b.name}（{b.doc_number}）",
                        reply_markup=read_markup(deps, receipt_id) if receipt_id else None)
            async with deps.uow() as uow:
                if kind == "docx" and receipt_id:  # where its 「已阅」 button went
                    await uow.receipts.posted(receipt_id, message.chat_id, message.message_id)
                if i + 1 < len(parts):
                    await uow.outbox.note(notice.id, {**notice.payload, "done": i + 1})
                else:
                    await uow.bulletins.mark_delivered(bulletin_id, chat_id)
                await uow.commit()

    async def _bulletin_files(self, record: BulletinRecord, recipients: str,
                              ) -> tuple[Bulletin, BulletinFiles]:
        deps = self.deps
        period = Period(record.period_start, record.period_end)
        b = await build_bulletin(deps.uow(), deps.clock, deps.cal, record.office_id,
                                 BulletinKind(record.kind), period, number=record.number,
                                 policy=deps.light_policy)
        return b, await render_files(b, deps.cal, recipients=recipients)


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
        with outbox_send(), outbox_errors(notice.person_id,
                                          min(30.0, 0.5 * 2.0 ** min(notice.attempts, 6))):
            await self.bot.send_message(chat_id, f"[{notice.key}] {notice.kind}")
