"""Reminders in chat: /pause and /resume, upcoming reminders in /mine, unreachable people."""

from __future__ import annotations

from pathlib import Path

from ledger.usecases.accountability import reminders_paused
from ledger.usecases.reading import history
from tests.bot_e2e import bot, quick_matter, say, text


async def test_pause_and_resume_are_recorded_and_office_only(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        assert m.id is not None
        admin, resp = h.people["admin"], h.people["town_resp"]
        usage = await say(h, admin, f"/pause {m.short_id}")
        assert "/pause 编号 理由" in text(usage)
        refused = await say(h, resp, f"/pause {m.short_id} 我不想被提醒")
        assert "只有督查室" in text(refused)
        done = await say(h, admin, f"/pause {m.short_id} 等待县政府常务会议研究")
        assert "已暂停提醒" in text(done) and "等待县政府常务会议研究" in text(done)
        assert await reminders_paused(h.deps.uow(), h.ids["admin"], m.id)
        done = await say(h, admin, f"/resume {m.short_id}")
        assert "已恢复提醒" in text(done)
        assert not await reminders_paused(h.deps.uow(), h.ids["admin"], m.id)
        kinds = [e.kind for e in await history(h.deps.uow(), h.ids["admin"], m.id)]
        assert kinds[-2:] == ["reminders_paused", "reminders_resumed"]


async def test_mine_lists_the_reminders_coming_up(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        # Urgent: same-day deadline, reminded hourly during working hours.
        await quick_matter(h, "防汛隐患排查 | 城关镇 | 默认 | 急件")
        mine = await say(h, h.people["town_resp"], "/mine")
        assert "防汛隐患排查" in text(mine)
        assert "近7天将收到的提醒" in text(mine) and "急件提醒" in text(mine)


async def test_unreachable_person_is_marked_on_the_card(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        h.server.block_chat(h.people["town_handler"].id)
        m = await quick_matter(h)
        office_news = "\n".join(text(x) for x in h.office_group.messages())
        assert "孙干事" in office_news  # the office is told who cannot be reached
        card = await say(h, h.people["admin"], f"/show {m.short_id}")
        assert "孙干事（⚠️联系不上）" in text(card)
