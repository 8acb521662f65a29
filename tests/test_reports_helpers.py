"""A seeded ledger on real SQLite, built with the ledger's use cases, for the reports tests.

The week under report is Mon 2026-11-16 … Sun 2026-11-22; the bulletin is built on
Mon 2026-11-23 09:00 (Shanghai). What the seed holds, and so what the bulletin must say:

- m1 住建局: registered 11-02, deadline 11-13; urged 11-17, criticized 11-20;
  open, 6 working days overdue.
- m2 交通局 + 城关镇 (co): registered 11-16; done 11-18, closed 11-19 (on time);
  commended 11-20.
- m3 住建局: CONFIDENTIAL, registered 11-16, deadline 11-18: must appear nowhere.
- m4 城关镇: registered 11-03, deadline 11-17; done and closed 11-20 (late).
- m5 住建局: registered 11-17, deadline 11-24: due soon.
- m6 交通局 (project): registered 11-09, deadline 12-18, no progress: stagnating.
- m7 城关镇: registered 11-18, cancelled 11-18: appears nowhere.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.clock import LOCAL_TZ, FixedClock
from ledger.model import Role, Source
from ledger.ports import UnitOfWorkFactory
from ledger.usecases.accountability import commend, criticize, urge
from ledger.usecases.closing import close_matter, request_completion
from ledger.usecases.ledger_mgmt import (
    AssignSpec,
    RegisterMatter,
    assign,
    cancel_matter,
    register_matter,
)
from ledger.usecases.people import bootstrap_office
from ledger.workcalendar import WorkCalendar
from storage.db import make_engine, upgrade
from storage.uow import uow_factory
from tests.dbs import copy_db, url_for

CONFIDENTIAL_TITLE = "机密：某企业股权调查"


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


async def migrated(path: Path) -> AsyncEngine:
    url = url_for(path, migrated=True)
    await upgrade(url)
    return make_engine(url)


@dataclass
class Seed:
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    clock: FixedClock
    cal: WorkCalendar
    office_id: int
    admin: int
    units: dict[str, int]
    people: dict[str, tuple[int, int, int]]   # unit name → principal, responsible, handler
    m: dict[str, int]                          # m1 … m7 → matter id
    path: Path = Path()                        # where tests.dbs keeps it

    def spec(self, unit: str, lead: bool = True) -> AssignSpec:
        p = self.people[unit]
        return AssignSpec(self.units[unit], p[0], p[1], p[2], lead=lead)

    def when(self, day: date, hour: int = 9, minute: int = 0) -> None:
        self.clock.set(at(day, hour, minute))


async def base_world(path: Path, unit_names: tuple[str, ...] = ("住建局", "交通局", "城关镇"),
                     ) -> Seed:
    """An office with an admin and, per unit, a principal, a responsible person, a handler."""
    engine = await migrated(path)
    uow = uow_factory(engine)
    clock = FixedClock(at(date(2026, 11, 2), 8))
    cal = WorkCalendar()
    office_id = await bootstrap_office(uow(), clock, "县委县政府督查室", [1001], "督")
    async with uow() as u:
        admin = await u.people.by_telegram(1001)
        assert admin is not None
        units: dict[str, int] = {}
        people: dict[str, tuple[int, int, int]] = {}
        for i, name in enumerate(unit_names):
            unit = await u.people.add_unit(office_id, name)
            units[name] = unit.id
            trio = []
            for j, (role, label) in enumerate(((Role.PRINCIPAL, "局长"), (Role.RESPONSIBLE, "科长"),
                                               (Role.HANDLER, "干事"))):
                p = await u.people.add_person(office_id, f"{name}{label}", frozenset({role}),
                                              unit_id=unit.id, telegram_id=2000 + 10 * i + j)
                trio.append(p.id)
            people[name] = (trio[0], trio[1], trio[2])
        await u.commit()
    return Seed(engine, uow, clock, cal, office_id, admin.id, units, people, {}, path)


async def seed_ledger(path: Path) -> Seed:
    s = await base_world(path)
    uow, clock, cal, admin = s.uow, s.clock, s.cal, s.admin

    async def register(key: str, day: date, title: str, unit: str | None,
                       deadline: date | None = None, co: str | None = None,
                       **kw: object) -> int:
        s.when(day)
        m = await register_matter(uow(), clock, cal, admin,
                                  RegisterMatter(title=title, deadline=deadline,
                                                     **kw))  # type: ignore[arg-type]
        assert m.id is not None
        s.m[key] = m.id
        if unit is not None:
            s.when(day, 9, 30)
            specs = [s.spec(unit)] + ([s.spec(co, lead=False)] if co else [])
            await assign(uow(), clock, cal, admin, m.id, specs, deadline)
        return m.id

    def resp(unit: str) -> int:
        return s.people[unit][1]

    m1 = await register("m1", date(2026, 11, 2), "城区道路改造", "住建局", date(2026, 11, 13))
    m4 = await register("m4", date(2026, 11, 3), "农贸市场整治", "城关镇", date(2026, 11, 17))
    m6 = await register("m6", date(2026, 11, 9), "工业园区标准厂房建设", "交通局",
                        date(2026, 12, 18), source=Source.PROJECT)
    m2 = await register("m2", date(2026, 11, 16), "国道沿线环境整治", "交通局", co="城关镇")
    await register("m3", date(2026, 11, 16), CONFIDENTIAL_TITLE, "住建局",
                   date(2026, 11, 18), confidential=True)
    await register("m5", date(2026, 11, 17), "学校周边交通秩序", "住建局", date(2026, 11, 24))
    m7 = await register("m7", date(2026, 11, 18), "重复登记的事项", "城关镇")

    s.when(date(2026, 11, 17), 10)
    await urge(uow(), clock, cal, admin, m1, None, limit=date(2026, 11, 20))
    s.when(date(2026, 11, 18), 10)
    await request_completion(uow(), clock, resp("交通局"), m2, None, "已整治完毕")
    await cancel_matter(uow(), clock, admin, m7, "重复登记")
    s.when(date(2026, 11, 19), 10)
    await close_matter(uow(), clock, admin, m2, "经核查属实")
    s.when(date(2026, 11, 20), 10)
    await request_completion(uow(), clock, resp("城关镇"), m4, None, "市场已整治")
    await close_matter(uow(), clock, admin, m4, "同意销号")
    await commend(uow(), clock, admin, m2, None, "措施得力，提前完成")
    await criticize(uow(), clock, admin, m1, None, "催办时限内未落实")
    assert m6
    s.when(date(2026, 11, 23), 9)
    return s


def shift(d: date, days: int) -> date:
    return d + timedelta(days=days)


def seed_once(directory: Path) -> Seed:
    """Seed a ledger file once (for a module-scoped fixture); the Seed's engine is disposed.
    Use `reopen` to get a private copy per test."""
    path = directory / "seed.db"

    async def go() -> Seed:
        s = await seed_ledger(path)
        await s.engine.dispose()
        return s
    return asyncio.run(go())


def reopen(template: Seed, directory: Path) -> Seed:
    """A private copy of a seeded file, with its own engine and clock."""
    dst = directory / "duban.db"
    engine = make_engine(copy_db(template.path, dst))
    return replace(template, path=dst, engine=engine, uow=uow_factory(engine),
                   clock=FixedClock(template.clock.now()), m=dict(template.m))
