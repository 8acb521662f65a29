"""Two bot instances (two processes' worth: each its own Application and engine) on one
database: one runs the scheduler, neither sends a notice twice, and the other takes over
when the first stops. On PostgreSQL (DUBAN_TEST_DB) this is the way past one machine."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select

from bot import reminder_jobs
from bot.app import build_application
from bot.harness import running_bot
from bot.runner import make_deps
from ledger.clock import FixedClock
from ledger.usecases.ledger_mgmt import RegisterMatter, register_matter
from storage.db import make_engine
from storage.locks import scheduler_lock_holder
from storage.tables import outbox
from tests.bot_e2e import START, quick_matter
from tests.dbs import url_for


async def _until(check: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():  # type: ignore[operator]
        if loop.time() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def test_two_bots_on_one_database_one_scheduler_no_double_send(tmp_path: Path) -> None:
    url = url_for(tmp_path / "duban.db", migrated=True)
    async with running_bot(tmp_path, clock=FixedClock(START), db_url=url) as a:
        # B: the same bot (token, Bot API, database) in another process; its own engine.
        engine_b = make_engine(url)
        deps_b = make_deps(a.deps.config, engine_b, clock=a.clock, cal=a.deps.cal)
        app_b = build_application(a.deps.config, deps_b)
        await app_b.initialize()
        assert app_b.post_init is not None
        await app_b.post_init(app_b)
        await app_b.start()
        try:
            await _until(lambda: reminder_jobs.service_for(a.app) is not None)
            service_a = reminder_jobs.service_for(a.app)
            assert service_a is not None and service_a.lock is not None
            # B's start job ran and was refused (its retry waits for the lock to go stale).
            jq_b = app_b.job_queue
            assert jq_b is not None

            def b_refused() -> bool:
                later = datetime.now(UTC) + timedelta(seconds=30)
                return any(j.next_t is not None and j.next_t > later
                           for j in jq_b.get_jobs_by_name(reminder_jobs.START_JOB))
            await _until(b_refused)
            assert reminder_jobs.service_for(app_b) is None
            holder, _ = await scheduler_lock_holder(engine_b)
            assert holder == service_a.lock.holder

            # Work arrives at both: a matter through A's chat, one through B's use cases.
            await quick_matter(a)
            admin = a.ids["admin"]
            b_uow = app_b.bot_data.deps.uow
            m = await register_matter(b_uow(), a.clock, a.deps.cal, admin,
                                      RegisterMatter(title="乙实例登记的事项"))
            assert m.id is not None
            app_b.bot_data.deps.kick()   # B's kick: B runs no scheduler, so nothing happens

            # Days pass; A's scheduler plans and sends; B's jobs find nothing to run.
            for day in (2, 4, 7):
                a.clock.set(datetime(2026, 12, day, 1, 1, tzinfo=UTC))  # 09:01 in Shanghai
                await service_a.tick()
                await a.settle()

            # A stops (its process ends): the lock is released; B's retry takes over.
            await reminder_jobs.stop(a.app)
            a.clock.set(datetime(2026, 12, 8, 1, 1, tzinfo=UTC))   # the next day: overdue
            reminder_jobs.start(app_b)
            await _until(lambda: reminder_jobs.service_for(app_b) is not None)
            service_b = reminder_jobs.service_for(app_b)
            assert service_b is not None and service_b.lock is not None
            assert (await scheduler_lock_holder(engine_b))[0] == service_b.lock.holder

            async def outbox_rows() -> list[Row[Any]]:
                async with engine_b.connect() as conn:
                    return list((await conn.execute(select(
                        outbox.c.key, outbox.c.status, outbox.c.attempts,
                        outbox.c.person_id))).all())

            loop = asyncio.get_running_loop()
            end = loop.time() + 10
            while True:   # B's start-up pass plans and sends the overdue notices
                await service_b.tick()
                rows = await outbox_rows()
                if (sum("reminder_overdue" in r.key for r in rows) >= 6
                        and all(r.status == "sent" for r in rows)):
                    break
                assert loop.time() < end, rows
                await asyncio.sleep(0.05)
            sent = [r for r in rows if r.status == "sent"]
            assert {r.status for r in rows} == {"sent"}
            assert all(r.attempts == 1 for r in sent), [r for r in sent if r.attempts != 1]
            # B sent the overdue notices after it took over; A's earlier ones were not resent.
            assert sum("reminder_overdue" in r.key for r in sent) == 6
            assert sum("reminder_before" in r.key for r in sent) == 8
            # What people received: each notice once.
            per_person: Counter[int] = Counter(r.person_id for r in sent if r.person_id)
            checked = 0
            for key, person in a.people.items():
                pid = a.ids.get(key)
                if pid is None or key == "admin":
                    continue
                got = a.server.sent_messages(person)
                assert len(got) == per_person[pid], (key, [m.text for m in got])
                checked += len(got)
            assert checked > 10
        finally:
            await reminder_jobs.stop(app_b)
            if app_b.running:
                await app_b.stop()
            await app_b.shutdown()
            await engine_b.dispose()


async def test_two_scheduler_processes_on_one_database_send_each_notice_once(
        tmp_path: Path) -> None:
    """Two real processes (`python -m bot.worker`, the bot's scheduler without its
    chat handlers) start together on one database: one takes the lock and sends, the other
    waits; every notice reaches its person exactly once."""
    from datetime import date

    from bench.reminders import Spec, add_matters, local, open_db, seed_people
    from ledger.clock import SystemClock
    from sandbox.limits import FloodLimits
    from sandbox.server import SandboxConfig, SandboxServer
    from tests.test_reminders_crash import _pending, _worker

    server = SandboxServer(SandboxConfig(flood=FloodLimits(
        global_per_second=300.0, global_burst=300), record_calls=False))
    root = await server.start()
    token = server.create_bot(username="duban_pair_bot")
    people = [server.person(f"干部{i}") for i in range(30)]
    office = server.person("督查室")
    db = url_for(tmp_path / "pair.db", migrated=True)
    engine, uow = await open_db(db)
    procs: list[asyncio.subprocess.Process] = []
    try:
        county = await seed_people(uow, 30, [p.id for p in people], office.id)
        p = county.persons
        # One working day overdue: a reminder to each of the three people of each matter.
        await add_matters(uow, county, [Spec(local(2026, 11, 20, 10), date(2026, 12, 7),
                                             p[i % 10], p[10 + i % 10], p[20 + i % 10])
                                        for i in range(40)])
        offset = (local(2026, 12, 8, 9) + timedelta(seconds=5)
                  - SystemClock().now()).total_seconds()
        procs = [await _worker(db, root, token, offset) for _ in range(2)]
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while True:
            await asyncio.sleep(0.3)
            total, pending = await _pending(engine)
            if total >= 120 and pending == 0:
                break
            assert loop.time() < end, f"{pending} of {total} pending"
        holder, _ = await scheduler_lock_holder(engine)
        assert holder is not None
        pids = {proc.pid for proc in procs}
        assert int(holder.split(":")[1]) in pids
        delivered: Counter[str] = Counter()
        for person in [*people, office]:
            for msg in server.sent_messages(person):
                text = msg.text or ""
                delivered[text[1:text.index("]")]] += 1
        assert len(delivered) >= 120
        assert max(delivered.values()) == 1, [k for k, c in delivered.items() if c > 1]
        errors = await _stop(procs)
        # The other one said why it runs no scheduler (and would take over later).
        assert sum("另一个实例" in e for e in errors) == 1, errors
    finally:
        await _stop(procs)
        await server.stop()
        await engine.dispose()


async def _stop(procs: list[asyncio.subprocess.Process]) -> list[str]:
    import signal

    errors = []
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        if proc.stderr is None or (proc.stderr.at_eof() and proc.returncode is not None):
            continue
        _, err = await proc.communicate()
        errors.append(err.decode())
        assert proc.returncode == 0, err.decode()[-2000:]
    return errors
