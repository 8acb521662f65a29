"""Records of the special systems (projects, enterprises, meetings, inspections)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import Conflict, NotFound
from ledger.ports import (
    FiguresRow,
    Record,
)
from storage.repositories._common import _new_id
from storage.tables import (
    assignments,
    events,
    matters,
    records,
)


def _record(row: Row[Any]) -> Record:
    return Record(office_id=row.office_id, kind=row.kind, created_at=row.created_at,
                  created_by=row.created_by, data=dict(row.data), ref_id=row.ref_id,
                  id=row.id, version=row.version)


class SqlRecordRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: Record) -> Record:
        result = await self._conn.execute(insert(records).values(
            office_id=record.office_id, kind=record.kind, ref_id=record.ref_id,
            created_at=record.created_at, created_by=record.created_by,
            version=record.version, data=record.data))
        record.id = _new_id(result)
        return record

    async def get(self, record_id: int) -> Record:
        row = (await self._conn.execute(
            select(records).where(records.c.id == record_id))).first()
        if row is None:
            raise NotFound("找不到这条记录。")
        return _record(row)

    async def save(self, record: Record) -> None:
        result = await self._conn.execute(
            update(records).where(records.c.id == record.id,
                                  records.c.version == record.version)
            .values(data=record.data, version=record.version + 1))
        if result.rowcount != 1:
            raise Conflict("这条记录刚被别人修改过，请重试。")
        record.version += 1

    async def list(self, office_id: int, kind: str, ref_id: int | None = None,
                   ) -> builtins.list[Record]:
        stmt = select(records).where(records.c.office_id == office_id, records.c.kind == kind)
        if ref_id is not None:
            stmt = stmt.where(records.c.ref_id == ref_id)
        return [_record(r) for r in await self._conn.execute(stmt.order_by(records.c.id))]

    async def figures(self, office_id: int, since: datetime | None = None,
                      until: datetime | None = None) -> builtins.list[FiguresRow]:
        e, m = events, matters
        a = assignments.alias("a")
        stmt = (select(e.c.matter_id, e.c.at, e.c.actor_id, e.c.after, e.c.assignment_no,
                       m.c.number, m.c.title, m.c.state, a.c.unit_id)
                .join(m, m.c.id == e.c.matter_id)
                .outerjoin(a, and_(a.c.matter_id == e.c.matter_id,
                                   a.c.no == e.c.assignment_no))
                .where(e.c.office_id == office_id, e.c.kind == "figures_reported"))
        if since is not None:
            stmt = stmt.where(e.c.at >= since)
        if until is not None:
            stmt = stmt.where(e.c.at < until)
        out: builtins.list[FiguresRow] = []
        for r in await self._conn.execute(stmt.order_by(e.c.at, e.c.id)):
            after = r.after
            inv = after.get("investment")
            out.append(FiguresRow(
                matter_id=r.matter_id, number=r.number, title=r.title,
                project=r.state.get("project"), period=after["period"],
                percent=int(after["percent"]),
                investment=float(inv) if inv is not None else None,
                problems=after.get("problems") or "", reported_at=r.at,
                reported_by=r.actor_id, unit_id=r.unit_id))
        return out
