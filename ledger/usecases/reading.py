"""Reading the ledger as a person may (the policy decides what is shown): find, get,
history, lists, one's own work."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import permissions as perm
from ledger import policy
from ledger.clock import Clock, local_today
from ledger.errors import (
    NotFound,
    PermissionDenied,
    shown,
)
from ledger.model import (
    Assignment,
    Event,
    Light,
    Matter,
    MatterStatus,
    Person,
    parse_reference,
)
from ledger.offices import reference_in_office
from ledger.ports import MatterQuery, UnitOfWork, UnitOfWorkFactory
from ledger.usecases._shared import _actor


async def find_matter(uow: UnitOfWork, clock: Clock, actor_id: int, reference: str) -> Matter:
    """A matter by number or short id, if the actor may see it."""
    async with uow:
        actor = await _actor(uow, actor_id)
        year, seq = parse_reference(reference, local_today(clock).year)
        if not reference_in_office(reference, await uow.people.get_office(actor.office_id)):
            raise NotFound(f"找不到事项「{shown(reference)}」。")
        try:
            m = await uow.matters.find(actor.office_id, year, seq)
        except NotFound:
            raise NotFound(f"找不到事项「{shown(reference)}」。") from None
        perm.require_view(actor, m)
        return m


async def get_matter(uow: UnitOfWork, actor_id: int, matter_id: int) -> tuple[Person, Matter]:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        return actor, m


async def history(uow: UnitOfWork, actor_id: int, matter_id: int) -> list[Event]:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        return await uow.events.for_matter(matter_id)


@dataclass(frozen=True)
class ListFilter:
    mine: bool = False
    unit_id: int | None = None
    overdue: bool = False
    status: MatterStatus | None = None
    open_only: bool = True
    text: str | None = None
    public_only: bool = False  # a group chat is asking: never confidential matters (RULES 5)
    light: Light | None = None  # the stored light (red/yellow lists)


async def list_matters(uow: UnitOfWork, clock: Clock, actor_id: int, f: ListFilter,
                       limit: int = 10, offset: int = 0) -> tuple[list[Matter], int]:
    """What the actor may see, filtered; returns a page and the total count."""
    async with uow:
        actor = await _actor(uow, actor_id)
        place = policy.place_of(f.public_only)
        sees_all = policy.sees_whole_office(actor)
        statuses: frozenset[MatterStatus] | None = None
        if f.status is not None:
            statuses = frozenset({f.status})
        elif f.open_only:
            statuses = frozenset({MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                                  MatterStatus.COMPLETION_REQUESTED})
        unit_id = f.unit_id
        person_id = actor.id if f.mine else None
        if not sees_all and not f.mine:
            if actor.unit_id is None:
                person_id = actor.id
            elif unit_id is None:
                unit_id = actor.unit_id
            elif unit_id != actor.unit_id:
                raise PermissionDenied("只能查看本单位的事项。")
        q = MatterQuery(office_id=actor.office_id, statuses=statuses, unit_id=unit_id,
                        person_id=person_id,
                        include_confidential=policy.sees_confidential(actor, place),
                        overdue_on=local_today(clock) if f.overdue else None, text=f.text,
                        light=f.light, limit=limit, offset=offset)
        total = await uow.matters.count(q)
        page = await uow.matters.list(q)
        if not actor.is_office and person_id is None:
            # Confidential matters the actor is named on are fetched separately by /mine.
            page = policy.filter_shown(actor, place, page)
        return page, total


async def my_assignments(uow: UnitOfWork, actor_id: int) -> list[tuple[Matter, Assignment]]:
    """The actor's open work, most urgent first."""
    async with uow:
        actor = await _actor(uow, actor_id)
        q = MatterQuery(office_id=actor.office_id, person_id=actor.id,
                        statuses=frozenset({MatterStatus.IN_PROGRESS,
                                            MatterStatus.COMPLETION_REQUESTED}))
        out: list[tuple[Matter, Assignment]] = []
        for m in await uow.matters.list(q):
            for a in perm.actor_assignments(actor, m):
                out.append((m, a))
                break
        # 三个优先 (§2.8): flagged matters first, then the nearest deadline
        out.sort(key=lambda ma: (not ma[0].priority, ma[1].effective_deadline))
        return out


_WORKING = frozenset({MatterStatus.IN_PROGRESS, MatterStatus.COMPLETION_REQUESTED})


@dataclass(frozen=True)
class WorkPage:
    """A page of one's open work, and the whole of it counted."""

    items: list[tuple[Matter, Assignment]]
    total: int
    lights: dict[Light, int]  # matters by their light, all pages


async def my_work_page(uow: UnitOfWork, actor_id: int, *, public_only: bool, limit: int,
                       offset: int) -> WorkPage:
    """`my_assignments` a page at a time, with the counts from the index: what /mine
    shows for someone with ten thousand open assignments as for someone with three."""
    async with uow:
        actor = await _actor(uow, actor_id)
        place = policy.place_of(public_only)
        q = MatterQuery(office_id=actor.office_id, person_id=actor.id, statuses=_WORKING,
                        # named on it: a confidential matter is theirs to see, not a group's
                        include_confidential=not public_only, limit=limit, offset=offset)
        ids, total = await uow.matters.work_page(q)
        found = await uow.matters.get_many(ids)
        items: list[tuple[Matter, Assignment]] = []
        for i in ids:
            m = found.get(i)
            if m is None or not policy.may_show(actor, place, m):
                continue
            mine = perm.actor_assignments(actor, m)
            if mine:
                items.append((m, mine[0]))
        lights = await uow.matters.light_counts(
            MatterQuery(office_id=actor.office_id, person_id=actor.id, statuses=_WORKING,
                        include_confidential=q.include_confidential))
        return WorkPage(items, total, lights)


async def recount_lights(uow: UnitOfWorkFactory, batch: int = 2000) -> int:
    """The daily recount of every open matter's stored light (a day passed, or a year's
    arrangement was entered), in batches of short transactions; how many changed."""
    after, changed = 0, 0
    while True:
        async with uow() as u:
            last, n = await u.matters.recount_lights(after, batch)
            await u.commit()
        if last is None:
            return changed
        after, changed = last, changed + n
