"""The one way a use case records what the office hears: notices in the outbox, one per
target that `policy.office_hears` names (the office's groups, else its admins; admins only
when confidential). Written in the same unit of work as the change they are about."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger.policy import Target, office_hears
from ledger.ports import Notice, UnitOfWork


def office_notices(targets: Sequence[Target], *, key: str, office_id: int, kind: str,
                   at: datetime, payload: dict[str, Any], matter_id: int | None = None,
                   assignment_no: int | None = None) -> list[Notice]:
    """One notice per target; `key` + the target is each one's idempotency key."""
    out = []
    for person_id, chat_id in targets:
        target = f"p{person_id}" if person_id is not None else f"c{chat_id}"
        out.append(Notice(key=f"{key}:{target}", office_id=office_id, kind=kind, due_at=at,
                          person_id=person_id, chat_id=chat_id, matter_id=matter_id,
                          assignment_no=assignment_no, payload=dict(payload)))
    return out


async def tell_office(uow: UnitOfWork, *, office_id: int, confidential: bool, key: str,
                      kind: str, at: datetime, payload: dict[str, Any],
                      matter_id: int | None = None, assignment_no: int | None = None) -> None:
    """Who hears of it (the policy) and the notices, added to the open unit of work."""
    targets = await office_hears(uow, office_id, confidential)
    for n in office_notices(targets, key=key, office_id=office_id, kind=kind, at=at,
                            payload=payload, matter_id=matter_id, assignment_no=assignment_no):
        await uow.outbox.add(n)
