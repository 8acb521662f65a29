"""The outbox dispatcher: sends what is due, records each result, never sends a notice twice.

A notice is marked sent in its own transaction right after Telegram accepted it, so a crash
between the two can repeat at most that one message; everything else resumes from the table.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from ledger import services
from ledger.clock import Clock
from ledger.ports import Notice, UnitOfWorkFactory

if TYPE_CHECKING:
    from bot.context import App, Ctx

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


class NoticeSender(Protocol):
    async def send(self, notice: Notice) -> None:
        """Deliver one notice or raise RetryLater / Unreachable / anything else."""
        ...


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def touched(self) -> int:
        return self.sent + self.retried + self.failed


def backoff(attempt: int) -> float:
    return float(min(600, 2 ** attempt))


async def deliver_due(uow: UnitOfWorkFactory, clock: Clock, sender: NoticeSender,
                      limit: int = 200) -> DeliveryStats:
    """One pass over what is due now."""
    stats = DeliveryStats()
    async with uow() as u:
        batch = await u.outbox.due(clock.now(), limit)
    for notice in batch:
        assert notice.id is not None
        try:
            await sender.send(notice)
        except RetryLater as e:
            async with uow() as u:
                await u.outbox.mark_retry(notice.id, str(e),
                                          clock.now() + timedelta(seconds=e.seconds))
                await u.commit()
            stats.retried += 1
            continue
        except Unreachable as e:
            async with uow() as u:
                await u.outbox.mark_failed(notice.id, f"unreachable: {e}")
                await u.commit()
            if e.person_id is not None:
                await services.mark_unreachable(uow(), clock, e.person_id, str(e))
            stats.failed += 1
            continue
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug or an unknown API error must not stop the queue
            log.exception("notice %s (%s) failed", notice.id, notice.kind)
            async with uow() as u:
                if notice.attempts + 1 >= MAX_ATTEMPTS:
                    await u.outbox.mark_failed(notice.id, repr(e))
                    stats.failed += 1
                else:
                    await u.outbox.mark_retry(
                        notice.id, repr(e),
                        clock.now() + timedelta(seconds=backoff(notice.attempts)))
                    stats.retried += 1
                await u.commit()
            continue
        async with uow() as u:
            await u.outbox.mark_sent(notice.id, clock.now())
            await u.commit()
        stats.sent += 1
    return stats


async def dispatch_job(context: Ctx) -> None:
    """JobQueue callback: deliver everything due; one run at a time."""
    from bot.sender import TelegramSender

    deps = context.deps
    lock = context.bot_data.dispatch_lock
    if lock.locked():
        return
    async with lock:
        sender = TelegramSender(context.bot, deps)
        while True:
            stats = await deliver_due(deps.uow, deps.clock, sender)
            if stats.sent == 0:
                break


def schedule_dispatcher(app: App) -> None:
    """A safety sweep; `Deps.kick` triggers immediate runs after each use case."""
    assert app.job_queue is not None
    app.job_queue.run_repeating(dispatch_job, interval=SWEEP_SECONDS, first=0.0,
                                name="outbox-sweep")
