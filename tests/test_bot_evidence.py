"""End to end: every kind of reply counts (voice, video, location…; a sticker is answered),
and the evidence archive (files downloaded into the bot's own store, /archive, `duban
archive`), through the sandbox as people on phones."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import build_application
from bot.cli import main
from bot.harness import CountingApplication, Harness
from bot.runner import make_deps
from bot.serve import begin
from handlers.downloads import file_store
from ledger.clock import FixedClock
from sandbox.media import tiny_png
from storage.db import make_engine
from storage.tables import evidence, outbox
from storage.uow import connection_of
from tests.bot_e2e import bot, find, last, quick_matter, say, text

MB = 1024 * 1024


async def _rows(h: Harness) -> dict[str, Any]:
    """Evidence rows by kind (the test sends one file of each kind)."""
    async with h.deps.uow() as u:
        rows = (await connection_of(u).execute(select(evidence))).all()
    return {r.kind: r for r in rows}


def _zip_of(h: Harness, msg: dict[str, Any]) -> zipfile.ZipFile:
    doc = msg.get("document")
    assert doc and str(doc.get("file_name", "")).endswith(".zip"), text(msg)
    return zipfile.ZipFile(io.BytesIO(h.server.world.files[doc["file_id"]].data))


def _manifest(z: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(z.read("manifest.csv").decode("utf-8-sig"))))


async def test_voice_video_and_location_replies_are_progress(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler, admin, group = h.people["town_handler"], h.people["admin"], h.office_group
        card = find(handler.inbox(), "交办通知")
        await handler.send_media("voice", b"OggS-voice", duration=12, reply_to=card)
        await h.settle()
        assert text(last(handler)) == f"已记入台账：{m.number} 进展（含语音 0:12）"
        await handler.send_location(30.12345, 120.54321, reply_to=card)
        await h.settle()
        assert text(last(handler)) == f"已记入台账：{m.number} 进展（含位置 (30.12345, 120.54321)）"
        # 📎 附件 sends each back as what it was (the office reviews the evidence)
        line = find(group.messages(), "报送进展：语音 0:12")
        before = len(group.messages())
        q = await admin.tap(line, "📎 附件")
        await h.settle(timeout=60)  # a group's messages are paced
        assert await admin.answered(q) is not None
        sent = group.messages()[before:]
        assert [k for x in sent for k in ("voice", "location") if x.get(k)] == [
            "location", "voice"]
        await handler.send_location(30.1, 120.5, title="城关镇政府", address="人民路1号",
                                    reply_to=card)
        await h.settle()
        assert text(last(handler)) == f"已记入台账：{m.number} 进展（含地点 城关镇政府）"
        await handler.send_media("video", b"mp4-video", duration=30, caption="施工现场",
                                 reply_to=card)
        await handler.send_media("video_note", b"mp4-note", duration=8, reply_to=card)
        await handler.send_media("audio", b"mp3-audio", duration=65, filename="汇报.mp3",
                                 reply_to=card)
        await h.settle()
        confirmations = [text(x) for x in handler.inbox()[-3:]]
        assert confirmations == [f"已记入台账：{m.number} 进展（含视频）",
                                 f"已记入台账：{m.number} 进展（含视频留言）",
                                 f"已记入台账：{m.number} 进展（含音频）"]
        # /history shows each, the way it was sent
        await say(h, admin, f"/history {m.number}")
        history = "\n".join(text(x) for x in admin.inbox()[-3:])
        for shown in ("孙干事：报送进展〔城关镇〕：语音 0:12", "位置 (30.12345, 120.54321)",
                      "地点 城关镇政府", "施工现场（含视频）", "视频留言", "音频"):
            assert shown in history, shown
        # the office's feed too
        feed = [text(x) for x in group.messages() if "报送进展" in text(x)]
        assert any("报送进展：语音 0:12" in f for f in feed), feed
        assert any("位置 (30.12345, 120.54321)" in f for f in feed), feed
        # and the export's history sheet
        await say(h, admin, "/export")
        doc = last(admin)["document"]
        wb = load_workbook(io.BytesIO(h.server.world.files[doc["file_id"]].data))
        cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                 for c in row if c]
        assert any("语音 0:12" in c for c in cells) and any("地点 城关镇政府" in c for c in cells)
        # the voice, video, video note and audio are in the store; a location is no file
        rows = await _rows(h)
        assert set(rows) == {"voice", "video", "video_note", "audio"}
        store = file_store(h.deps.config)
        assert store.read(rows["voice"].sha256) == b"OggS-voice"
        assert all(r.status == "stored" for r in rows.values())


async def test_a_sticker_or_a_poll_is_answered_with_what_to_send(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler, group = h.people["town_handler"], h.office_group
        card = find(handler.inbox(), "交办通知")
        await handler.send_sticker(reply_to=card)
        await h.settle()
        answer = text(last(handler))
        assert answer == "贴纸无法记入台账：请回复文字、照片、文件、语音、视频或位置。"
        await handler.send_content({"dice": {"emoji": "🎲", "value": 4}})
        await h.settle()
        assert text(last(handler)).startswith("骰子无法记入台账")
        await handler.send_content({"contact": {"phone_number": "13800000000",
                                                "first_name": "张三"}}, reply_to=card)
        await h.settle()
        assert text(last(handler)).startswith("联系人名片无法记入台账")
        async with h.deps.uow() as u:
            events = await u.events.for_matter(m.id or 0)
        assert not [e for e in events if e.kind == "progress"]
        # in a group, a sticker that answers no bot message is no business of the bot's
        admin = h.people["admin"]
        seen = len(group.messages())
        await admin.send_sticker(chat=group)
        await h.settle()
        assert len(group.messages()) == seen
        notice = await say(h, admin, "/list", chat=group)
        await admin.send_sticker(chat=group, reply_to=notice)
        await h.settle()
        assert text(group.messages()[-1]).startswith("贴纸无法记入台账")


async def test_a_photo_lands_in_the_store_and_the_archive_holds_its_bytes(
        tmp_path: Path) -> None:
    png = tiny_png(7, 5, (10, 120, 30))
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler, admin = h.people["town_handler"], h.people["admin"]
        card = find(handler.inbox(), "交办通知")
        await handler.send_photo(png, caption="整改后现场", reply_to=card)
        await handler.send_document(b"%PDF-1.4 plan", filename="整改方案.pdf", reply_to=card)
        await h.settle()
        rows = await _rows(h)
        sha = hashlib.sha256(png).hexdigest()
        assert rows["photo"].sha256 == sha and rows["photo"].size == len(png)
        assert rows["document"].file_name == "整改方案.pdf"
        where = tmp_path / "files" / sha[:2] / sha[2:4] / sha
        assert where.read_bytes() == png
        # /archive with the bare number
        await say(h, admin, "/archive 1")
        reply = last(admin)
        assert "原始文件 2 个" in text(reply) and m.number in text(reply)
        z = _zip_of(h, reply)
        names = z.namelist()
        photo = next(n for n in names if n.startswith(f"files/{sha[:16]}_"))
        assert z.read(photo) == png
        pdf = next(n for n in names if n.endswith("_整改方案.pdf"))
        assert z.read(pdf) == b"%PDF-1.4 plan"
        manifest = _manifest(z)
        assert {r["path"] for r in manifest} == {photo, pdf}
        assert {r["sha256"] for r in manifest} == {sha, hashlib.sha256(b"%PDF-1.4 plan")
                                                   .hexdigest()}
        history = json.loads(z.read("history.json"))
        assert history["matter"]["number"] == m.number
        assert [e["kind"] for e in history["events"]].count("progress") == 2
        docx = Document(io.BytesIO(z.read("history.docx")))
        body = "\n".join(p.text for p in docx.paragraphs)
        assert m.number in body and "整改后现场（含1张照片）" in body
        # refusals: no number, an unknown one, and anyone but the office
        assert "/archive 编号" in text(await say(h, admin, "/archive"))
        assert "找不到事项" in text(await say(h, admin, "/archive 99"))
        refusal = text(await say(h, handler, f"/archive {m.number}"))
        assert "督查室" in refusal and not last(handler).get("document")
        # a confidential matter's archive is not sent to a group
        secret = await quick_matter(h, "机密事项甲 | 城关镇 | 默认 | 机密")
        shown = await say(h, admin, f"/archive {secret.seq}", chat=h.office_group)
        assert "机密事项，不在群里显示" in text(shown) and not shown.get("document")


async def test_a_file_above_20_mb_gets_asked_for_a_smaller_one(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler, admin = h.people["town_handler"], h.people["admin"]
        card = find(handler.inbox(), "交办通知")
        await handler.send_media("video", b"big", duration=300, file_size=25 * MB,
                                 caption="全程录像", reply_to=card)
        await h.settle()
        answer = text(last(handler))
        assert answer.startswith(f"已记入台账：{m.number} 进展（含视频）")
        assert "视频超过 20MB，无法存档原件：请压缩或截短后，再回复一个不超过 20MB 的文件。" in answer
        # Telegram refuses the download: the row says why, and it is not tried again
        rows = await _rows(h)
        assert rows["video"].status == "too_big" and "本地 Bot API" in rows["video"].note
        async with h.deps.uow() as u:
            left = (await connection_of(u).execute(
                select(outbox.c.status).where(outbox.c.kind == "file_download"))).scalars()
            assert list(left) == ["sent"]
        await say(h, admin, "/archive 1")
        z = _zip_of(h, last(admin))
        assert "1 个未存档" in text(last(admin))
        [row] = _manifest(z)
        assert row["status"] == "too_big" and row["path"] == ""
        # just under the limit is archived
        await handler.send_media("video", b"small", duration=3, file_size=20 * MB,
                                 reply_to=card)
        await h.settle()
        assert "超过" not in text(last(handler))


async def test_a_failed_download_is_retried(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await quick_matter(h)
        handler = h.people["town_handler"]
        card = find(handler.inbox(), "交办通知")
        h.server.inject_fault("5xx", method="getFile", times=1)
        await handler.send_media("voice", b"OggS-retry", duration=3, reply_to=card)
        await h.settle()
        assert "已记入台账" in text(last(handler))
        assert (await _rows(h))["voice"].status == "pending"
        assert isinstance(h.clock, FixedClock)
        h.clock.advance(timedelta(minutes=10))
        await h.settle()
        row = (await _rows(h))["voice"]
        assert row.status == "stored"
        assert file_store(h.deps.config).read(row.sha256) == b"OggS-retry"


async def _until(check: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        if loop.time() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_files_survive_a_token_change(tmp_path: Path) -> None:
    png = tiny_png(3, 9, (1, 2, 3))
    async with bot(tmp_path) as h:
        await quick_matter(h)
        handler, admin = h.people["town_handler"], h.people["admin"]
        card = find(handler.inbox(), "交办通知")
        await handler.send_photo(png, reply_to=card)
        await handler.send_media("voice", b"OggS-kept", duration=4, reply_to=card)
        await h.settle()
        # The bot is re-created: a new token, and Telegram no longer has the old files.
        await h.extra["source"].stop()
        await h.app.stop()
        h.server.world.files.clear()
        h.server.world.files_by_path.clear()
        token = h.server.create_bot(username="duban_new_bot", first_name="督办助手")
        config = replace(h.deps.config, token=token)
        engine = make_engine(config.db)
        app = build_application(config, make_deps(config, engine, clock=h.clock,
                                                  cal=h.deps.cal),
                                application_class=CountingApplication)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        _, source = await begin(app, config, webhook=False)
        try:
            await admin.send("/archive 1", bot=token)
            await _until(lambda: any(x.get("document") for x in admin.inbox(bot=token)))
            z = _zip_of(h, admin.inbox(bot=token)[-1])
            stored = {r["kind"]: r for r in _manifest(z)}
            assert stored["photo"]["status"] == stored["voice"]["status"] == "stored"
            assert z.read(stored["photo"]["path"]) == png
            assert z.read(stored["voice"]["path"]) == b"OggS-kept"
        finally:
            await source.stop()
            await app.stop()
            await app.shutdown()
            await engine.dispose()


async def test_duban_archive_from_the_command_line(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async with bot(tmp_path) as h:
        m = await quick_matter(h)
        handler = h.people["town_handler"]
        card = find(handler.inbox(), "交办通知")
        await handler.send_photo(tiny_png(), reply_to=card)
        await h.settle()
        h.server.inject_fault("5xx", method="getFile", times=1)
        await handler.send_media("audio", b"ID3-never", duration=9, reply_to=card)
        await h.settle()  # the audio's download waits for its retry: not in the store yet
        url = h.deps.config.db
    for var in ("DUBAN_CONFIG", "DUBAN_ADMINS", "DUBAN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "duban.toml").write_text('[files]\ndir = "files"\n', encoding="utf-8")
    monkeypatch.setenv("DUBAN_DB", url)
    out = tmp_path / "档案.zip"
    assert await asyncio.to_thread(main, ["archive", m.number, str(out)]) == 0
    z = zipfile.ZipFile(out)
    rows = {r["kind"]: r for r in _manifest(z)}
    assert rows["photo"]["status"] == "stored" and z.read(rows["photo"]["path"]) == tiny_png()
    assert rows["audio"]["status"] == "pending" and rows["audio"]["path"] == ""
    assert "history.docx" in z.namelist()
    assert await asyncio.to_thread(main, ["archive", "99", str(tmp_path / "x.zip")]) == 1
    assert not (tmp_path / "x.zip").exists()
