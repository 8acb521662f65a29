"""Offices on one deployment (issue 16): the tree of offices, an account's bindings across
them, and which office a private chat works in."""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import InvalidInput
from ledger.model import Office, Person
from storage.repositories._common import _new_id, _violates
from storage.repositories.people import _office, _person
from storage.tables import matters, office_choices, offices, persons


class SqlOfficeRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, name: str, doc_prefix: str, parent_id: int | None) -> Office:
        try:
            result = await self._conn.execute(insert(offices).values(
                name=name, doc_prefix=doc_prefix, parent_id=parent_id))
        except IntegrityError as exc:
            if _violates(exc, "ix_offices_doc_prefix", "offices.doc_prefix"):
                raise InvalidInput(f"编号前缀「{doc_prefix}」已被其他督查室使用。") from exc
            if _violates(exc, "ix_offices_name", "offices.name"):
                raise InvalidInput(f"督查室「{name}」已存在。") from exc
            raise
        return Office(id=_new_id(result), name=name, doc_prefix=doc_prefix,
                      parent_id=parent_id)

    async def all(self) -> builtins.list[Office]:
        rows = await self._conn.execute(select(offices).order_by(offices.c.id))
        return [_office(r) for r in rows]

    async def by_name(self, name: str) -> Office | None:
        row = (await self._conn.execute(
            select(offices).where(offices.c.name == name))).first()
        return None if row is None else _office(row)

    async def by_prefix(self, doc_prefix: str) -> Office | None:
        row = (await self._conn.execute(
            select(offices).where(offices.c.doc_prefix == doc_prefix))).first()
        return None if row is None else _office(row)

    async def bindings(self, telegram_id: int) -> builtins.list[Person]:
        """Every person row bound to the account, one per office at most."""
        rows = await self._conn.execute(
            select(persons).where(persons.c.telegram_id == telegram_id)
            .order_by(persons.c.office_id, persons.c.id))
        return [_person(r) for r in rows]

    async def chosen(self, telegram_id: int) -> int | None:
        row = (await self._conn.execute(
            select(office_choices.c.office_id)
            .where(office_choices.c.telegram_id == telegram_id))).first()
        return None if row is None else int(row.office_id)

    async def choose(self, telegram_id: int, office_id: int, at: datetime) -> None:
        await self._conn.execute(
            delete(office_choices).where(office_choices.c.telegram_id == telegram_id))
        await self._conn.execute(insert(office_choices).values(
            telegram_id=telegram_id, office_id=office_id, chosen_at=at))

    async def office_of_matter(self, matter_id: int) -> int | None:
        row = (await self._conn.execute(
            select(matters.c.office_id).where(matters.c.id == matter_id))).first()
        return None if row is None else int(row.office_id)
