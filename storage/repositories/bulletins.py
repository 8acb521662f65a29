"""Published bulletins and where each was delivered."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import date

from sqlalchemy import (
    ColumnElement,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import Conflict
from ledger.ports import (
    BulletinRecord,
)
from storage.dialect import insert_ignore
from storage.repositories._common import _new_id, _violates
from storage.tables import (
    bulletin_deliveries,
    bulletins,
)


class SqlBulletinRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def next_number(self, office_id: int, kind: str, year: int) -> int:
        current = (await self._conn.execute(
            select(func.max(bulletins.c.number)).where(
                bulletins.c.office_id == office_id, bulletins.c.kind == kind,
                bulletins.c.year == year))).scalar()
        return int(current or 0) + 1

    async def add(self, record: BulletinRecord) -> BulletinRecord:
        try:
            result = await self._conn.execute(insert(bulletins).values(
                office_id=record.office_id, kind=record.kind, year=record.year,
                number=record.number, period_start=record.period_start,
                period_end=record.period_end, published_at=record.published_at,
                published_by=record.published_by))
        except IntegrityError as exc:
            if _violates(exc, "uq_bulletins_office_id_kind_year_number",
                         "bulletins.office_id, bulletins.kind, bulletins.year"):
                raise Conflict(f"{record.year} 年第 {record.number} 期已经发布，请重试。") from exc
            if _violates(exc, "uq_bulletins_office_id_kind_period_start_period_end",
                         "bulletins.office_id, bulletins.kind, bulletins.period_start"):
                raise Conflict("这一期间的通报已经发布。") from exc
            raise
        new_id = _new_id(result)
        for chat_id in record.delivered:
            await self.mark_delivered(new_id, chat_id)
        return replace(record, id=new_id, delivered=tuple(sorted(set(record.delivered))))

    async def _records(self, where: builtins.list[ColumnElement[bool]]
                       ) -> builtins.list[BulletinRecord]:
        b, d = bulletins, bulletin_deliveries
        rows = (await self._conn.execute(
            select(b).where(*where).order_by(b.c.year, b.c.number, b.c.id))).all()
        if not rows:
            return []
        delivered: dict[int, builtins.list[int]] = {r.id: [] for r in rows}
        for pair in await self._conn.execute(
                select(d.c.bulletin_id, d.c.chat_id)
                .where(d.c.bulletin_id.in_(list(delivered))).order_by(d.c.chat_id)):
            delivered[int(pair[0])].append(int(pair[1]))
        return [BulletinRecord(office_id=r.office_id, kind=r.kind, year=r.year,
                               number=r.number, period_start=r.period_start,
                               period_end=r.period_end, published_at=r.published_at,
                               published_by=r.published_by,
                               delivered=tuple(delivered[r.id]), id=r.id)
                for r in rows]

    async def for_period(self, office_id: int, kind: str, start: date, end: date,
                         ) -> BulletinRecord | None:
        b = bulletins
        found = await self._records([b.c.office_id == office_id, b.c.kind == kind,
                                     b.c.period_start == start, b.c.period_end == end])
        return found[0] if found else None

    async def list(self, office_id: int, kind: str | None = None,
                   year: int | None = None) -> builtins.list[BulletinRecord]:
        b = bulletins
        where: builtins.list[ColumnElement[bool]] = [b.c.office_id == office_id]
        if kind is not None:
            where.append(b.c.kind == kind)
        if year is not None:
            where.append(b.c.year == year)
        return await self._records(where)

    async def mark_delivered(self, bulletin_id: int, chat_id: int) -> None:
        await self._conn.execute(insert_ignore(
            self._conn.dialect, bulletin_deliveries,
            {"bulletin_id": bulletin_id, "chat_id": chat_id}, ["bulletin_id", "chat_id"]))


# ---- records (enterprises, visits, meetings, inspections) and public posts ----
