"""Typed context for handlers (PTB's contexttypesbot pattern): `context.deps` instead of
`context.bot_data["x"]`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram.ext import Application, CallbackContext, ExtBot

from handlers.intake import Intake
from ledger.clock import Clock
from ledger.lights import LightPolicy
from ledger.model import Person
from ledger.ports import UnitOfWorkFactory
from ledger.workcalendar import WorkCalendar
from presentation.render import Renderer
from reminders.scheduler import ReminderService
from settings import Config, ReminderPolicy


@dataclass
class Deps:
    """Everything a handler may use. Built once in bot.app, never global."""

    uow: UnitOfWorkFactory
    clock: Clock
    cal: WorkCalendar
    config: Config
    render: Renderer
    light_policy: LightPolicy = field(default_factory=LightPolicy)
    # Wakes the outbox dispatcher after a use case queued notices.
    kick: Callable[[], None] = lambda: None
    # Units of work that only read (on SQLite they do not take the write lock); None: uow.
    read: UnitOfWorkFactory | None = None
    # Batched lookups and progress reports (handlers.intake), built from uow/read/clock; a copy
    # made with dataclasses.replace (at start-up) builds its own.
    intake: Intake = field(init=False)
    # The offices with their own reminder policy ([offices."城关督".reminders]), by id:
    # resolved from the stored offices at start (bot.app, settings.offices).
    office_policies: Mapping[int, ReminderPolicy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.intake = Intake(self.uow, self.clock, self.read)

    def reminder_policy(self, office_id: int) -> ReminderPolicy:
        return self.office_policies.get(office_id, self.config.reminders)


@dataclass
class ChannelState:
    """The public channel's planner (handlers.public): one sync at a time (the job and a
    kick may overlap), and the matter versions already planned, so a run only renders the
    matters that changed since (the first run after a start compares every digest)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seen: dict[int, int] = field(default_factory=dict)


class BotData:
    """Application-wide state. Only `deps`; nothing else lives here."""

    def __init__(self) -> None:
        self._deps: Deps | None = None
        # One outbox delivery run at a time.
        self.dispatch_lock = asyncio.Lock()
        # A kick job is scheduled and has not started yet (bot.app).
        self.kick_pending = False
        # Causes of failed scheduled jobs already reported (handlers.errors): once each.
        self.reported_causes: set[str] = set()
        # The reminder scheduler running in this process (bot.reminder_jobs); None: not
        # started, or another instance holds the scheduler lock.
        self.reminders: ReminderService | None = None
        # The public channel's planner (handlers.public) and the page served in the bot.
        self.channel = ChannelState()
        self.web: web.AppRunner | None = None

    @property
    def deps(self) -> Deps:
        if self._deps is None:
            raise RuntimeError("bot_data.deps is set in bot.app.build_application")
        return self._deps

    @deps.setter
    def deps(self, value: Deps) -> None:
        self._deps = value


class Ctx(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    # The sender's ledger identity, looked up once per update (one context per update).
    caller_known: bool = False
    caller: Person | None = None

    @property
    def deps(self) -> Deps:
        return self.bot_data.deps


App = Application[ExtBot[Any], Ctx, dict[Any, Any], dict[Any, Any], BotData, Any]
