"""The append-only event log."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    insert,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.model import (
    Event,
)
from storage.repositories.matters import SqlMatterRepository, _event, _event_values
from storage.tables import (
    events,
)


def _decode(result: Any) -> builtins.list[Event]:
    return [_event(r) for r in result.all()]


class SqlEventLog:
    def __init__(self, conn: AsyncConnection, matters_repo: SqlMatterRepository) -> None:
        self._conn = conn
        self._matters = matters_repo

    async def append(self, event: Event) -> None:
        if event.matter_id is None:
            await self._conn.execute(insert(events).values(_event_values(event, None)))
            return
        # An event about a matter joins that matter's stream, so replay stays exact:
        # apply it to the current state and save like any other change.
        m = await self._matters.get(event.matter_id)
        if m.office_id != event.office_id:
            raise ValueError("event office_id differs from its matter's")
        m.apply(event)
        m.pending.append(event)
        await self._matters.save(m)

    async def for_matter(self, matter_id: int) -> builtins.list[Event]:
        rows = await self._conn.execute(
            select(events).where(events.c.matter_id == matter_id)
            .order_by(events.c.matter_seq, events.c.id))
        return [_event(r) for r in rows]

    async def changed_matters(self, office_id: int, since: datetime) -> set[int]:
        rows = await self._conn.execute(
            select(events.c.matter_id).distinct().where(
                events.c.office_id == office_id, events.c.at >= since,
                events.c.matter_id.is_not(None)))
        return {int(r[0]) for r in rows}

    async def since(self, office_id: int, since: datetime,
                    until: datetime | None = None) -> builtins.list[Event]:
        stmt = select(events).where(events.c.office_id == office_id, events.c.at >= since)
        if until is not None:
            stmt = stmt.where(events.c.at < until)
        result = await self._conn.execute(stmt.order_by(events.c.at, events.c.id))
        # A period's events (a bulletin's year) can be many: decoded in a thread.
        return await asyncio.to_thread(lambda: [_event(r) for r in result.all()])

    async def batches_since(self, office_id: int, since: datetime, size: int = 5000,
                            ) -> AsyncIterator[builtins.list[Event]]:
        """`since` (no end) in (at, id) order, `size` at a time by keyset (an export)."""
        after: tuple[datetime, int] | None = None
        while True:
            stmt = select(events).where(events.c.office_id == office_id, events.c.at >= since)
            if after is not None:
                stmt = stmt.where(or_(events.c.at > after[0], and_(
                    events.c.at == after[0], events.c.id > after[1])))
            result = await self._conn.execute(
                stmt.order_by(events.c.at, events.c.id).limit(size))
            batch = await asyncio.to_thread(_decode, result)
            if not batch:
                return
            yield batch
            if len(batch) < size:
                return
            last = batch[-1]
            assert last.id is not None
            after = (last.at, last.id)


# ---- invites, chats ----
