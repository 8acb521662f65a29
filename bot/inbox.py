"""Durable intake: no update is confirmed to Telegram before it is stored.

- Long polling (`Polling`): each batch from getUpdates is written to the inbox, committed,
  and only then is the next offset (which confirms it to Telegram) asked for. In webhook
  mode (bot.webhook) the 200 is sent only after the update is stored.
- Handling: `DurableUpdateProcessor` (bot.updates' per-key order, unchanged) sets the
  update's `storage.inbox.Handling` for its task; the first commit of the ledger change marks
  it done in the same transaction. An update whose handling changed nothing is marked when
  its handlers return (batched).
- On start, what is stored but not done is handled first (`replay`), once.
- A clean stop (`DurableUpdateProcessor.settle`) lets the updates in flight finish, for a
  bounded time; the rest stays in the inbox for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackContext

from bot.updates import KeyedUpdateProcessor
from handlers.batch import Batcher
from handlers.deps import App
from handlers.intake import in_one_trip
from handlers.ratelimit import retry_seconds
from ledger.clock import Clock
from ledger.ports import UnitOfWork, UnitOfWorkFactory
from storage import inbox as store
from storage.inbox import HANDLING, AlreadyHandled, Handling
from storage.uow import connection_of

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30          # seconds a getUpdates call waits for news
POLL_READ_MARGIN = 10.0    # seconds more the HTTP read may take
PARSE_SLICE = 10           # updates parsed between turns of the event loop
PRUNE_EVERY_S = 3600.0


def bot_id_of(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 0


class DurableIntake:
    """The inbox as the bot uses it (one per application)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, bot_id: int,
                 keep: timedelta = timedelta(days=7)) -> None:
        self.uow = uow
        self.clock = clock
        self.bot_id = bot_id
        self.keep = keep
        self._tracked: set[int] = set()
        self._done: Batcher[int, None] = Batcher(self._mark_done)
        self.stored = 0
        self.replayed = 0

    def owns(self, update_id: object) -> bool:
        return isinstance(update_id, int) and update_id in self._tracked

    async def store(self, updates: Sequence[Update]) -> list[Update]:
        """Write the updates to the inbox and commit; returns those not stored before."""
        new = await self._store_rows([(u.update_id, u.to_dict()) for u in updates])
        fresh = [u for u in updates if u.update_id in new]
        self._tracked.update(u.update_id for u in fresh)
        return fresh

    async def store_raw(self, app: App, payloads: Sequence[dict[str, Any]]) -> list[Update]:
        """getUpdates' JSON as Telegram sent it: stored as it came (not built into objects
        and serialised back), committed, then the new ones parsed, yielding to the event
        loop as it goes (a full batch parsed at once stalls every chat)."""
        rows = [(int(p["update_id"]), p) for p in payloads]
        new = await self._store_rows(rows)
        fresh: list[Update] = []
        for update_id, payload in rows:
            if update_id not in new:
                continue
            try:
                fresh.append(Update.de_json(payload, app.bot))
            except Exception:  # a payload this code cannot read: do not retry it forever
                log.exception("update %s unreadable; marked done", update_id)
                await self._mark_done([update_id])
                continue
            if len(fresh) % PARSE_SLICE == 0:
                await asyncio.sleep(0)
        self._tracked.update(u.update_id for u in fresh)
        return fresh

    async def _store_rows(self, rows: list[tuple[int, dict[str, Any]]]) -> set[int]:
        async def write(u: UnitOfWork) -> list[int]:
            async with u:
                stored = await store.store(connection_of(u), self.bot_id, rows, self.clock.now())
                await u.commit()
                return stored
        new = set(await in_one_trip(self.uow, write))
        self.stored += len(new)
        return new

    async def pending(self, app: App) -> list[Update]:
        async with self.uow() as u:
            rows = await store.pending(connection_of(u), self.bot_id)
        out: list[Update] = []
        for update_id, payload in rows:
            try:
                upd = Update.de_json(payload, app.bot)
            except Exception:  # a payload this code cannot read: do not retry it forever
                log.exception("inbox update %s unreadable; marked done", update_id)
                await self._mark_done([update_id])
                continue
            out.append(upd)
        self._tracked.update(u.update_id for u in out)
        return out

    async def replay(self, app: App) -> int:
        """Queue what was stored and not done (before any new update is fetched)."""
        waiting = await self.pending(app)
        for upd in waiting:
            await app.update_queue.put(upd)
        self.replayed += len(waiting)
        if waiting:
            log.info("handling %d updates stored before the last stop", len(waiting))
        return len(waiting)

    def begin(self, update_id: int) -> Handling:
        return Handling(self.bot_id, (update_id,), self.clock.now, asyncio.current_task())

    async def finish(self, handling: Handling) -> None:
        for uid in handling.update_ids:
            self._tracked.discard(uid)
        if not handling.done:
            with contextlib.suppress(asyncio.CancelledError):
                await self._done.submit(handling.update_ids[0])

    async def _mark_done(self, ids: list[int]) -> list[None]:
        async def write(u: UnitOfWork) -> None:
            async with u:
                await store.mark_done(connection_of(u), self.bot_id, ids, self.clock.now())
                await u.commit()
        await in_one_trip(self.uow, write)
        return [None] * len(ids)

    async def prune_every(self, seconds: float = PRUNE_EVERY_S) -> None:
        """Prune now and then, until cancelled (the webhook's background task)."""
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("inbox prune failed")
            await asyncio.sleep(seconds)

    async def prune(self) -> int:
        async with self.uow() as u:
            n = await store.prune(connection_of(u), self.clock.now() - self.keep)
            await u.commit()
        if n:
            log.info("inbox: %d handled updates older than %s forgotten", n, self.keep)
        return n


async def quiet_if_already_handled(update: object, context: CallbackContext[Any, Any, Any, Any],
                                   ) -> None:
    """The first error handler: an update another instance recorded first (its change here
    was rolled back, storage.inbox.AlreadyHandled) gets no apology; the others see the rest."""
    if isinstance(context.error, AlreadyHandled):
        log.info("%s", context.error)
        raise ApplicationHandlerStop


class DurableUpdateProcessor(KeyedUpdateProcessor):
    """bot.updates' concurrency and order, plus the inbox's done marks and a bounded stop."""

    __slots__ = ("_idle", "_inflight", "intake")

    def __init__(self, max_concurrent: int) -> None:
        super().__init__(max_concurrent)
        self.intake: DurableIntake | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        intake = self.intake
        uid = getattr(update, "update_id", None)
        if intake is None or not intake.owns(uid):
            await super().do_process_update(update, coroutine)
            return
        assert isinstance(uid, int)
        handling = intake.begin(uid)
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        self._idle.clear()
        token = HANDLING.set(handling)
        try:
            await super().do_process_update(update, coroutine)
        finally:
            HANDLING.reset(token)
            self._inflight.discard(task)
            if not self._inflight:
                self._idle.set()
        await intake.finish(handling)

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def settle(self, app: App, bound: float) -> int:
        """Clean stop: drop what is queued but not started (it stays in the inbox), let what
        runs finish for up to `bound` seconds, then cancel the rest (its transaction rolls
        back; not done, it is handled at the next start). Returns how many were cut short."""
        q = app.update_queue
        while not q.empty():
            q.get_nowait()
            q.task_done()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), bound)
        late = list(self._inflight)
        for task in late:
            task.cancel()
        if late:
            log.warning("stop: %d updates still running after %.0f s, left for the next start",
                        len(late), bound)
            await asyncio.gather(*late, return_exceptions=True)
        return len(late)


async def fetch_updates(app: App, offset: int | None, timeout: int,
                        allowed_updates: Sequence[str] | None) -> list[dict[str, Any]]:
    """getUpdates, its result as JSON: `Bot.get_updates` would build every update of the
    batch into objects before returning, and the inbox would serialise them back."""
    data: dict[str, Any] = {"timeout": timeout, "offset": offset,
                            "allowed_updates": allowed_updates}
    result = await app.bot._post("getUpdates", data,
                                 read_timeout=timeout + POLL_READ_MARGIN)
    return list(result or [])


class Polling:
    """Long polling that stores before it confirms (PTB's Updater confirms at once)."""

    def __init__(self, app: App, intake: DurableIntake, *, timeout: int = POLL_TIMEOUT,
                 allowed_updates: Sequence[str] | None = None) -> None:
        self.app = app
        self.intake = intake
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self.offset: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        await self.app.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._loop(), name="duban-polling")

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def stop(self) -> None:
        """Stop taking updates. An answer in flight is dropped unstored and unconfirmed:
        Telegram hands it out again."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _loop(self) -> None:
        failures = 0
        last_prune = -PRUNE_EVERY_S
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            if loop.time() - last_prune >= PRUNE_EVERY_S:
                last_prune = loop.time()
                try:
                    await self.intake.prune()
                except Exception:
                    log.exception("inbox prune failed")
            try:
                payloads = await fetch_updates(self.app, self.offset, self.timeout,
                                               self.allowed_updates)
                if payloads:
                    fresh = await self.intake.store_raw(self.app, payloads)
                    # Stored and committed: the next call may confirm them.
                    self.offset = int(payloads[-1]["update_id"]) + 1
                    for upd in fresh:
                        await self.app.update_queue.put(upd)
                failures = 0
            except InvalidToken:
                raise
            except RetryAfter as e:
                await self._pause(retry_seconds(e))
            except (NetworkError, TelegramError) as e:
                failures += 1
                log.warning("getUpdates failed (%s); retrying", e)
                await self._pause(min(30.0, 0.5 * 2 ** min(failures, 6)))
            except Exception:  # the database: nothing confirmed, fetch again
                failures += 1
                log.exception("storing updates failed; they stay unconfirmed")
                await self._pause(min(30.0, 0.5 * 2 ** min(failures, 6)))
