"""The unit of work: one connection and one transaction per `async with`."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

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
    UnitOfWorkFactory,
)
from storage.db import read_only as _mark_read_only
from storage.holidays import SqlHolidayRepository
from storage.inbox import AlreadyHandled, mark_current
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

    async def __aenter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open")
        if self._writers is not None:
            await self._writers.acquire()
            self._holding = True
        try:
            conn = await self._engine.connect()
            try:
                if self._read_only:
                    await _mark_read_only(conn)
                await conn.begin()
            except BaseException:
                await conn.close()
                raise
        except BaseException:
            self._release()
            raise
        self._conn = conn
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
        if handling is not None:
            handling.finish()

    async def rollback(self) -> None:
        await self._open().rollback()


def connection_of(uow: UnitOfWork) -> AsyncConnection:
    """The open connection of a unit of work made here (for storage.inbox)."""
    if not isinstance(uow, SqlUnitOfWork):
        raise TypeError("the inbox needs the SQL unit of work")
    return uow.connection


def uow_factory(engine: AsyncEngine, *, read_only: bool = False,
                lights: LightStamp | None = None) -> UnitOfWorkFactory:
    """`lights`: what the stored light is counted with (the bot's calendar, clock and
    thresholds); without it the statutory calendar and the system clock."""
    writers = asyncio.Lock()  # shared by the units of work of this factory

    def make() -> UnitOfWork:
        return SqlUnitOfWork(engine, read_only=read_only, writers=writers, lights=lights)
    return make
