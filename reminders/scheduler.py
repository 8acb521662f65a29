"""The reminder scheduler: plans from the ledger into the outbox and drains the outbox.

`ReminderService` does the work and knows nothing of PTB; the functions at the bottom wire
it to the Application's JobQueue:

- at start, take the scheduler lock (`reminders.lock`); a second instance refuses, says
  why, and retries now and then (it takes over only when the holder stops heartbeating);
- `tick()`: a planning pass, then deliver everything due;
  - a full pass (every open assignment, `open_assignments()`) at start and every
    `full_plan_seconds`; in between, passes cover only matters with new events (cheap);
  - escalations due (automatic 催办, criticism flags) are applied first, each an event;
  - what is live now or due within `horizon` goes into the outbox (insert-ignore by key);
- one JobQueue job wakes at `outbox.next_due_at` (so a reminder is late by the time it
  takes to send, not by a polling interval), a safety sweep runs every `sweep_seconds`,
  and `Deps.kick` (after each use case) runs a tick at once. Jobs have no misfire grace
  limit and coalesce: a late wake-up still runs, once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from bot.config import ReminderPolicy
from ledger import services
from ledger.calendar_entry import next_year_warnings
from ledger.clock import Clock
from ledger.errors import DomainError
from ledger.model import MatterStatus
from ledger.policy import office_audience
from ledger.ports import AssignmentRow, MatterQuery, Notice, UnitOfWork, UnitOfWorkFactory
from ledger.workcalendar import WorkCalendar
from reminders import kinds
from reminders.lock import SchedulerLock
from reminders.outbox import DeliveryStats, NoticeSender, SendCheck, deliver_due
from reminders.planner import (
    DEFAULT_HORIZON,
    Escalation,
    EscalationKind,
    Plan,
    Planner,
    Target,
    UnassignedMatter,
)
from reminders.ratelimit import FloodLimits

if TYPE_CHECKING:
    from telegram.ext import Application, JobQueue

    from bot.context import App, Ctx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    horizon: timedelta = DEFAULT_HORIZON     # plan this far ahead (> sweep interval)
    sweep_seconds: float = 30.0              # safety sweep
    full_plan_seconds: float = 60.0          # full planning pass at most this often
    batch: int = 300                         # notices per pass: 10 s at 30 a second
    concurrency: int = 8                     # sends in flight (to different chats)
    limits: FloodLimits | None = field(default_factory=FloodLimits)
    heartbeat_seconds: float = 15.0
    stale_after: timedelta = timedelta(seconds=60)


@dataclass
class PassStats:
    full: bool = False
    rows: int = 0
    planned: int = 0
    queued: int = 0
    escalations: int = 0
    unknown_years: set[int] = field(default_factory=set)
    seconds: float = 0.0


@dataclass
class OfficeTargets:
    """Where an office hears the planner's news: its group chats, else its admins; admins
    only for confidential matters (RULES 5)."""

    public: dict[int, list[Target]] = field(default_factory=dict)
    private: dict[int, list[Target]] = field(default_factory=dict)

    def __call__(self, office_id: int, confidential: bool) -> list[Target]:
        return (self.private if confidential else self.public).get(office_id, [])

    @classmethod
    async def load(cls, u: UnitOfWork, office_ids: Iterable[int]) -> OfficeTargets:
        out = cls()
        for office_id in office_ids:
            admins = [p.id for p in await u.people.persons(office_id) if p.is_office]
            chats = [c.chat_id for c in await u.chats.for_office(office_id) if c.unit_id is None]
            out.private[office_id] = office_audience(chats, admins, confidential=True)
            out.public[office_id] = office_audience(chats, admins, confidential=False)
        return out


class ReminderService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cal: WorkCalendar,
                 policy: ReminderPolicy, sender: NoticeSender,
                 settings: Settings | None = None, lock: SchedulerLock | None = None,
                 read_uow: UnitOfWorkFactory | None = None,
                 dispatch_lock: asyncio.Lock | None = None) -> None:
        """`read_uow`: for the scans (on SQLite a read-only one does not take the write
        lock, so people's actions are not held up by a county-wide scan).
        `dispatch_lock`: held while delivering, shared with anything else in the process
        that delivers from the same outbox (BotData.dispatch_lock)."""
        self.uow = uow
        self.read = read_uow or uow
        self.clock = clock
        self.cal = cal
        self.policy = policy
        self.sender = sender
        self.settings = settings or Settings()
        self.lock = lock
        self.planner = Planner(cal, policy, self.settings.horizon)
        self.check = SendCheck(self.planner)
        self._known: dict[str, datetime] = {}     # keys this process queued (or found queued)
        self._last_full: datetime | None = None
        self._watermark: datetime | None = None   # events up to here are planned
        self._running = asyncio.Lock()
        self._dispatching = dispatch_lock or asyncio.Lock()
        self._again = False
        # Each chat's next turn (event-loop time) under Telegram's pace, across passes.
        self._turns: dict[tuple[str, int], float] = {}
        self.last_pass = PassStats()
        self.next_release: datetime | None = None  # held back for quiet hours until then
        # A clean stop: no planning pass or send starts once set (see `halt`).
        self.stopping = asyncio.Event()

    # ---- planning -----------------------------------------------------------------------

    async def plan_pass(self, full: bool | None = None) -> PassStats:
        """Escalate, then queue what is live or due within the horizon. `full` None: a full
        pass when the last one is older than `full_plan_seconds`, else only the matters
        with events since the last pass."""
        started = time.perf_counter()
        now = self.clock.now()
        if full is None:
            full = (self._last_full is None or now - self._last_full
                    >= timedelta(seconds=self.settings.full_plan_seconds))
        since = self._watermark
        stats = PassStats(full=full)
        async with self.read() as u:
            offices = [o.id for o in await u.people.offices()]
            if full or since is None:
                stats.full = True
                rows = await u.matters.open_assignments()
                changed: set[int] | None = None
            else:
                changed = set()
                for office_id in offices:
                    # 5 s back: a transaction may commit an event stamped a little earlier.
                    changed |= await u.events.changed_matters(office_id,
                                                              since - timedelta(seconds=5))
                rows = await u.matters.open_assignments(matter_ids=changed) if changed else []
            unassigned = await self._unassigned(u, offices, changed)
            targets = await OfficeTargets.load(u, offices)
        stats.rows = len(rows)
        # A full pass plans 100,000s of rows: in a thread, so updates keep being answered.
        plan = (await asyncio.to_thread(self.planner.plan, rows, now) if stats.full
                else self.planner.plan(rows, now))
        if plan.escalations:
            stats.escalations = await self._escalate(plan.escalations)
            touched = {e.matter_id for e in plan.escalations}
            async with self.read() as u:
                fresh = await u.matters.open_assignments(matter_ids=touched)
            again = self.planner.plan(fresh, now)
            plan = Plan([n for n in plan.notices if n.matter_id not in touched] + again.notices,
                        [], plan.unknown_years | again.unknown_years, plan.skipped_rows)
        office = self.planner.plan_unassigned(unassigned, now, targets)
        notices = plan.notices + office.notices
        stats.unknown_years = plan.unknown_years | office.unknown_years
        notices += self._calendar_warnings(stats.unknown_years, offices, targets, now)
        if stats.full:
            admins = {o: [p for p, _ in targets(o, True) if p is not None] for o in offices}
            notices += next_year_warnings(self.cal, now, self.policy.holidays_warn_from, admins)
        stats.planned = len(notices)
        new = [n for n in notices if n.key not in self._known]
        if new:
            async with self.uow() as u:
                stats.queued = await u.outbox.add_many(new)
                await u.commit()
            for n in new:
                self._known[n.key] = n.due_at
        if stats.full:
            self._last_full = now
            cutoff = now - timedelta(days=2)
            self._known = {k: v for k, v in self._known.items() if v >= cutoff}
        self._watermark = now
        stats.seconds = time.perf_counter() - started
        self.last_pass = stats
        if stats.unknown_years:
            log.warning("reminders skipped %d rows: no calendar for %s", plan.skipped_rows,
                        sorted(stats.unknown_years))
        return stats

    async def _unassigned(self, u: UnitOfWork, offices: Sequence[int],
                          changed: set[int] | None) -> list[UnassignedMatter]:
        if changed is not None and not changed:
            return []
        found = []
        for office_id in offices:
            q = MatterQuery(office_id=office_id, statuses=frozenset({MatterStatus.REGISTERED}))
            found += [m for m in await u.matters.list(q)
                      if m.id is not None and (changed is None or m.id in changed)]
        paused = await u.matters.paused_ids([m.id for m in found if m.id is not None])
        return [UnassignedMatter(m.id or 0, m.office_id, m.source, m.confidential,
                                 m.received_at, m.registered_at, m.id in paused)
                for m in found]

    def _calendar_warnings(self, years: set[int], offices: Sequence[int],
                           targets: OfficeTargets, now: datetime) -> list[Notice]:
        out = []
        for year in sorted(years):
            text = (f"{year}年超出可计算工作日的范围，相关事项的提醒暂停计算。"
                    f"请在 schedule.toml 中添加 [{year}] 一节（holidays 与 workdays）。")
            for office_id in offices:
                for person_id, chat_id in targets(office_id, True):
                    out.append(Notice(
                        key=f"calendar:{year}:p{person_id}", office_id=office_id,
                        kind=kinds.OFFICE_CALENDAR, due_at=now, person_id=person_id,
                        chat_id=chat_id, payload={"year": year, "text": text}))
        return out

    async def _escalate(self, escalations: Sequence[Escalation]) -> int:
        done = 0
        p = self.policy
        for e in escalations:
            try:
                if e.kind is EscalationKind.URGE:
                    m = await services.auto_urge(
                        self.uow(), self.clock, self.cal, e.matter_id, e.no,
                        after_workdays=p.auto_urge_after_workdays,
                        limit_workdays=p.urge_limit_workdays)
                else:
                    m = await services.flag_for_criticism(self.uow(), self.clock,
                                                          e.matter_id, e.no)
            except DomainError as exc:  # e.g. Conflict: someone else saved it; next pass
                log.info("escalation %s of %s/%s deferred: %s", e.kind, e.matter_id, e.no,
                         exc)
                continue
            if m is not None:
                done += 1
                log.info("escalation %s: matter %s assignment %s", e.kind, m.number, e.no)
        return done

    # ---- delivering ---------------------------------------------------------------------

    async def drain(self) -> DeliveryStats:
        """Deliver until nothing is due, or the time budget is spent (the wake-up job,
        scheduled at the next due moment, then carries on at once)."""
        total = DeliveryStats()
        s = self.settings
        loop = asyncio.get_running_loop()
        until = loop.time() + DRAIN_BUDGET_S
        if self.stopping.is_set():
            return total
        async with self._dispatching:
            now = loop.time()
            self._turns = {k: t for k, t in self._turns.items() if t > now}
            while True:
                stats = await deliver_due(self.uow, self.clock, self.sender, s.batch,
                                          check=self.check, concurrency=s.concurrency,
                                          limits=s.limits, read=self.read, until=until,
                                          pacing=self._turns, stopping=self.stopping)
                total.add(stats)
                # Stop when a chat's turn falls past the budget: another pass now would
                # re-read the whole batch to send nothing (the wake-up comes back for it).
                if (stats.touched == 0 or stats.paced or loop.time() >= until
                        or self.stopping.is_set()):
                    self.next_release = total.next_release
                    return total

    @property
    def ticking(self) -> bool:
        return self._running.locked()

    async def tick(self, full: bool | None = None) -> DeliveryStats:
        """Plan, then deliver. Concurrent calls coalesce into one more round."""
        if self._running.locked() or self.stopping.is_set():
            self._again = not self.stopping.is_set()
            return DeliveryStats()
        total = DeliveryStats()
        async with self._running:
            while True:
                self._again = False
                await self.plan_pass(full)
                full = None
                total.add(await self.drain())
                if not self._again or self.stopping.is_set():
                    return total

    async def next_due_at(self) -> datetime | None:
        """When the next notice may go out (a notice held back for quiet hours: at its
        release, not at its due moment)."""
        async with self.read() as u:
            due = await u.outbox.next_due_at()
        if due is not None and due <= self.clock.now() and self.next_release is not None:
            return self.next_release
        return due

    async def upcoming(self, rows: list[AssignmentRow], until: datetime,
                       person_id: int | None = None) -> list[Notice]:
        return self.planner.upcoming(rows, self.clock.now(), until, person_id)


# ---- PTB JobQueue wiring ------------------------------------------------------------------

_SERVICES: weakref.WeakKeyDictionary[Any, ReminderService] = weakref.WeakKeyDictionary()
_JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True}
WAKE_JOB = "reminders-wake"
# One delivery job sends for at most this long; the next starts right after.
DRAIN_BUDGET_S = 10.0
SWEEP_JOB = "reminders-sweep"
HEARTBEAT_JOB = "reminders-heartbeat"
START_JOB = "reminders-start"


def service_for(app: Application[Any, Any, Any, Any, Any, Any]) -> ReminderService | None:
    """The running scheduler of this application (None: not started or refused)."""
    return _SERVICES.get(app)


def _make_service(app: App, settings: Settings) -> ReminderService:
    from bot.sender import TelegramSender
    from storage.db import database_url, make_engine
    from storage.uow import uow_factory

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
                           app.bot_data.dispatch_lock)


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
    service = data.service or _SERVICES.get(app) or _make_service(app, settings)
    if service.lock is not None and not await service.lock.acquire(service.clock.now()):
        log.error("%s", service.lock.refusal)
        jq.run_once(_start_job, settings.stale_after.total_seconds(),
                    data=_Start(settings, service), name=START_JOB, job_kwargs=_JOB_KWARGS)
        return
    _SERVICES[app] = service
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
    service = _SERVICES.get(app)
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
    service = _SERVICES.get(app)
    if service is None or service.lock is None:
        return
    if not await service.lock.heartbeat(service.clock.now()):
        log.error("reminder scheduler lock lost to another instance: stopping the scheduler")
        _SERVICES.pop(app, None)
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
    service = _SERVICES.get(app)
    if service is not None:
        service.stopping.set()
    jq = app.job_queue
    if jq is not None:
        for name in (WAKE_JOB, SWEEP_JOB, HEARTBEAT_JOB, START_JOB):
            for job in jq.get_jobs_by_name(name):
                job.schedule_removal()


async def stop(app: App) -> None:
    """Release the lock (post_shutdown); a crash instead leaves it to go stale."""
    service = _SERVICES.pop(app, None)
    if service is not None and service.lock is not None:
        await service.lock.release()
        await service.lock.engine.dispose()
