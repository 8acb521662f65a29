"""`duban run`: the application's life, with durable intake and a clean, bounded stop.

Start: initialize, post_init (database, menus, jobs), start, handle what the inbox kept from
the last run, then take updates (long polling or the webhook).

Stop (SIGTERM or SIGINT), within STOP_BOUND_S + a few seconds:
1. stop taking updates (polling cancelled before anything unstored is confirmed; the
   webhook answers 503, so Telegram keeps the update and retries);
2. tell the reminder service to stop (no send waits for a group's pace any more);
3. let the updates in flight finish, at most HANDLING_BOUND_S; those cut short and those
   never started stay in the inbox (not done) for the next start;
4. close the rate limiter, stop the application (jobs end at once), shut down.
Unsent notices stay pending in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from datetime import timedelta
from typing import Protocol

from bot.config import Config
from bot.inbox import DurableIntake, DurableUpdateProcessor, Polling, bot_id_of
from bot.reminder_jobs import halt
from bot.webhook import WebhookServer
from handlers.deps import App
from handlers.ratelimit import TelegramRateLimiter

log = logging.getLogger(__name__)

HANDLING_BOUND_S = 10.0


class Source(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def make_intake(app: App, config: Config) -> DurableIntake:
    """The inbox for this application, attached to its update processor."""
    deps = app.bot_data.deps
    assert config.token
    intake = DurableIntake(deps.uow, deps.clock, bot_id_of(config.token),
                           keep=timedelta(days=config.inbox_keep_days))
    proc = app.update_processor
    if isinstance(proc, DurableUpdateProcessor):
        proc.intake = intake
    return intake


def make_source(app: App, config: Config, intake: DurableIntake, webhook: bool) -> Source:
    if webhook:
        return WebhookServer(app, intake, config)
    return Polling(app, intake)


def freeze_startup_heap() -> None:
    """What start-up built (modules, the application, caches) lives as long as the process:
    out of the collector's sight, so that a full collection, which otherwise walks all of
    it, does not stall the event loop for 100 ms and more."""
    gc.collect()
    gc.freeze()


async def begin(app: App, config: Config, webhook: bool) -> tuple[DurableIntake, Source]:
    """Started application → inbox replayed → taking updates."""
    intake = make_intake(app, config)
    await intake.replay(app)
    source = make_source(app, config, intake, webhook)
    await source.start()
    return intake, source


async def wind_down(app: App, source: Source | None,
                    handling_bound: float = HANDLING_BOUND_S) -> None:
    """Steps 1-4 of the module docstring (everything but shutdown)."""
    if source is not None:
        await source.stop()
    halt(app)
    proc = app.update_processor
    if isinstance(proc, DurableUpdateProcessor):
        await proc.settle(app, handling_bound)
    limiter = app.bot.rate_limiter
    if isinstance(limiter, TelegramRateLimiter):
        limiter.close()
    if app.running:
        await app.stop()


async def serve(app: App, config: Config, webhook: bool) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    source: Source | None = None
    try:
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        _, source = await begin(app, config, webhook)
        freeze_startup_heap()
        log.info("taking updates (%s); SIGTERM stops cleanly", "webhook" if webhook
                 else "long polling")
        polling = source.task if isinstance(source, Polling) else None
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(stopping.wait())]
        if polling is not None:
            waiters.append(polling)  # type: ignore[arg-type]
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            if w is not polling:
                w.cancel()
        if polling is not None and polling in done and not polling.cancelled():
            exc = polling.exception()
            if exc is not None:
                raise exc
        log.info("stopping: no new updates; letting those in flight finish")
        await wind_down(app, source)
        if app.post_stop is not None:
            await app.post_stop(app)
    finally:
        if app.running:  # start-up failed half way
            with contextlib.suppress(Exception):
                await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
    log.info("stopped")
    return 0
