"""Read models for the chat layer: what handlers may read, without knowing the repositories.

Each function takes an OPEN unit of work (the caller's `async with`), so a handler can read
several things in one transaction, and the dispatcher can compose a notice inside its own.
Nothing here changes the ledger or decides a rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.errors import NotFound
from ledger.model import Matter, Person, Unit
from ledger.ports import Record, UnitOfWork


async def office_directory(uow: UnitOfWork, office_id: int,
                           ) -> tuple[dict[int, Person], dict[int, Unit]]:
    """The office's persons and units by id (names for display)."""
    persons = {p.id: p for p in await uow.people.persons(office_id)}
    units = {u.id: u for u in await uow.people.units(office_id)}
    return persons, units


async def matter_or_none(uow: UnitOfWork, matter_id: int) -> Matter | None:
    try:
        return await uow.matters.get(matter_id)
    except NotFound:
        return None


async def matters_by_id(uow: UnitOfWork, matter_ids: Iterable[int | None]) -> dict[int, Matter]:
    out: dict[int, Matter] = {}
    for mid in matter_ids:
        if mid is not None and mid not in out:
            out[mid] = await uow.matters.get(mid)
    return out


async def record_or_none(uow: UnitOfWork, record_id: int) -> Record | None:
    try:
        return await uow.records.get(record_id)
    except NotFound:
        return None


async def person_by_telegram(uow: UnitOfWork, telegram_id: int) -> Person | None:
    return await uow.people.by_telegram(telegram_id)


async def unit_named(uow: UnitOfWork, office_id: int, name: str) -> Unit | None:
    return await uow.people.unit_by_name(office_id, name)


async def units_named(uow: UnitOfWork, office_id: int, names: Iterable[str],
                      ) -> tuple[list[int], str | None]:
    """The ids of the named units, in order and once each; or the first unknown name."""
    ids: list[int] = []
    for name in names:
        unit = await uow.people.unit_by_name(office_id, name)
        if unit is None:
            return ids, name
        if unit.id not in ids:
            ids.append(unit.id)
    return ids, None


async def units(uow: UnitOfWork, office_id: int) -> list[Unit]:
    """The office's units, in its order."""
    return await uow.people.units(office_id)


async def unit(uow: UnitOfWork, unit_id: int) -> Unit:
    return await uow.people.get_unit(unit_id)


async def is_bound_chat(uow: UnitOfWork, chat_id: int) -> bool:
    """The group chat is bound to the office or a unit (/bind)."""
    return await uow.chats.get(chat_id) is not None
