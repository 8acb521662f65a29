"""Group commit: calls that arrive together run as one batch.

Under load many updates are in flight at once (see bot.updates). Each one that records a
progress report, looks up who sent it or remembers a message would otherwise open its own
transaction; a `Batcher` hands the callers waiting at the same moment to one function call
instead (one transaction, a few statements). When the bot is quiet a batch is one call and
waits for nothing: the batch starts at the next turn of the event loop.

Each caller's update (storage.inbox.Handling) goes with its item: a batch that commits marks
the updates of all its callers done in that same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from storage.inbox import HANDLING, Handling

T = TypeVar("T")
R = TypeVar("R")

# The batch function returns, for each item in order, its result or the exception that
# item's caller should see (a refused report does not fail the others).
BatchFn = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Batcher(Generic[T, R]):
    def __init__(self, run: BatchFn[T, R], *, max_batch: int = 200) -> None:
        self._run = run
        self._max = max_batch
        self._pending: list[tuple[T, asyncio.Future[R], Handling | None]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # how many calls of `run` so far (for benchmarks and tests)
        self.items = 0

    async def submit(self, item: T) -> R:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut, HANDLING.get()))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="batcher")
        return await fut

    async def _drain(self) -> None:
        # Let the other callers made ready by the same turn of the loop join this batch.
        await asyncio.sleep(0)
        batch: list[tuple[T, asyncio.Future[R], Handling | None]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending[:self._max], self._pending[self._max:]
                live = [(item, fut, h) for item, fut, h in batch if not fut.done()]
                if not live:
                    continue
                self.batches += 1
                self.items += len(live)
                token = HANDLING.set(Handling.merge(h for _, _, h in live))
                try:
                    results = await self._run([item for item, _, _ in live])
                except Exception as exc:  # the whole batch failed (e.g. the database)
                    for _, fut, _ in live:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                finally:
                    HANDLING.reset(token)
                if len(results) != len(live):
                    raise RuntimeError("batch function returned the wrong number of results")
                for (_, fut, _), result in zip(live, results, strict=True):
                    if fut.done():
                        continue
                    if isinstance(result, BaseException):
                        fut.set_exception(result)
                    else:
                        fut.set_result(result)
                batch = []
        finally:
            # Cancelled (shutdown) or broken: nobody may wait forever.
            for _, fut, _ in batch + self._pending:
                if not fut.done():
                    fut.cancel()
            if batch:
                self._pending = []
