"""The turn of the year, through the sandbox: January of a year whose holidays nobody has
entered. Everything keeps working (provisionally, marked 暂定) until the office enters the
State Council's notice with /holidays; then the deadlines are counted again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from bot.harness import Harness, running_bot
from handlers.delivery import TelegramSender
from ledger.clock import FixedClock
from ledger.model import Assignment, Matter
from reminders.scheduler import ReminderService, Settings
from tests.bot_e2e import find, last, reply, say, tap, text

NOTICE = (Path(__file__).resolve().parent / "data" / "notice_2027.txt").read_bytes()
# Monday 2027-01-25, 09:00 in Shanghai; 2027 is neither built in nor entered.
JAN25 = datetime(2027, 1, 25, 1, 0, tzinfo=UTC)


async def _latest(h: Harness) -> Matter:
    async with h.deps.uow() as uow:
        seq = await uow.matters.next_seq(h.county.office_id, 2027) - 1
        return await uow.matters.find(h.county.office_id, 2027, seq)


async def test_january_of_an_unentered_year_then_holidays_entered(tmp_path: Path) -> None:
    clock = FixedClock(JAN25)
    async with running_bot(tmp_path, clock=clock) as h:
        admin, handler, resp = h.people["admin"], h.people["town_handler"], h.people["town_resp"]
        assert h.deps.cal.year_status(2027) == "provisional"

        # /holidays alone: this year's and next year's status, and how to enter it
        status = await say(h, admin, "/holidays")
        assert "2027年：暂定" in text(status) and "2028年：暂定" in text(status)
        assert "/holidays" in text(status) and ".txt" in text(status)
        refused = await say(h, handler, "/holidays")
        assert "督查室" in text(refused)

        # registration with the default deadline: 10 working days across 春节, provisionally
        # Jan 26-29, Feb 1-4 (8), 除夕 Feb 5 and 初三 Feb 8 off, Feb 9, Feb 10 (10)
        await say(h, admin, "/new 春节前后安全生产检查 | 城关镇 | 默认")
        m = await _latest(h)
        assert m.number.endswith("〔2027〕1号") and m.lead is not None
        assert m.lead.deadline == date(2027, 2, 10)
        card = find(handler.inbox(), "交办通知")
        assert "2027年2月10日（暂定）" in text(card) and "暂定" in text(card)

        # a progress reply reaches the office group
        await reply(h, handler, card, "已排查辖区企业12家")
        assert text(last(handler)).startswith("已记入台账")
        feed = [text(x) for x in h.office_group.messages() if "已排查辖区企业12家" in text(x)]
        assert len(feed) == 1

        # /mine counts working days (provisionally), never calendar days
        mine = await say(h, handler, "/mine")
        assert "春节前后安全生产检查" in text(mine) and "剩10个工作日（暂定）" in text(mine)
        shown = await say(h, admin, f"/show {m.short_id}")
        assert "剩10个工作日（暂定）" in text(shown)

        # a reminder is delivered: 3 working days before Feb 10 is Wed Feb 3
        clock.advance(datetime(2027, 2, 3, 1, 5, tzinfo=UTC) - clock.now())
        service = ReminderService(h.deps.uow, clock, h.deps.cal, h.deps.config.reminders,
                                  TelegramSender(h.app.bot, h.deps), Settings(limits=None))
        await service.tick(full=True)
        await h.settle()
        reminder = find(resp.inbox(), "时限临近")
        assert m.number in text(reminder) and "（暂定）" in text(reminder)

        # the office sends the State Council notice with the caption /holidays
        await admin.send_document(NOTICE, filename="国务院办公厅关于2027年部分节假日安排的通知.txt",
                                  caption="/holidays")
        await h.settle()
        preview = last(admin)
        assert "读到 2027 年节假日安排（国务院通知），现为暂定" in text(preview)
        assert "春节：2月5日至2月13日放假，共9天；2月14日（周日）、2月20日（周六）上班" in text(preview)
        assert h.deps.cal.year_status(2027) == "provisional"  # nothing stored before 确认
        answer = await tap(h, admin, preview, "✅ 确认录入")
        assert answer is not None and "已录入" in str(answer.text)
        assert h.deps.cal.year_status(2027) == "entered"
        done = find(admin.inbox(), "已录入 2027 年节假日安排")
        assert "重算了 1 项" in text(done)

        # the deadline is counted again: Jan 26-29, Feb 1-4 (8), Sun Feb 14 (9), Feb 15 (10)
        async with h.deps.uow() as uow:
            after = await uow.matters.get(m.id or 0)
            history = await uow.events.for_matter(m.id or 0)
        assert after.lead is not None and after.lead.deadline == date(2027, 2, 15)
        recount = [e for e in history if e.kind == "deadline_recounted"]
        assert len(recount) == 1 and recount[0].after["reason"] == "节假日安排录入"
        assert recount[0].before["deadline"] == "2027-02-10"
        for person in (handler, resp):
            told = find(person.inbox(), "办结时限按节假日安排调整")
            assert "由 2027年2月10日 调整为 2027年2月15日" in text(told)
        summary = find(admin.inbox(), "2027年节假日安排已录入")
        assert "重算了 1 项" in text(summary) and m.number in text(summary)
        shown = await say(h, admin, f"/show {m.short_id}")
        assert "2027年2月15日" in text(shown) and "暂定" not in text(shown)
        status = await say(h, admin, "/holidays")
        assert "2027年：已录入" in text(status)


async def test_a_bad_holidays_file_is_answered_in_chinese(tmp_path: Path) -> None:
    async with running_bot(tmp_path, clock=FixedClock(JAN25)) as h:
        admin = h.people["admin"]
        bad = NOTICE.decode().replace("2月14日（星期日）", "2月15日（星期一）").encode()
        await admin.send_document(bad, filename="通知.txt", caption="/holidays")
        await h.settle()
        answer = text(last(admin))
        assert answer.startswith("未录入") and "周六或周日" in answer
        assert "Error" not in answer and "Traceback" not in answer
        # replying /holidays to a file that is not an arrangement
        sent = await admin.send_document(b"just some bytes", filename="x.txt")
        await h.settle()
        await reply(h, admin, sent, "/holidays")
        answer = text(last(admin))
        assert "看不出这是节假日安排" in answer and "通知" in answer
        assert h.deps.cal.year_status(2027) == "provisional"
        # someone who is not the office cannot enter a year
        handler = h.people["town_handler"]
        await handler.send_document(NOTICE, filename="通知.txt", caption="/holidays")
        await h.settle()
        assert "督查室" in text(last(handler))


async def test_deadlines_typed_in_working_days_are_counted_again(tmp_path: Path) -> None:
    """/new with 「15个工作日」 (one line and the guided flow), 签收 with 「10个工作日」 and a
    typed date, through the bot: after /holidays the counted ones move, the date stays."""
    clock = FixedClock(JAN25)
    async with running_bot(tmp_path, clock=clock) as h:
        admin, handler, resp = h.people["admin"], h.people["town_handler"], h.people["town_resp"]
        # Jan 26-29, Feb 1-4 (8), 除夕 Feb 5 and 初三 Feb 8 off, Feb 9-12 (12), 15-17 (15)
        await say(h, admin, "/new 十五个工作日的检查 | 城关镇 | 15个工作日")
        typed = await _latest(h)
        assert typed.lead is not None and typed.lead.deadline == date(2027, 2, 17)
        assert "2027年2月17日（暂定）" in text(find(handler.inbox(), "十五个工作日的检查"))
        await say(h, admin, "/new 写明日期的检查 | 城关镇 | 12月5日")
        dated = await _latest(h)
        assert dated.lead is not None and dated.lead.deadline == date(2027, 12, 5)

        # the guided flow, 「15个工作日」 typed at step 5
        await say(h, admin, "/new")
        step = await say(h, admin, "分步登记的检查")
        await tap(h, admin, step, "县委县政府决策")
        await tap(h, admin, last(admin), "一般")
        await tap(h, admin, last(admin), "城关镇")
        await tap(h, admin, last(admin), "选好了")
        step = await say(h, admin, "15个工作日")
        await tap(h, admin, step, "不涉密")
        await tap(h, admin, last(admin), "✅ 确认")
        guided = await _latest(h)
        assert guided.title == "分步登记的检查" and guided.lead is not None
        assert guided.lead.deadline == date(2027, 2, 17)

        # 签收 with 「10个工作日」 on a matter whose deadline is a typed date
        await say(h, admin, "/new 签收时定时限的检查 | 城关镇 | 2027-03-01")
        signed = await _latest(h)
        card = find(handler.inbox(), "签收时定时限的检查")
        await tap(h, handler, card, "✍️ 签收")
        await reply(h, handler, last(handler), "10个工作日")
        assert "已签收" in text(last(handler)) and "2027年2月10日" in text(last(handler))

        await admin.send_document(NOTICE, filename="通知.txt", caption="/holidays")
        await h.settle()
        await tap(h, admin, last(admin), "✅ 确认录入")
        done = find(admin.inbox(), "已录入 2027 年节假日安排")
        assert "重算了 3 项" in text(done)

        # Sun Feb 14 and Sat Feb 20 are worked: 15 working days end on Feb 20, 10 on Feb 15
        assert [(await _lead(h, m)).deadline for m in (typed, guided, dated)] == [
            date(2027, 2, 20), date(2027, 2, 20), date(2027, 12, 5)]
        s = await _lead(h, signed)
        assert s.deadline == date(2027, 3, 1)
        assert s.committed_deadline == date(2027, 2, 15)
        for person in (handler, resp):
            told = [text(x) for x in person.inbox() if "办结时限按节假日安排调整" in text(x)]
            assert len(told) == 3
            assert any("十五个工作日的检查" in t and "由 2027年2月17日 调整为 2027年2月20日" in t
                       for t in told)
            assert any("签收时定时限的检查" in t and "由 2027年2月10日 调整为 2027年2月15日" in t
                       for t in told)
            assert not any("写明日期的检查" in t for t in told)
        summary = find(admin.inbox(), "2027年节假日安排已录入")
        assert typed.number in text(summary) and dated.number not in text(summary)
        shown = await say(h, admin, f"/show {signed.short_id}")
        assert "承诺时限 2027年2月15日" in text(shown) and "暂定" not in text(shown)
        story = await say(h, admin, f"/history {signed.short_id}")
        assert "按节假日安排重算时限" in text(story)
        assert "承诺 2027年2月10日 → 2027年2月15日" in text(story)


async def _lead(h: Harness, m: Matter) -> Assignment:
    """The matter's lead assignment as stored now."""
    async with h.deps.uow() as uow:
        lead = (await uow.matters.get(m.id or 0)).lead
    assert lead is not None
    return lead
