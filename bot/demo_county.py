"""A clearly labelled sample county (示例县) for the demo, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ledger.clock import Clock
from ledger.model import Event, Role
from ledger.ports import UnitOfWorkFactory

OFFICE_NAME = "示例县委县政府督查室（演示数据）"

UNITS = ("城关镇", "县发改局", "县住建局")

# key: (name, roles, unit or None)
PEOPLE: dict[str, tuple[str, frozenset[Role], str | None]] = {
    "admin": ("王主任", frozenset({Role.ADMIN}), None),
    "leader": ("李县长", frozenset({Role.LEADER}), None),
    "town_principal": ("赵镇长", frozenset({Role.PRINCIPAL}), "城关镇"),
    "town_resp": ("钱副镇长", frozenset({Role.RESPONSIBLE}), "城关镇"),
    "town_handler": ("孙干事", frozenset({Role.HANDLER}), "城关镇"),
    "dept_principal": ("周局长", frozenset({Role.PRINCIPAL}), "县发改局"),
    "dept_resp": ("吴科长", frozenset({Role.RESPONSIBLE}), "县发改局"),
    "dept_handler": ("郑科员", frozenset({Role.HANDLER}), "县发改局"),
    "build_principal": ("冯局长", frozenset({Role.PRINCIPAL}), "县住建局"),
    "build_resp": ("陈科长", frozenset({Role.RESPONSIBLE}), "县住建局"),
    "build_handler": ("褚科员", frozenset({Role.HANDLER}), "县住建局"),
}


@dataclass(frozen=True)
class SampleCounty:
    office_id: int
    units: dict[str, int]
    ids: dict[str, int]


async def seed_sample_county(uow: UnitOfWorkFactory, clock: Clock,
                             telegram_ids: Mapping[str, int]) -> SampleCounty:
    """Office, units and people, each person bound to the given Telegram id (if any)."""
    async with uow() as u:
        # Idempotent: a demo ledger kept in DUBAN_DB is reused, not seeded twice.
        office = next((o for o in await u.people.offices() if o.name == OFFICE_NAME), None)
        if office is None:
            office = await u.people.add_office(OFFICE_NAME, "示督")
        now = clock.now()
        units: dict[str, int] = {}
        for name in UNITS:
            unit = await u.people.unit_by_name(office.id, name)
            if unit is None:
                unit = await u.people.add_unit(office.id, name)
                await u.events.append(Event(kind="unit_added", at=now, actor_id=None,
                                            office_id=office.id,
                                            after={"unit_id": unit.id, "name": name}))
            units[name] = unit.id
        existing = {p.name: p for p in await u.people.persons(office.id)}
        ids: dict[str, int] = {}
        for key, (name, roles, unit_name) in PEOPLE.items():
            tg = telegram_ids.get(key)
            if name in existing:
                p = existing[name]
                if p.telegram_id != tg:
                    p = replace(p, telegram_id=tg)
                    await u.people.save_person(p)
                ids[key] = p.id
                continue
            p = await u.people.add_person(office.id, name, roles,
                                          unit_id=units[unit_name] if unit_name else None,
                                          telegram_id=tg)
            ids[key] = p.id
            await u.events.append(Event(kind="person_added", at=now, actor_id=None,
                                        office_id=office.id, person_id=p.id,
                                        after={"name": name, "roles": sorted(roles),
                                               "unit": unit_name}))
        await u.commit()
    return SampleCounty(office.id, units, ids)
