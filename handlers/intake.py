"""What the handlers ask of the ledger on every message, batched (see handlers.batch).

One `Intake` per application: who a Telegram account is, which matter a message is about,
remembering the bot's messages, and recording progress reports. Under load the calls of
concurrent updates share transactions; the message → matter map is also kept in memory,
since it never changes once written.

A progress report is one write: `check` words the confirmation from a read, the handler
sends it, and `report` commits the event, its outbox rows, the confirmation's message ref
and the update's done mark together.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from handlers.batch import Batcher
from ledger.clock import Clock
from ledger.model import Assignment, Matter, Person
from ledger.ports import MessageRef, UnitOfWorkFactory
from ledger.usecases import closing

REF_CACHE_SIZE = 50_000


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
        async with self._read() as u:
            found = {tg: await u.offices.bindings(tg) for tg in dict.fromkeys(telegram_ids)}
        return [found[tg] for tg in telegram_ids]

    async def _lookups(self, keys: list[tuple[int, int]]) -> list[MessageRef | None]:
        async with self._read() as u:
            found = {k: await u.chats.lookup(*k) for k in dict.fromkeys(keys)}
        for ref in found.values():
            if ref is not None:
                self._cache(ref)
        return [found[k] for k in keys]

    async def _remember(self, refs: list[MessageRef]) -> list[None]:
        async with self._uow() as u:
            await u.chats.remember_many(refs)
            await u.commit()
        for ref in refs:
            self._cache(ref)
        return [None] * len(refs)

    async def _checks(self, reports: list[closing.ProgressReport],
                      ) -> Sequence[tuple[Matter, Assignment] | BaseException]:
        return await closing.check_progress_many(self._read(), self._clock, reports)

    async def _reports(self, reports: list[closing.ProgressReport],
                       ) -> Sequence[tuple[Matter, Assignment] | BaseException]:
        return await closing.report_progress_many(self._uow(), self._clock, reports)
