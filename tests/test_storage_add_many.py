"""add_many's SQLite path (ids allocated up front, driver-level executemany) against the
portable path every other database takes: the same rows, byte for byte."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.clock import LOCAL_TZ
from ledger.errors import Conflict
from ledger.model import Attachment, Matter
from storage.matter_json import matter_to_json
from storage.repositories import SqlMatterRepository
from storage.uow import SqlUnitOfWork
from tests.dbs import ON_PG
from tests.test_storage_helpers import (
    T0,
    World,
    add_matter,
    assign,
    migrated_engine,
    register,
    seed,
)
from tests.test_storage_matters import D, _busy_matter


def _batch(w: World) -> list[Matter]:
    out = [_busy_matter(w)]   # seq 7, confidential, attachments, extension, urge
    for seq in (1, 2, 3, 8, 9):
        # Seconds with microseconds, and a local (+08:00) time: stored as UTC text.
        at = (T0 + timedelta(minutes=seq, microseconds=123_456 * seq)).astimezone(LOCAL_TZ)
        m = register(w, seq, title=f"导入事项{seq}", at=at)
        if seq % 2:
            lead = assign(w, m, w.unit_a, lead=True, deadline=D)
            assign(w, m, w.unit_b, lead=False, deadline=D + timedelta(days=seq))
            m.report_progress(at=T0 + timedelta(hours=1), actor_id=w.a_people[1], no=lead,
                              text="进展：“引号”与\\反斜杠\n换行", attachments=(
                                  Attachment("photo", "AgAC", None),))
        if seq == 9:
            m.cancel(at=T0 + timedelta(hours=2), actor_id=w.admin_id, reason="重复立项")
        out.append(m)
    return out


async def _raw(engine: AsyncEngine) -> dict[str, list[Any]]:
    """Every stored value as SQLite holds it (text, not parsed)."""
    out: dict[str, list[Any]] = {}
    async with engine.connect() as conn:
        for table in ("matters", "events", "assignments"):
            result = await conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY rowid")
            out[table] = [tuple(r) for r in result.all()]
    return out


async def _import(path: Path, generic: bool, monkeypatch: pytest.MonkeyPatch,
                  ) -> tuple[dict[str, list[Any]], list[Matter]]:
    engine = await migrated_engine(path)
    try:
        w = await seed(engine)
        await add_matter(engine, register(w, 50, title="已有事项"))
        batch = _batch(w)
        with monkeypatch.context() as mp:
            if generic:
                mp.setattr(SqlMatterRepository, "_add_many_sqlite",
                           SqlMatterRepository._add_many_generic)
            async with SqlUnitOfWork(engine) as uow:
                await uow.matters.add_many(batch)
                await uow.commit()
        return await _raw(engine), batch
    finally:
        await engine.dispose()


@pytest.mark.sqlite_only
async def test_sqlite_path_writes_what_the_portable_path_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_batch = await _import(tmp_path / "fast.db", False, monkeypatch)
    slow, slow_batch = await _import(tmp_path / "generic.db", True, monkeypatch)
    assert [m.id for m in fast_batch] == [m.id for m in slow_batch] == [2, 3, 4, 5, 6, 7]
    assert all(not m.pending for m in fast_batch)
    for table in ("matters", "events", "assignments"):
        assert fast[table] == slow[table], table
    assert len(fast["events"]) > 6 and len(fast["assignments"]) == 2 + 2 * 3


class _StaleMax:
    """The connection, except that SELECT max(matters.id) answers `top`."""

    def __init__(self, conn: Any, top: int) -> None:
        self._conn, self._top = conn, top

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def execute(self, stmt: Any, *args: Any, **kwargs: Any) -> Any:
        result = await self._conn.execute(stmt, *args, **kwargs)
        if "max(matters.id)" not in str(stmt):
            return result
        top = self._top

        class _Top:
            def scalar(self) -> int:
                return top
        return _Top()


async def test_snapshots_carry_their_ids_and_a_taken_id_is_a_conflict(tmp_path: Path) -> None:
    engine = await migrated_engine(tmp_path / "duban.db")
    try:
        w = await seed(engine)
        first = await add_matter(engine, register(w, 1))
        batch = _batch(w)[1:]
        batch = [m for m in batch if m.seq != 1]
        async with SqlUnitOfWork(engine) as uow:
            await uow.matters.add_many(batch)
            await uow.commit()
        async with SqlUnitOfWork(engine, read_only=True) as uow:
            for m in batch:
                assert m.id is not None and m.id > (first.id or 0)
                stored = await uow.matters.get(m.id)
                assert matter_to_json(stored) == matter_to_json(m)
        if ON_PG:  # ids come from the sequence there: no block to collide with
            return
        # SQLite: another writer's row where the next block would start: refused, nothing
        # written.
        async with SqlUnitOfWork(engine) as uow:
            top = max(m.id or 0 for m in batch)
            clash = register(w, 40)
            await uow.matters.add(clash)
            assert clash.id == top + 1

            repo = uow.matters
            assert isinstance(repo, SqlMatterRepository)
            late = [register(w, 41), register(w, 42)]
            # Pretend the highest id was read before `clash` went in.
            repo._conn = _StaleMax(repo._conn, top)  # type: ignore[assignment]
            with pytest.raises(Conflict):
                await repo.add_many(late)
        async with SqlUnitOfWork(engine, read_only=True) as uow:
            assert await uow.matters.next_seq(w.office_id, 2026) == 10
    finally:
        await engine.dispose()
