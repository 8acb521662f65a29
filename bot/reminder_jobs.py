"""The reminder scheduler on the Application's JobQueue: wiring, so it lives in bot/.

- at start, take the scheduler lock (`reminders.lock`); a second instance refuses, says
  why, and retries now and then (it takes over only when the holder stops heartbeating);
- one job wakes at `outbox.next_due_at`, a safety sweep runs every `sweep_seconds`, and
  `Deps.kick` (after each use case) runs a tick at once. Jobs have no misfire grace limit
  and coalesce: a late wake-up still runs, once.

The running service is kept on the application (`BotData.reminders`), not in module state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from telegram.ext import Application, JobQueue

from handlers.delivery import TelegramSender
from handlers.deps import App, Ctx
from reminders.lock import SchedulerLock
from reminders.scheduler import ReminderService, Settings
from storage.db import database_url, make_engine
from storage.uow import uow_factory

log = logging.getLogger("reminders.scheduler")

_JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True}
WAKE_JOB = "reminders-wake"
SWEEP_JOB = "reminders-sweep"
HEARTBEAT_JOB = "reminders-heartbeat"
START_JOB = "reminders-start"


def service_for(app: Application[Any, Any, Any, Any, Any, Any]) -> ReminderService | None:
    """The running scheduler of this application (None: not started or refused)."""
    data = app.bot_data
    return cast("ReminderService | None", getattr(data, "reminders", None))


def _make_service(app: App, settings: Settings) -> ReminderService:
    deps = app.bot_data.deps
    url = database_url(deps.config.db)
    lock = read = None
    if ":memory:" not in url and "mode=memory" not in url:
        # Its own small engine: the lock's heartbeat and the read-only scans.
        engine = make_engine(url)
        lock = SchedulerLock(engine, stale_after=settings.stale_after)
        read = uow_factory(engine, read_only=True)
    return ReminderService(deps.uow, deps.clock, deps.cal, deps.config.reminders,
                           TelegramSender(app.bot, deps), settings, lock, read,
                           app.bot_data.dispatch_lock, office_policies=deps.office_policies)


@dataclass(frozen=True)
class _Start:
    settings: Settings
    service: ReminderService | None


def start(app: App, settings: Settings | None = None,
          service: ReminderService | None = None) -> None:
    """Called from post_init: take the lock and start the jobs (in a job, off the start-up
    path). `service`: a prepared one (the worker's); default: built from `Deps` with the
    bot's TelegramSender."""
    assert app.job_queue is not None
    data = _Start(service.settings if service else settings or Settings(), service)
    app.job_queue.run_once(_start_job, 0.0, data=data, name=START_JOB,
                           job_kwargs=_JOB_KWARGS)


def _app(context: Ctx) -> App:
    return cast("App", context.application)


async def _start_job(context: Ctx) -> None:
    app = _app(context)
    jq = app.job_queue
    assert jq is not None and context.job is not None
    data = context.job.data
    assert isinstance(data, _Start)
    settings = data.settings
    service = data.service or service_for(app) or _make_service(app, settings)
    if service.lock is not None and not await service.lock.acquire(service.clock.now()):
        log.error("%s", service.lock.refusal)
        jq.run_once(_start_job, settings.stale_after.total_seconds(),
                    data=_Start(settings, service), name=START_JOB, job_kwargs=_JOB_KWARGS)
        return
    app.bot_data.reminders = service
    log.info("reminder scheduler started (%s)", service.lock.holder if service.lock else "-")
    jq.run_repeating(run_job, interval=settings.sweep_seconds, first=settings.sweep_seconds,
                     name=SWEEP_JOB, job_kwargs=_JOB_KWARGS)
    if service.lock is not None:
        jq.run_repeating(_heartbeat_job, interval=settings.heartbeat_seconds,
                         first=settings.heartbeat_seconds, name=HEARTBEAT_JOB,
                         job_kwargs=_JOB_KWARGS)
    await _run(service, jq)


async def run_job(context: Ctx) -> None:
    """Wake-up, sweep and kick: one tick of this application's scheduler, if it runs."""
    app = _app(context)
    service = service_for(app)
    if service is None or app.job_queue is None:
        return
    await _run(service, app.job_queue)


async def _run(service: ReminderService, jq: JobQueue[Ctx]) -> None:
    if service.ticking:
        # The running tick goes round once more and schedules the wake-up when it ends;
        # scheduling one here too would wake at once, find it busy, and spin.
        await service.tick()
        return
    failed = True
    try:
        await service.tick()
        failed = False
    finally:
        # After a failed pass what was due is still due: waking at once would fail again
        # at once (a spin). Wait a sweep; the error goes to the job error handler.
        await _schedule_wake(service, jq,
                             min_delay=service.settings.sweep_seconds if failed else 0.0)


async def _schedule_wake(service: ReminderService, jq: JobQueue[Ctx],
                         min_delay: float = 0.0) -> None:
    if service.stopping.is_set():
        return
    for job in jq.get_jobs_by_name(WAKE_JOB):
        job.schedule_removal()
    due = await service.next_due_at()
    if due is None:
        return
    delay = max(min_delay, (due - service.clock.now()).total_seconds())
    if delay <= service.settings.sweep_seconds * 4:  # beyond that the sweep comes first
        jq.run_once(run_job, delay, name=WAKE_JOB, job_kwargs=_JOB_KWARGS)


async def _heartbeat_job(context: Ctx) -> None:
    app = _app(context)
    service = service_for(app)
    if service is None or service.lock is None:
        return
    if not await service.lock.heartbeat(service.clock.now()):
        log.error("reminder scheduler lock lost to another instance: stopping the scheduler")
        app.bot_data.reminders = None
        jq = app.job_queue
        assert jq is not None
        for name in (WAKE_JOB, SWEEP_JOB, HEARTBEAT_JOB):
            for job in jq.get_jobs_by_name(name):
                job.schedule_removal()
        jq.run_once(_start_job, service.settings.stale_after.total_seconds(),
                    data=_Start(service.settings, service), name=START_JOB,
                    job_kwargs=_JOB_KWARGS)


def halt(app: App) -> None:
    """First step of a clean stop: no new pass or send starts, a delivery waiting for a
    group's pace returns at once (its notices stay pending), and no job is scheduled again.
    Then JobQueue.stop(wait=True) has nothing long to wait for and cancels nothing."""
    service = service_for(app)
    if service is not None:
        service.stopping.set()
    jq = app.job_queue
    if jq is not None:
        for name in (WAKE_JOB, SWEEP_JOB, HEARTBEAT_JOB, START_JOB):
            for job in jq.get_jobs_by_name(name):
                job.schedule_removal()


async def stop(app: App) -> None:
    """Release the lock (post_shutdown); a crash instead leaves it to go stale."""
    service = service_for(app)
    app.bot_data.reminders = None
    if service is not None and service.lock is not None:
        await service.lock.release()
        await service.lock.engine.dispose()


async def dispatch_job(context: Ctx) -> None:
    """JobQueue callback (also the `Deps.kick` after each use case): plan what changed,
    deliver everything due, schedule the next wake-up."""
    await run_job(context)


def schedule_dispatcher(app: App) -> None:
    """Start the reminder scheduler if this process may (the scheduler lock), else say why."""
    start(app)
