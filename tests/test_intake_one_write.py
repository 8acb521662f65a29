"""A progress report is one write transaction: its event, its notices for the office, the
confirmation's message ref and the update's done mark commit together (issue 15).

Counted on a real SQLite file with SQLAlchemy's engine events: every transaction that
wrote something and committed, with the tables it wrote.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from bot.harness import CountingApplication, Harness, running_bot
from ledger.clock import FixedClock
from ledger.errors import Conflict
from tests.bot_e2e import START, quick_matter, text
from tests.dbs import url_for

pytestmark = pytest.mark.sqlite_only



def _table(statement: str) -> tuple[str, str] | None:
    m = re.match(r"\s*(INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)",
                 statement, re.I)
    if m is None:
        return None
    return m.group(1).split()[0].upper(), m.group(2)


@contextmanager
def write_transactions() -> Iterator[list[set[tuple[str, str]]]]:
    """Each committed transaction that wrote: its set of (verb, table)."""
    open_: dict[int, set[tuple[str, str]]] = {}
    committed: list[set[tuple[str, str]]] = []

    def before(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        found = _table(statement)
        if found is not None:
            open_.setdefault(id(conn.connection.dbapi_connection), set()).add(found)

    def commit(conn: Connection) -> None:
        wrote = open_.pop(id(conn.connection.dbapi_connection), None)
        if wrote:
            committed.append(wrote)

    def rollback(conn: Connection) -> None:
        open_.pop(id(conn.connection.dbapi_connection), None)

    listeners = (("before_cursor_execute", before), ("commit", commit),
                 ("rollback", rollback))
    for name, fn in listeners:
        event.listen(Engine, name, fn)
    try:
        yield committed
    finally:
        for name, fn in listeners:
            event.remove(Engine, name, fn)


def _card(person: Any, number: str) -> dict[str, Any]:
    cards = [m for m in person.inbox() if number in text(m) and m.get("reply_markup")]
    assert cards, f"no card about {number}"
    return cards[0]  # type: ignore[no-any-return]


async def _quiet(h: Harness) -> None:
    """No reminder pass or delivery between the reports: only what handling writes."""
    await h.settle(timeout=60)
    h.deps.kick = lambda: None


async def _handled(h: Harness, timeout: float = 30.0) -> None:
    """Until the bot has handled every update sent (delivering nothing itself)."""
    app = h.app
    assert isinstance(app, CountingApplication)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while app.processed < h.update_count():
        assert loop.time() < end, f"bot handled {app.processed} of {h.update_count()}"
        app.idle.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(app.idle.wait(), 0.5)


async def test_each_progress_report_is_one_write_transaction(tmp_path: Path) -> None:
    async with running_bot(tmp_path, clock=FixedClock(START), rate_limited=False,
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        town = h.people["town_handler"]
        card = _card(town, m.number)
        await _quiet(h)
        reports = 5
        with write_transactions() as committed:
            for i in range(reports):  # one at a time: each its own batch
                await town.reply(card, f"第{i}次进展")
                await _handled(h)
        # The inbox's own store (before Telegram is told the update arrived) aside, each
        # report wrote once, and that write holds all of it.
        handling = [t for t in committed if t != {("INSERT", "inbox")}]
        assert len(handling) == reports, handling
        for t in handling:
            tables = {name for _, name in t}
            assert {"events", "outbox", "message_refs"} <= tables, t
            assert ("UPDATE", "inbox") in t, t
        confirmations = [x for x in town.inbox() if text(x).startswith("已记入台账")]
        assert len(confirmations) == reports

        # The confirmation's ref was stored with it: a reply to it lands on the matter.
        await town.reply(confirmations[-1], "接着上一条：已完成入户")
        await h.settle(timeout=30)
        assert m.id is not None
        async with h.deps.uow() as u:
            events = await u.events.for_matter(m.id)
        texts = [e.after["text"] for e in events if e.kind == "progress"]
        assert texts == [f"第{i}次进展" for i in range(reports)] + ["接着上一条：已完成入户"]


async def test_a_report_refused_at_the_write_takes_its_confirmation_back(
        tmp_path: Path) -> None:
    async with running_bot(tmp_path, clock=FixedClock(START), rate_limited=False,
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        m = await quick_matter(h, "老旧小区改造 | 城关镇 | 默认")
        town = h.people["town_handler"]
        card = _card(town, m.number)
        await _quiet(h)
        intake = h.deps.intake

        async def conflicted(items: list[Any]) -> list[BaseException]:
            # As when someone else saved the matter between the read and the write.
            return [Conflict("这件事项刚被别人改过，请再发一次。") for _ in items]

        intake.reports._run = conflicted  # type: ignore[assignment]
        await town.reply(card, "这条不会记入")
        await h.settle(timeout=30)
        seen = [text(x) for x in town.inbox()]
        assert not any(t.startswith("已记入台账") for t in seen), seen[-3:]
        assert "请再发一次" in seen[-1]
        assert any(text(x).startswith("已记入台账")
                   for x in town.inbox(include_deleted=True))  # sent, then taken back
        assert m.id is not None
        async with h.deps.uow() as u:
            events = await u.events.for_matter(m.id)
        assert not [e for e in events if e.kind == "progress"]
