"""Long polling stores getUpdates' JSON as it came (bot.inbox.DurableIntake.store_raw): what
is stored is Telegram's payload, not a re-serialisation; only new updates are handed on,
parsed; one this code cannot read is stored, marked done and not handed on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from telegram import Bot

from bot.inbox import DurableIntake
from ledger.clock import FixedClock
from storage.tables import inbox
from storage.uow import uow_factory
from tests.dbs import url_for

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def _message(update_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1764727200, "text": text,
        "chat": {"id": 42, "type": "private", "first_name": "张三"},
        "from": {"id": 42, "is_bot": False, "first_name": "张三"},
        "some_future_field": {"kept": True}}}


async def test_stored_as_sent_and_new_ones_parsed(tmp_path: Path) -> None:
    from bot.runner import prepare_database

    engine = await prepare_database(url_for(tmp_path / "raw.db"))
    try:
        intake = DurableIntake(uow_factory(engine), FixedClock(NOW), bot_id=7)
        app: Any = SimpleNamespace(bot=Bot("7:token"))
        first = [_message(1, "第一次进展"), {"update_id": 2, "message": "not a message"}]
        got = await intake.store_raw(app, first)
        assert [(u.update_id, u.message.text if u.message else None) for u in got] == [
            (1, "第一次进展")]
        assert intake.owns(1) and not intake.owns(2)
        # Fetched again with one more (a crash before the offset was confirmed).
        again = await intake.store_raw(app, [_message(1, "第一次进展"), _message(3, "又一次")])
        assert [u.update_id for u in again] == [3]
        async with engine.connect() as conn:
            rows = {int(r[0]): (r[1], r[2] is not None) for r in (await conn.execute(
                select(inbox.c.update_id, inbox.c.payload, inbox.c.done_at))).all()}
        assert rows[1] == (_message(1, "第一次进展"), False)   # exactly what Telegram sent
        assert rows[2][1] is True                             # unreadable: done, not retried
        assert rows[3] == (_message(3, "又一次"), False)
    finally:
        await engine.dispose()
