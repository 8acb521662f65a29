"""The office's entered holiday arrangements (`ledger.ports.HolidayRepository`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.ports import EnteredYear
from storage.tables import holiday_years


class SqlHolidayRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, entry: EnteredYear) -> None:
        await self._conn.execute(insert(holiday_years).values(
            year=entry.year,
            holidays=sorted(d.isoformat() for d in entry.holidays),
            workdays=sorted(d.isoformat() for d in entry.workdays),
            source=entry.source, entered_by=entry.entered_by,
            entered_by_name=entry.entered_by_name, entered_at=entry.entered_at))

    async def latest(self) -> list[EnteredYear]:
        newest = (select(func.max(holiday_years.c.id)).group_by(holiday_years.c.year)
                  .scalar_subquery())
        rows = (await self._conn.execute(
            select(holiday_years).where(holiday_years.c.id.in_(newest))
            .order_by(holiday_years.c.year))).mappings().all()
        return [EnteredYear(
            year=r["year"], holidays=frozenset(date.fromisoformat(x) for x in r["holidays"]),
            workdays=frozenset(date.fromisoformat(x) for x in r["workdays"]),
            source=r["source"], entered_by=r["entered_by"],
            entered_by_name=r["entered_by_name"], entered_at=r["entered_at"],
        ) for r in rows]
