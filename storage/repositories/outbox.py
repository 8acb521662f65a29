"""The outbox table: notices waiting, sent, failed."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.ports import (
    STATE_KINDS,
    Notice,
)
from storage.bulk import insert_rows
from storage.dialect import insert_ignore
from storage.tables import (
    outbox,
)


def _notice(row: Row[Any]) -> Notice:
    return Notice(key=row.key, office_id=row.office_id, kind=row.kind, due_at=row.due_at,
                  person_id=row.person_id, chat_id=row.chat_id, matter_id=row.matter_id,
                  assignment_no=row.assignment_no, payload=row.payload, id=row.id,
                  status=row.status, attempts=row.attempts, next_try_at=row.next_try_at,
                  sent_at=row.sent_at, last_error=row.last_error)


_ready_at = func.coalesce(outbox.c.next_try_at, outbox.c.due_at)


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, notice: Notice) -> bool:
        values = {
            "key": notice.key, "office_id": notice.office_id, "kind": notice.kind,
            "due_at": notice.due_at, "person_id": notice.person_id, "chat_id": notice.chat_id,
            "matter_id": notice.matter_id, "assignment_no": notice.assignment_no,
            "payload": notice.payload, "status": notice.status, "attempts": notice.attempts,
            "next_try_at": notice.next_try_at, "sent_at": notice.sent_at,
            "last_error": notice.last_error,
        }
        stmt = insert_ignore(self._conn.dialect, outbox, values, ["key"])
        row = (await self._conn.execute(stmt.returning(outbox.c.id))).first()
        if row is None:
            return False
        notice.id = int(row[0])
        return True

    async def add_many(self, notices: Sequence[Notice]) -> int:
        if not notices:
            return 0
        rows = [{
            "key": n.key, "office_id": n.office_id, "kind": n.kind, "due_at": n.due_at,
            "person_id": n.person_id, "chat_id": n.chat_id, "matter_id": n.matter_id,
            "assignment_no": n.assignment_no, "payload": n.payload, "status": n.status,
            "attempts": n.attempts, "next_try_at": n.next_try_at, "sent_at": n.sent_at,
            "last_error": n.last_error,
        } for n in notices]
        return await insert_rows(self._conn, outbox, rows, ignore=("key",))

    async def skip(self, notice_id: int, reason: str) -> None:
        await self._conn.execute(update(outbox).where(
            outbox.c.id == notice_id, outbox.c.status == "pending").values(
            status="cancelled", last_error=reason))

    async def due(self, now: datetime, limit: int = 100) -> builtins.list[Notice]:
        rows = await self._conn.execute(
            select(outbox).where(outbox.c.status == "pending", _ready_at <= now)
            .order_by(_ready_at, outbox.c.id).limit(limit))
        return [_notice(r) for r in rows]

    async def next_due_at(self) -> datetime | None:
        value = (await self._conn.execute(
            select(func.min(_ready_at)).where(outbox.c.status == "pending"))).scalar()
        return value if isinstance(value, datetime) else None

    async def mark_sent(self, notice_id: int, at: datetime) -> None:
        await self._conn.execute(update(outbox).where(outbox.c.id == notice_id).values(
            status="sent", sent_at=at, attempts=outbox.c.attempts + 1, last_error=None))

    async def mark_retry(self, notice_id: int, error: str, retry_at: datetime) -> None:
        await self._conn.execute(update(outbox).where(outbox.c.id == notice_id).values(
            attempts=outbox.c.attempts + 1, last_error=error, next_try_at=retry_at))

    async def mark_failed(self, notice_id: int, error: str) -> None:
        await self._conn.execute(update(outbox).where(outbox.c.id == notice_id).values(
            status="failed", attempts=outbox.c.attempts + 1, last_error=error))

    async def cancel(self, matter_id: int, kinds: frozenset[str] | None = None) -> int:
        stmt = update(outbox).where(outbox.c.matter_id == matter_id,
                                    outbox.c.status == "pending")
        if kinds is not None:
            stmt = stmt.where(outbox.c.kind.in_(sorted(kinds)))
        else:  # a closed matter's cards and public post must still say so
            stmt = stmt.where(outbox.c.kind.not_in(sorted(STATE_KINDS)))
        result = await self._conn.execute(stmt.values(status="cancelled"))
        return int(result.rowcount)

    async def for_person(self, person_id: int, limit: int = 20) -> builtins.list[Notice]:
        rows = await self._conn.execute(
            select(outbox).where(outbox.c.person_id == person_id)
            .order_by(outbox.c.id.desc()).limit(limit))
        return [_notice(r) for r in rows]


    async def by_keys(self, keys: Collection[str]) -> builtins.list[Notice]:
        if not keys:
            return []
        rows = await self._conn.execute(
            select(outbox).where(outbox.c.key.in_(sorted(keys))).order_by(outbox.c.id))
        return [_notice(r) for r in rows]

    async def note(self, notice_id: int, payload: dict[str, Any]) -> None:
        await self._conn.execute(
            update(outbox).where(outbox.c.id == notice_id).values(payload=payload))


# ---- bulletins ----
