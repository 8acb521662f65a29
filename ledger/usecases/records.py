"""The office's records that are not matters (enterprises, visits, meetings,
inspections): shared helpers, and items of a record registered as matters. Records live in
`uow.records`; every change to one is also an event (matter_id None, after.record_id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger import permissions as perm
from ledger.clock import Clock
from ledger.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from ledger.model import (
    Event,
    Person,
    Role,
)
from ledger.notices import tell_office
from ledger.ports import Notice, Record, UnitOfWork

ENTERPRISE, VISIT, MEETING, INSPECTION = "enterprise", "visit", "meeting", "inspection"


ANNOUNCED, UNANNOUNCED = "announced", "unannounced"


MODES = frozenset({ANNOUNCED, UNANNOUNCED})  # 明查暗访 (§3.3)


CHECK_MONTHS = 12  # monthly asks queued ahead


# Outbox kinds this module queues (handlers.cards.compose_notice renders them).
NOTICE_KINDS = frozenset({"project_check", "office_figures", "visit_due", "meeting_invite",
                          "meeting_reminder", "office_inspection", "office_proposal",
                          "proposal_registered"})


_actor = perm.load_actor


def _require_inspector(actor: Person) -> None:
    if not (actor.is_office or actor.has(Role.LIAISON)):
        raise PermissionDenied("只有督查室和督查联络员可以这样做。")


async def _tell_office(uow: UnitOfWork, office_id: int, kind: str, key: str, at: datetime,
                       payload: dict[str, Any], matter_id: int | None = None,
                       private: bool = False) -> None:
    await tell_office(uow, office_id=office_id, confidential=private, key=key, kind=kind,
                      at=at, payload=payload, matter_id=matter_id)


async def _event(uow: UnitOfWork, kind: str, at: datetime, actor: Person, record: Record,
                 after: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    await uow.events.append(Event(kind=kind, at=at, actor_id=actor.id,
                                  office_id=actor.office_id,
                                  before=before or {},
                                  after={"record_id": record.id, "record_kind": record.kind,
                                         **after}))


async def _record(uow: UnitOfWork, actor: Person, record_id: int, kind: str) -> Record:
    try:
        r = await uow.records.get(record_id)
    except NotFound:
        raise NotFound(_MISSING[kind]) from None
    if r.office_id != actor.office_id or r.kind != kind:
        raise NotFound(_MISSING[kind])
    return r


_MISSING = {ENTERPRISE: "找不到这家企业。", VISIT: "找不到这次回访记录。",
            MEETING: "找不到这次会议。", INSPECTION: "找不到这条督查记录。"}


@dataclass(frozen=True)
class ItemToRegister:
    """What one tap turns into a matter: a visit's problem, a meeting's decision or an
    inspection's proposal."""

    record: Record
    item: int
    title: str
    unit_ids: tuple[int, ...]
    deadline: date | None
    origin: dict[str, Any]


def _items(r: Record) -> list[dict[str, Any]]:
    if r.kind == VISIT:
        return list(r.data["problems"])
    if r.kind == MEETING:
        return list(r.data.get("decisions", []))
    if r.kind == INSPECTION:
        p = r.data.get("proposal")
        return [p] if p else []
    return []


async def item_to_register(uow: UnitOfWork, actor_id: int, record_id: int, item: int,
                           ) -> ItemToRegister:
    """Checks a tap before registering: the office, an item not yet registered."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        try:
            r = await uow.records.get(record_id)
        except NotFound:
            raise NotFound("找不到这条记录。") from None
        if r.office_id != actor.office_id:
            raise NotFound("找不到这条记录。")
        items = _items(r)
        if not 1 <= item <= len(items):
            raise InvalidInput("没有这一项。")
        x = items[item - 1]
        if x.get("matter_id") is not None:
            m = await uow.matters.get(x["matter_id"])
            raise InvalidTransition(f"这一项已立项：{m.number}。")
        deadline = date.fromisoformat(x["deadline"]) if x.get("deadline") else None
        if r.kind == VISIT:
            ent = await uow.records.get(r.data["enterprise_id"])
            units: tuple[int, ...] = (ent.data["unit_id"],)
            title = f"{r.data['name']}反映：{x['text']}"
        elif r.kind == MEETING:
            units = tuple(x.get("unit_ids") or ())
            title = x["text"]
        else:
            units = tuple(x.get("unit_ids") or ())
            title = x["text"]
        if not units:
            raise InvalidInput("这一项没有写承办单位，无法一键立项；请用 /new 立项。")
        return ItemToRegister(r, item, title, units, deadline,
                              {"kind": r.kind, "id": r.id, "item": item})


async def link_item(uow: UnitOfWork, clock: Clock, actor_id: int, record_id: int, item: int,
                    matter_id: int) -> Record:
    """The item became that matter: kept on the record (and as an event)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        r = await uow.records.get(record_id)
        m = await uow.matters.get(matter_id)
        if r.office_id != actor.office_id or m.office_id != actor.office_id:
            raise NotFound("找不到这条记录。")
        key = {VISIT: "problems", MEETING: "decisions"}.get(r.kind)
        if key is not None:
            items = r.data[key]
            if items[item - 1].get("matter_id") is not None:
                raise InvalidTransition("这一项已立项。")
            items[item - 1] = {**items[item - 1], "matter_id": matter_id}
        else:
            r.data["proposal"] = {**r.data["proposal"], "matter_id": matter_id}
        await uow.records.save(r)
        now = clock.now()
        await _event(uow, f"{r.kind}_item_registered", now, actor, r,
                     {"item": item, "matter_id": matter_id, "number": m.number})
        proposer = (r.data.get("proposal") or {}).get("by") if r.kind == INSPECTION else None
        if isinstance(proposer, int) and proposer != actor.id:
            # the liaison hears that the proposal became a matter
            await uow.outbox.add(Notice(
                key=f"proposalreg:{r.id}:p{proposer}", office_id=r.office_id,
                kind="proposal_registered", due_at=now, person_id=proposer,
                matter_id=matter_id, payload={"record_id": r.id}))
        await uow.commit()
        return r
