"""storage.bulk.insert_rows (the driver's executemany on SQLite) stores what SQLAlchemy's
own insert stores, skips taken keys and counts what went in; receipts.add_many gives each
receipt its own id and readers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from ledger.receipts import Reader, Receipt
from storage.bulk import IN_THREAD_ROWS, insert_rows
from storage.tables import outbox
from storage.uow import SqlUnitOfWork
from tests.test_storage_helpers import migrated_engine, seed

AT = datetime(2026, 11, 10, 9, 30, 5, 123_456, tzinfo=timezone(timedelta(hours=8)))


def _row(key: str, office_id: int, **over: Any) -> dict[str, Any]:
    return {"key": key, "office_id": office_id, "kind": "urged", "due_at": AT,
            "person_id": 3, "chat_id": None, "matter_id": 5, "assignment_no": 1,
            "payload": {"note": "已超期3个工作日", "list": [1, 2]}, "status": "pending",
            "attempts": 0, "next_try_at": None, "sent_at": None, "last_error": None, **over}


async def test_insert_rows_stores_what_sqlalchemy_stores(tmp_path: Path) -> None:
    engine = await migrated_engine(tmp_path / "b.db")
    try:
        w = await seed(engine)
        async with engine.begin() as conn:
            await conn.execute(insert(outbox), [_row("plain", w.office_id)])
            n = await insert_rows(conn, outbox, [
                _row("bulk", w.office_id, sent_at=AT + timedelta(hours=1)),
                _row("plain", w.office_id, kind="never stored"),       # key taken: skipped
                _row("bulk2", w.office_id)], ignore=("key",))
            many = await insert_rows(conn, outbox, [
                _row(f"k{i}", w.office_id) for i in range(IN_THREAD_ROWS + 5)],
                ignore=("key",))
            rows = {r.key: r for r in await conn.execute(select(outbox))}
        assert n == 2 and many == IN_THREAD_ROWS + 5
        assert rows["plain"].kind == "urged"
        for key in ("bulk", "bulk2", "k0"):
            r = rows[key]
            assert r.due_at == AT.astimezone(UTC) == rows["plain"].due_at
            assert r.payload == rows["plain"].payload
            assert (r.person_id, r.matter_id, r.chat_id, r.status) == (3, 5, None, "pending")
        assert rows["bulk"].sent_at == (AT + timedelta(hours=1)).astimezone(UTC)
    finally:
        await engine.dispose()


async def test_receipts_add_many_each_its_id_and_readers(tmp_path: Path) -> None:
    engine = await migrated_engine(tmp_path / "r.db")
    try:
        w = await seed(engine)
        p, r, _ = w.a_people
        async with SqlUnitOfWork(engine) as uow:
            first = await uow.receipts.add(Receipt(
                office_id=w.office_id, kind="urge", created_at=AT, title="先有的",
                readers=[Reader(p, w.unit_a)]))
            made = await uow.receipts.add_many([Receipt(
                office_id=w.office_id, kind="urge", created_at=AT, title=f"第{i}次催办",
                readers=[Reader(p, w.unit_a)] + ([Reader(r, w.unit_a)] if i % 2 else []))
                for i in range(1, 6)])
            await uow.commit()
        ids = [x.id for x in made]
        assert None not in ids and len(set(ids)) == 5 and first.id not in ids
        async with SqlUnitOfWork(engine) as uow:
            for i, x in enumerate(made, start=1):
                assert x.id is not None
                got = await uow.receipts.get(x.id)
                assert got is not None and got.title == f"第{i}次催办"
                assert [y.person_id for y in got.readers] == sorted(
                    [p, r] if i % 2 else [p])
    finally:
        await engine.dispose()
