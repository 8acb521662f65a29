"""A process that only runs the reminder scheduler: `python -m bot.worker`.

    python -m bot.worker --db var/duban.db --api-url http://127.0.0.1:8081 \\
        --token 123:ABC [--sender plain|telegram] [--clock-offset SECONDS]

It builds a PTB Application without update polling, so the scheduler runs through the
same JobQueue jobs as in the bot (start, wake at next due, sweep, heartbeat), and the same
rate limiter. `--sender plain` sends each notice as "[key] kind" (tests compare the
messages a sandbox received with the outbox keys); `--sender telegram` renders it as the
bot does (handlers.cards). SIGTERM/SIGINT stop it gracefully; SIGKILL is what the crash
test does to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from telegram.error import NetworkError, TimedOut
from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from bot import reminder_jobs
from handlers.delivery import PlainSender, TelegramSender
from handlers.deps import App, BotData, Ctx, Deps
from handlers.errors import on_error
from handlers.ratelimit import TelegramRateLimiter
from ledger.calendar_entry import load_entered
from ledger.clock import Clock, OffsetClock, SystemClock
from ledger.lights import LightPolicy, LightStamp
from ledger.workcalendar import WorkCalendar
from presentation.render import Renderer
from reminders import scheduler
from reminders.lock import SchedulerLock
from reminders.outbox import NoticeSender
from reminders.ratelimit import FloodLimits
from settings import Config, ReminderPolicy
from storage.db import database_url, make_engine
from storage.uow import uow_factory

log = logging.getLogger("bot.worker")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bot.worker", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True, help="database URL or SQLite file path")
    p.add_argument("--api-url", required=True, help="Bot API root, e.g. the sandbox")
    p.add_argument("--token", required=True)
    p.add_argument("--sender", choices=("plain", "telegram"), default="plain")
    p.add_argument("--clock-offset", type=float, default=0.0,
                   help="seconds added to the system clock")
    p.add_argument("--schedule", default=None, help="schedule.toml with calendar overrides")
    p.add_argument("--rate", type=float, default=FloodLimits.overall_per_second,
                   help="overall messages per second")
    p.add_argument("--concurrency", type=int, default=scheduler.Settings.concurrency)
    p.add_argument("--sweep", type=float, default=scheduler.Settings.sweep_seconds)
    p.add_argument("--read-timeout", type=float, default=10.0)
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    url = database_url(args.db)
    engine = make_engine(url)
    clock: Clock = (OffsetClock(timedelta(seconds=args.clock_offset)) if args.clock_offset
                    else SystemClock())
    cal = WorkCalendar.from_toml(Path(args.schedule) if args.schedule else None)
    policy = ReminderPolicy()
    limits = replace(FloodLimits(), overall_per_second=args.rate,
                     overall_window=max(30, round(args.rate)))
    settings = scheduler.Settings(concurrency=args.concurrency, sweep_seconds=args.sweep,
                                  limits=limits)
    request = HTTPXRequest(connection_pool_size=max(8, args.concurrency * 2),
                           read_timeout=args.read_timeout, connect_timeout=5.0)
    app: App = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{args.api_url.rstrip('/')}/bot")
        .base_file_url(f"{args.api_url.rstrip('/')}/file/bot")
        .request(request)
        .rate_limiter(TelegramRateLimiter(limits))
        .context_types(ContextTypes(context=Ctx, bot_data=BotData))
        .updater(None)
        .build()
    )
    # the matters it saves (automatic 催办) store their light on this calendar and clock
    uow = uow_factory(engine, lights=LightStamp(cal, clock, LightPolicy(
        stagnant_workdays=policy.stagnant_workdays)))
    config = Config(token=args.token, api_url=args.api_url, db=args.db, reminders=policy)
    deps = Deps(uow=uow, clock=clock, cal=cal, config=config, render=Renderer())
    app.bot_data.deps = deps
    app.add_error_handler(on_error)  # a failed job: logged with its traceback, reported
    sender: NoticeSender = (PlainSender(app.bot, uow) if args.sender == "plain"
                            else TelegramSender(app.bot, deps))
    side = make_engine(url)
    lock = SchedulerLock(side, stale_after=settings.stale_after)
    service = scheduler.ReminderService(uow, clock, cal, policy, sender, settings, lock,
                                        uow_factory(side, read_only=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await load_entered(uow, cal)  # the years the office entered (duban holidays import)
    for attempt in range(8):  # Telegram (or the network) may be down when we start
        try:
            await app.initialize()
            break
        except (NetworkError, TimedOut) as e:
            log.warning("start-up: %s; retrying", e)
            await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt))
    async with app:
        await app.start()
        reminder_jobs.start(app, settings, service)
        print("worker started", flush=True)
        await stop.wait()
        await app.stop()
    await reminder_jobs.stop(app)
    await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
