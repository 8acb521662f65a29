"""Start-up: database, dependencies, then long polling or a webhook."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_application
from bot.config import Config
from bot.paths import _ensure_dir
from bot.preflight import run_checks
from bot.serve import serve
from handlers.deps import App, Deps
from ledger.clock import Clock, SystemClock
from ledger.lights import LightPolicy, LightStamp
from ledger.usecases.people import bootstrap_office
from ledger.workcalendar import WorkCalendar
from presentation.render import Renderer
from storage.db import SchemaBehind, check_schema, database_url, make_engine, upgrade
from storage.uow import uow_factory

log = logging.getLogger(__name__)


async def prepare_database(url: str) -> AsyncEngine:
    """Migrate a database that is behind; refuse one newer than this code."""
    engine = make_engine(url)
    try:
        await check_schema(engine)
    except SchemaBehind:
        await engine.dispose()
        await upgrade(url)
        engine = make_engine(url)
        await check_schema(engine)
    return engine


def make_deps(config: Config, engine: AsyncEngine, clock: Clock | None = None,
              cal: WorkCalendar | None = None) -> Deps:
    clock = clock or SystemClock()
    cal = cal or WorkCalendar.from_toml(config.schedule)
    policy = LightPolicy(near_workdays=config.near_workdays,
                         stagnant_workdays=config.reminders.stagnant_workdays)
    # Every matter written stores its light, counted with the bot's own calendar and clock.
    lights = LightStamp(cal, clock, policy)
    return Deps(uow=uow_factory(engine, lights=lights),
                read=uow_factory(engine, read_only=True, lights=lights),
                clock=clock, cal=cal, config=config, render=Renderer(), light_policy=policy)


def run_bot(config: Config, webhook: bool = False) -> int:

    run_checks(config)  # a bad token, API URL or database: one line, not a traceback
    url = database_url(config.db)
    _ensure_dir(url)
    holder: dict[str, AsyncEngine] = {}

    async def on_start(app: App) -> None:
        engine = await prepare_database(url)
        holder["engine"] = engine
        deps = make_deps(config, engine)
        app.bot_data.deps = replace(deps, kick=app.bot_data.deps.kick)
        await bootstrap_office(deps.uow(), deps.clock, config.office_name,
                               config.admins, config.doc_prefix, dict(config.admin_names))

    async def on_stop() -> None:
        if "engine" in holder:
            await holder["engine"].dispose()

    # The real engine is made in the application's own event loop (on_start).
    placeholder = make_deps(config, make_engine(url))
    app = build_application(config, placeholder, on_shutdown=on_stop, on_start=on_start)
    if webhook and not config.webhook_url:
        print("配置错误：使用 --webhook 需要配置 webhook.url（或 DUBAN_WEBHOOK_URL）")
        return 2
    with suppress(KeyboardInterrupt):
        return asyncio.run(serve(app, config, webhook))
    return 0
