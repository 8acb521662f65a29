"""Helpers for the end-to-end bot tests: people on phones talking to the real bot."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.harness import Harness, running_bot
from ledger.clock import FixedClock
from ledger.model import Matter
from ledger.usecases.reading import get_matter
from sandbox.world import CallbackAnswer, CallbackRecord
from tests.dbs import url_for

# Monday 2026-11-23, 09:00 in Shanghai: default deadline (10 working days) is 12月7日.
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

Msg = dict[str, Any]


@asynccontextmanager
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(tmp_path, clock=FixedClock(START),
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        yield h


def text(msg: Msg) -> str:
    return str(msg.get("text") or msg.get("caption") or "")


def buttons(msg: Msg) -> list[str]:
    markup = msg.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def last(person: Any) -> Msg:
    inbox = person.inbox()
    assert inbox, f"{person.first_name} got nothing"
    return inbox[-1]  # type: ignore[no-any-return]


def find(messages: list[Msg], needle: str) -> Msg:
    """The latest message containing `needle`."""
    for m in reversed(messages):
        if needle in text(m):
            return m
    raise AssertionError(f"no message with {needle!r} in {[text(m)[:60] for m in messages]}")


async def say(h: Harness, person: Any, words: str, chat: Any = None) -> Msg:
    """Send and wait for the bot; returns the bot's last message in that chat."""
    await person.send(words, chat=chat)
    await h.settle()
    return (chat.messages() if chat is not None else person.inbox())[-1]  # type: ignore[no-any-return]


async def reply(h: Harness, person: Any, to: Msg, words: str) -> None:
    await person.reply(to, words)
    await h.settle()


async def tap(h: Harness, person: Any, msg: Msg, label: str) -> CallbackAnswer | None:
    query = await person.tap(msg, label)
    await h.settle()
    return await person.answered(query, timeout=2.0)  # type: ignore[no-any-return]


_forged = itertools.count(1)


async def forge(h: Harness, person: Any, msg: Msg, data: str) -> CallbackAnswer | None:
    """A callback query with crafted data, as a modified client could send."""
    world = h.server.world
    account = h.server.bot()
    query_id = f"9{next(_forged):09d}"
    query = {"id": query_id, "from": person.user, "message": dict(msg),
             "chat_instance": "42", "data": data}
    world.callbacks[query_id] = CallbackRecord(
        id=query_id, bot_id=account.id, user_id=person.id, chat_id=int(msg["chat"]["id"]),
        message_id=int(msg["message_id"]), data=data, query=query)
    world.push_update(account, "callback_query", query)
    await h.settle()
    return await person.answered(query_id, timeout=2.0)  # type: ignore[no-any-return]


async def quick_matter(h: Harness, words: str = "老旧小区改造 | 城关镇,县发改局 | 默认",
                       ) -> Matter:
    """Register and assign through the bot's one-line /new; returns the matter."""
    await say(h, h.people["admin"], f"/new {words}")
    return await latest(h)


async def latest(h: Harness) -> Matter:
    async with h.deps.uow() as uow:
        seq = await uow.matters.next_seq(h.county.office_id, 2026) - 1
        return await uow.matters.find(h.county.office_id, 2026, seq)


async def matter(h: Harness, matter_id: int) -> Matter:
    _, m = await get_matter(h.deps.uow(), h.ids["admin"], matter_id)
    return m


async def count_matters(h: Harness) -> int:
    async with h.deps.uow() as uow:
        return await uow.matters.next_seq(h.county.office_id, 2026) - 1
