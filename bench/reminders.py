"""Reminders at county scale: `python -m bench.reminders [--quick]`.

Three measurements, each on its own SQLite file and clock (an `OffsetClock`: real time
flowing from a chosen working-day moment):

1. throughput: N due reminders (10,000; --quick 1,500) to 2 people per matter, 5 each,
   delivered by the real scheduler (PTB JobQueue, TelegramRateLimiter, outbox dispatcher)
   to the sandbox with its flood limits on. Rate = messages / (last send − first send),
   against the sandbox's allowed overall rate; 429s as counted by the sandbox; duplicates
   and lost by comparing the sandbox's messages ("[key] kind") with the outbox keys.
2. due computation over 100,000 open assignments (--quick: the same): the planner over
   storage's flat scan, deadlines spread from 5 working days overdue to 30 ahead, 3% urgent,
   at 09:00 on a working day (the heaviest moment: every live slot is computed).
3. lateness: 300 urgent reminders falling due over ~40 s; sent_at − due_at per reminder.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.machine import emit
from bot.config import ReminderPolicy
from ledger.clock import LOCAL_TZ, Clock
from ledger.deadlines import MatterClass
from ledger.model import Matter, Role, Source
from ledger.ports import UnitOfWorkFactory
from ledger.workcalendar import WorkCalendar
from reminders.planner import Planner
from reminders.ratelimit import FloodLimits
from storage.db import make_engine, upgrade
from storage.tables import outbox
from storage.uow import uow_factory

BATCH = 5_000


def local(y: int, mo: int, d: int, h: int = 9, mi: int = 0, s: float = 0.0) -> datetime:
    return (datetime(y, mo, d, h, mi, tzinfo=LOCAL_TZ) + timedelta(seconds=s)).astimezone(UTC)


# ---- seeding ------------------------------------------------------------------------------

@dataclass(frozen=True)
class County:
    office_id: int
    unit_id: int
    admin_id: int
    persons: list[int]          # ledger person ids (each principal, responsible, handler)


async def open_db(path: Path | str) -> tuple[AsyncEngine, UnitOfWorkFactory]:
    url = str(path)
    await upgrade(url)
    engine = make_engine(url)
    return engine, uow_factory(engine)


async def seed_people(uow: UnitOfWorkFactory, n: int, telegram_ids: Sequence[int] | None = None,
                      admin_telegram_id: int | None = None) -> County:
    roles = frozenset({Role.PRINCIPAL, Role.RESPONSIBLE, Role.HANDLER})
    async with uow() as u:
        office = await u.people.add_office("示例县督查室（基准测试）", "示督")
        unit = await u.people.add_unit(office.id, "示例镇")
        admin = await u.people.add_person(office.id, "督查室", frozenset({Role.ADMIN}),
                                          telegram_id=admin_telegram_id)
        ids = []
        for i in range(n):
            tg = telegram_ids[i] if telegram_ids is not None else None
            p = await u.people.add_person(office.id, f"干部{i}", roles, unit.id, tg)
            ids.append(p.id)
        await u.commit()
    return County(office.id, unit.id, admin.id, ids)


@dataclass(frozen=True)
class Spec:
    """One matter with one assignment."""

    assigned_at: datetime
    deadline: date
    principal: int
    responsible: int
    handler: int
    klass: MatterClass = MatterClass.NORMAL
    last_progress_at: datetime | None = None


def build_matter(county: County, seq: int, s: Spec) -> Matter:
    m = Matter.register(
        office_id=county.office_id, year=s.assigned_at.year, seq=seq, prefix="示督",
        title=f"基准事项{seq}", body="", source=Source.COUNTY_DECISION, klass=s.klass,
        confidential=False, tags=(), received_at=s.assigned_at, at=s.assigned_at,
        actor_id=county.admin_id, instruction_text=None, instruction_author=None,
        deadline=s.deadline)
    m.assign(at=s.assigned_at, actor_id=county.admin_id, unit_id=county.unit_id, lead=True,
             principal_id=s.principal, responsible_id=s.responsible, handler_id=s.handler,
             deadline=s.deadline)
    if s.last_progress_at is not None:
        m.report_progress(at=s.last_progress_at, actor_id=s.handler, no=1, text="进展")
    return m


async def add_matters(uow: UnitOfWorkFactory, county: County, specs: Sequence[Spec],
                      first_seq: int = 1) -> None:
    for k in range(0, len(specs), BATCH):
        chunk = [build_matter(county, first_seq + k + i, s)
                 for i, s in enumerate(specs[k:k + BATCH])]
        async with uow() as u:
            await u.matters.add_many(chunk)
            await u.commit()


def realistic_specs(county: County, n: int, now: datetime, cal: WorkCalendar,
                    rng: random.Random) -> list[Spec]:
    """Deadlines from 5 working days overdue to 30 ahead; 3% urgent; half with progress."""
    today = now.astimezone(LOCAL_TZ).date()
    out = []
    p = county.persons
    for _ in range(n):
        offset = rng.randint(-5, 30)
        deadline = (cal.add_workdays(today, offset) if offset >= 0
                    else _back(cal, today, -offset))
        assigned = now - timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 600))
        klass = MatterClass.URGENT if rng.random() < 0.03 else MatterClass.NORMAL
        progress = (assigned + timedelta(days=rng.randint(0, 10))
                    if rng.random() < 0.5 else None)
        if progress is not None and progress >= now:
            progress = None
        out.append(Spec(assigned, deadline, rng.choice(p), rng.choice(p), rng.choice(p),
                        klass, progress))
    return out


def _back(cal: WorkCalendar, day: date, n: int) -> date:
    d = day
    while n > 0:
        d -= timedelta(days=1)
        if cal.is_workday(d):
            n -= 1
    return d


# ---- measurements -------------------------------------------------------------------------

async def measure_due_compute(n: int, workdir: Path, rng: random.Random) -> dict[str, Any]:
    cal = WorkCalendar()
    now = local(2026, 11, 10, 9, 0, 30)   # Tuesday, just after the day's reminders
    engine, uow = await open_db(workdir / "compute.db")
    try:
        county = await seed_people(uow, 3_000)
        await add_matters(uow, county, realistic_specs(county, n, now, cal, rng))
        t = time.perf_counter()
        async with uow() as u:
            rows = await u.matters.open_assignments()
        scan = time.perf_counter() - t
        planner = Planner(cal, ReminderPolicy())
        planner.plan(rows[:10], now)          # builds the day's calendar index
        runs = []
        plan = None
        for _ in range(3):
            t = time.perf_counter()
            plan = planner.plan(rows, now)
            runs.append(time.perf_counter() - t)
        assert plan is not None
        quiet = local(2026, 11, 10, 14, 0)
        t = time.perf_counter()
        planner.plan(rows, quiet)
        afternoon = time.perf_counter() - t
        return {"rows": len(rows), "due_compute_s": round(min(runs), 3),
                "due_compute_median_s": round(statistics.median(runs), 3),
                "due_compute_afternoon_s": round(afternoon, 3),
                "scan_s": round(scan, 3), "due_notices": len(plan.notices),
                "due_escalations": len(plan.escalations)}
    finally:
        await engine.dispose()


async def _sent(engine: AsyncEngine) -> list[tuple[str, datetime, datetime | None, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.key, outbox.c.due_at, outbox.c.sent_at,
                                         outbox.c.status))
        return [(r[0], r[1], r[2], r[3]) for r in rows]


async def run_scheduler(db: Path, clock: Clock, n_persons: int, specs_fn: Any,
                        limits: FloodLimits, until_sent: int, timeout: float,
                        flood: bool = True) -> dict[str, Any]:
    """Seed people bound to sandbox users, the matters `specs_fn(county)` gives, then run
    the real scheduler on a PTB Application until `until_sent` notices are sent."""
    from telegram.ext import ApplicationBuilder, ContextTypes
    from telegram.request import HTTPXRequest

    from bot import reminder_jobs
    from bot.config import Config
    from handlers.delivery import PlainSender
    from handlers.deps import App, BotData, Ctx, Deps
    from handlers.ratelimit import TelegramRateLimiter
    from presentation.render import Renderer
    from reminders import scheduler
    from sandbox.limits import FloodLimits as SandboxFlood
    from sandbox.server import SandboxConfig, SandboxServer

    cal = WorkCalendar()
    server = SandboxServer(SandboxConfig(flood=SandboxFlood(enabled=flood),
                                         record_calls=False))
    root = await server.start()
    token = server.create_bot(username="duban_bench_bot")
    people = [server.person(f"干部{i}") for i in range(n_persons)]
    engine, uow = await open_db(db)
    try:
        county = await seed_people(uow, n_persons, [p.id for p in people])
        await add_matters(uow, county, specs_fn(county))
        request = HTTPXRequest(connection_pool_size=32, read_timeout=10.0)
        app: App = (ApplicationBuilder().token(token).base_url(f"{root}/bot")
                    .base_file_url(f"{root}/file/bot").request(request)
                    .rate_limiter(TelegramRateLimiter(limits))
                    .context_types(ContextTypes(context=Ctx, bot_data=BotData))
                    .updater(None).build())
        policy = ReminderPolicy()
        app.bot_data.deps = Deps(uow=uow, clock=clock, cal=cal,
                                 config=Config(token=token, db=str(db), reminders=policy),
                                 render=Renderer())
        settings = scheduler.Settings(limits=limits, concurrency=8)
        service = scheduler.ReminderService(uow, clock, cal, policy,
                                            PlainSender(app.bot, uow), settings)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with app:
            await app.start()
            reminder_jobs.start(app, settings, service)
            while True:
                rows = await _sent(engine)
                if sum(1 for r in rows if r[3] == "sent") >= until_sent:
                    break
                if loop.time() - started > timeout:
                    break
                await asyncio.sleep(0.5)
            await app.stop()
        rows = await _sent(engine)
        messages: Counter[str] = Counter()
        for p in people:
            for msg in server.sent_messages(p):
                text = msg.text or ""
                if text.startswith("["):
                    messages[text[1:text.index("]")]] += 1
        keys = {r[0] for r in rows}
        return {"rows": rows, "messages": messages, "keys": keys,
                "got_429": server.too_many_requests, "first_pass": service.last_pass}
    finally:
        await server.stop()
        await engine.dispose()


async def measure_throughput(n: int, workdir: Path) -> dict[str, Any]:
    from ledger.clock import OffsetClock

    cal = WorkCalendar()
    # Tuesday Dec 8 2026, 09:00:05: every matter is due Wednesday → "1 working day left".
    start = local(2026, 12, 8, 9, 0, 5)
    clock = OffsetClock.starting_at(start)
    matters = n // 2
    n_persons = max(2, n // 5)
    half = n_persons // 2

    def specs(county: County) -> list[Spec]:
        p = county.persons
        return [Spec(local(2026, 12, 1, 10), date(2026, 12, 9), p[(i * 7) % n_persons],
                     p[i % half], p[half + i % (n_persons - half)]) for i in range(matters)]

    limits = FloodLimits()   # 29.5/s against the sandbox's (Telegram's) 30/s
    res = await run_scheduler(workdir / "throughput.db", clock, n_persons, specs, limits,
                              until_sent=n, timeout=n / 20 + 120)
    sent = sorted(r[2] for r in res["rows"] if r[3] == "sent" and r[2] is not None)
    assert cal.is_workday(date(2026, 12, 8))
    span = (sent[-1] - sent[0]).total_seconds() if len(sent) > 1 else 0.0
    rate = (len(sent) - 1) / span if span > 0 else 0.0
    messages: Counter[str] = res["messages"]
    keys: set[str] = res["keys"]
    return {"n": n, "sent": len(sent), "rate_msg_s": round(rate, 2),
            "allowed_rate_msg_s": 30.0, "rate_ratio": round(rate / 30.0, 3),
            "got_429": res["got_429"],
            "duplicates": sum(c - 1 for c in messages.values() if c > 1),
            "lost": len(keys - set(messages)),
            "unexpected": len(set(messages) - keys)}


async def measure_lateness(n: int, workdir: Path) -> dict[str, Any]:
    from ledger.clock import OffsetClock

    start = local(2026, 12, 8, 10, 0, 0)
    clock = OffsetClock.starting_at(start)
    spread = 40.0

    def specs(county: County) -> list[Spec]:
        p = county.persons
        # 急件 assigned an hour before: the first hourly reminder falls 5–45 s from start.
        return [Spec(start - timedelta(hours=1) + timedelta(seconds=5 + spread * i / n),
                     date(2026, 12, 8), p[0], p[1 + 2 * i], p[2 + 2 * i],
                     MatterClass.URGENT) for i in range(n)]

    res = await run_scheduler(workdir / "lateness.db", clock, 2 * n + 1, specs,
                              FloodLimits(), until_sent=2 * n, timeout=spread + 60)
    late = sorted((r[2] - r[1]).total_seconds() for r in res["rows"]
                  if r[3] == "sent" and r[2] is not None)
    return {"lateness_n": len(late),
            "lateness_p50_s": round(statistics.median(late), 3) if late else None,
            "lateness_p95_s": round(late[int(len(late) * 0.95) - 1], 3) if late else None,
            "lateness_max_s": round(late[-1], 3) if late else None}


async def main_async(quick: bool) -> dict[str, Any]:
    rng = random.Random(20261208)
    out: dict[str, Any] = {"quick": quick}
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as tmp:
        workdir = Path(tmp)
        compute = await measure_due_compute(100_000, workdir, rng)
        print("due computation:", compute, flush=True)
        out.update(compute)
        late = await measure_lateness(150 if quick else 300, workdir)
        print("lateness:", late, flush=True)
        out.update(late)
        thr = await measure_throughput(1_500 if quick else 10_000, workdir)
        print("throughput:", thr, flush=True)
        out.update(thr)
    out["targets_met"] = {
        "rate_ratio>=0.95": out["rate_ratio"] >= 0.95,
        "got_429==0": out["got_429"] == 0,
        "duplicates==0": out["duplicates"] == 0,
        "lost==0": out["lost"] == 0,
        "due_compute_s<0.5": out["due_compute_s"] < 0.5,
        "lateness_p50_s<2": (out["lateness_p50_s"] or 99) < 2.0,
    }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="1,500 reminders instead of 10,000 (about a minute)")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args.quick))
    emit(result)


if __name__ == "__main__":
    main()
