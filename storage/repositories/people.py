"""Offices, units and persons."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Row,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import InvalidInput, NotFound
from ledger.model import (
    Office,
    Person,
    Role,
    Unit,
)
from storage.repositories._common import _new_id, _roles, _roles_json, _violates
from storage.tables import (
    offices,
    persons,
    units,
)


def _person(row: Row[Any]) -> Person:
    return Person(id=row.id, office_id=row.office_id, name=row.name, roles=_roles(row.roles),
                  unit_id=row.unit_id, telegram_id=row.telegram_id,
                  reachable=bool(row.reachable), active=bool(row.active),
                  name_pending=bool(row.name_pending))


def _office(row: Row[Any]) -> Office:
    return Office(id=row.id, name=row.name, doc_prefix=row.doc_prefix, parent_id=row.parent_id)


def _unit(row: Row[Any]) -> Unit:
    return Unit(id=row.id, office_id=row.office_id, name=row.name, parent_id=row.parent_id)


class SqlPeopleRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_office(self, name: str, doc_prefix: str = "督") -> Office:
        result = await self._conn.execute(
            insert(offices).values(name=name, doc_prefix=doc_prefix))
        return Office(id=_new_id(result), name=name, doc_prefix=doc_prefix)

    async def get_office(self, office_id: int) -> Office:
        row = (await self._conn.execute(
            select(offices).where(offices.c.id == office_id))).first()
        if row is None:
            raise NotFound("找不到这个督查室。")
        return _office(row)

    async def offices(self) -> builtins.list[Office]:
        rows = await self._conn.execute(select(offices).order_by(offices.c.id))
        return [_office(r) for r in rows]

    async def add_unit(self, office_id: int, name: str, parent_id: int | None = None) -> Unit:
        result = await self._conn.execute(
            insert(units).values(office_id=office_id, name=name, parent_id=parent_id))
        return Unit(id=_new_id(result), office_id=office_id, name=name,
                    parent_id=parent_id)

    async def get_unit(self, unit_id: int) -> Unit:
        row = (await self._conn.execute(select(units).where(units.c.id == unit_id))).first()
        if row is None:
            raise NotFound("找不到这个单位。")
        return _unit(row)

    async def units(self, office_id: int) -> builtins.list[Unit]:
        rows = await self._conn.execute(
            select(units).where(units.c.office_id == office_id).order_by(units.c.id))
        return [_unit(r) for r in rows]

    async def unit_by_name(self, office_id: int, name: str) -> Unit | None:
        row = (await self._conn.execute(
            select(units).where(units.c.office_id == office_id, units.c.name == name)
            .order_by(units.c.id).limit(1))).first()
        return None if row is None else _unit(row)

    async def _write_person(self, values: Mapping[str, Any], person_id: int | None) -> int:
        try:
            if person_id is None:
                result = await self._conn.execute(insert(persons).values(dict(values)))
                return _new_id(result)
            result = await self._conn.execute(
                update(persons).where(persons.c.id == person_id).values(dict(values)))
            if result.rowcount != 1:
                raise NotFound("找不到这个人员。")
            return person_id
        except IntegrityError as exc:
            if _violates(exc, "ix_persons_office_id_telegram_id", "persons.office_id, persons.telegram_id"):
                raise InvalidInput("这个 Telegram 账号已绑定其他人员。") from exc
            raise

    async def add_person(self, office_id: int, name: str, roles: frozenset[Role],
                         unit_id: int | None = None, telegram_id: int | None = None) -> Person:
        new_id = await self._write_person(
            {"office_id": office_id, "name": name, "roles": _roles_json(roles),
             "unit_id": unit_id, "telegram_id": telegram_id, "reachable": True,
             "active": True}, None)
        return Person(id=new_id, office_id=office_id, name=name, roles=frozenset(roles),
                      unit_id=unit_id, telegram_id=telegram_id)

    async def get_person(self, person_id: int) -> Person:
        row = (await self._conn.execute(
            select(persons).where(persons.c.id == person_id))).first()
        if row is None:
            raise NotFound("找不到这个人员。")
        return _person(row)

    async def by_telegram(self, telegram_id: int, office_id: int | None = None,
                          ) -> Person | None:
        """The account's binding in `office_id`; without one, its first (active first):
        an account may be bound in several offices (ledger.offices decides which acts)."""
        stmt = select(persons).where(persons.c.telegram_id == telegram_id)
        if office_id is not None:
            stmt = stmt.where(persons.c.office_id == office_id)
        row = (await self._conn.execute(
            stmt.order_by(persons.c.active.desc(), persons.c.id).limit(1))).first()
        return None if row is None else _person(row)

    async def persons(self, office_id: int, unit_id: int | None = None) -> builtins.list[Person]:
        stmt = select(persons).where(persons.c.office_id == office_id)
        if unit_id is not None:
            stmt = stmt.where(persons.c.unit_id == unit_id)
        rows = await self._conn.execute(stmt.order_by(persons.c.id))
        return [_person(r) for r in rows]

    async def save_person(self, person: Person) -> None:
        await self._write_person(
            {"office_id": person.office_id, "name": person.name,
             "roles": _roles_json(person.roles), "unit_id": person.unit_id,
             "telegram_id": person.telegram_id, "reachable": person.reachable,
             "active": person.active, "name_pending": person.name_pending}, person.id)


# ---- events ----
