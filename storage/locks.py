"""The scheduler lock: one row saying which process runs the scheduler.

A holder keeps it by heartbeating; another process may take it over only when the
heartbeat is older than `stale_after` (the holder died without releasing).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.dialect import insert_ignore
from storage.tables import UTCDateTime, scheduler_lock

_ROW = 1
_lock = scheduler_lock.c


async def acquire_scheduler_lock(engine: AsyncEngine, holder: str, now: datetime,
                                 stale_after: timedelta) -> bool:
    """True when `holder` holds the lock afterwards (newly or already)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(scheduler_lock)
            .where(_lock.id == _ROW,
                   or_(_lock.holder.is_(None), _lock.holder == holder,
                       _lock.heartbeat_at.is_(None), _lock.heartbeat_at < now - stale_after))
            .values(holder=holder, heartbeat_at=now,
                    acquired_at=case((_lock.holder == holder, _lock.acquired_at),
                                     else_=literal(now, UTCDateTime()))))
        if result.rowcount == 1:
            return True
        # No row yet: the first process to insert it wins.
        inserted = await conn.execute(insert_ignore(
            conn.dialect, scheduler_lock,
            {"id": _ROW, "holder": holder, "acquired_at": now, "heartbeat_at": now},
            ["id"]).returning(_lock.id))
        return inserted.first() is not None


async def heartbeat_scheduler_lock(engine: AsyncEngine, holder: str, now: datetime) -> bool:
    """Refresh the lock; False means it was lost (taken over) and the caller must stop."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(scheduler_lock).where(_lock.id == _ROW, _lock.holder == holder)
            .values(heartbeat_at=now))
        return result.rowcount == 1


async def release_scheduler_lock(engine: AsyncEngine, holder: str) -> bool:
    """Give the lock up; False when `holder` did not hold it."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(scheduler_lock).where(_lock.id == _ROW, _lock.holder == holder)
            .values(holder=None, heartbeat_at=None))
        return result.rowcount == 1


async def scheduler_lock_holder(engine: AsyncEngine) -> tuple[str | None, datetime | None]:
    """Who holds the lock and when it last heartbeated (None, None: nobody)."""
    async with engine.connect() as conn:
        row = (await conn.execute(
            select(_lock.holder, _lock.heartbeat_at).where(_lock.id == _ROW))).first()
    if row is None:
        return None, None
    return row.holder, row.heartbeat_at
