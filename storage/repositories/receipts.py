"""已阅 receipts and their readers (ledger.receipts)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.receipts import Reader, Receipt
from storage.bulk import insert_rows
from storage.tables import receipt_readers, receipts


def _receipt(row: Row[Any], readers: builtins.list[Reader]) -> Receipt:
    return Receipt(id=row.id, office_id=row.office_id, kind=row.kind, matter_id=row.matter_id,
                   assignment_no=row.assignment_no, record_id=row.record_id, title=row.title,
                   created_at=row.created_at, chat_id=row.chat_id, message_id=row.message_id,
                   readers=readers)


def _receipt_values(r: Receipt) -> dict[str, Any]:
    return {"office_id": r.office_id, "kind": r.kind, "matter_id": r.matter_id,
            "assignment_no": r.assignment_no, "record_id": r.record_id,
            "title": r.title[:200], "created_at": r.created_at, "chat_id": r.chat_id,
            "message_id": r.message_id, "open": True}


def _reader_rows(many: Sequence[Receipt]) -> builtins.list[dict[str, Any]]:
    return [{"receipt_id": x.id, "person_id": r.person_id, "unit_id": r.unit_id,
             "expected": r.expected, "read_at": r.read_at} for x in many for r in x.readers]


class SqlReceiptRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, receipt: Receipt) -> Receipt:
        result = await self._conn.execute(insert(receipts).values(
            _receipt_values(receipt)).returning(receipts.c.id))
        receipt.id = int(result.scalar_one())
        if receipt.readers:
            await self._conn.execute(insert(receipt_readers), _reader_rows([receipt]))
        return receipt

    async def add_many(self, many: Sequence[Receipt]) -> builtins.list[Receipt]:
        """One insert of the receipts (their ids returned in order), one of the readers:
        an escalation's batch of 催办通知单 is two statements, not two per urge."""
        if len(many) <= 1:
            return [await self.add(r) for r in many]
        values = [_receipt_values(r) for r in many]
        if self._conn.dialect.name == "sqlite":
            # SQLite's RETURNING has no guaranteed order, so SQLAlchemy would insert one
            # row per statement. The writer holds the database's only write lock, and an
            # executemany takes new rowids in order past the largest: read them back.
            top = (await self._conn.execute(select(func.max(receipts.c.id)))).scalar()
            await insert_rows(self._conn, receipts, values)
            found = await self._conn.execute(
                select(receipts.c.id).where(receipts.c.id > (top or 0)).order_by(receipts.c.id))
            ids = [int(row[0]) for row in found]
        else:
            ids = [int(row[0]) for row in await self._conn.execute(
                insert(receipts).returning(receipts.c.id, sort_by_parameter_order=True),
                values)]
        if len(ids) != len(many):
            raise RuntimeError(f"receipts: {len(many)} inserted, {len(ids)} ids read back")
        for r, i in zip(many, ids, strict=True):
            r.id = i
        await insert_rows(self._conn, receipt_readers, _reader_rows(many))
        return builtins.list(many)

    async def _readers(self, ids: builtins.list[int]) -> dict[int, builtins.list[Reader]]:
        out: dict[int, builtins.list[Reader]] = {i: [] for i in ids}
        if not ids:
            return out
        rows = await self._conn.execute(
            select(receipt_readers).where(receipt_readers.c.receipt_id.in_(ids))
            .order_by(receipt_readers.c.receipt_id, receipt_readers.c.person_id))
        for r in rows:
            out[r.receipt_id].append(Reader(r.person_id, r.unit_id, bool(r.expected),
                                            r.read_at))
        return out

    async def get(self, receipt_id: int) -> Receipt | None:
        row = (await self._conn.execute(
            select(receipts).where(receipts.c.id == receipt_id))).first()
        if row is None:
            return None
        return _receipt(row, (await self._readers([receipt_id]))[receipt_id])

    async def mark_read(self, receipt_id: int, person_id: int, unit_id: int | None,
                        at: datetime) -> bool:
        rr = receipt_readers.c
        row = (await self._conn.execute(select(rr.read_at).where(
            rr.receipt_id == receipt_id, rr.person_id == person_id))).first()
        if row is None:
            await self._conn.execute(insert(receipt_readers).values(
                receipt_id=receipt_id, person_id=person_id, unit_id=unit_id, expected=False,
                read_at=at))
        elif row.read_at is not None:
            return False
        else:
            await self._conn.execute(update(receipt_readers).where(
                rr.receipt_id == receipt_id, rr.person_id == person_id).values(read_at=at))
        # Closed once every expected reader has read it: /unread scans open ones only.
        left = (await self._conn.execute(select(rr.person_id).where(
            rr.receipt_id == receipt_id, rr.expected == true(), rr.read_at.is_(None))
            .limit(1))).first()
        if left is None:
            await self._conn.execute(update(receipts).where(receipts.c.id == receipt_id)
                                     .values(open=False))
        return True

    async def posted(self, receipt_id: int, chat_id: int, message_id: int,
                     person_id: int | None = None) -> None:
        if person_id is None:
            await self._conn.execute(update(receipts).where(receipts.c.id == receipt_id)
                                     .values(chat_id=chat_id, message_id=message_id))
            return
        rr = receipt_readers.c
        await self._conn.execute(update(receipt_readers).where(
            rr.receipt_id == receipt_id, rr.person_id == person_id)
            .values(chat_id=chat_id, message_id=message_id))

    async def unread(self, office_id: int, limit: int = 200) -> builtins.list[Receipt]:
        rows = (await self._conn.execute(
            select(receipts).where(receipts.c.office_id == office_id, receipts.c.open == true())
            .order_by(receipts.c.created_at, receipts.c.id).limit(limit))).all()
        readers = await self._readers([r.id for r in rows])
        out = [_receipt(r, readers[r.id]) for r in rows]
        return [r for r in out if not r.done]
