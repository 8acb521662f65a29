"""End to end: dates that make sense (/new, /urge, /decisions, extensions) and /import of a
file that is not an .xlsx, answered in words with what to send instead."""

from __future__ import annotations

from pathlib import Path

from tests.bot_e2e import bot, count_matters, find, last, matter, quick_matter, say, tap, text
from tests.test_bot_every_command import EXCEPTION_NAME


async def test_deadlines_and_limits_beyond_a_year_are_refused_with_the_reason(
        tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        m = await quick_matter(h)
        before = await count_matters(h)
        refused = await say(h, admin, "/new 远期事项 | 城关镇 | 2100年1月1日")
        assert "办结时限 2100年1月1日 太远了：最迟只能定到 2027年11月23日" in text(refused)
        assert "剩" not in text(refused) and await count_matters(h) == before
        # the last day of the year ahead is still fine (today 2026-11-23 + 365 days)
        assert "太远" not in text(await say(h, admin, "/urge 1 2027年11月23日"))
        refused = await say(h, admin, "/urge 1 9999年1月1日")
        assert "催办限期 9999年1月1日 太远了" in text(refused)
        refused = await say(h, admin, "/urge 1 2027年11月24日 请加快")
        assert "催办限期 2027年11月24日 太远了" in text(refused)
        after = await matter(h, m.id or 0)
        assert after.lead is not None and after.lead.urge_limit is not None
        assert after.lead.urge_limit.isoformat() == "2027-11-23"
        # an extension asked beyond the limit is refused too
        resp = h.people["town_resp"]
        card = find(resp.inbox(), "交办通知")
        await tap(h, resp, card, "⏳ 申请延期")
        await resp.reply(last(resp), "2100年1月1日 拆迁协商未完成")
        await h.settle()
        assert "延期后的时限 2100年1月1日 太远了" in text(last(resp))


async def test_import_of_something_else_says_what_to_send(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        for data, name in ((b"hello", "notes.txt"), (b"PK\x03\x04garbage", "台账.xlsx"),
                           (b"\x00" * 64, "台账.xlsx"), (b"", "空.xlsx")):
            await admin.send_document(data or b" ", filename=name, caption="/import")
            await h.settle()
            answer = text(last(admin))
            assert ".xlsx" in answer and "Excel" in answer, answer
            assert EXCEPTION_NAME.search(answer) is None, answer
            assert "（" + "BadZipFile" not in answer and "KeyError" not in answer
