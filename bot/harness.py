"""The whole bot against the local Bot API server (sandbox/, a fake Telegram that knows
nothing of supervision), seeded with the demo county: for end-to-end tests and the demo.

A real SQLite file (migrated by Alembic), the real Application with every handler, long
polling through python-telegram-bot's HTTP stack, and simulated people on phones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.config import Config
from bot.demo_county import PEOPLE, SampleCounty, seed_sample_county
from bot.runner import make_deps, prepare_database
from bot.serve import begin
from handlers.delivery import TelegramSender
from handlers.deps import App, Deps
from ledger.clock import Clock
from ledger.model import Event
from ledger.ports import GroupChat
from ledger.workcalendar import WorkCalendar
from reminders.outbox import deliver_due
from sandbox.limits import FloodLimits
from sandbox.server import SandboxConfig, SandboxServer

BOT_USERNAME = "duban_demo_bot"


class CountingApplication(Application[Any, Any, Any, Any, Any, Any]):
    """Counts finished updates, so tests can wait for the bot instead of sleeping."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processed = 0
        self.idle = asyncio.Event()
        # Seconds each update took from the bot picking it up to its handlers finishing.
        self.durations: list[float] = []

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            if isinstance(update, Update):
                self.durations.append(time.perf_counter() - started)
                self.processed += 1
                self.idle.set()


@dataclass
class Harness:
    server: Any                      # sandbox.server.SandboxServer
    app: App
    deps: Deps
    clock: Clock
    county: SampleCounty
    people: dict[str, Any]           # key → sandbox person
    office_group: Any
    root: str
    token: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ids(self) -> dict[str, int]:
        return self.county.ids

    @property
    def units(self) -> dict[str, int]:
        return self.county.units

    async def deliver(self) -> int:
        """Deliver every due outbox notice now (as the dispatcher job would)."""
        sent = 0
        async with self.app.bot_data.dispatch_lock:
            sender = TelegramSender(self.app.bot, self.deps)
            while True:
                stats = await deliver_due(self.deps.uow, self.deps.clock, sender)
                sent += stats.sent
                if stats.touched == 0:
                    break
        return sent

    def update_count(self) -> int:
        """Updates the sandbox has created for the bot so far."""
        return int(self.server.bot(self.token).next_update_id) - 1

    async def settle(self, timeout: float = 10.0) -> None:
        """Until the bot has handled every update people sent and delivered what is due."""
        app = self.app
        assert isinstance(app, CountingApplication)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            total = self.update_count()
            if app.processed >= total:
                if await self.deliver() == 0 and app.processed >= self.update_count():
                    return
                continue
            remaining = end - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"bot handled {app.processed} of {total} updates")
            app.idle.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(app.idle.wait(), min(remaining, 0.5))


@asynccontextmanager
async def running_bot(directory: Path, *, clock: Clock | None = None,
                      cal: WorkCalendar | None = None, flood_limits: bool = False,
                      config: Config | None = None, db_url: str | None = None,
                      rate_limited: bool = True) -> AsyncIterator[Harness]:
    server = SandboxServer(SandboxConfig(flood=FloodLimits(enabled=flood_limits)))
    root = await server.start()
    token = server.create_bot(username=BOT_USERNAME, first_name="督办助手")
    engine = None
    app: App | None = None
    source: Any = None
    try:
        people = {key: server.person(first_name=name, username=f"u_{key}")
                  for key, (name, _, _) in PEOPLE.items()}
        people["stranger"] = server.person(first_name="陌生人", username="u_stranger")
        url = db_url or f"sqlite+aiosqlite:///{directory / 'duban.db'}"
        cfg = config or Config()
        cfg = Config(**{**cfg.__dict__, "token": token, "api_url": root, "db": url,
                        "files_dir": cfg.files_dir or directory / "files"})
        engine = await prepare_database(url)
        deps = make_deps(cfg, engine, clock=clock, cal=cal)
        county = await seed_sample_county(deps.uow, deps.clock,
                                          {k: p.id for k, p in people.items()})
        group = server.group(title="示例县督查工作群",
                             members=[people["admin"], people["leader"]])
        async with deps.uow() as u:
            await u.chats.bind(GroupChat(chat_id=group.id, office_id=county.office_id,
                                         unit_id=None, title="示例县督查工作群",
                                         bound_by=county.ids["admin"],
                                         bound_at=deps.clock.now()))
            await u.events.append(Event(kind="group_bound", at=deps.clock.now(),
                                        actor_id=county.ids["admin"],
                                        office_id=county.office_id,
                                        after={"chat_id": group.id, "unit_id": None}))
            await u.commit()
        app = build_application(cfg, deps, application_class=CountingApplication,
                                rate_limited=rate_limited)
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        # Durable intake (bot.inbox), as `duban run` takes updates: long polling, or the
        # webhook when cfg.webhook_url is set.
        _, source = await begin(app, cfg, webhook=cfg.webhook_url is not None)
        h = Harness(server=server, app=app, deps=app.bot_data.deps, clock=deps.clock,
                    county=county, people=people, office_group=group, root=root, token=token)
        h.extra["source"] = source
        yield h
    finally:
        if app is not None:
            if source is not None:
                await source.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        if engine is not None:
            await engine.dispose()
        await server.stop()
