"""Two processes' worth of writers on one SQLite file: nothing lost, nothing corrupted."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.errors import Conflict
from ledger.model import Matter
from ledger.ports import Notice
from storage.db import make_engine
from storage.matter_json import matter_to_json
from storage.uow import SqlUnitOfWork
from tests.dbs import ON_PG, url_for
from tests.test_storage_helpers import (
    T0,
    World,
    add_matter,
    assign,
    migrated_engine,
    register,
    seed,
)

MATTERS = 5
TASKS = 80


async def _report(engine: AsyncEngine, w: World, matter_id: int, task: int,
                  optimistic: bool, conflicts: list[int]) -> None:
    """A use case: load, change, save, commit; retry the whole thing on Conflict."""
    rng = random.Random(task)
    while True:
        try:
            if optimistic:
                # Load and save in separate transactions, as a slow user would (and as
                # PostgreSQL's concurrent transactions can): the version check decides.
                async with SqlUnitOfWork(engine, read_only=True) as uow:
                    m = await uow.matters.get(matter_id)
                await asyncio.sleep(rng.random() / 100)
                async with SqlUnitOfWork(engine) as uow:
                    _change(m, w, task)
                    await uow.matters.save(m)
                    await _notify(uow, w, matter_id, task)
                    await uow.commit()
            else:
                async with SqlUnitOfWork(engine) as uow:
                    m = await uow.matters.get(matter_id)
                    await asyncio.sleep(0)
                    _change(m, w, task)
                    await uow.matters.save(m)
                    await _notify(uow, w, matter_id, task)
                    await uow.commit()
            return
        except Conflict:
            conflicts.append(task)


def _change(m: Matter, w: World, task: int) -> None:
    m.report_progress(at=T0 + timedelta(minutes=task), actor_id=w.a_people[2], no=1,
                      text=f"task-{task}")


async def _notify(uow: SqlUnitOfWork, w: World, matter_id: int, task: int) -> None:
    # Same key from several tasks: exactly one notice per matter and hour.
    await uow.outbox.add(Notice(key=f"progress:{matter_id}:{task % 3}", office_id=w.office_id,
                                kind="progress", due_at=T0, matter_id=matter_id))


async def test_two_engines_many_writers(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    e1 = await migrated_engine(path)
    e2 = make_engine(url_for(path))
    w = await seed(e1)
    ids = []
    for seq in range(1, MATTERS + 1):
        m = register(w, seq)
        assign(w, m, w.unit_a, lead=True, deadline=date(2026, 4, 1))
        ids.append((await add_matter(e1, m)).id)

    conflicts: list[int] = []
    await asyncio.gather(*(
        _report(e1 if k % 2 else e2, w, ids[k % MATTERS], k, k % 4 >= 2, conflicts)  # type: ignore[arg-type]
        for k in range(TASKS)))
    assert conflicts, "the optimistic writers should have collided at least once"

    if not ON_PG:  # PostgreSQL checks its foreign keys on every write
        async with e1.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA integrity_check")).scalar() == "ok"
            assert (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all() == []

    async with SqlUnitOfWork(e2, read_only=True) as uow:
        for i, matter_id in enumerate(ids):
            stored = await uow.matters.get(matter_id)  # type: ignore[arg-type]
            history = await uow.events.for_matter(matter_id)  # type: ignore[arg-type]
            texts = sorted(e.after["text"] for e in history if e.kind == "progress")
            assert texts == sorted(f"task-{k}" for k in range(TASKS) if k % MATTERS == i)
            assert stored.version == len(history) == 2 + TASKS // MATTERS
            assert stored.assignment(1).progress_count == TASKS // MATTERS
            assert matter_to_json(Matter.replay(history)) == matter_to_json(stored)
        notices = await uow.outbox.due(T0, limit=1000)
        assert sorted(n.key for n in notices) == sorted(
            f"progress:{m}:{r}" for m in ids for r in range(3))
    await e1.dispose()
    await e2.dispose()


async def test_next_seq_and_add_serialise(tmp_path: Path) -> None:
    """Registrations racing for the next number all get distinct numbers."""
    path = tmp_path / "numbers.db"
    e1 = await migrated_engine(path)
    e2 = make_engine(url_for(path))
    w = await seed(e1)

    async def register_one(engine: AsyncEngine, k: int) -> int:
        while True:
            try:
                async with SqlUnitOfWork(engine) as uow:
                    seq = await uow.matters.next_seq(w.office_id, 2026)
                    await asyncio.sleep(0)
                    await uow.matters.add(register(w, seq, title=f"事项{k}"))
                    await uow.commit()
                    return seq
            except Conflict:
                continue

    seqs = await asyncio.gather(*(register_one(e1 if k % 2 else e2, k) for k in range(30)))
    assert sorted(seqs) == list(range(1, 31))
    await e1.dispose()
    await e2.dispose()
