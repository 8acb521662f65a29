"""Shared setup for the storage tests: a migrated SQLite file, an office, matters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.deadlines import MatterClass
from ledger.model import Matter, Role, Source
from storage.db import make_engine, upgrade
from storage.uow import SqlUnitOfWork
from tests.dbs import url_for

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, a Monday


async def migrated_engine(path: Path) -> AsyncEngine:
    url = url_for(path, migrated=True)
    await upgrade(url)
    return make_engine(url)


@dataclass
class World:
    office_id: int
    admin_id: int
    unit_a: int
    unit_b: int
    # principal, responsible, handler of each unit
    a_people: tuple[int, int, int]
    b_people: tuple[int, int, int]


async def seed(engine: AsyncEngine) -> World:
    async with SqlUnitOfWork(engine) as uow:
        office = await uow.people.add_office("某县督查室")
        admin = await uow.people.add_person(office.id, "督查员", frozenset({Role.ADMIN}),
                                            telegram_id=1001)
        people: dict[int, tuple[int, int, int]] = {}
        units = []
        for name in ("住建局", "交通局"):
            unit = await uow.people.add_unit(office.id, name)
            units.append(unit.id)
            trio = []
            for role in (Role.PRINCIPAL, Role.RESPONSIBLE, Role.HANDLER):
                p = await uow.people.add_person(office.id, f"{name}{role.value}",
                                                frozenset({role}), unit_id=unit.id)
                trio.append(p.id)
            people[unit.id] = (trio[0], trio[1], trio[2])
        await uow.commit()
    return World(office.id, admin.id, units[0], units[1], people[units[0]], people[units[1]])


def register(w: World, seq: int, *, title: str = "城区道路改造", year: int = 2026,
             at: datetime = T0, confidential: bool = False,
             klass: MatterClass = MatterClass.NORMAL) -> Matter:
    return Matter.register(
        office_id=w.office_id, year=year, seq=seq, prefix="督", title=title,
        body="按县委常委会决定推进。", source=Source.COUNTY_DECISION, klass=klass,
        confidential=confidential, tags=("城建",), received_at=at, at=at,
        actor_id=w.admin_id, instruction_text=None, instruction_author=None,
        deadline=None)


def assign(w: World, m: Matter, unit: int, *, lead: bool, deadline: date,
           at: datetime = T0) -> int:
    trio = w.a_people if unit == w.unit_a else w.b_people
    a = m.assign(at=at + timedelta(minutes=5), actor_id=w.admin_id, unit_id=unit, lead=lead,
                 principal_id=trio[0], responsible_id=trio[1], handler_id=trio[2],
                 deadline=deadline)
    return a.no


async def add_matter(engine: AsyncEngine, m: Matter) -> Matter:
    async with SqlUnitOfWork(engine) as uow:
        await uow.matters.add(m)
        await uow.commit()
    return m
