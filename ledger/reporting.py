"""Use cases of the reports issue: publishing a bulletin issue (its number kept in the
ledger) and loading what bulletins and the appraisal are computed from.

Kept beside `ledger.services` (same conventions: dependencies as parameters, permission
first, one transaction) so the two files can change independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from ledger import permissions as perm
from ledger.bulletins import BulletinKind, Period
from ledger.clock import LOCAL_TZ, Clock, local_today
from ledger.errors import Conflict, NotFound, PermissionDenied
from ledger.model import Event, Matter, Office
from ledger.ports import BulletinRecord, MatterQuery, UnitOfWork

__all__ = ["LedgerSnapshot", "load_snapshot", "publish_bulletin", "require_office_actor"]


async def require_office_actor(uow: UnitOfWork, actor_id: int, office_id: int | None = None,
                               ) -> int:
    """The actor's office id, if the actor is the office (督查室); else PermissionDenied."""
    try:
        actor = await uow.people.get_person(actor_id)
    except NotFound:
        raise PermissionDenied("您还没有绑定身份，请向督查室索取邀请链接。") from None
    perm.require_office(actor)
    if office_id is not None and actor.office_id != office_id:
        raise PermissionDenied("只能操作本督查室的通报。")
    return actor.office_id


async def publish_bulletin(uow: UnitOfWork, clock: Clock, office_id: int, kind: BulletinKind,
                           period: Period, actor_id: int | None = None,
                           ) -> tuple[BulletinRecord, bool]:
    """Give the issue of `kind` for `period` its number (第N期 of the publication year) and
    record it, with a `bulletin_published` event. Idempotent: the same period again returns
    the issue already recorded and False. `actor_id` None is the scheduler."""
    for attempt in range(3):
        try:
            async with uow:
                if actor_id is not None:
                    await require_office_actor(uow, actor_id, office_id)
                existing = await uow.bulletins.for_period(office_id, kind.value, period.start,
                                                          period.end)
                if existing is not None:
                    return existing, False
                now = clock.now()
                year = local_today(clock).year
                number = await uow.bulletins.next_number(office_id, kind.value, year)
                record = await uow.bulletins.add(BulletinRecord(
                    office_id=office_id, kind=kind.value, year=year, number=number,
                    period_start=period.start, period_end=period.end, published_at=now,
                    published_by=actor_id))
                await uow.events.append(Event(
                    kind="bulletin_published", at=now, actor_id=actor_id, office_id=office_id,
                    after={"bulletin_id": record.id, "kind": kind.value, "year": year,
                           "number": number, "period_start": period.start.isoformat(),
                           "period_end": period.end.isoformat()}))
                await uow.commit()
                return record, True
        except Conflict:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class LedgerSnapshot:
    """What a report is computed from, read in one transaction."""

    office: Office
    units: dict[int, str]          # id → name, in the office's order
    matters: list[Matter]
    events: list[Event]
    next_number: int | None = None
    record: BulletinRecord | None = None


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), LOCAL_TZ)


async def load_snapshot(uow: UnitOfWork, office_id: int, since: datetime, until: datetime,
                        *, include_confidential: bool = False,
                        bulletin: tuple[BulletinKind, Period, int] | None = None,
                        ) -> LedgerSnapshot:
    """The office, its units, its matters and the events of [since, until).
    With `bulletin` (kind, period, year): also the issue recorded for that period, or the
    number the next issue would get."""
    async with uow:
        office = await uow.people.get_office(office_id)
        units = {u.id: u.name for u in await uow.people.units(office_id)}
        matters = await uow.matters.list(MatterQuery(
            office_id=office_id, include_confidential=include_confidential))
        events = await uow.events.since(office_id, since, until)
        record = None
        next_number = None
        if bulletin is not None:
            kind, period, year = bulletin
            record = await uow.bulletins.for_period(office_id, kind.value, period.start,
                                                    period.end)
            if record is None:
                next_number = await uow.bulletins.next_number(office_id, kind.value, year)
        return LedgerSnapshot(office, units, matters, events, next_number, record)
