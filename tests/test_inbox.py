"""The inbox (storage.inbox, bot.inbox): stored once, marked done in the transaction of the
ledger change, replayed once at start, pruned when old and done."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from handlers.batch import Batcher
from ledger.clock import FixedClock
from storage import inbox as store
from storage.inbox import HANDLING, Handling
from storage.tables import inbox
from storage.uow import connection_of, uow_factory
from tests.bot_e2e import START, bot, quick_matter, text
from tests.dbs import url_for

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
BOT = 7


async def _db(tmp_path: Path):  # type: ignore[no-untyped-def]
    from bot.runner import prepare_database

    engine = await prepare_database(url_for(tmp_path / "i.db"))
    return engine, uow_factory(engine)


async def _done(engine, ids):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(inbox.c.update_id, inbox.c.done_at).where(
            inbox.c.update_id.in_(ids)))).all()
    return {int(r[0]): r[1] is not None for r in rows}


async def test_stored_once_pending_until_done_and_pruned_only_when_done(tmp_path: Path) -> None:
    engine, uow = await _db(tmp_path)
    try:
        async with uow() as u:
            conn = connection_of(u)
            assert await store.store(conn, BOT, [(1, {"update_id": 1}), (2, {})], NOW) == [1, 2]
            # Fetched again (a crash before the offset was confirmed): not new.
            assert await store.store(conn, BOT, [(2, {}), (3, {})], NOW) == [3]
            assert await store.store(conn, BOT + 1, [(2, {})], NOW) == [2]  # another bot
            await u.commit()
        async with uow() as u:
            conn = connection_of(u)
            await store.mark_done(conn, BOT, [1], NOW)
            await u.commit()
        async with uow() as u:
            conn = connection_of(u)
            assert [i for i, _ in await store.pending(conn, BOT)] == [2, 3]
            assert await store.prune(conn, NOW) == 0                      # not old yet
            assert await store.prune(conn, NOW + timedelta(days=8)) == 1  # only the done one
            await u.commit()
        async with uow() as u:
            assert [i for i, _ in await store.pending(connection_of(u), BOT)] == [2, 3]
    finally:
        await engine.dispose()


async def test_the_done_mark_rides_the_commit_of_the_handling_task(tmp_path: Path) -> None:
    engine, uow = await _db(tmp_path)
    try:
        async with uow() as u:
            await store.store(connection_of(u), BOT, [(i, {}) for i in range(1, 7)], NOW)
            await u.commit()

        async def handle(update_id: int, commit: bool) -> Handling:
            h = Handling(BOT, (update_id,), lambda: NOW, asyncio.current_task())
            HANDLING.set(h)
            async with uow() as u:
                await u.people.add_office(f"办{update_id}", f"办{update_id}")
                if commit:
                    await u.commit()
            return h

        h1 = await asyncio.create_task(handle(1, True))
        h2 = await asyncio.create_task(handle(2, False))   # rolled back: not done either
        assert h1.done and not h2.done
        assert await _done(engine, [1, 2]) == {1: True, 2: False}

        async def spawned() -> None:  # a task started by a handler does not carry its update
            h = Handling(BOT, (3,), lambda: NOW, asyncio.current_task())
            HANDLING.set(h)

            async def other() -> None:
                async with uow() as u:
                    await u.people.add_office("别的", "别的")
                    await u.commit()
            await asyncio.create_task(other())
        await asyncio.create_task(spawned())
        assert await _done(engine, [3]) == {3: False}

        # A batch of several updates' calls marks them all in its one transaction.
        async def run(items: list[int]) -> list[None]:
            async with uow() as u:
                for i in items:
                    await u.people.add_office(f"批{i}", f"批{i}")
                await u.commit()
            return [None] * len(items)
        batcher: Batcher[int, None] = Batcher(run)

        async def submit(update_id: int) -> Handling:
            h = Handling(BOT, (update_id,), lambda: NOW, asyncio.current_task())
            HANDLING.set(h)
            await batcher.submit(update_id)
            return h
        hs = await asyncio.gather(*(asyncio.create_task(submit(i)) for i in (4, 5, 6)))
        assert batcher.batches == 1 and all(h.done for h in hs)
        assert await _done(engine, [4, 5, 6]) == {4: True, 5: True, 6: True}
    finally:
        await engine.dispose()


async def test_a_second_handling_of_a_done_update_changes_nothing(tmp_path: Path) -> None:
    """Two instances behind a load balancer replaying the same stored update: the second
    commit finds it done, rolls its change back and says so."""
    import pytest

    from storage.inbox import AlreadyHandled
    from storage.tables import offices

    engine, uow = await _db(tmp_path)
    try:
        async with uow() as u:
            await store.store(connection_of(u), BOT, [(1, {})], NOW)
            await u.commit()

        async def handle(name: str) -> None:
            HANDLING.set(Handling(BOT, (1,), lambda: NOW, asyncio.current_task()))
            async with uow() as u:
                await u.people.add_office(name, name)
                await u.commit()

        await asyncio.create_task(handle("第一次"))
        with pytest.raises(AlreadyHandled):
            await asyncio.create_task(handle("第二次"))
        async with engine.connect() as conn:
            names = [r[0] for r in (await conn.execute(select(offices.c.name))).all()]
        assert "第一次" in names and "第二次" not in names
    finally:
        await engine.dispose()


async def test_stored_updates_are_handled_once_at_start(tmp_path: Path) -> None:
    async with bot(tmp_path) as h:
        await quick_matter(h)
        await h.settle()
        source = h.extra["source"]
        await source.stop()            # as if the bot had stopped here
        intake = source.intake
        admin = h.people["admin"]
        before = len(admin.inbox())
        payload = {"update_id": 900_001, "message": {
            "message_id": 900_001, "date": int(START.timestamp()),
            "chat": {"id": admin.id, "type": "private", "first_name": admin.first_name},
            "from": admin.user, "text": "/list",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        async with h.deps.uow() as u:
            await store.store(connection_of(u), intake.bot_id, [(900_001, payload)],
                              FixedClock(START).now())
            await u.commit()
        processed = h.app.processed
        assert await intake.replay(h.app) == 1
        for _ in range(200):
            if h.app.processed > processed:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert h.app.processed == processed + 1
        assert len(admin.inbox()) > before and "老旧小区改造" in text(admin.inbox()[-1])
        async with h.deps.uow() as u:
            left = await store.pending(connection_of(u), intake.bot_id)
        assert left == []
        assert await intake.replay(h.app) == 0   # once
        # The same update delivered again (say the offset was never confirmed): not new.
        from telegram import Update
        assert await intake.store([Update.de_json(payload, h.app.bot)]) == []


async def test_an_update_recorded_elsewhere_gets_no_apology(tmp_path: Path) -> None:
    from telegram import Update

    from storage.inbox import AlreadyHandled

    async with bot(tmp_path) as h:
        admin = h.people["admin"]
        before = len(admin.inbox())

        async def recorded_elsewhere(update: object, context: object) -> None:
            raise AlreadyHandled("updates [1] were handled elsewhere")

        from telegram.ext import CommandHandler
        h.app.add_handler(CommandHandler("zz", recorded_elsewhere), group=-1)
        payload = {"update_id": 900_002, "message": {
            "message_id": 900_002, "date": int(START.timestamp()),
            "chat": {"id": admin.id, "type": "private", "first_name": admin.first_name},
            "from": admin.user, "text": "/zz",
            "entities": [{"type": "bot_command", "offset": 0, "length": 3}]}}
        await h.app.process_update(Update.de_json(payload, h.app.bot))
        await asyncio.sleep(0.3)
        assert len(admin.inbox()) == before
