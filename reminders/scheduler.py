"""The reminder scheduler: plans from the ledger into the outbox and drains the outbox.

`ReminderService` does the work and knows nothing of Telegram: it is given its units of
work, clock, calendar, policy, lock and the `NoticeSender` port by the wiring
(bot.reminder_jobs puts it on the Application's JobQueue):

- at start, take the scheduler lock (`reminders.lock`); a second instance refuses, says
  why, and retries now and then (it takes over only when the holder stops heartbeating);
- `tick()`: a planning pass, then deliver everything due;
  - a sweep (every open assignment, read in pages of `sweep_batch` and planned in a
    thread) only when the daily slots need it: at start, when a sending day's send moment
    comes within the horizon, when its escalations open, when the calendar changes, and
    at least every `full_plan_seconds` (hourly; urgent matters' hourly slots are planned
    up to past the next sweep); every other pass reads only the matters with new events,
    never the whole ledger;
  - escalations due (automatic 催办, criticism flags) are applied first, in batches, each
    an event;
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ledger.calendar_entry import next_year_warnings
from ledger.clock import Clock, to_local
from ledger.deadlines import MatterClass
from ledger.model import Matter, MatterStatus
from ledger.policy import office_audience
from ledger.ports import AssignmentRow, MatterQuery, Notice, UnitOfWork, UnitOfWorkFactory
from ledger.usecases import accountability
from ledger.workcalendar import WorkCalendar
from reminders import kinds
from reminders.lock import SchedulerLock
from reminders.outbox import DeliveryStats, NoticeSender, SendCheck, deliver_due
from reminders.planner import (
    DEFAULT_HORIZON,
    Escalation,
    EscalationKind,
    Plan,
    Target,
    UnassignedMatter,
    planner_for,
)
from reminders.ratelimit import FloodLimits
from settings import ReminderPolicy

log = logging.getLogger(__name__)

# One delivery job sends for at most this long; the next starts right after.
DRAIN_BUDGET_S = 10.0
# Notices queued per transaction by a pass.
QUEUE_BATCH = 1_000
# A pass plans more rows than this in a thread.
IN_THREAD_ROWS = 500
_URGENT = MatterClass.URGENT.value


@dataclass(frozen=True)
class Settings:
    horizon: timedelta = DEFAULT_HORIZON     # plan this far ahead (> sweep interval)
    sweep_seconds: float = 30.0              # safety sweep
    full_plan_seconds: float = 3600.0        # a sweep at least this often (urgent slots
                                             # are planned this far ahead)
    sweep_batch: int = 5_000                 # open assignments per page of a sweep
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
    skipped_rows: int = 0
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
                 dispatch_lock: asyncio.Lock | None = None,
                 office_policies: Mapping[int, ReminderPolicy] | None = None) -> None:
        """`office_policies`: the offices with their own reminder policy (settings.offices;
        the others have `policy`). `read_uow`: for the scans (on SQLite a read-only one does not take the write
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
        self.office_policies = dict(office_policies or {})
        self.planner = planner_for(cal, policy, self.office_policies, self.settings.horizon)
        self.check = SendCheck(self.planner)
        self._known: dict[str, datetime] = {}     # keys this process queued (or found queued)
        self._last_full: datetime | None = None
        self._swept_until: datetime | None = None  # daily slots up to here are planned
        self._swept_calendar: int | None = None    # the calendar version of the last sweep
        self._escalated_on: date | None = None     # the local day escalations were swept
        self._escalated: frozenset[int] = frozenset()  # …for these policies (offices)
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
        """Escalate, then queue what is live or due within the horizon.

        `full` None: a sweep of every open assignment only when something may fall due for
        all of them — the first pass, a sending day's daily moment coming within the
        horizon, that day's escalations opening, a changed calendar, and at least every
        `full_plan_seconds` (hourly). A sweep reads the assignments in bounded pages
        (`sweep_batch`, along the primary key) and plans each page in a thread; it plans
        urgent matters' hourly slots up to past the next sweep. Every other pass reads
        only the matters with events since the last pass."""
        started = time.perf_counter()
        now = self.clock.now()
        if full is None:
            full = self._sweep_due(now)
        since = self._watermark
        stats = PassStats(full=full or since is None)
        async with self.read() as u:
            offices = [o.id for o in await u.people.offices()]
        if stats.full:
            changed: set[int] | None = None
            await self._sweep(now, stats)
        else:
            assert since is not None
            async with self.read() as u:
                changed = set()
                for office_id in offices:
                    # 5 s back: a transaction may commit an event stamped a little earlier.
                    changed |= await u.events.changed_matters(office_id,
                                                              since - timedelta(seconds=5))
                rows = await u.matters.open_assignments(matter_ids=changed) if changed else []
            await self._plan_rows(rows, now, stats, in_thread=len(rows) > IN_THREAD_ROWS)
        async with self.read() as u:
            unassigned = await self._unassigned(u, offices, changed)
            # Who hears the office's news: read only when there is news (an idle pass
            # reads no people).
            targets = (await OfficeTargets.load(u, offices)
                       if unassigned or stats.unknown_years or stats.full else OfficeTargets())
        office = self.planner.plan_unassigned(unassigned, now, targets)
        notices = office.notices
        stats.unknown_years |= office.unknown_years
        skipped = stats.skipped_rows + office.skipped_rows
        notices += self._calendar_warnings(stats.unknown_years, offices, targets, now)
        if stats.full:
            admins = {o: [p for p, _ in targets(o, True) if p is not None] for o in offices}
            notices += next_year_warnings(self.cal, now, self.policy.holidays_warn_from, admins)
        await self._queue(notices, stats)
        if stats.full:
            self._last_full = now
            self._swept_until = now + self.settings.horizon
            self._swept_calendar = self.cal.version
            if self.planner.escalating(now):
                today = to_local(now).date()
                before = self._escalated if self._escalated_on == today else frozenset()
                self._escalated_on = today
                self._escalated = before | self.planner.escalating_policies(now)
            cutoff = now - timedelta(days=2)
            self._known = {k: v for k, v in self._known.items() if v >= cutoff}
        self._watermark = now
        stats.seconds = time.perf_counter() - started
        self.last_pass = stats
        if stats.unknown_years:
            log.warning("reminders skipped %d rows: no calendar for %s", skipped,
                        sorted(stats.unknown_years))
        return stats

    def _sweep_due(self, now: datetime) -> bool:
        if self._last_full is None or self._swept_until is None:
            return True
        if now - self._last_full >= timedelta(seconds=self.settings.full_plan_seconds):
            return True
        if self._swept_calendar != self.cal.version:
            return True
        if self.planner.sends_between(self._swept_until, now + self.settings.horizon, now):
            return True
        # An office whose sending window opens later than another's escalates then too.
        return (self.planner.escalating(now)
                and (self._escalated_on != to_local(now).date()
                     or not self.planner.escalating_policies(now) <= self._escalated))

    async def _sweep(self, now: datetime, stats: PassStats) -> None:
        """Every open assignment, a page at a time: each page is read, planned in a thread,
        escalated and queued before the next is read (memory and stalls stay bounded)."""
        after: tuple[int, int] | None = None
        size = self.settings.sweep_batch
        while True:
            async with self.read() as u:
                rows = await u.matters.open_assignments(after=after, limit=size)
            if rows:
                await self._plan_rows(rows, now, stats, in_thread=True)
                after = (rows[-1].matter_id, rows[-1].no)
            if len(rows) < size or self.stopping.is_set():
                return

    async def _plan_rows(self, rows: list[AssignmentRow], now: datetime, stats: PassStats,
                         *, in_thread: bool) -> None:
        stats.rows += len(rows)
        plan = await asyncio.to_thread(self._plan, rows, now) if in_thread else self._plan(rows, now)
        if plan.escalations:
            stats.escalations += await self._escalate(plan.escalations)
            touched = {e.matter_id for e in plan.escalations}
            async with self.read() as u:
                fresh = await u.matters.open_assignments(matter_ids=touched)
            again = (await asyncio.to_thread(self._plan, fresh, now) if in_thread
                     else self._plan(fresh, now))
            plan = Plan([n for n in plan.notices if n.matter_id not in touched] + again.notices,
                        [], plan.unknown_years | again.unknown_years, plan.skipped_rows)
        stats.unknown_years |= plan.unknown_years
        stats.skipped_rows += plan.skipped_rows
        await self._queue(plan.notices, stats)

    def _plan(self, rows: list[AssignmentRow], now: datetime) -> Plan:
        """Daily rows up to the horizon; urgent ones (hourly slots) up to past the next
        sweep, so that the passes in between need not read them. A slot planned early is
        checked again when it is sent (SendCheck)."""
        urgent = [r for r in rows if r.klass == _URGENT]
        if not urgent:
            return self.planner.plan(rows, now)
        daily = self.planner.plan([r for r in rows if r.klass != _URGENT], now)
        ahead = self.planner.plan(urgent, now, timedelta(
            seconds=self.settings.full_plan_seconds) + 2 * self.settings.horizon)
        return Plan(daily.notices + ahead.notices, daily.escalations + ahead.escalations,
                    daily.unknown_years | ahead.unknown_years,
                    daily.skipped_rows + ahead.skipped_rows)

    async def _queue(self, notices: list[Notice], stats: PassStats) -> None:
        stats.planned += len(notices)
        new = [n for n in notices if n.key not in self._known]
        # Bounded writes: each a short hold of the writer (handlers wait behind it).
        for k in range(0, len(new), QUEUE_BATCH):
            chunk = new[k:k + QUEUE_BATCH]
            async with self.uow() as u:
                stats.queued += await u.outbox.add_many(chunk)
                await u.commit()
            for n in chunk:
                self._known[n.key] = n.due_at

    async def _unassigned(self, u: UnitOfWork, offices: Sequence[int],
                          changed: set[int] | None) -> list[UnassignedMatter]:
        if changed is not None and not changed:
            return []
        found = []
        if changed is not None:  # only the changed ones, by key
            found = [m for m in (await u.matters.get_many(changed)).values()
                     if m.status is MatterStatus.REGISTERED and m.office_id in offices]
        else:  # a sweep: the registered ones, from the (office_id, status) index
            for office_id in offices:
                q = MatterQuery(office_id=office_id,
                                statuses=frozenset({MatterStatus.REGISTERED}))
                found += await u.matters.list(q)
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
        """Automatic 催办 and criticism flags, in batches (accountability.ESCALATION_BATCH
        to a transaction), each an event; one that no longer applies or met a conflict is
        left for the next pass."""
        flags = [(e.matter_id, e.no) for e in escalations if e.kind is EscalationKind.FLAG]
        done = 0
        # Each office's own thresholds ([offices."城关督".reminders]): one call per policy.
        for p, urges in self._urges_by_policy(escalations):
            urged = await accountability.auto_urge_many(
                self.uow, self.clock, self.cal, urges,
                after_workdays=p.auto_urge_after_workdays,
                limit_workdays=p.urge_limit_workdays, receipts=p.receipts)
            done += self._log_escalations(EscalationKind.URGE, urges, urged)
        if flags:
            flagged = await accountability.flag_for_criticism_many(self.uow, self.clock, flags)
            done += self._log_escalations(EscalationKind.FLAG, flags, flagged)
        return done

    def _urges_by_policy(self, escalations: Sequence[Escalation],
                         ) -> list[tuple[ReminderPolicy, list[tuple[int, int]]]]:
        by: dict[int, list[tuple[int, int]]] = {}
        for e in escalations:
            if e.kind is EscalationKind.URGE:
                key = e.office_id if e.office_id in self.office_policies else -1
                by.setdefault(key, []).append((e.matter_id, e.no))
        return [(self.office_policies.get(k, self.policy), urges) for k, urges in by.items()]

    @staticmethod
    def _log_escalations(kind: EscalationKind, targets: Sequence[tuple[int, int]],
                         results: Sequence[Matter | None]) -> int:
        done = 0
        for (_, no), m in zip(targets, results, strict=True):
            if m is not None:
                done += 1
                if len(targets) <= 20:  # a county-wide first pass logs a count, not 100k lines
                    log.info("escalation %s: matter %s assignment %s", kind, m.number, no)
        if len(targets) > 20 or done < len(targets):
            log.info("escalation %s: %d of %d applied (the rest next pass)", kind, done,
                     len(targets))
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
