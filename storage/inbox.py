"""The inbox: every update Telegram hands the bot, stored before Telegram is told it arrived.

An update is *done* once its handling has changed the ledger (or finished without changing
it). The done mark rides in the same transaction as the ledger change: the task handling an
update sets a `Handling` in `HANDLING`, and the next commit of a writing unit of work in that
task (see storage.uow) marks it. A crash therefore leaves each update either done with its
change or not done without it; the not-done ones are handled again at the next start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_ignore_many
from storage.tables import inbox

_c = inbox.c


@dataclass(eq=False)
class Handling:
    """Updates being handled by one task; `done` once a commit has marked them."""

    bot_id: int
    update_ids: tuple[int, ...]
    now: Callable[[], datetime]
    owner: asyncio.Task[Any] | None = None
    done: bool = False
    parts: tuple[Handling, ...] = field(default=())

    @classmethod
    def merge(cls, handlings: Iterable[Handling | None]) -> Handling | None:
        """One Handling for a batch that runs the calls of several updates together
        (handlers.batch): its commit marks them all."""
        live = [h for h in dict.fromkeys(handlings) if h is not None and not h.done]
        if not live:
            return None
        ids = tuple(dict.fromkeys(i for h in live for i in h.update_ids))
        return cls(live[0].bot_id, ids, live[0].now, asyncio.current_task(), parts=tuple(live))

    def applies(self) -> bool:
        """Only in the task that owns it: a task started from a handler (a job, say) does not
        carry the handler's update (it inherits the context, not the duty)."""
        return not self.done and (self.owner is None or self.owner is _current_task())

    def finish(self) -> None:
        self.done = True
        for p in self.parts:
            p.done = True


HANDLING: ContextVar[Handling | None] = ContextVar("duban_handling", default=None)
# Set while a task's transaction runs in the database driver's thread (storage.uow's one
# trip): there is no current task there, and the task that sent it is the one committing.
HOPPED_FROM: ContextVar[asyncio.Task[Any] | None] = ContextVar("duban_hopped_from",
                                                               default=None)


def _current_task() -> asyncio.Task[Any] | None:
    hopped = HOPPED_FROM.get()
    return hopped if hopped is not None else asyncio.current_task()


class AlreadyHandled(Exception):
    """Another handler (another instance behind a load balancer, say) recorded this update
    first: this change is rolled back, so the ledger has it once."""


async def mark_done(conn: AsyncConnection, bot_id: int, update_ids: Sequence[int],
                    at: datetime) -> int:
    """Mark the updates done; returns how many were not done before."""
    if not update_ids:
        return 0
    result = await conn.execute(update(inbox).where(
        _c.bot_id == bot_id, _c.update_id.in_(list(update_ids)),
        _c.done_at.is_(None)).values(done_at=at))
    return int(result.rowcount or 0)


async def mark_current(conn: AsyncConnection) -> Handling | None:
    """Before a commit: mark the updates this task is handling (None: nothing to mark).
    Raises AlreadyHandled when one of them was done already: the caller rolls back."""
    h = HANDLING.get()
    if h is None or not h.applies():
        return None
    if await mark_done(conn, h.bot_id, h.update_ids, h.now()) < len(h.update_ids):
        h.finish()
        raise AlreadyHandled(f"updates {list(h.update_ids)} were handled elsewhere")
    return h


async def store(conn: AsyncConnection, bot_id: int,
                updates: Sequence[tuple[int, dict[str, Any]]], at: datetime) -> list[int]:
    """Insert the updates not stored yet; returns the ids that were new (an update seen
    before, e.g. fetched again after a crash, is not handled twice)."""
    rows = {update_id: {"bot_id": bot_id, "update_id": update_id, "payload": payload,
                        "received_at": at} for update_id, payload in updates}
    if not rows:
        return []
    # One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: the ids it returns are the
    # ones this transaction stored (exact on both engines, even with two instances racing).
    stmt = insert_ignore_many(conn.dialect, inbox, ["bot_id", "update_id"]).returning(
        _c.update_id)
    result = await conn.execute(stmt, list(rows.values()))
    inserted = {int(r[0]) for r in result.all()}
    return [i for i in rows if i in inserted]


async def pending(conn: AsyncConnection, bot_id: int) -> list[tuple[int, dict[str, Any]]]:
    """Stored and not done, oldest first."""
    rows = await conn.execute(select(_c.update_id, _c.payload).where(
        _c.bot_id == bot_id, _c.done_at.is_(None)).order_by(_c.update_id))
    return [(int(r[0]), dict(r[1])) for r in rows]


async def counts(conn: AsyncConnection, bot_id: int | None = None) -> tuple[int, int]:
    """(stored, done): for the health check and tests."""
    where = [] if bot_id is None else [_c.bot_id == bot_id]
    stored = (await conn.execute(select(func.count()).select_from(inbox).where(*where)))
    done = (await conn.execute(select(func.count()).select_from(inbox).where(
        and_(*where, _c.done_at.is_not(None)))))
    return int(stored.scalar() or 0), int(done.scalar() or 0)


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Forget done updates received before `before`; never one not done."""
    result = await conn.execute(delete(inbox).where(
        _c.done_at.is_not(None), _c.received_at < before))
    return int(result.rowcount or 0)
