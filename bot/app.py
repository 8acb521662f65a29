"""Wiring: ApplicationBuilder, dependencies, post_init/post_shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest, HTTPXRequest

from bot.backup_job import schedule_backups
from bot.bulletin_jobs import schedule_office_bulletins
from bot.config import Config
from bot.http import AiohttpRequest
from bot.inbox import DurableUpdateProcessor, quiet_if_already_handled
from bot.reminder_jobs import dispatch_job, schedule_dispatcher
from bot.reminder_jobs import stop as stop_reminders
from handlers import register_handlers
from handlers.deps import App, BotData, Ctx, Deps
from handlers.holidays import start_calendar
from handlers.light_jobs import schedule_light_recount
from handlers.menus import set_command_menus
from handlers.public import schedule_public, start_web, stop_web
from handlers.ratelimit import TelegramRateLimiter
from handlers.special import schedule_recurring
from ledger.model import Office
from settings.offices import check_offices, office_policies

log = logging.getLogger(__name__)

DISPATCH_JOB = "outbox-dispatch"
# Updates handled at once (bot.updates keeps each person's own in order).
CONCURRENT_UPDATES = 64


class BoundedRequest(HTTPXRequest):
    """At most `in_flight` Bot API calls at once (Config.api_in_flight); the others wait
    here rather than in httpcore's pool, which does work per waiting request and open
    connection on every change."""

    def __init__(self, *, in_flight: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slots = asyncio.Semaphore(in_flight)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        async with self._slots:
            return await super().do_request(*args, **kwargs)


async def configure_offices(app: App, config: Config) -> list[Office]:
    """[offices."PREFIX"] against the stored offices (preflight said so already; one added
    or gone since: stop here, with the same line): each office's reminder policy on Deps."""
    deps = app.bot_data.deps
    async with deps.uow() as uow:
        offices = list(await uow.people.offices())
    check_offices(config, offices)
    app.bot_data.deps = replace(deps, office_policies=office_policies(config, offices))
    return offices


def build_application(config: Config, deps: Deps,
                      on_shutdown: Callable[[], Awaitable[None]] | None = None,
                      on_start: Callable[[App], Awaitable[None]] | None = None,
                      application_class: type[Application[Any, Any, Any, Any, Any, Any]]
                      = Application, rate_limited: bool = True) -> App:
    """An Application talking to `config.api_root` (Telegram, a self-hosted Bot API server,
    or the sandbox), with every handler registered and the outbox dispatcher scheduled."""
    if not config.token:
        raise ValueError("build_application needs a token")
    root = config.api_root
    request: BaseRequest
    updates_request: BaseRequest
    if config.proxy is None or config.proxy.startswith(("http://", "https://")):
        request = AiohttpRequest(connections=config.api_in_flight, proxy=config.proxy)
        updates_request = AiohttpRequest(connections=1, proxy=config.proxy, read_timeout=40.0)
    else:  # SOCKS: httpx (with socksio) knows it, aiohttp does not
        request = BoundedRequest(in_flight=config.api_in_flight,
                                 connection_pool_size=config.api_in_flight,
                                 proxy=config.proxy, connect_timeout=10.0, read_timeout=15.0,
                                 pool_timeout=15.0)
        updates_request = HTTPXRequest(connection_pool_size=2, proxy=config.proxy,
                                       read_timeout=40.0)

    async def post_init(app: App) -> None:
        if on_start is not None:
            await on_start(app)
        me = await app.bot.get_me()
        log.info("bot @%s started; %s", me.username, config.redacted())
        await set_command_menus(app.bot)
        await start_calendar(app)  # entered holiday years from storage; next-year warning
        offices = await configure_offices(app, config)  # before the scheduler is built
        schedule_dispatcher(app)
        schedule_office_bulletins(app, config, offices)  # each office's [[bulletins]] crons
        schedule_public(app)  # 公示: the public channel, when configured
        await start_web(app)  # …and the public page, when [public] web_in_bot
        schedule_recurring(app)  # 专项督查 monthly asks, 重点企业 月回访
        schedule_light_recount(app)  # the stored light, at start and every night
        schedule_backups(app)  # [backup]: nightly, on the scheduler-lock holder
        # Everything alive now (modules, handlers, templates: ~200k objects) stays for
        # the life of the process; the cyclic GC need not walk it again in every full
        # collection, each of which otherwise stalls every chat for 50-100 ms.
        gc.collect()
        gc.freeze()

    async def post_shutdown(app: App) -> None:
        await stop_reminders(app)  # releases the scheduler lock
        await stop_web(app)
        if on_shutdown is not None:
            await on_shutdown()

    builder = ApplicationBuilder()
    if rate_limited:
        # Benchmarks comparing raw handling cost against a bare bot turn pacing off.
        builder = builder.rate_limiter(TelegramRateLimiter())
    app: App = (
        builder
        .application_class(application_class)
        .token(config.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .request(request)
        .get_updates_request(updates_request)
        .context_types(ContextTypes(context=Ctx, bot_data=BotData))
        .concurrent_updates(DurableUpdateProcessor(CONCURRENT_UPDATES))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )

    def kick() -> None:
        # Deliver what a use case just queued, now rather than at the next sweep. One kick
        # job at a time: a burst of reports wakes the dispatcher once, not per message.
        if app.job_queue is not None and app.running and not app.bot_data.kick_pending:
            app.bot_data.kick_pending = True
            app.job_queue.run_once(_kick_job, 0, name=f"{DISPATCH_JOB}-kick")

    app.bot_data.deps = replace(deps, kick=kick)
    app.add_error_handler(quiet_if_already_handled)  # before handlers' own (it stops them)
    register_handlers(app)
    return app


async def _kick_job(context: Ctx) -> None:
    context.bot_data.kick_pending = False  # a kick from now on schedules another run
    await dispatch_job(context)
