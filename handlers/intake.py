"""What the handlers ask of the ledger on every message, batched (see handlers.batch).

One `Intake` per application: who a Telegram account is, which matter a message is about,
remembering the bot's messages, and recording progress reports. Under load the calls of
concurrent updates share transactions; the message → matter map is also kept in memory,
since it never changes once written.

A progress report is one write: `check` words the confirmation from a read, the handler
sends it, and `report` commits the event, its outbox rows, the confirmation's message ref
and the update's done mark together.

Each batch is one transaction run with `in_one_trip`: on SQLite its statements go to the
database's thread in one trip, not one trip (and one turn of the event loop) each.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

from handlers.batch import Batcher
from ledger.clock import Clock
from ledger.model import Assignment, Matter, Person
from ledger.ports import MessageRef, UnitOfWork, UnitOfWorkFactory
from ledger.usecases import closing

REF_CACHE_SIZE = 50_000

R = TypeVar("R")


async def in_one_trip(factory: UnitOfWorkFactory, fn: Callable[[UnitOfWork], Awaitable[R]],
                      ) -> R:
    """`await fn(factory())`, in one trip to the database where the storage offers it
    (storage.uow.SqlUnitOfWorkFactory.run_in_one_trip); `fn` awaits only its unit of work."""
    run = getattr(factory, "run_in_one_trip", None)
    if run is None:
        return await fn(factory())
    return cast(R, await run(fn))


class Intake:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock,
                 read: UnitOfWorkFactory | None = None) -> None:
        self._uow = uow
        self._read = read or uow
        self._clock = clock
        self._refs: OrderedDict[tuple[int, int], MessageRef] = OrderedDict()
        self.persons: Batcher[int, list[Person]] = Batcher(self._persons)
        self.lookups: Batcher[tuple[int, int], MessageRef | None] = Batcher(self._lookups)
        self.remembers: Batcher[MessageRef, None] = Batcher(self._remember)
        self.checks: Batcher[closing.ProgressReport, tuple[Matter, Assignment]] = \
            Batcher(self._checks)
        self.reports: Batcher[closing.ProgressReport, tuple[Matter, Assignment]] = \
            Batcher(self._reports)

    # ---- the calls handlers make

    async def person(self, telegram_id: int) -> Person | None:
        """The account's first binding, active first (one office: its only one)."""
        found = await self.persons.submit(telegram_id)
        return next((p for p in found if p.active), found[0] if found else None)

    async def bindings(self, telegram_id: int) -> list[Person]:
        """Every office's binding of the account (issue 16: it may be bound in several)."""
        return await self.persons.submit(telegram_id)

    async def lookup(self, chat_id: int, message_id: int) -> MessageRef | None:
        ref = self._refs.get((chat_id, message_id))
        if ref is not None:
            self._refs.move_to_end((chat_id, message_id))
            return ref
        return await self.lookups.submit((chat_id, message_id))

    async def remember(self, ref: MessageRef) -> None:
        await self.remembers.submit(ref)

    async def check(self, report: closing.ProgressReport) -> tuple[Matter, Assignment]:
        """What recording `report` would give, written nowhere (a read)."""
        return await self.checks.submit(report)

    async def report(self, report: closing.ProgressReport) -> tuple[Matter, Assignment]:
        """Record it, with its `reply` remembered in the same transaction."""
        outcome = await self.reports.submit(report)
        if report.reply is not None:
            self._cache(report.reply)
        return outcome

    # ---- the batches

    def _cache(self, ref: MessageRef) -> None:
        self._refs[(ref.chat_id, ref.message_id)] = ref
        self._refs.move_to_end((ref.chat_id, ref.message_id))
        while len(self._refs) > REF_CACHE_SIZE:
            self._refs.popitem(last=False)

    async def _persons(self, telegram_ids: list[int]) -> list[list[Person]]:
        async def read(u: UnitOfWork) -> dict[int, list[Person]]:
            async with u:
                return {tg: await u.offices.bindings(tg) for tg in dict.fromkeys(telegram_ids)}
        found = await in_one_trip(self._read, read)
        return [found[tg] for tg in telegram_ids]

    async def _lookups(self, keys: list[tuple[int, int]]) -> list[MessageRef | None]:
        async def read(u: UnitOfWork) -> dict[tuple[int, int], MessageRef | None]:
            async with u:
                return {k: await u.chats.lookup(*k) for k in dict.fromkeys(keys)}
        found = await in_one_trip(self._read, read)
        for ref in found.values():
            if ref is not None:
                self._cache(ref)
        return [found[k] for k in keys]

    async def _remember(self, refs: list[MessageRef]) -> list[None]:
        async def write(u: UnitOfWork) -> None:
            async with u:
                await u.chats.remember_many(refs)
                await u.commit()
        await in_one_trip(self._uow, write)
        for ref in refs:
            self._cache(ref)
        return [None] * len(refs)

    async def _checks(self, reports: list[closing.ProgressReport],
                      ) -> Sequence[tuple[Matter, Assignment] | BaseException]:
        return await in_one_trip(self._read, lambda u: closing.check_progress_many(
            u, self._clock, reports))

    async def _reports(self, reports: list[closing.ProgressReport],
                       ) -> Sequence[tuple[Matter, Assignment] | BaseException]:
        return await in_one_trip(self._uow, lambda u: closing.report_progress_many(
            u, self._clock, reports))
