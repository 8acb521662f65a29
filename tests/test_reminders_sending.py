"""Sending through the sandbox: flood limits kept, RetryAfter honoured, 5xx / time-outs /
Forbidden handled; the JobQueue wiring (wake at the next due moment) and the scheduler
lock (one scheduler per database)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import ApplicationBuilder, ContextTypes

from bench.reminders import County, Spec, add_matters, local, open_db, seed_people
from bot import reminder_jobs
from bot.config import Config, ReminderPolicy
from handlers.delivery import PlainSender
from handlers.deps import App, BotData, Ctx, Deps
from handlers.ratelimit import TelegramRateLimiter, outbox_send
from ledger.clock import FixedClock, OffsetClock, SystemClock
from ledger.deadlines import MatterClass
from ledger.ports import Notice, UnitOfWorkFactory
from ledger.workcalendar import WorkCalendar
from presentation.render import Renderer
from reminders import scheduler
from reminders.lock import SchedulerLock
from reminders.outbox import deliver_due
from sandbox.limits import FloodLimits as SandboxFlood
from sandbox.people import Person
from sandbox.server import SandboxConfig, SandboxServer
from storage.tables import outbox
from tests.dbs import url_for

CAL = WorkCalendar()


@pytest.fixture
async def limited() -> AsyncIterator[SandboxServer]:
    """Telegram's limits: 30/s overall, 1/s (burst 3) per chat, 20/min per group."""
    server = SandboxServer(SandboxConfig(flood=SandboxFlood(enabled=True)))
    await server.start()
    yield server
    await server.stop()


def _bot(server: SandboxServer, token: str, limiter: TelegramRateLimiter) -> Bot:
    from telegram.ext import ExtBot
    return ExtBot(token, base_url=server.base_url, base_file_url=server.base_file_url,
                  rate_limiter=limiter)


async def test_rate_limiter_keeps_the_flood_limits(limited: SandboxServer) -> None:
    token = limited.create_bot(username="rl_bot")
    people = [limited.person(f"p{i}") for i in range(30)]
    hot = people[0]
    group = limited.group("工作群", people[:3])
    limiter = TelegramRateLimiter()
    async with _bot(limited, token, limiter) as bot:
        sends = [bot.send_message(p.id, f"m{k}") for k in range(2) for p in people]
        sends += [bot.send_message(hot.id, f"hot{k}") for k in range(5)]
        sends += [bot.send_message(group.id, f"g{k}") for k in range(4)]
        await asyncio.gather(*sends)
    assert limited.too_many_requests == 0
    calls = [c for c in limited.calls_to("sendMessage")]
    assert len(calls) == 60 + 5 + 4
    times = sorted(c.time for c in calls)
    # overall: never more than 30 started in any one second. The server stamps arrivals,
    # and one event loop runs both sides: on a loaded 2-core machine a stall delays some
    # arrivals by a couple of hundred ms, so allow that much jitter (the no-429 check
    # above is the strict one).
    assert min(times[i + 30] - times[i] for i in range(len(times) - 30)) >= 0.7
    hot_times = [c.time for c in calls if c.chat_id == hot.id]
    assert len(hot_times) == 7
    assert hot_times[-1] - hot_times[0] >= 5 * 0.95 - 0.3  # a burst of two, then 1 per second
    group_times = [c.time for c in calls if c.chat_id == group.id]
    assert group_times[3] - group_times[0] >= 3.0 - 0.3  # 20 per minute after a burst of 3


async def test_retry_after_makes_every_call_wait_then_retries(limited: SandboxServer) -> None:
    token = limited.create_bot(username="ra_bot")
    a, b = limited.person("甲"), limited.person("乙")
    limited.inject_fault("429", times=1, retry_after=1, method="sendMessage", chat_id=a.id)
    limiter = TelegramRateLimiter()
    async with _bot(limited, token, limiter) as bot:
        await bot.send_message(a.id, "一")      # 429 → waits 1 s → retried
        await bot.send_message(b.id, "二")      # also waited: the block is bot-wide
    assert limiter.retry_after_seen == 1
    ok = limited.calls_to("sendMessage")
    failed = [c for c in limited.calls_to("sendMessage", ok=None) if not c.ok]
    assert len(ok) == 2 and len(failed) == 1
    assert ok[0].time - failed[0].time >= 1.0
    assert [m.text for m in limited.sent_messages(a)] == ["一"]


async def test_an_outbox_send_gets_the_429_back_at_once(limited: SandboxServer) -> None:
    """The outbox retries its own rows after retry_after; the limiter does not retry them
    too (one retry policy), but still holds every other call for the block."""
    token = limited.create_bot(username="ra_outbox_bot")
    a, b = limited.person("甲"), limited.person("乙")
    limited.inject_fault("429", times=1, retry_after=1, method="sendMessage", chat_id=a.id)
    limiter = TelegramRateLimiter()
    async with _bot(limited, token, limiter) as bot:
        with outbox_send(), pytest.raises(RetryAfter):
            await bot.send_message(a.id, "一")
        await bot.send_message(b.id, "二")      # a reply outside the outbox: waited
    ok = limited.calls_to("sendMessage")
    failed = [c for c in limited.calls_to("sendMessage", ok=None) if not c.ok]
    assert len(ok) == 1 and len(failed) == 1
    assert ok[0].time - failed[0].time >= 1.0
    assert limited.sent_messages(a) == []


@dataclass
class Ledger:
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    county: County
    people: list[Person]
    office: Person


async def _ledger(tmp: Path, server: SandboxServer, n: int) -> Ledger:
    people = [server.person(f"干部{i}") for i in range(n)]
    office = server.person("督查室")
    engine, uow = await open_db(url_for(tmp / "s.db", migrated=True))
    county = await seed_people(uow, n, [p.id for p in people], office.id)
    return Ledger(engine, uow, county, people, office)


async def _statuses(engine: AsyncEngine) -> dict[str, tuple[str, int]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.key, outbox.c.status,
                                          outbox.c.attempts))).all()
    return {r[0]: (r[1], r[2]) for r in rows}


async def test_5xx_timeouts_and_forbidden(tmp_path: Path) -> None:
    server = SandboxServer(SandboxConfig(flood=SandboxFlood(enabled=False)))
    await server.start()
    try:
        token = server.create_bot(username="f_bot")
        led = await _ledger(tmp_path, server, 4)
        clock = FixedClock(local(2026, 12, 8, 9))
        p = led.county.persons
        notes = [Notice(key=f"t:{i}", office_id=led.county.office_id, kind="reminder_due",
                        due_at=clock.now(), person_id=p[i]) for i in range(4)]
        async with led.uow() as u:
            for n in notes:
                await u.outbox.add(n)
            await u.commit()
        server.inject_fault("5xx", times=1, chat_id=led.people[0].id)
        server.inject_fault("timeout", times=1, hold=1.0, chat_id=led.people[1].id)
        server.inject_fault("timeout", times=1, hold=1.0, deliver=True,
                            chat_id=led.people[2].id)
        server.block_chat(led.people[3].id)
        from telegram.request import HTTPXRequest
        bot = Bot(token, base_url=server.base_url, base_file_url=server.base_file_url,
                  request=HTTPXRequest(read_timeout=0.5))
        async with bot:
            sender = PlainSender(bot, led.uow)
            first = await deliver_due(led.uow, clock, sender, concurrency=4)
            assert (first.sent, first.retried, first.failed) == (0, 3, 1)
            clock.advance(timedelta(minutes=1))
            second = await deliver_due(led.uow, clock, sender, concurrency=4)
            assert (second.sent, second.retried, second.failed) == (4, 0, 0) or \
                second.sent == 3  # the office's "unreachable" notice is queued too
        status = await _statuses(led.engine)
        assert status["t:0"] == ("sent", 2) and status["t:1"] == ("sent", 2)
        assert status["t:3"][0] == "failed"
        counts = {k: len(server.sent_messages(led.people[k])) for k in range(4)}
        # 5xx and a time-out before delivery: once each. A time-out after delivery (the
        # answer lost on the way back) cannot be told from one before: sent again, the
        # one documented repeat. Forbidden: nothing, the person marked unreachable.
        assert counts == {0: 1, 1: 1, 2: 2, 3: 0}
        async with led.uow() as u:
            assert not (await u.people.get_person(p[3])).reachable
        told = [m.text for m in server.sent_messages(led.office)]
        assert len(told) == 1 and "office_unreachable" in (told[0] or "")
        await led.engine.dispose()
    finally:
        await server.stop()


def _app(server: SandboxServer, token: str, led: Ledger, clock: OffsetClock,
         policy: ReminderPolicy) -> App:
    app: App = (ApplicationBuilder().token(token).base_url(server.base_url)
                .base_file_url(server.base_file_url)
                .rate_limiter(TelegramRateLimiter())
                .context_types(ContextTypes(context=Ctx, bot_data=BotData))
                .updater(None).build())
    app.bot_data.deps = Deps(uow=led.uow, clock=clock, cal=CAL,
                             config=Config(token=token, reminders=policy), render=Renderer())
    return app


async def test_jobqueue_wakes_at_the_next_due_moment_and_one_scheduler_per_db(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = SandboxServer(SandboxConfig(flood=SandboxFlood(enabled=True)))
    await server.start()
    try:
        token = server.create_bot(username="jq_bot")
        led = await _ledger(tmp_path, server, 7)
        start = local(2026, 12, 8, 10)
        clock = OffsetClock.starting_at(start)
        p = led.county.persons
        # Three 急件 whose first hourly reminder falls 2, 3 and 4 s from now.
        specs = [Spec(start - timedelta(hours=1) + timedelta(seconds=2 + i), date(2026, 12, 8),
                      p[0], p[1 + 2 * i], p[2 + 2 * i], MatterClass.URGENT) for i in range(3)]
        await add_matters(led.uow, led.county, specs)
        policy = ReminderPolicy()
        settings = scheduler.Settings(sweep_seconds=60.0)  # only the wake-up job can do it
        first = _app(server, token, led, clock, policy)
        second = _app(server, token, led, clock, policy)
        lock_a = SchedulerLock(led.engine)
        lock_b = SchedulerLock(led.engine)
        svc_a = scheduler.ReminderService(led.uow, clock, CAL, policy,
                                          PlainSender(first.bot, led.uow), settings, lock_a)
        svc_b = scheduler.ReminderService(led.uow, clock, CAL, policy,
                                          PlainSender(second.bot, led.uow), settings, lock_b)
        caplog.set_level(logging.ERROR, logger="reminders.scheduler")
        async with first, second:
            await first.start()
            reminder_jobs.start(first, settings, svc_a)
            await asyncio.sleep(0.5)
            await second.start()
            reminder_jobs.start(second, settings, svc_b)
            await asyncio.sleep(5.0)
            assert reminder_jobs.service_for(first) is svc_a
            assert reminder_jobs.service_for(second) is None
            assert "另一个实例" in caplog.text and lock_a.holder in caplog.text
            await first.stop()
            await second.stop()
        await reminder_jobs.stop(first)
        async with led.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.due_at, outbox.c.sent_at).where(
                outbox.c.status == "sent"))).all()
        assert len(rows) == 6
        late = sorted((r[1] - r[0]).total_seconds() for r in rows)
        assert 0 <= late[len(late) // 2] < 0.5, late
        # released: another instance may take over at once
        assert await lock_b.acquire(SystemClock().now())
        await led.engine.dispose()
    finally:
        await server.stop()


async def test_lock_takeover_when_stale_or_holder_died(tmp_path: Path) -> None:
    engine, _ = await open_db(url_for(tmp_path / "l.db", migrated=True))
    now = local(2026, 12, 8, 9)
    a = SchedulerLock(engine, stale_after=timedelta(seconds=60))
    b = SchedulerLock(engine, stale_after=timedelta(seconds=60))
    assert await a.acquire(now)
    assert not await b.acquire(now + timedelta(seconds=30))
    assert a.holder in b.refusal and "本实例不启动调度器" in b.refusal
    assert await a.heartbeat(now + timedelta(seconds=45))
    assert not await b.acquire(now + timedelta(seconds=90))   # heartbeat 45 s ago
    assert await b.acquire(now + timedelta(seconds=106))      # silent for 61 s: taken over
    assert not await a.heartbeat(now + timedelta(seconds=107))  # a learns it lost it
    # A holder that was a process on this host which has exited: taken over at once.
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    dead = SchedulerLock(engine, holder=f"{b.holder.split(':')[0]}:{proc.pid}:dead")
    await b.release()
    assert await dead.acquire(now + timedelta(seconds=110))
    c = SchedulerLock(engine)
    assert await c.acquire(now + timedelta(seconds=111))
    await engine.dispose()
