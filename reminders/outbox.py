"""The outbox dispatcher: sends what is due, records each result, never sends a notice twice.

A notice is marked sent in its own transaction right after Telegram accepted it, so a crash
between the two can repeat at most the messages in flight at that moment (each at most
once); everything else resumes from the table.

Reminders planned from the ledger (`rem:`/`sla:` keys) are checked against the ledger
once more just before sending (`SendCheck`): a reminder whose matter was closed, paused,
reported on, extended or asked for completion since it was planned is cancelled, not sent.

Destinations are served fairly: notices for one chat go one after another with the chat's
spacing (Telegram allows about one message a second in a private chat), while other chats
proceed, `concurrency` at a time; the bot's `TelegramRateLimiter` keeps the overall rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, cast

from ledger.clock import Clock
from ledger.deadlines import MatterClass
from ledger.errors import NotFound
from ledger.model import MatterStatus
from ledger.ports import Notice, UnitOfWork, UnitOfWorkFactory
from ledger.usecases import people as services  # mark_unreachable
from ledger.workcalendar import CalendarYearUnknown
from reminders import kinds
from reminders.planner import OfficeTargets, Planner, Target, UnassignedMatter
from reminders.ratelimit import FloodLimits

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SWEEP_SECONDS = 30.0


class RetryLater(Exception):
    """Telegram asked us to wait (429) or the network failed: try again after `seconds`."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds


class Unreachable(Exception):
    """The recipient blocked the bot, never started it, or is not bound to Telegram."""

    def __init__(self, person_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.person_id = person_id


class Stale(Exception):
    """Checked against the ledger at send time, the notice is no longer wanted (e.g. a
    receipt's reminder when everyone has read it): skipped, not sent."""


class NoticeSender(Protocol):
    async def send(self, notice: Notice) -> None:
        """Deliver one notice or raise RetryLater / Unreachable / anything else."""
        ...


class DigestSender(NoticeSender, Protocol):
    async def send_digest(self, notices: Sequence[Notice]) -> None:
        """Several feed notices for one group chat as one message (same errors as send)."""
        ...


# Office feed lines that may go out together when several wait for the same group.
DIGEST_KINDS = frozenset({"office_progress"})
DIGEST_MAX = 10


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0   # planned reminders no longer due at send time (cancelled)
    deferred: int = 0  # quiet hours: left pending until `next_release`
    next_release: datetime | None = None
    paced: int = 0     # chats whose next turn came after the pass's time budget

    @property
    def touched(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped

    def add(self, other: DeliveryStats) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.skipped += other.skipped
        self.deferred += other.deferred
        self.paced += other.paced
        if other.next_release is not None and (
                self.next_release is None or other.next_release < self.next_release):
            self.next_release = other.next_release


def backoff(attempt: int) -> float:
    return float(min(600, 2 ** attempt))


@dataclass
class Review:
    stale: dict[int, str] = field(default_factory=dict)           # id → why not to send
    deferred: dict[int, datetime] = field(default_factory=dict)   # id → not before


class SendCheck:
    """Looks at a batch once more just before it goes out:

    - planned reminders the ledger no longer wants are stale (cancelled, not sent);
    - nothing is sent in quiet hours or on a non-working day, except for urgent matters:
      such notices are deferred (left pending, untouched) to the next send moment.
    """

    def __init__(self, planner: Planner) -> None:
        self.planner = planner

    async def review(self, uow: UnitOfWorkFactory, batch: Sequence[Notice], now: datetime,
                     ) -> Review:
        out = Review()
        reminders = [n for n in batch if n.key.startswith(kinds.REMINDER_PREFIX)]
        office = [n for n in batch
                  if n.key.startswith(kinds.SLA_PREFIX) and n.matter_id is not None]
        matter_ids = {n.matter_id for n in batch if n.matter_id is not None}
        async with uow() as u:
            rows = await u.matters.open_assignments(matter_ids=matter_ids) if matter_ids else []
            by = {(r.matter_id, r.no): r for r in rows}
            urgent = {r.matter_id for r in rows if r.klass == MatterClass.URGENT.value}
            for n in reminders:
                row = by.get((n.matter_id or 0, n.assignment_no or 0))
                if not self.planner.still_due(n, row, now):
                    assert n.id is not None
                    out.stale[n.id] = ("stale: no longer due" if row is not None
                                       else "stale: assignment closed or gone")
            if office:
                await self._office(u, office, now, out)
        for n in batch:
            assert n.id is not None
            if n.id in out.stale or n.matter_id in urgent or n.kind in kinds.IMMEDIATE_KINDS:
                continue
            try:
                release = self.planner.release_at(n.next_try_at or n.due_at, now, n.office_id)
            except CalendarYearUnknown:
                continue
            if release > now:
                out.deferred[n.id] = release
        return out

    async def _office(self, u: UnitOfWork, office: list[Notice], now: datetime,
                      out: Review) -> None:
        paused = await u.matters.paused_ids({n.matter_id or 0 for n in office})
        for n in office:
            assert n.id is not None and n.matter_id is not None
            try:
                m = await u.matters.get(n.matter_id)
            except NotFound:
                out.stale[n.id] = "stale: matter gone"
                continue
            if m.status is not MatterStatus.REGISTERED:
                out.stale[n.id] = "stale: assigned"
                continue
            um = UnassignedMatter(m.id or 0, m.office_id, m.source, m.confidential,
                                  m.received_at, m.registered_at, m.id in paused)
            live = self.planner.live_unassigned(um, now, _only((n.person_id, n.chat_id)))
            if not any(x.key == n.key for x in live):
                out.stale[n.id] = "stale: no longer due"


def _only(target: Target) -> OfficeTargets:
    def targets(office_id: int, private: bool) -> list[Target]:
        return [target]
    return targets


def superseded(batch: Sequence[Notice]) -> dict[int, str]:
    """Card edits a newer one for the same message makes pointless (the newest state
    wins): id → why skipped."""
    newest: dict[tuple[int | None, object], Notice] = {}
    out: dict[int, str] = {}
    for n in batch:
        if n.kind != kinds.CARD_EDIT or n.id is None:
            continue
        card = (n.chat_id, n.payload.get("message_id"))
        seen = newest.get(card)
        if seen is None:
            newest[card] = n
            continue
        older, newer = (seen, n) if (seen.id or 0) < n.id else (n, seen)
        assert older.id is not None
        out[older.id] = "superseded by a newer edit"
        newest[card] = newer
    return out


def _destination(n: Notice) -> tuple[str, int]:
    if n.person_id is not None:
        return ("p", n.person_id)
    return ("c", n.chat_id or 0)


def _spacing(dest: tuple[str, int], limits: FloodLimits) -> float:
    kind, ident = dest
    return limits.interval(ident if kind == "c" else 1)


class _Outcome:
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


async def _deliver_one(uow: UnitOfWorkFactory, clock: Clock, sender: NoticeSender,
                       notices: Sequence[Notice], stats: DeliveryStats) -> str:
    """One message: a notice, or several progress lines for one group as a digest."""
    first = notices[0]
    ids = [n.id for n in notices if n.id is not None]
    try:
        if len(notices) == 1:
            await sender.send(first)
        else:
            await cast("DigestSender", sender).send_digest(notices)
    except RetryLater as e:
        async with uow() as u:
            for i in ids:
                await u.outbox.mark_retry(i, str(e), clock.now() + timedelta(seconds=e.seconds))
            await u.commit()
        stats.retried += len(ids)
        return _Outcome.RETRY
    except Stale as e:
        async with uow() as u:
            for i in ids:
                await u.outbox.skip(i, f"stale: {e}")
            await u.commit()
        stats.skipped += len(ids)
        return _Outcome.SKIPPED
    except Unreachable as e:
        async with uow() as u:
            for i in ids:
                await u.outbox.mark_failed(i, f"unreachable: {e}")
            await u.commit()
        if e.person_id is not None:
            await services.mark_unreachable(uow(), clock, e.person_id, str(e))
        stats.failed += len(ids)
        return _Outcome.UNREACHABLE
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a bug or an unknown API error must not stop the queue
        log.exception("notice %s (%s) failed", first.id, first.kind)
        async with uow() as u:
            if first.attempts + 1 >= MAX_ATTEMPTS:
                for i in ids:
                    await u.outbox.mark_failed(i, repr(e))
                stats.failed += len(ids)
                outcome = _Outcome.FAILED
            else:
                for i in ids:
                    await u.outbox.mark_retry(
                        i, repr(e), clock.now() + timedelta(seconds=backoff(first.attempts)))
                stats.retried += len(ids)
                outcome = _Outcome.RETRY
            await u.commit()
        return outcome
    async with uow() as u:
        for i in ids:
            await u.outbox.mark_sent(i, clock.now())
        await u.commit()
    stats.sent += len(ids)
    return _Outcome.SENT


async def deliver_due(uow: UnitOfWorkFactory, clock: Clock, sender: NoticeSender,
                      limit: int = 200, *, check: SendCheck | None = None,
                      concurrency: int = 1, limits: FloodLimits | None = None,
                      read: UnitOfWorkFactory | None = None,
                      until: float | None = None,
                      pacing: dict[tuple[str, int], float] | None = None,
                      stopping: asyncio.Event | None = None) -> DeliveryStats:
    """One pass over (at most `limit` of) what is due now.

    until: a loop time after which no send starts; what is left stays pending for the
    next pass (keeps a job short, so a backlog paced at 20 a minute cannot hold shutdown).

    check: cancel planned reminders the ledger no longer wants, and hold back (leave
    pending) what must not go out in quiet hours or on a non-working day; concurrency: sends in
    flight at once (to different chats); limits: space the notices of one chat as
    Telegram wants (None: no spacing here, e.g. tests on a sandbox without flood limits);
    read: a read-only unit of work for the queries; pacing: each chat's next turn (loop
    time), kept by the caller from one pass to the next so a new pass does not send to a
    chat again before its turn; stopping: once set, no send starts (a clean stop does not
    wait for a group's pace; what is left stays pending).
    """
    stats = DeliveryStats()
    now = clock.now()
    reader = read or uow
    async with reader() as u:
        batch = await u.outbox.due(now, limit)
    if not batch:
        return stats
    if check is not None:
        review = await check.review(reader, batch, now)
        if review.stale:
            async with uow() as u:
                for notice_id, reason in review.stale.items():
                    await u.outbox.skip(notice_id, reason)
                await u.commit()
            stats.skipped = len(review.stale)
        if review.deferred:
            stats.deferred = len(review.deferred)
            stats.next_release = min(review.deferred.values())
        batch = [n for n in batch if n.id not in review.stale and n.id not in review.deferred]
    collapsed = superseded(batch)
    if collapsed:
        async with uow() as u:
            for notice_id, reason in collapsed.items():
                await u.outbox.skip(notice_id, reason)
            await u.commit()
        stats.skipped += len(collapsed)
        batch = [n for n in batch if n.id not in collapsed]
    queues: dict[tuple[str, int], deque[Notice]] = {}
    for n in batch:
        queues.setdefault(_destination(n), deque()).append(n)
    loop = asyncio.get_running_loop()
    turns = pacing if pacing is not None else {}
    digests = hasattr(sender, "send_digest")
    heap: list[tuple[float, int, tuple[str, int]]] = [
        (turns.get(dest, 0.0), i, dest) for i, dest in enumerate(queues)]
    seq = len(heap)

    async def worker() -> None:
        nonlocal seq
        while heap:
            if stopping is not None and stopping.is_set():
                return
            not_before, _, dest = heapq.heappop(heap)
            if until is not None and not_before > until:
                stats.paced += 1
                continue  # this chat's next turn is past the budget: next pass
            delay = not_before - loop.time()
            if delay > 0:
                if stopping is None:
                    await asyncio.sleep(delay)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), delay)
                    if stopping.is_set():
                        return
            q = queues[dest]
            message = [q.popleft()]
            if dest[0] == "c" and digests:
                # A group's feed under a burst of reports: one message for the progress
                # lines waiting, rather than one line every 3 s for an hour.
                while (message[0].kind in DIGEST_KINDS and q and q[0].kind in DIGEST_KINDS
                       and len(message) < DIGEST_MAX):
                    message.append(q.popleft())
            outcome = await _deliver_one(uow, clock, sender, message, stats)
            if outcome == _Outcome.UNREACHABLE and q:
                # The same chat refuses the rest too: no point asking Telegram again.
                async with uow() as u:
                    for rest in q:
                        assert rest.id is not None
                        await u.outbox.mark_failed(rest.id, "unreachable (same batch)")
                    await u.commit()
                stats.failed += len(q)
                q.clear()
            if limits is not None:
                turns[dest] = loop.time() + _spacing(dest, limits)
            if q:
                heapq.heappush(heap, (turns.get(dest, 0.0), seq, dest))
                seq += 1

    workers = max(1, min(concurrency, len(queues)))
    if workers == 1:
        await worker()
    else:
        async with asyncio.TaskGroup() as tg:
            for _ in range(workers):
                tg.create_task(worker())
    return stats
