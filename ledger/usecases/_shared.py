"""What the use cases share: the actor, picking an assignment, saving, telling
persons and the office (through ledger.notices and the policy's `office_hears`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ledger import permissions as perm
from ledger.errors import (
    InvalidInput,
    PermissionDenied,
)
from ledger.model import (
    Assignment,
    Event,
    Matter,
    Person,
)
from ledger.notices import office_notices
from ledger.policy import office_hears
from ledger.ports import Notice, UnitOfWork

_actor = perm.load_actor


async def _tell_office(uow: UnitOfWork, m: Matter, e: Event, at: datetime) -> None:
    targets = await office_hears(uow, m.office_id, m.confidential)
    for n in _office_notices(m, e, at, targets):
        await uow.outbox.add(n)


def _office_notices(m: Matter, e: Event, at: datetime,
                    targets: Sequence[tuple[int | None, int | None]]) -> list[Notice]:
    assert m.id is not None
    return office_notices(targets, key=f"office:{m.id}:{m.version}", office_id=m.office_id,
                          kind=f"office_{e.kind}", at=at, matter_id=m.id,
                          assignment_no=e.assignment_no,
                          payload={"event": e.kind, "actor_id": e.actor_id, **e.after})


async def _tell_persons(uow: UnitOfWork, m: Matter, kind: str, person_ids: Sequence[int],
                        at: datetime, no: int | None, payload: dict[str, object] | None = None,
                        ) -> None:
    assert m.id is not None
    for pid in dict.fromkeys(person_ids):  # de-duplicate, keep order
        await uow.outbox.add(Notice(
            key=f"{kind}:{m.id}:{m.version}:p{pid}", office_id=m.office_id, kind=kind,
            due_at=at, person_id=pid, matter_id=m.id, assignment_no=no,
            payload=dict(payload or {})))


async def _save(uow: UnitOfWork, m: Matter) -> None:
    await uow.matters.save(m)


def _pick(actor: Person, m: Matter, no: int | None) -> Assignment:
    m.require_open()
    if no is not None:
        a = m.assignment(no)
        perm.require_work_on(actor, a)
        return a
    mine = perm.actor_assignments(actor, m)
    if not mine:
        if any(perm.can_work_on(actor, a) for a in m.assignments):
            raise InvalidInput(f"您在事项 {m.number} 的分工已经办结或撤销。")
        raise PermissionDenied(f"事项 {m.number} 不是您负责的，不能代为报送。")
    return mine[0]


async def _office_matter(uow: UnitOfWork, actor_id: int, matter_id: int) -> tuple[Person, Matter]:
    actor = await _actor(uow, actor_id)
    perm.require_office(actor)
    m = await uow.matters.get(matter_id)
    perm.require_view(actor, m)
    return actor, m
