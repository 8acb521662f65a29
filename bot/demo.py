"""`duban demo`: the whole loop, offline, on the local Bot API server, as a transcript.

Simulated people on phones use the real bot (real handlers, real SQLite ledger, real HTTP
through python-telegram-bot) exactly as they would use Telegram.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.harness import Harness, running_bot
from bot.paths import _ensure_dir
from bot.preflight import check_start
from ledger.clock import LOCAL_TZ, FixedClock
from ledger.ports import MatterQuery
from storage.db import database_url
from storage.health import masked

# A fixed Monday morning, so the demo reads the same on any day.
DEMO_NOW = datetime(2026, 11, 23, 9, 30, tzinfo=LOCAL_TZ)

# A valid 1×1 PNG: the sandbox, like Telegram, accepts only real image data as a photo.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


class Transcript:
    """Prints each chat's new messages after every step."""

    def __init__(self, h: Harness, out: Any = print) -> None:
        self.h = h
        self.out = out
        self.seen: dict[int, set[tuple[int, bool]]] = {}
        self.chats: list[tuple[Any, str]] = []

    def watch(self, chat: Any, label: str) -> None:
        self.chats.append((chat, label))
        self.seen[chat.id] = set()

    def act(self, who: str, what: str) -> None:
        self.out(f"\n👤 {who}：{what}")

    def flush(self) -> None:
        for chat, label in self.chats:
            for record in self.h.server.sent_messages(chat):
                key = (record.message_id, record.edited)
                if key in self.seen[chat.id]:
                    continue
                self.seen[chat.id].add(key)
                body = record.text or record.caption or ""
                if record.document:
                    body += f"\n📎 {record.document.get('file_name', '文件')}"
                if record.photo:
                    body += "\n🖼 [图片]"
                buttons = " ".join(f"[{b['text']}]" for b in record.buttons)
                mark = "（已更新）" if record.edited else ""
                self.out(f"🤖 → {label}{mark}\n" + _indent(body)
                         + (f"\n   按钮：{buttons}" if buttons else ""))


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())


def _last_with(h: Harness, chat: Any, label: str) -> tuple[Any, str]:
    """The latest message in `chat` with a button whose text contains `label`."""
    for record in reversed(h.server.sent_messages(chat)):
        for b in record.buttons:
            if label in b["text"]:
                return record, b["text"]
    raise RuntimeError(f"no message with a {label} button in {chat}")


async def play(h: Harness, out: Any = print) -> None:
    p = h.people
    t = Transcript(h, out)
    t.watch(p["admin"], "王主任（督查室，私聊）")
    t.watch(h.office_group, "示例县督查工作群")
    t.watch(p["town_resp"], "钱副镇长（城关镇责任人，私聊）")
    t.watch(p["town_handler"], "孙干事（城关镇承办人，私聊）")
    t.watch(p["town_principal"], "赵镇长（城关镇第一责任人，私聊）")
    t.watch(p["dept_resp"], "吴科长（县发改局责任人，私聊）")

    async def step() -> None:
        await h.settle()
        t.flush()

    out("═══ 督办 bot 离线演示（示例县，演示数据；今天是 2026年11月23日 星期一）═══")
    command = "/new 推进城关镇老旧小区改造 | 城关镇,县发改局 | 10个工作日"
    t.act("王主任（督查室）", command)
    await p["admin"].send(command)
    await step()

    card, button = _last_with(h, p["town_resp"], "签收")
    t.act("钱副镇长", "在交办单上点［签收］")
    await p["town_resp"].tap(card, button)
    await step()
    t.act("钱副镇长", "回复承诺办结时限：12月4日")
    prompt = h.server.sent_messages(p["town_resp"])[-1]
    await p["town_resp"].reply(prompt, "12月4日")
    await step()

    card, _ = _last_with(h, p["town_handler"], "报送进展")
    t.act("孙干事", "回复交办单，发一张现场照片：已完成3栋楼外立面改造")
    await p["town_handler"].send_photo(PHOTO, caption="已完成3栋楼外立面改造", reply_to=card)
    await step()

    card, button = _last_with(h, p["town_resp"], "申请办结")
    t.act("钱副镇长", "点［申请办结］")
    await p["town_resp"].tap(card, button)
    await step()
    prompt = h.server.sent_messages(p["town_resp"])[-1]
    t.act("钱副镇长", "回复：改造全部完成，已组织验收")
    await p["town_resp"].reply(prompt, "改造全部完成，已组织验收")
    await step()

    feed, button = _last_with(h, h.office_group, "销号")
    t.act("王主任（督查工作群）", "审核后点［销号］")
    await p["admin"].tap(feed, button)
    await step()

    number = await _latest_number(h)
    t.act("王主任", f"/show {number}")
    await p["admin"].send(f"/show {number}")
    await step()
    out("\n═══ 演示结束：立项 → 交办 → 签收 → 报送进展（含照片）→ 申请办结 → 销号，"
        "全部记入台账。═══")


async def _latest_number(h: Harness) -> str:

    async with h.deps.uow() as u:
        latest = await u.matters.list(MatterQuery(office_id=h.county.office_id, limit=1))
    return latest[0].short_id


async def run_demo(config: Config, out: Any = print) -> int:
    logging.getLogger("telegram").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    clock = FixedClock(DEMO_NOW)
    cfg = replace(config, token=None)
    with tempfile.TemporaryDirectory(prefix="duban-demo-") as tmp:
        db_url = None
        if os.environ.get("DUBAN_DB"):
            await check_start(config, api=False)
            db_url = database_url(config.db)
            _ensure_dir(db_url)
        async with running_bot(Path(tmp), clock=clock, config=cfg, db_url=db_url) as h:
            await play(h, out)
            if db_url:
                out(f"台账已写入：{masked(db_url)}")
    return 0
