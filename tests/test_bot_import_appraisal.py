"""/import (an .xlsx ledger sent in chat) and /appraisal (year-end scores), through the sandbox."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl

from bot.config import Config
from bot.harness import Harness, running_bot
from ledger.appraisal import AppraisalWeights
from ledger.clock import FixedClock
from ledger.model import MatterStatus
from ledger.ports import MatterQuery
from reports.appraisal import DETAIL_SHEET, SCORE_SHEET
from tests.bot_e2e import START, bot, quick_matter, reply, say, text
from tests.dbs import url_for

HEAD = ("事项", "牵头单位", "配合单位", "交办日期", "办结时限", "状态", "销号日期")
GOOD = [
    ("城区道路修缮", "城关镇", "县住建局", date(2026, 11, 2), date(2026, 12, 15), None, None),
    ("项目审批提速", "县发改局", None, "2026年11月10日", None, None, None),
    ("老旧管网更换", "县住建局", None, date(2026, 10, 8), date(2026, 10, 30), "已销号",
     date(2026, 10, 28)),
]


def xlsx(rows: list[tuple[Any, ...]], head: tuple[str, ...] = HEAD) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "督办台账"
    ws.append(list(head))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def ledger_size(h: Harness) -> tuple[int, int]:
    """(matters, events) of the sample office."""
    async with h.deps.uow() as u:
        n = await u.matters.count(MatterQuery(office_id=h.county.office_id,
                                              include_confidential=True))
        events = await u.events.since(h.county.office_id, START.replace(year=2000))
    return n, len(events)


async def send_file(h: Harness, person: Any, data: bytes, name: str = "台账.xlsx",
                    caption: str | None = "/import") -> list[dict[str, Any]]:
    """Send a document; the bot's messages to that person since."""
    before = len(person.inbox())
    await person.send_document(data, filename=name, caption=caption)
    await h.settle()
    return person.inbox()[before:]  # type: ignore[no-any-return]


async def test_import_good_file_then_the_same_file_again(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        data = xlsx(GOOD)
        got = await send_file(h, admin, data)
        assert len(got) == 1, [text(m) for m in got]
        assert "导入完成" in text(got[0]) and "新导入3件" in text(got[0])
        assert "已在台账中0件" in text(got[0])
        n, events = await ledger_size(h)
        assert n == 3
        async with h.deps.uow() as u:
            found = await u.matters.list(MatterQuery(office_id=h.county.office_id))
        by_title = {m.title: m for m in found}
        assert set(by_title) == {r[0] for r in GOOD}
        closed = by_title["老旧管网更换"]
        assert closed.status is MatterStatus.CLOSED
        lead = closed.assignments[0]
        assert lead.unit_id == h.units["县住建局"]
        road = by_title["城区道路修缮"]
        assert {a.unit_id for a in road.assignments} == {h.units["城关镇"], h.units["县住建局"]}
        assert road.assignments[0].effective_deadline == date(2026, 12, 15)

        again = await send_file(h, admin, data)
        assert "新导入0件" in text(again[-1]) and "已在台账中3件" in text(again[-1])
        n2, events2 = await ledger_size(h)
        assert n2 == 3
        assert events2 == events + 1   # only the second import's own ledger_imported event


async def test_import_by_replying_to_the_document(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        sent = await admin.send_document(xlsx(GOOD[:1]), filename="台账.xlsx")
        await h.settle()
        await reply(h, admin, sent, "/import")
        assert "新导入1件" in text(admin.inbox()[-1])
        assert (await ledger_size(h))[0] == 1


async def test_import_bad_file_reports_every_row_and_changes_nothing(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        await quick_matter(h)
        before = await ledger_size(h)
        bad = xlsx([
            GOOD[0],
            ("教育设施改造", "县教育局", None, date(2026, 11, 2), None, None, None),
            ("河道清理", "城关镇", None, "下个月", None, None, None),
            (None, "县发改局", None, date(2026, 11, 2), None, None, None),
        ])
        got = await send_file(h, admin, bad)
        body = "\n".join(text(m) for m in got)
        assert "导入失败" in body and "未导入任何事项" in body
        assert "第3行「牵头单位」" in body and "县教育局" in body
        assert "第4行「交办日期」" in body and "下个月" in body
        assert "第5行「事项」" in body
        assert "第2行" not in body
        assert await ledger_size(h) == before


async def test_import_long_error_report_comes_as_a_text_file(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        rows = [(f"事项{i}", "县教育局", None, date(2026, 11, 2), None, None, None)
                for i in range(600)]
        got = await send_file(h, admin, xlsx(rows))
        assert "导入失败" in text(got[0]) and "共600处问题" in text(got[0])
        doc = got[-1].get("document")
        assert doc is not None and doc["file_name"].endswith(".txt")
        report = h.server.world.files[doc["file_id"]].data.decode("utf-8-sig")
        assert report.count("不在单位名单中") == 600 and "第601行" in report
        assert (await ledger_size(h))[0] == 0


async def test_import_refuses_non_office_and_explains_bad_input(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin, handler = h.people["admin"], h.people["town_handler"]
        refused = await send_file(h, handler, xlsx(GOOD))
        assert "只有督查室" in text(refused[-1])
        assert "只有督查室" in text(await say(h, handler, "/import"))
        assert (await ledger_size(h))[0] == 0
        usage = await say(h, admin, "/import")
        assert ".xlsx" in text(usage) and "/import" in text(usage)
        wrong = await send_file(h, admin, b"a,b\n1,2\n", name="台账.csv")
        assert "不是 .xlsx 文件" in text(wrong[-1])
        broken = await send_file(h, admin, b"not a zip at all", name="台账.xlsx")
        assert "导入失败" in text(broken[-1]) and "不是可读取的 .xlsx 文件" in text(broken[-1])
        empty = await send_file(h, admin, xlsx([]))
        assert "没有事项" in text(empty[-1])
        assert "第0行" not in text(broken[-1]) + text(empty[-1])
        assert (await ledger_size(h))[0] == 0


async def test_import_refuses_a_file_over_20_mb(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        got = await send_file(h, admin, b"PK" + b"\0" * (20 * 2**20 + 1), name="大台账.xlsx")
        assert "文件太大" in text(got[-1]) and "20 MB" in text(got[-1])
        assert (await ledger_size(h))[0] == 0


async def test_appraisal_text_and_xlsx(tmp_path: Path) -> None:
    weights = AppraisalWeights(on_time=3, urge=-1.5)
    async with running_bot(tmp_path, clock=FixedClock(START),
                           db_url=url_for(tmp_path / "duban.db", migrated=True),
                           config=Config(appraisal=weights)) as h:
        await quick_matter(h)
        admin = h.people["admin"]
        before = len(admin.inbox())
        await say(h, admin, "/appraisal")
        got = admin.inbox()[before:]
        body = "\n".join(text(m) for m in got)
        assert "2026年度督查工作目标考评" in body
        for unit in ("城关镇", "县发改局", "县住建局"):
            assert unit in body
        assert "1. " in body and "分" in body
        assert "按时办结+3/件" in body and "被催办-1.5/次" in body
        doc = got[-1].get("document")
        assert doc is not None and doc["file_name"] == "2026年度考评.xlsx"
        data = h.server.world.files[doc["file_id"]].data
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        assert wb.sheetnames == [SCORE_SHEET, DETAIL_SHEET]
        rows = list(wb[SCORE_SHEET].iter_rows(values_only=True))
        units = {r[1] for r in rows[2:] if r and isinstance(r[0], int)}
        assert units == {"城关镇", "县发改局", "县住建局"}

        last_year = await say(h, admin, "/appraisal 2025年")
        assert last_year.get("document", {}).get("file_name") == "2025年度考评.xlsx"
        usage = await say(h, admin, "/appraisal 明年")
        assert "用法：/appraisal" in text(usage)
        assert "用法" in text(await say(h, admin, "/appraisal 2027"))
        refused = await say(h, h.people["town_resp"], "/appraisal")
        assert "只有督查室" in text(refused)
