"""The scheduler's timer pass reads only the changed matters. The whole ledger is swept, in
bounded pages, only when a day's reminders or escalations fall due, the calendar changes,
or hourly; a sweep plans urgent matters' hourly slots up to past the next (issue 15)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.reminders import County, Spec, add_matters, open_db, seed_people
from bot.config import ReminderPolicy
from ledger.clock import LOCAL_TZ, FixedClock, to_local
from ledger.deadlines import MatterClass
from ledger.ports import Notice, UnitOfWorkFactory
from ledger.usecases import closing
from ledger.workcalendar import WorkCalendar
from reminders import kinds
from reminders.scheduler import ReminderService, Settings
from storage.tables import outbox
from tests.dbs import url_for
from tests.reminders_sim import local

CAL = WorkCalendar()
N = 23


def local_time(y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LOCAL_TZ)


class Sender:
    def __init__(self) -> None:
        self.sent: list[Notice] = []

    async def send(self, notice: Notice) -> None:
        self.sent.append(notice)


@dataclass
class World:
    uow: UnitOfWorkFactory
    clock: FixedClock
    county: County
    engine: object

    def service(self, **settings: object) -> ReminderService:
        return ReminderService(self.uow, self.clock, CAL, ReminderPolicy(), Sender(),
                               Settings(limits=None, **settings))  # type: ignore[arg-type]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    engine, uow = await open_db(url_for(tmp_path / "r.db", migrated=True))
    county = await seed_people(uow, 3)
    p, r, h = county.persons
    assigned = local(2026, 11, 23, 10)
    specs = [Spec(assigned, date(2026, 12, 4) + timedelta(days=i % 3), p, r, h)
             for i in range(N)]
    specs.append(Spec(assigned, date(2026, 12, 4), p, r, h, klass=MatterClass.URGENT))
    await add_matters(uow, county, specs)
    yield World(uow, FixedClock(local(2026, 11, 30, 14)), county, engine)
    await engine.dispose()


async def test_between_sweeps_a_pass_reads_only_the_changed_matters(world: World) -> None:
    service = world.service()
    first = await service.plan_pass()
    assert first.full and first.rows == N + 1
    world.clock.set(local(2026, 11, 30, 14, 1))
    idle = await service.plan_pass()
    assert not idle.full and idle.rows == 0                 # nothing read
    # The urgent matter's hourly slots up to past the next sweep were planned by the first.
    async with world.engine.connect() as conn:  # type: ignore[attr-defined]
        urgent = sorted(r[0] for r in await conn.execute(
            select(outbox.c.due_at).where(outbox.c.kind == kinds.URGENT).distinct()))
    assert urgent and to_local(urgent[-1]) >= local_time(2026, 11, 30, 15, 0)
    h = world.county.persons[2]
    await closing.report_progress(world.uow(), world.clock, h, 5, 1, "已完成摸底")
    world.clock.set(local(2026, 11, 30, 14, 2))
    changed = await service.plan_pass()
    assert not changed.full and changed.rows == 1           # the matter that changed
    world.clock.set(local(2026, 11, 30, 14, 50))
    assert not (await service.plan_pass()).full            # quiet afternoon: no sweep

    # Tuesday's 09:00 reminders come within the horizon: one sweep plans them ahead.
    world.clock.set(local(2026, 12, 1, 8, 46))
    ahead = await service.plan_pass()
    assert ahead.full and ahead.rows == N + 1 and ahead.queued > 0
    world.clock.set(local(2026, 12, 1, 8, 50))
    assert not (await service.plan_pass()).full
    # 09:00: the day's escalations open, once.
    world.clock.set(local(2026, 12, 1, 9))
    assert (await service.plan_pass()).full
    world.clock.set(local(2026, 12, 1, 9, 1))
    assert not (await service.plan_pass()).full
    # An hour after the last sweep: the safety net.
    world.clock.set(local(2026, 12, 1, 10, 1))
    assert (await service.plan_pass()).full


async def test_a_sweep_in_small_pages_plans_what_one_page_plans(world: World) -> None:
    at = local(2026, 12, 10, 9)                             # overdue: reminders, urges
    world.clock.set(at)
    one = world.service()
    whole = await one.plan_pass()
    paged_service = world.service(sweep_batch=4)
    paged_service._known = {}
    paged = await paged_service.plan_pass()
    assert paged.rows == whole.rows == N + 1
    assert paged.planned == whole.planned > 0
    assert paged.escalations == 0 and whole.escalations > 0  # urged by the first already


async def test_pages_of_open_assignments_cover_each_once_in_key_order(world: World) -> None:
    async with world.uow() as u:
        everything = await u.matters.open_assignments()
        pages = []
        after: tuple[int, int] | None = None
        while True:
            page = await u.matters.open_assignments(after=after, limit=5)
            pages.append(page)
            if len(page) < 5:
                break
            after = (page[-1].matter_id, page[-1].no)
    keys = [(r.matter_id, r.no) for page in pages for r in page]
    assert keys == sorted((r.matter_id, r.no) for r in everything)
    assert all(len(p) == 5 for p in pages[:-1])
