"""/bulletin and /export in chat, through the sandbox."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from tests.bot_e2e import bot, quick_matter, say, text


async def test_bulletin_preview_with_chart_and_document(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await quick_matter(h)
        await quick_matter(h, "机密事项 | 县发改局 | 默认 | 机密")
        admin = h.people["admin"]
        refused = await say(h, h.people["town_resp"], "/bulletin")
        assert "只有督查室" in text(refused)
        before = len(admin.inbox())
        await say(h, admin, "/bulletin 督察")
        sent = admin.inbox()[before:]
        body = "\n".join(text(m) for m in sent)
        assert "督察" in body and "城关镇" in body
        assert "机密事项" not in body  # confidential matters never appear in a bulletin
        assert any(m.get("photo") for m in sent)
        doc = sent[-1].get("document")
        assert doc is not None and doc["file_name"].endswith(".docx")
        usage = await say(h, admin, "/bulletin 日报")
        assert "/bulletin [督察|专报|季度|领导]" in text(usage)


async def test_export_sends_the_ledger_as_xlsx(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        admin = h.people["admin"]
        last = await say(h, admin, "/export")
        doc = last.get("document")
        assert doc is not None and doc["file_name"] == "督查台账.xlsx"
        assert "1 件事项" in text(last)
        record = h.server.world.files[doc["file_id"]]
        wb = openpyxl.load_workbook(io.BytesIO(record.data), read_only=True)
        cells = [c for row in wb.worksheets[0].iter_rows(values_only=True) for c in row]
        assert m.number in cells
        refused = await say(h, h.people["town_handler"], "/export")
        assert "只有督查室" in text(refused)
