"""A transaction in one trip to the database (storage.uow.SqlUnitOfWorkFactory
.run_in_one_trip): on SQLite all its statements go to aiosqlite's thread at once; what it
writes, commits and rolls back is what the ordinary unit of work would; on PostgreSQL it is
the ordinary unit of work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import func, select

from ledger.ports import UnitOfWork
from storage import inbox as store
from storage.inbox import HANDLING, Handling
from storage.tables import inbox
from storage.uow import connection_of, uow_factory
from tests.dbs import ON_PG, url_for

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
BOT = 7


async def _db(tmp_path: Path):  # type: ignore[no-untyped-def]
    from bot.runner import prepare_database

    engine = await prepare_database(url_for(tmp_path / "t.db"))
    return engine, uow_factory(engine)


async def _stored(engine: Any) -> dict[int, bool]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(inbox.c.update_id, inbox.c.done_at))).all()
    return {int(r[0]): r[1] is not None for r in rows}


def _store(ids: list[int], then: Any = None) -> Any:
    async def write(u: UnitOfWork) -> list[int]:
        async with u:
            new = await store.store(connection_of(u), BOT, [(i, {"update_id": i}) for i in ids],
                                    NOW)
            if then is not None:
                await then()
            await u.commit()
            return new
    return write


async def test_writes_commit_and_statements_go_in_one_trip(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            ) -> None:
    engine, uow = await _db(tmp_path)
    trips: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    try:
        async with uow() as u:  # a pooled connection, as the bot has once it runs
            await u.commit()
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)

        async def several(u: UnitOfWork) -> int:
            async with u:
                await store.store(connection_of(u), BOT, [(1, {})], NOW)
                await store.store(connection_of(u), BOT, [(2, {})], NOW)
                await store.mark_done(connection_of(u), BOT, [1], NOW)
                n = (await connection_of(u).execute(
                    select(func.count()).select_from(inbox))).scalar_one()
                await u.commit()
                return int(n)

        assert await uow.run_in_one_trip(several) == 2
        during = list(trips)
        assert await _stored(engine) == {1: True, 2: False}
        if not ON_PG:
            # BEGIN, two INSERTs, an UPDATE, a SELECT and COMMIT: one trip.
            assert during == ["_complete"]
            assert uow.trips == 1
    finally:
        await engine.dispose()


async def test_an_error_rolls_everything_back_and_frees_the_writer(tmp_path: Path) -> None:
    engine, uow = await _db(tmp_path)

    async def fail() -> None:
        raise ValueError("boom")

    try:
        with pytest.raises(ValueError, match="boom"):
            await uow.run_in_one_trip(_store([1, 2], then=fail))
        assert await _stored(engine) == {}
        # The writer lock was released: the next writer goes at once.
        assert await asyncio.wait_for(uow.run_in_one_trip(_store([3])), 10) == [3]
        async with uow() as u:
            assert await store.store(connection_of(u), BOT, [(4, {})], NOW) == [4]
            await u.commit()
        assert await _stored(engine) == {3: False, 4: False}
    finally:
        await engine.dispose()


async def test_a_call_that_waits_for_more_than_its_statements_runs_the_ordinary_way(
        tmp_path: Path) -> None:
    engine, uow = await _db(tmp_path)

    async def other_work() -> None:
        await asyncio.sleep(0)  # a turn of the event loop: not possible in the thread

    try:
        # Its first attempt is rolled back, so the rows are stored once, not twice.
        assert await uow.run_in_one_trip(_store([1, 2], then=other_work)) == [1, 2]
        assert await _stored(engine) == {1: False, 2: False}
        assert uow.trips == 0
    finally:
        await engine.dispose()


async def test_the_update_being_handled_is_marked_done_in_the_same_trip(tmp_path: Path,
                                                                        ) -> None:
    engine, uow = await _db(tmp_path)
    try:
        async with uow() as u:
            await store.store(connection_of(u), BOT, [(5, {}), (6, {})], NOW)
            await u.commit()
        handling = Handling(BOT, (5,), lambda: NOW, asyncio.current_task())
        token = HANDLING.set(handling)
        try:
            assert await uow.run_in_one_trip(_store([7])) == [7]
        finally:
            HANDLING.reset(token)
        assert handling.done
        assert await _stored(engine) == {5: True, 6: False, 7: False}
        # A task that does not own the update does not mark it.
        other = Handling(BOT, (6,), lambda: NOW, None)
        other.owner = asyncio.ensure_future(asyncio.sleep(0))
        await other.owner
        token = HANDLING.set(other)
        try:
            await uow.run_in_one_trip(_store([8]))
        finally:
            HANDLING.reset(token)
        assert not other.done
        assert (await _stored(engine))[6] is False
    finally:
        await engine.dispose()


async def test_reads_in_one_trip_see_committed_rows(tmp_path: Path) -> None:
    engine, uow = await _db(tmp_path)
    read = uow_factory(engine, read_only=True)
    try:
        await uow.run_in_one_trip(_store([1]))

        async def count(u: UnitOfWork) -> int:
            async with u:
                return int((await connection_of(u).execute(
                    select(func.count()).select_from(inbox))).scalar_one())

        assert await read.run_in_one_trip(count) == 1
    finally:
        await engine.dispose()


async def test_cancelled_while_in_the_thread_the_connection_waits_for_the_trip(
        tmp_path: Path) -> None:
    engine, uow = await _db(tmp_path)
    # A statement that keeps the thread busy for a while, then a write.
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000)"
            " SELECT count(*) FROM c")

    async def busy_then_store(u: UnitOfWork) -> list[int]:
        async with u:
            await connection_of(u).exec_driver_sql(slow)
            new = await store.store(connection_of(u), BOT, [(1, {})], NOW)
            await u.commit()
            return new

    try:
        if ON_PG:
            pytest.skip("about SQLite's driver thread")
        task = asyncio.ensure_future(uow.run_in_one_trip(busy_then_store))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The transaction ran to its end in the thread; the writer goes on after it.
        assert await asyncio.wait_for(uow.run_in_one_trip(_store([2])), 30) == [2]
        assert await _stored(engine) == {1: False, 2: False}
    finally:
        await engine.dispose()
