"""Live cards (issue 13) and the one delivery port (issue 12), end to end through the
sandbox: every earlier card of a matter follows its changes in place; bulletins and the
public channel go out through the outbox and its retries."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.bulletin_jobs import delivery, post_bulletin
from bot.config import Config
from bot.config_sections import BulletinSpec
from bot.harness import Harness, running_bot
from handlers.public import sync_channel
from ledger.bulletins import BulletinKind
from ledger.clock import FixedClock
from ledger.model import MatterStatus
from ledger.usecases.accountability import urge
from ledger.usecases.closing import request_completion
from ledger.usecases.deadlines import confirm_extension, request_extension, sign
from storage.tables import outbox
from tests.bot_e2e import START, Msg, bot, buttons, find, matter, quick_matter, say, tap, text
from tests.dbs import url_for


def current(messages: list[Msg], message_id: int) -> Msg:
    """The message with this id as it reads now (edits applied)."""
    for m in messages:
        if m["message_id"] == message_id:
            return m
    raise AssertionError(f"message {message_id} is gone")


class Cards:
    """The earlier cards of matter 1: the responsible person's 交办通知 and /show card in
    private, and the office's /show card in the office group."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.resp = h.people["town_resp"]
        self.admin = h.people["admin"]

    async def show(self) -> None:
        h = self.h
        self.notice_id = find(self.resp.inbox(), "交办通知")["message_id"]
        self.private_id = (await say(h, self.resp, "/show 1"))["message_id"]
        self.group_id = (await say(h, self.admin, "/show 1", chat=h.office_group))["message_id"]

    def now(self) -> tuple[Msg, Msg, Msg]:
        inbox = self.resp.inbox()
        return (current(inbox, self.notice_id), current(inbox, self.private_id),
                current(self.h.office_group.messages(), self.group_id))

    async def match_fresh(self) -> tuple[Msg, Msg, Msg]:
        """Each earlier card reads as a fresh /show for its viewer, with the same buttons,
        edited in place (same message_id)."""
        h = self.h
        notice, private, group = self.now()
        fresh_resp = await say(h, self.resp, "/show 1")
        fresh_group = await say(h, self.admin, "/show 1", chat=h.office_group)
        assert text(private) == text(fresh_resp)
        assert buttons(private) == buttons(fresh_resp) == buttons(notice)
        assert text(fresh_resp) in text(notice) and "交办通知" in text(notice)
        assert text(group) == text(fresh_group) and buttons(group) == buttons(fresh_group)
        for m in (notice, private, group):
            assert m.get("edit_date"), "edited in place"
        return notice, private, group


async def test_cards_follow_an_approved_extension(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        mid = m.id or 0
        cards = Cards(h)
        await cards.show()
        await request_extension(h.deps.uow(), h.clock, h.ids["town_handler"], mid, 1,
                                    "拆迁协商未完成", date(2026, 12, 20))
        await h.settle()
        _, private, _ = cards.now()
        assert "待第一责任人确认" in text(private)
        await confirm_extension(h.deps.uow(), h.clock, h.ids["town_principal"], mid, 1)
        await h.settle()
        _, private, group = cards.now()
        assert "待督查室审批" in text(private) and "👍 同意延期" in buttons(group)
        feed = find(h.office_group.messages(), "申请延期至")
        await tap(h, cards.admin, feed, "👍 同意延期")
        notice, private, group = await cards.match_fresh()
        for card in (notice, private, group):
            assert "时限 2026年12月20日" in text(card)
            assert "待第一责任人确认" not in text(card) and "延期申请" not in text(card)
        assert "👍 同意延期" not in buttons(group)
        # the feed line that asked for the decision no longer offers it
        assert "👍 同意延期" not in buttons(current(h.office_group.messages(),
                                                   feed["message_id"]))


async def test_cards_follow_a_return_and_a_close(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        mid = m.id or 0
        cards = Cards(h)
        await cards.show()
        await request_completion(h.deps.uow(), h.clock, h.ids["town_resp"], mid, None,
                                     "三个小区已全部完工")
        await h.settle()
        _, private, group = cards.now()
        assert "三个小区已全部完工" in text(private)
        assert "✅ 销号" in buttons(group) and "↩️ 退回" in buttons(group)
        assert "已退回" in text(await say(h, cards.admin, "/return 1 缺少现场照片"))
        await h.settle()
        notice, private, group = await cards.match_fresh()
        assert "✅ 销号" not in buttons(group) and "↩️ 退回" not in buttons(group)
        assert "✅ 申请办结" in buttons(private)

        await request_completion(h.deps.uow(), h.clock, h.ids["town_resp"], mid, None,
                                     "补了现场照片")
        await h.settle()
        feed = find(h.office_group.messages(), "补了现场照片")
        await tap(h, cards.admin, feed, "✅ 销号")
        assert (await matter(h, mid)).status == MatterStatus.CLOSED
        notice, private, group = await cards.match_fresh()
        for card in (notice, private, group):
            assert "已销号" in text(card)
            assert not {"✅ 申请办结", "⏳ 申请延期", "✅ 销号", "↩️ 退回"} & set(buttons(card))


async def test_a_deleted_card_is_dropped_and_an_unchanged_one_is_quiet(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        mid = m.id or 0
        resp = h.people["town_resp"]
        shown = await say(h, resp, "/show 1")
        await resp.delete(shown)
        await urge(h.deps.uow(), h.clock, h.deps.cal, h.ids["admin"], mid, None,
                       note="请加快进度")
        await h.settle()
        async with h.deps.uow() as uow:
            assert await uow.cards.get(resp.id, shown["message_id"]) is None
            live = await uow.cards.for_matter(mid)
        assert live, "the other cards are still recorded"
        rows = await _outbox(h, "card_edit")
        assert rows and all(r["status"] in ("sent", "cancelled") for r in rows)
        assert any(r["chat_id"] == resp.id and r["payload"]["message_id"] == shown["message_id"]
                   and r["status"] == "sent" and r["last_error"] is None for r in rows)

        # A redraw to what the card shows already: Telegram says "not modified"; quiet.
        notice = find(resp.inbox(), "交办通知")
        before = dict(notice)
        async with h.deps.uow() as uow:
            card = await uow.cards.get(resp.id, notice["message_id"])
            assert card is not None
            await uow.cards.record(replace(card, digest=None))  # not known: ask Telegram
            assert await uow.cards.redraw(mid, h.clock.now(),
                                          (resp.id, notice["message_id"]), tag="again") == 1
            await uow.commit()
        calls = len(h.server.calls_to("editMessageText", ok=False))
        await h.settle()
        assert len(h.server.calls_to("editMessageText", ok=False)) == calls + 1
        assert current(resp.inbox(), notice["message_id"]) == before
        async with h.deps.uow() as uow:
            kept = await uow.cards.get(resp.id, notice["message_id"])
        assert kept is not None and kept.digest is not None
        again = [r for r in await _outbox(h, "card_edit") if r["key"].endswith(":again")]
        assert [r["status"] for r in again] == ["sent"]


async def test_superseded_card_edits_collapse(tmp_path: Path) -> None:
    """Two changes before the dispatcher runs: one edit of each card goes out."""
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        mid = m.id or 0
        resp = h.people["town_resp"]
        shown = await say(h, resp, "/show 1")
        service = h.app.bot_data.reminders
        assert service is not None
        # The dispatcher sends nothing meanwhile (as between two of its runs); the harness
        # delivers below. Not by holding the dispatch lock: the use cases' writes queue
        # behind units of work that may be waiting for it.
        service.stopping.set()
        try:
            await sign(h.deps.uow(), h.clock, h.ids["town_resp"], mid, 1, date(2026, 12, 4))
            await urge(h.deps.uow(), h.clock, h.deps.cal, h.ids["admin"], mid, None,
                       note="请加快")
        finally:
            service.stopping.clear()
        await h.settle()
        rows = [r for r in await _outbox(h, "card_edit")
                if r["chat_id"] == resp.id and r["payload"]["message_id"] == shown["message_id"]]
        assert sorted(r["status"] for r in rows) == ["cancelled", "sent"]
        card = current(resp.inbox(), shown["message_id"])
        assert "已催办1次" in text(card) and "✍️ 签收" not in buttons(card)


async def _outbox(h: Harness, kind: str) -> list[dict[str, Any]]:
    async with h.deps.uow() as uow:
        conn = uow.connection  # type: ignore[attr-defined]
        rows = await conn.execute(outbox.select().where(outbox.c.kind == kind)
                                  .order_by(outbox.c.id))
        return [dict(r._mapping) for r in rows]


async def test_a_bulletin_send_that_fails_is_retried_by_the_outbox_and_posted_once(
        tmp_path: Path) -> None:
    # No rate limiter: the outbox itself meets the 429 and the network failure.
    async with running_bot(tmp_path, clock=FixedClock(START), rate_limited=False,
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        await quick_matter(h)
        group = h.office_group
        spec = BulletinSpec(BulletinKind.REGULAR, "0 9 * * mon", chats=(group.id,))
        h.server.inject_fault("429", method="sendPhoto", retry_after=7)
        h.server.inject_fault("5xx", method="sendDocument")
        posted = await post_bulletin(h.deps, spec)
        await h.settle()
        assert (await delivery(h.deps, posted)).pending == [group.id]
        for _ in range(3):   # the outbox's backoff: 7 s as told, then the network's
            h.clock.advance(timedelta(seconds=30))
            await h.settle()
        assert (await delivery(h.deps, posted)).sent == [group.id]
        sent = h.server.sent_messages(group)
        heads = [m.text for m in sent if m.text and m.text.startswith("📋 《督察》")]
        assert len(heads) == 1
        assert len([m for m in sent if m.photo]) == 1
        assert [m.document["file_name"] for m in sent if m.document] == ["督察2026年第1期.docx"]
        # the job again: nothing more
        again = await post_bulletin(h.deps, spec)
        await h.settle()
        assert again.skipped == [group.id] and again.queued == []
        assert len(h.server.sent_messages(group)) == len(sent)


async def test_a_channel_post_that_fails_is_retried(tmp_path: Path) -> None:
    config = Config(public_channel_id="@shixian_gongshi")
    async with running_bot(tmp_path, clock=FixedClock(START), config=config,
                           rate_limited=False,
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        channel = h.server.channel("示例县督查事项公示", username="shixian_gongshi")
        # Refused before the matter exists: the sync the registration kicks meets the 429.
        h.server.inject_fault("429", method="sendMessage", chat_id=channel.id, retry_after=5)
        public = await quick_matter(h, "城区道路维修 | 县住建局 | 默认")
        await sync_channel(h.deps, h.app.bot_data.channel)  # queued (if the kick did not)
        await h.settle()
        assert channel.messages() == []
        h.clock.advance(timedelta(seconds=10))
        await h.settle()
        posts = channel.messages()
        assert len(posts) == 1 and public.number in text(posts[0])
        async with h.deps.uow() as uow:
            post = await uow.posts.get(public.id or 0)
        assert post is not None and post.message_id == posts[0]["message_id"]
