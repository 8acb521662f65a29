"""Formal notices as documents (交办通知单, 催办通知单) and 已阅 receipts, through the
sandbox as people on their phones see them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx

from bot.bulletin_jobs import delivery, post_bulletin
from handlers.delivery import TelegramSender
from ledger.bulletins import BulletinKind
from ledger.clock import FixedClock
from ledger.ports import GroupChat
from ledger.usecases.reading import history
from reminders.scheduler import ReminderService, Settings
from settings import BulletinSpec
from tests.bot_e2e import Msg, bot, buttons, forge, quick_matter, say, tap, text


def documents(person: Any, needle: str) -> list[Msg]:
    return [m for m in person.inbox() if m.get("document") and needle in text(m)]


def docx_text(h: Any, msg: Msg) -> str:
    """The document as the person downloads it, opened with python-docx."""
    record = h.server.world.files[msg["document"]["file_id"]]
    d = docx.Document(io.BytesIO(record.data))
    return "\n".join(p.text for p in d.paragraphs)


async def test_assignment_sends_the_notice_document_to_responsible_and_principal(
        tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        for key in ("town_resp", "town_principal", "dept_resp", "dept_principal"):
            docs = documents(h.people[key], "交办通知单")
            assert len(docs) == 1, key  # the principal once, not once per message
            assert docs[0]["document"]["file_name"].endswith(".docx")
            body = docx_text(h, docs[0])
            assert m.number in body and "老旧小区改造" in body
            # beside the card: the document, then the card with its buttons, last
            inbox = h.people[key].inbox()
            card = next(i for i, x in enumerate(inbox) if m.number in text(x)
                        and not x.get("document"))
            assert inbox.index(docs[0]) < card
        town_doc = docx_text(h, documents(h.people["town_resp"], "交办通知单")[0])
        assert "城关镇：" in town_doc  # addressed to the unit
        assert not documents(h.people["town_handler"], "交办通知单")  # the handler: the card


async def test_urge_sends_the_urging_notice_and_a_receipt_leaves_unread(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        assert m.id is not None
        admin, resp, principal = (h.people["admin"], h.people["town_resp"],
                                  h.people["town_principal"])
        none = await say(h, admin, "/unread")
        assert "没有未阅的通知" in text(none)
        await say(h, admin, f"/urge {m.short_id} 请加快进度")
        doc = documents(resp, "催办通知单")[-1]
        assert "✅ 已阅" in buttons(doc)
        body = docx_text(h, doc)
        assert m.number in body and "第1次催办" in body
        assert documents(principal, "催办通知单")
        listing = text(await say(h, admin, "/unread"))
        assert m.number in listing and "钱副镇长" in listing and "赵镇长" in listing
        answer = await tap(h, resp, doc, "✅ 已阅")
        assert answer is not None and "已记录：您已阅" in answer.text
        again = await tap(h, resp, doc, "✅ 已阅")
        assert again is not None and "无需再点" in again.text
        listing = text(await say(h, admin, "/unread"))
        assert "钱副镇长" not in listing and "赵镇长" in listing
        await tap(h, principal, documents(principal, "催办通知单")[-1], "✅ 已阅")
        assert "没有未阅的通知" in text(await say(h, admin, "/unread"))
        shown = text(await say(h, admin, f"/history {m.short_id}"))
        assert "钱副镇长：已阅" in shown and "《催办通知单》" in shown
        kinds = [e.kind for e in await history(h.deps.uow(), h.ids["admin"], m.id)]
        assert kinds.count("receipt_read") == 2  # the second press is no new event


async def test_unread_is_for_the_office_only(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        refused = await say(h, h.people["town_resp"], "/unread")
        assert "只有督查室可以查看未阅情况" in text(refused)
        stranger = await say(h, h.people["stranger"], "/unread")
        assert "还没有绑定身份" in text(stranger)


async def test_read_button_error_paths(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        admin, resp = h.people["admin"], h.people["town_resp"]
        await say(h, admin, f"/urge {m.short_id}")
        doc = documents(resp, "催办通知单")[-1]
        unknown = await forge(h, resp, doc, "rd:999999")
        assert unknown is not None and "已失效" in unknown.text
        garbled = await forge(h, resp, doc, "rd:abc")
        assert garbled is not None and "按钮无效或已过期" in garbled.text
        stranger = await forge(h, h.people["stranger"], doc, "rd:1")
        assert stranger is not None and "还没有绑定身份" in stranger.text
        assert resp.first_name in text(await say(h, admin, "/unread"))  # nothing recorded


async def test_unread_are_reminded_after_two_working_hours_then_the_principal(
        tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        assert isinstance(h.clock, FixedClock)
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        admin, resp, principal = (h.people["admin"], h.people["town_resp"],
                                  h.people["town_principal"])
        await say(h, admin, f"/urge {m.short_id}")  # Monday 09:00
        await tap(h, principal, documents(principal, "催办通知单")[-1], "✅ 已阅")
        h.clock.set(datetime(2026, 11, 23, 2, 59, tzinfo=UTC))  # 10:59: not yet
        await h.settle()
        assert not [x for x in resp.inbox() if "请阅读" in text(x)]
        h.clock.set(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 11:00: two working hours
        await h.settle()
        reminders = [x for x in resp.inbox() if "请阅读" in text(x)]
        assert len(reminders) == 1 and m.number in text(reminders[0])
        assert "✅ 已阅" in buttons(reminders[0])
        assert not [x for x in principal.inbox() if "请阅读" in text(x)]  # has read it
        # 11:00 + 1 h before lunch + 1 h after 14:00 = 15:00
        h.clock.set(datetime(2026, 11, 23, 6, 59, tzinfo=UTC))
        await h.settle()
        assert not [x for x in principal.inbox() if "本单位尚未阅读" in text(x)]
        h.clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
        await h.settle()
        told = [x for x in principal.inbox() if "本单位尚未阅读" in text(x)]
        assert len(told) == 1 and "钱副镇长" in text(told[0])


async def test_no_reminder_once_read(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        assert isinstance(h.clock, FixedClock)
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        admin, resp, principal = (h.people["admin"], h.people["town_resp"],
                                  h.people["town_principal"])
        await say(h, admin, f"/urge {m.short_id}")
        for p in (resp, principal):
            await tap(h, p, documents(p, "催办通知单")[-1], "✅ 已阅")
        h.clock.set(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # the next day
        await h.settle()
        for p in (resp, principal):
            assert not [x for x in p.inbox() if "请阅读" in text(x) or "本单位尚未" in text(x)]


async def test_automatic_urge_delivers_the_urging_notice(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        assert isinstance(h.clock, FixedClock)
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")  # deadline 12月7日
        resp, principal = h.people["town_resp"], h.people["town_principal"]
        # Thursday 12月10日 09:05: three working days overdue, the automatic 催办
        h.clock.set(datetime(2026, 12, 10, 1, 5, tzinfo=UTC))
        service = ReminderService(h.deps.uow, h.clock, h.deps.cal, h.deps.config.reminders,
                                  TelegramSender(h.app.bot, h.deps), Settings(limits=None))
        await service.tick(full=True)
        await h.settle()
        for person in (resp, principal):
            [doc] = documents(person, "催办通知单")
            body = docx_text(h, doc)
            assert m.number in body and "已超期3个工作日" in body and "第1次催办" in body
            assert "✅ 已阅" in buttons(doc)
        assert not documents(h.people["town_handler"], "催办通知单")
        listing = text(await say(h, h.people["admin"], "/unread"))
        assert m.number in listing and "钱副镇长" in listing


async def test_meeting_invitation_carries_a_receipt(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, dept, build = (h.people["admin"], h.people["dept_principal"],
                              h.people["build_principal"])
        await say(h, admin, "/meeting 研究工业园区用地问题 | 12月1日 15:00 | 县发改局,县住建局")
        invite = next(x for x in dept.inbox() if "联席会议邀请" in text(x))
        assert "✅ 已阅" in buttons(invite)
        listing = text(await say(h, admin, "/unread"))
        assert "研究工业园区用地问题" in listing and "周局长" in listing and "冯局长" in listing
        answer = await tap(h, dept, invite, "✅ 已阅")
        assert answer is not None and "已记录：您已阅" in answer.text
        listing = text(await say(h, admin, "/unread"))
        assert "周局长" not in listing and "冯局长" in listing
        await tap(h, build, next(x for x in build.inbox() if "联席会议邀请" in text(x)),
                  "✅ 已阅")
        assert "没有未阅的通知" in text(await say(h, admin, "/unread"))


async def test_bulletin_in_a_group_carries_a_receipt(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        admin, resp, principal = (h.people["admin"], h.people["town_resp"],
                                  h.people["town_principal"])
        town = h.server.group("城关镇督办群", members=[resp, principal,
                                                      h.people["town_handler"]])
        async with h.deps.uow() as u:
            await u.chats.bind(GroupChat(chat_id=town.id, office_id=h.county.office_id,
                                         unit_id=h.units["城关镇"], title="城关镇督办群",
                                         bound_by=h.ids["admin"], bound_at=h.clock.now()))
            await u.commit()
        spec = BulletinSpec(BulletinKind.REGULAR, "0 9 * * mon", chats=(town.id,),
                            period="current")
        posted = await post_bulletin(h.deps, spec, h.county.office_id)
        await h.settle()
        assert (await delivery(h.deps, posted)).sent == [town.id]
        doc = next(x for x in town.messages() if x.get("document"))
        assert "✅ 已阅" in buttons(doc)
        listing = text(await say(h, admin, "/unread"))
        assert "督查通报" in listing and "钱副镇长" in listing and "赵镇长" in listing
        assert "孙干事" not in listing  # the handler is not expected to read it
        answer = await tap(h, resp, doc, "✅ 已阅")
        assert answer is not None and "已记录：您已阅" in answer.text
        listing = text(await say(h, admin, "/unread"))
        assert "钱副镇长" not in listing and "赵镇长" in listing
        # a handler pressing it too is recorded, and changes nothing for the list
        await tap(h, h.people["town_handler"], doc, "✅ 已阅")
        assert "赵镇长" in text(await say(h, admin, "/unread"))


async def test_unread_in_the_office_group_hides_a_confidential_title(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h, "机密线索核查 | 城关镇 | 默认 | 机密")
        admin = h.people["admin"]
        await say(h, admin, f"/urge {m.short_id}")
        in_group = text(await say(h, admin, "/unread", chat=h.office_group))
        assert f"🔒 {m.number}" in in_group and "机密线索核查" not in in_group
        private = text(await say(h, admin, "/unread"))
        assert "机密线索核查" in private
