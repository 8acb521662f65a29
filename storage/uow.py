"""The unit of work: one connection and one transaction per `async with`.

On SQLite (aiosqlite) every statement is a trip to the driver's thread and back to the event
loop; under load each trip waits for a turn of the loop, and a writer holds SQLite's one
write lock across all of them. `SqlUnitOfWorkFactory.run_in_one_trip` runs a whole
transaction's statements in one trip instead (the hot path: handlers.intake).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.lights import LightStamp
from ledger.ports import (
    BulletinRepository,
    CardRepository,
    ChatRepository,
    EventLog,
    HolidayRepository,
    InviteRepository,
    MatterRepository,
    OfficeRepository,
    Outbox,
    PeopleRepository,
    PublicPostRepository,
    ReceiptRepository,
    RecordRepository,
    UnitOfWork,
)
from storage.db import read_only as _mark_read_only
from storage.holidays import SqlHolidayRepository
from storage.inbox import HOPPED_FROM, AlreadyHandled, mark_current
from storage.repositories import (
    CardAwareMatters,
    SqlBulletinRepository,
    SqlCardRepository,
    SqlChatRepository,
    SqlEventLog,
    SqlInviteRepository,
    SqlOutbox,
    SqlPeopleRepository,
    SqlPublicPostRepository,
    SqlReceiptRepository,
    SqlRecordRepository,
)
from storage.repositories.offices import SqlOfficeRepository


class SqlUnitOfWork:
    """`ledger.ports.UnitOfWork` on SQLAlchemy Core.

    Leaving the block rolls back whatever was not committed. `read_only=True` is for
    pure reads (reports, reminder scans): on SQLite they then do not take the write lock.
    """

    matters: MatterRepository
    people: PeopleRepository
    events: EventLog
    invites: InviteRepository
    chats: ChatRepository
    outbox: Outbox
    bulletins: BulletinRepository
    records: RecordRepository
    posts: PublicPostRepository
    holidays: HolidayRepository
    receipts: ReceiptRepository
    cards: CardRepository
    offices: OfficeRepository

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False,
                 writers: asyncio.Lock | None = None, lights: LightStamp | None = None,
                 ) -> None:
        self._engine = engine
        self._lights = lights
        self._read_only = read_only
        self._conn: AsyncConnection | None = None
        # SQLite has one writer at a time. Writers of this process queue here, in order,
        # instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms.
        self._writers = None if read_only or engine.dialect.name != "sqlite" else writers
        self._holding = False
        # Connected by `SqlUnitOfWorkFactory.run_in_one_trip`, which also closes it: the
        # block inside only begins and ends the transaction.
        self._hosted = False
        self.committed = False

    async def __aenter__(self) -> Self:
        if self._hosted:
            return await self._begin()
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open")
        await self._connect()
        try:
            return await self._begin()
        except BaseException:
            await self._close()
            raise

    async def _connect(self) -> None:
        if self._writers is not None:
            await self._writers.acquire()
            self._holding = True
        try:
            conn = await self._engine.connect()
            try:
                if self._read_only:
                    await _mark_read_only(conn)
            except BaseException:
                await conn.close()
                raise
        except BaseException:
            self._release()
            raise
        self._conn = conn

    async def _begin(self) -> Self:
        conn = self._open()
        if conn.in_transaction():
            raise RuntimeError("this unit of work is already open")
        await conn.begin()
        matters = CardAwareMatters(conn, self._lights)  # its saves redraw the live cards
        self.matters = matters
        self.people = SqlPeopleRepository(conn)
        self.events = SqlEventLog(conn, matters)
        self.invites = SqlInviteRepository(conn)
        self.chats = SqlChatRepository(conn)
        self.outbox = SqlOutbox(conn)
        self.bulletins = SqlBulletinRepository(conn)
        self.records = SqlRecordRepository(conn)
        self.posts = SqlPublicPostRepository(conn)
        self.holidays = SqlHolidayRepository(conn)
        self.receipts = SqlReceiptRepository(conn)
        self.cards = SqlCardRepository(conn)
        self.offices = SqlOfficeRepository(conn)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._hosted:
            conn = self._open()
            if conn.in_transaction():
                await conn.rollback()
            return
        await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            # The transaction is over: the next writer may go while this connection goes
            # back to the pool.
            self._release()
            await conn.close()

    def _release(self) -> None:
        if self._holding and self._writers is not None:
            self._holding = False
            self._writers.release()

    def _open(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn

    @property
    def connection(self) -> AsyncConnection:
        return self._open()

    async def commit(self) -> None:
        conn = self._open()
        # The update this task is handling is done with this change (storage.inbox).
        try:
            handling = None if self._read_only else await mark_current(conn)
        except AlreadyHandled:
            await conn.rollback()
            raise
        await conn.commit()
        self.committed = True
        if handling is not None:
            handling.finish()

    async def rollback(self) -> None:
        await self._open().rollback()


def connection_of(uow: UnitOfWork) -> AsyncConnection:
    """The open connection of a unit of work made here (for storage.inbox)."""
    if not isinstance(uow, SqlUnitOfWork):
        raise TypeError("the inbox needs the SQL unit of work")
    return uow.connection


T = TypeVar("T")


class _Suspended(Exception):
    """The function waited for something other than its statements (see `_complete`)."""


class SqlUnitOfWorkFactory:
    """Makes `SqlUnitOfWork`s sharing one writer lock (`ledger.ports.UnitOfWorkFactory`)."""

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False,
                 lights: LightStamp | None = None) -> None:
        self.engine = engine
        self.read_only = read_only
        self.lights = lights
        self.writers = asyncio.Lock()
        self.trips = 0  # transactions run in one trip (for tests and benchmarks)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, read_only=self.read_only, writers=self.writers,
                             lights=self.lights)

    async def run_in_one_trip(self, fn: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """`await fn(uow)` for a fresh unit of work, which `fn` enters (`async with`).

        On SQLite the statements of the whole call run in one trip to the driver's thread:
        `fn` must wait for nothing but its unit of work's statements (no sleeps, no other
        tasks, no threads), which is what a use case on a unit of work does. Elsewhere
        (PostgreSQL, natively asynchronous) this is plain `await fn(uow)`."""
        if self.engine.dialect.driver != "aiosqlite":
            return await fn(self())
        uow = self()
        await uow._connect()  # the writer lock and a pooled connection, on the loop
        try:
            raw = await uow.connection.get_raw_connection()
            driver = raw.driver_connection
            if isinstance(driver, aiosqlite.Connection):
                ctx = contextvars.copy_context()
                # The inbox's done mark asks which task commits (storage.inbox.Handling).
                ctx.run(HOPPED_FROM.set, asyncio.current_task())
                uow._hosted = True
                trip = asyncio.ensure_future(driver._execute(_complete, driver, ctx, fn, uow))
                try:
                    result: T = await asyncio.shield(trip)
                    self.trips += 1
                    return result
                except asyncio.CancelledError:
                    # The thread finishes the transaction (it may commit) before the
                    # connection and the writer lock are given back.
                    await asyncio.wait({trip})
                    if not trip.cancelled():
                        trip.exception()  # retrieved: its outcome goes with the cancel
                    raise
                except _Suspended:
                    if uow.committed:
                        raise RuntimeError("a one-trip call waited after committing") from None
                finally:
                    uow._hosted = False
        finally:
            await uow._close()
        # Not for one trip after all (nothing was committed): the ordinary way.
        return await fn(self())


def _complete(driver: aiosqlite.Connection, ctx: contextvars.Context,
              fn: Callable[[UnitOfWork], Awaitable[Any]], uow: SqlUnitOfWork) -> Any:
    """In the driver's thread: run `fn(uow)` to its end, its statements executed here at
    once instead of each queued for this thread (the connection is this call's alone)."""

    async def at_once(call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return call(*args, **kwargs)

    driver._execute = at_once  # type: ignore[method-assign,assignment]
    try:
        return ctx.run(_drive, fn, uow)
    finally:
        del driver._execute


def _drive(fn: Callable[[UnitOfWork], Awaitable[Any]], uow: SqlUnitOfWork) -> Any:
    coro = fn(uow)
    if not asyncio.iscoroutine(coro):
        raise TypeError("run_in_one_trip needs a coroutine function")
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()  # it waited for something else: its block rolls back
    raise _Suspended


def uow_factory(engine: AsyncEngine, *, read_only: bool = False,
                lights: LightStamp | None = None) -> SqlUnitOfWorkFactory:
    """`lights`: what the stored light is counted with (the bot's calendar, clock and
    thresholds); without it the statutory calendar and the system clock."""
    return SqlUnitOfWorkFactory(engine, read_only=read_only, lights=lights)
