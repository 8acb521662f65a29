"""Lists at scale, as a phone user sees them: /list 红灯 counts every red matter (not the
first 5,000), /list and /mine page with ◀ ▶ in one message, and old or garbled page
buttons are answered clearly. The ledger is seeded through storage's bulk insert."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bot.harness import Harness
from ledger.lights import LightStamp
from ledger.model import Light, Matter, MatterClass, Source
from ledger.ports import MatterQuery
from ledger.usecases import reading
from storage.tables import assignments, matters
from storage.uow import connection_of
from tests.bot_e2e import START, Msg, bot, buttons, forge, last, say, tap, text

RED, GREEN = 5_051, 20  # more red matters than the old 5,000-row window held
PAGES = 506  # ten a page


async def _seed(h: Harness, red: int, green: int, *, team: str = "town",
                first_seq: int = 1) -> None:
    """`red` overdue matters and `green` far-off ones, assigned to one team, in one
    bulk insert (seconds, not the minutes /new would take)."""
    unit = h.units["城关镇" if team == "town" else "县发改局"]
    ids = h.ids
    batch: list[Matter] = []
    for i in range(red + green):
        overdue = i < red
        at = START - timedelta(days=40) if overdue else START
        m = Matter.register(
            office_id=h.county.office_id, year=2026, seq=first_seq + i, prefix="督",
            title=f"{'超期' if overdue else '远期'}事项{i + 1}", body="", at=at,
            source=Source.COUNTY_DECISION, klass=MatterClass.NORMAL, confidential=False,
            tags=(), received_at=at, actor_id=ids["admin"],
            instruction_text=None, instruction_author=None, deadline=None)
        m.assign(at=at, actor_id=ids["admin"], unit_id=unit, lead=True,
                 principal_id=ids[f"{team}_principal"], responsible_id=ids[f"{team}_resp"],
                 handler_id=ids[f"{team}_handler"],
                 deadline=date(2026, 11, 2) if overdue else date(2027, 6, 30))
        batch.append(m)
    async with h.deps.uow() as uow:
        await uow.matters.add_many(batch)
        # Reminders paused (/pause): thousands of overdue notices would only slow the test.
        conn = connection_of(uow)
        await conn.execute(update(matters).values(paused=True))
        await conn.execute(update(assignments).values(paused=True))
        await uow.commit()


def _now(person: Any, msg: Msg) -> Msg:
    """The message as it reads now (edits applied)."""
    return next(m for m in person.inbox() if m["message_id"] == msg["message_id"])


async def test_red_list_counts_past_five_thousand_and_pages(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await _seed(h, RED, GREEN)
        admin = h.people["admin"]
        page = await say(h, admin, "/list 红灯")
        assert f"共 {RED} 件" in text(page) and f"第 1/{PAGES} 页" in text(page)
        assert "🔴" in text(page) and "远期事项" not in text(page)
        assert "下一页 ▶" in buttons(page) and "◀ 上一页" not in buttons(page)
        await tap(h, admin, page, "下一页 ▶")
        turned = last(admin)
        assert turned["message_id"] == page["message_id"]
        assert f"第 2/{PAGES} 页" in text(turned) and "11. 🔴" in text(turned)
        assert "◀ 上一页" in buttons(turned)
        assert f"共 {RED + GREEN} 件" in text(await say(h, admin, "/list"))
        assert "共 0 件" in text(await say(h, admin, "/list 黄灯"))
        # an old button for a page past the end: the last page, and the reason
        answer = await forge(h, admin, page, "l:r:9999")
        assert answer is not None and "列表已有变化" in (answer.text or "")
        assert f"第 {PAGES}/{PAGES} 页" in text(_now(admin, page))
        # a garbled page button: what to do instead, not a card's error
        answer = await forge(h, admin, page, "l:r:x")
        assert answer is not None and answer.show_alert and "/list" in (answer.text or "")


async def test_daily_recount_turns_lights_as_days_pass(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await _seed(h, 0, 3)
        admin = h.people["admin"]
        assert "共 0 件" in text(await say(h, admin, "/list 红灯"))
        h.clock.advance(timedelta(days=300))  # type: ignore[attr-defined]
        assert "共 0 件" in text(await say(h, admin, "/list 红灯"))  # stored, not yet recounted
        changed = await reading.recount_lights(h.deps.uow, batch=2)
        assert changed == 3
        assert "共 3 件" in text(await say(h, admin, "/list 红灯"))
        assert await reading.recount_lights(h.deps.uow, batch=2) == 0  # nothing left to turn


async def test_mine_is_one_message_with_pages(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await _seed(h, 40, 10, team="dept")
        handler = h.people["dept_handler"]
        before = len(handler.inbox())
        first = await say(h, handler, "/mine")
        assert len(handler.inbox()) == before + 1  # one message, whatever the count
        assert "在办事项" not in "".join(text(m) for m in handler.inbox()[:-1])
        body = text(first)
        assert "在办事项（50件" in body and "🔴 40" in body and "🟢 10" in body
        assert "第 1/4 页" in body and "1. 🔴" in body and "16." not in body
        assert "下一页 ▶" in buttons(first) and "◀ 上一页" not in buttons(first)
        await tap(h, handler, first, "下一页 ▶")
        second = last(handler)
        assert second["message_id"] == first["message_id"] and "第 2/4 页" in text(second)
        assert "16. 🔴" in text(second) and "◀ 上一页" in buttons(second)
        for _ in range(2):
            await tap(h, handler, last(handler), "下一页 ▶")
        end = last(handler)
        assert "第 4/4 页" in text(end) and "🟢" in text(end)
        assert "下一页 ▶" not in buttons(end)
        assert len(handler.inbox()) == before + 1
        # a page past the end (the work shrank since): the last page, and the reason
        answer = await forge(h, handler, first, "w:99")
        assert answer is not None and "列表已有变化" in (answer.text or "")
        assert "第 4/4 页" in text(last(handler))
        answer = await forge(h, handler, first, "w:-1")
        assert answer is not None and answer.show_alert and "/mine" in (answer.text or "")


async def test_stored_light_is_the_ledgers_light(tmp_path: Path) -> None:
    """What storage wrote for each matter is what ledger.lights says of it."""
    async with bot(tmp_path) as h:
        await _seed(h, 3, 2)
        stamp = LightStamp(h.deps.cal, h.deps.clock, h.deps.light_policy)
        office = h.county.office_id
        async with h.deps.uow() as uow:
            stored = await uow.matters.light_counts(MatterQuery(office_id=office))
            ms = [await uow.matters.find(office, 2026, seq) for seq in range(1, 6)]
        assert stored == {Light.RED: 3, Light.YELLOW: 0, Light.GREEN: 2}
        assert [stamp.of(m) for m in ms] == [Light.RED] * 3 + [Light.GREEN] * 2


async def test_long_export_shows_its_progress_in_one_message(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await _seed(h, 10, 5_990)
        admin = h.people["admin"]
        sent = await say(h, admin, "/export")
        assert sent.get("document") and "6000 件事项" in text(sent)
        every = admin.inbox(include_deleted=True)
        progress = [m for m in every if "正在导出" in text(m)]
        assert len(progress) == 1  # one message, edited; gone once the file is there
        assert "/ 6,000 行" in text(progress[0])
        assert all("正在导出" not in text(m) for m in admin.inbox())
