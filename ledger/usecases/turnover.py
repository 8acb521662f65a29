"""People come and go with the ledger intact: ending a binding (/revoke) and handing a
post over to a successor (/handover). Each change is an event; nobody is ever deleted, so
the history still names who did what."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ledger import permissions as perm
from ledger.clock import Clock
from ledger.errors import InvalidInput, InvalidTransition, NotFound, shown
from ledger.model import Assignment, Event, Matter, MatterStatus, Person, Role
from ledger.ports import MatterQuery, Notice, UnitOfWork

UNIT_ROLES = frozenset({Role.PRINCIPAL, Role.RESPONSIBLE, Role.HANDLER})
OPEN_MATTERS = frozenset({MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                          MatterStatus.COMPLETION_REQUESTED})
# Notices a person whose binding just ended may still receive (the goodbye itself).
FAREWELL_KINDS = frozenset({"person_revoked", "handover_from"})
REASON_MAX = 200


def may_receive(person: Person, kind: str) -> bool:
    """Whether a notice of `kind` may still go to `person` (revoked people get nothing
    but the news that their binding ended)."""
    return person.active or kind in FAREWELL_KINDS


@dataclass(frozen=True)
class OpenWork:
    """One open assignment naming a person, and as what."""

    matter: Matter
    assignment: Assignment
    roles: tuple[str, ...]  # "principal" / "responsible" / "handler"


@dataclass(frozen=True)
class Revoked:
    person: Person
    reason: str
    open_work: tuple[OpenWork, ...]


@dataclass(frozen=True)
class HandedOver:
    old: Person
    new: Person
    moved: tuple[OpenWork, ...]
    roles_added: frozenset[Role]
    revoked: bool  # the old binding ended with the handover


class AmbiguousPerson(InvalidInput):
    """Several people answer to the name typed. The chat layer lists them with their roles
    (presentation's labels); str() is the same answer without the roles."""

    def __init__(self, reference: str, candidates: tuple[Person, ...]) -> None:
        self.reference = reference
        self.candidates = candidates
        listing = "；".join(f"#{p.id} {p.name}{'' if p.active else '（已停用）'}"
                           for p in candidates)
        super().__init__(f"有{len(candidates)}位「{reference}」：{listing}。"
                         f"请改写成 #编号，如 #{candidates[0].id}。")


async def find_person(uow: UnitOfWork, office_id: int, reference: str, *,
                      active_only: bool = False, with_work: bool = False) -> Person:
    """A person by name (or `#id`) in the office. Several with the same name (someone
    moved to another post): those with open work count first when `with_work`, then the
    active ones; still several is an error listing them with their ids."""
    ref = reference.strip()
    if not ref:
        raise InvalidInput("请写人员姓名。")
    people = await uow.people.persons(office_id)
    if ref.startswith("#") and ref[1:].isdigit():
        found = [p for p in people if p.id == int(ref[1:])]
    else:
        found = [p for p in people if p.name == ref]
    if active_only:
        found = [p for p in found if p.active]
    if len(found) > 1 and with_work:
        busy = [p for p in found if await open_work(uow, p)]
        found = busy or found
    if len(found) > 1 and any(p.active for p in found):
        found = [p for p in found if p.active]
    if not found:
        raise NotFound(f"找不到人员「{shown(ref)}」。请写其绑定时的姓名（/units 可查看各单位人员）。")
    if len(found) > 1:
        raise AmbiguousPerson(ref, tuple(found))
    return found[0]


def _named_as(a: Assignment, person_id: int) -> tuple[str, ...]:
    return tuple(role for role, pid in (("principal", a.principal_id),
                                        ("responsible", a.responsible_id),
                                        ("handler", a.handler_id)) if pid == person_id)


async def open_work(uow: UnitOfWork, person: Person) -> list[OpenWork]:
    """Every open assignment naming the person, matters in number order."""
    q = MatterQuery(office_id=person.office_id, person_id=person.id, statuses=OPEN_MATTERS)
    out: list[OpenWork] = []
    for m in sorted(await uow.matters.list(q), key=lambda m: (m.year, m.seq)):
        for a in m.assignments:
            named = _named_as(a, person.id)
            if a.is_open and named:
                out.append(OpenWork(m, a, named))
    return out


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"理由太长（最多{REASON_MAX}字）。")
    return reason


def _check_not_self(actor: Person, person: Person) -> None:
    # The office can never lock itself out: the actor stays, so an admin is left.
    if person.id == actor.id:
        raise InvalidInput("不能停用自己的账号；请另一位督查室管理员操作，或用 /handover 交接给接任者。")


async def _end_binding(uow: UnitOfWork, actor: Person, person: Person, reason: str,
                       now: datetime, successor_id: int | None = None) -> Person:
    """The person is refused from now on (`active` False, the binding kept for the record)."""
    ended = replace(person, active=False)
    await uow.people.save_person(ended)
    after: dict[str, Any] = {"active": False, "reason": reason}
    if successor_id is not None:
        after["successor_id"] = successor_id
    await uow.events.append(Event(
        kind="person_revoked", at=now, actor_id=actor.id, office_id=person.office_id,
        person_id=person.id,
        before={"active": True, "roles": sorted(person.roles), "unit_id": person.unit_id},
        after=after))
    return ended


async def _tell(uow: UnitOfWork, person: Person, kind: str, now: datetime,
                payload: dict[str, Any]) -> None:
    await uow.outbox.add(Notice(
        key=f"{kind}:{person.id}:{now.isoformat()}", office_id=person.office_id, kind=kind,
        due_at=now, person_id=person.id, payload=payload))


async def revoke(uow: UnitOfWork, clock: Clock, actor_id: int, reference: str,
                 reason: str = "") -> Revoked:
    """/revoke: the office ends a person's binding. They are refused from then on; their
    open assignments stay as they are (the history is theirs) and are returned, so the
    office can hand them over."""
    async with uow:
        actor = await perm.load_actor(uow, actor_id)
        perm.require_office(actor)
        person = await find_person(uow, actor.office_id, reference)
        if not person.active:
            raise InvalidTransition(f"「{person.name}」的账号已经停用了。")
        _check_not_self(actor, person)
        why = _reason(reason)
        now = clock.now()
        work = await open_work(uow, person)
        ended = await _end_binding(uow, actor, person, why, now)
        await _tell(uow, ended, "person_revoked", now, {"reason": why, "actor_id": actor.id})
        await uow.commit()
        return Revoked(ended, why, tuple(work))


def _check_successor(old: Person, new: Person) -> None:
    if new.id == old.id:
        raise InvalidInput("交接双方是同一个人。请写：/handover 原姓名 新姓名")
    if not new.active:
        raise InvalidInput(f"「{new.name}」的账号已停用，不能接手。")
    if new.telegram_id is None:
        raise InvalidInput(f"「{new.name}」还没有绑定 Telegram，请其先打开邀请链接。")
    if old.roles & UNIT_ROLES and new.unit_id != old.unit_id:
        raise InvalidInput(
            f"「{new.name}」与「{old.name}」不在同一单位，不能接手其单位职务。"
            f"请先用 /invite {new.name} 单位 角色 邀请到该单位。")


async def handover(uow: UnitOfWork, clock: Clock, actor_id: int, old_ref: str,
                   new_ref: str) -> HandedOver:
    """/handover: the old person's open assignments and roles move to the successor, one
    `handed_over` event per assignment, one `roles_received` event for the successor; the
    old binding ends (if it had not already). Both are told. An admin may hand over their
    own post: the successor becomes an admin, so the office is never left without one."""
    async with uow:
        actor = await perm.load_actor(uow, actor_id)
        perm.require_office(actor)
        old = await find_person(uow, actor.office_id, old_ref, with_work=True)
        new = await find_person(uow, actor.office_id, new_ref, active_only=True)
        _check_successor(old, new)
        now = clock.now()
        work = await open_work(uow, old)
        by_matter: dict[int, Matter] = {}
        for w in work:
            assert w.matter.id is not None
            m = by_matter.setdefault(w.matter.id, w.matter)
            m.hand_over(at=now, actor_id=actor.id, no=w.assignment.no, old_id=old.id,
                        new_id=new.id)
        for m in by_matter.values():
            await uow.matters.save(m)
        added = frozenset(old.roles - new.roles)
        successor = replace(new, roles=new.roles | old.roles)
        if added:
            await uow.people.save_person(successor)
        await uow.events.append(Event(
            kind="roles_received", at=now, actor_id=actor.id, office_id=actor.office_id,
            person_id=new.id, before={"roles": sorted(new.roles)},
            after={"roles": sorted(successor.roles), "from_id": old.id,
                   "assignments": len(work)}))
        numbers = [w.matter.number for w in work]
        stamp = now.isoformat()
        revoked = old.active
        if revoked:
            old = await _end_binding(uow, actor, old, f"已交接给{new.name}", now, new.id)
        await _tell(uow, old, "handover_from", now,
                    {"successor": new.name, "numbers": numbers, "actor_id": actor.id})
        await uow.outbox.add(Notice(
            key=f"handover_to:{new.id}:{old.id}:{stamp}", office_id=actor.office_id,
            kind="handover_to", due_at=now, person_id=new.id,
            payload={"predecessor": old.name, "numbers": numbers,
                     "roles": sorted(added), "actor_id": actor.id}))
        for w in work:
            m = by_matter[w.matter.id or 0]
            await uow.outbox.add(Notice(
                key=f"assignment:{m.id}:{m.version}:{w.assignment.no}:p{new.id}",
                office_id=m.office_id, kind="assignment", due_at=now, person_id=new.id,
                matter_id=m.id, assignment_no=w.assignment.no, payload={"handover": True}))
        await uow.commit()
        return HandedOver(old, successor, tuple(work), added, revoked)
