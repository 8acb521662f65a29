"""转办's roll-up (issue 16): progress, completion requests, returns, closing and cancelling in a
child office's linked matter are recorded on the parent office's matter, as events on the assignment it
was passed down for, and the parent office hears of them. The parent still does its own
销号. Called by the closing use cases inside their transaction, before they save."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ledger.errors import NotFound
from ledger.model import Matter
from ledger.ports import UnitOfWork
from ledger.usecases._shared import _tell_office

ROLLED = {"progress": "child_progress", "completion_requested": "child_completion_requested",
          "closed": "child_closed", "returned": "child_returned",
          "cancelled": "child_cancelled"}


def parent_link(m: Matter) -> tuple[int, int] | None:
    """(parent matter id, assignment no) of a matter passed down (转办), else None."""
    o = m.origin or {}
    if o.get("kind") != "parent":
        return None
    return int(o["matter_id"]), int(o["no"])


async def roll_up(uow: UnitOfWork, children: Sequence[Matter], at: datetime,
                  loaded: Mapping[int, Matter] | None = None) -> list[Matter]:
    """Record the children's unsaved events of ROLLED kinds on their parents; returns the
    parents changed (the caller saves them). A parent closed or gone records nothing."""
    changed: dict[int, Matter] = {}
    for child in children:
        link = parent_link(child)
        if link is None:
            continue
        news = [e for e in child.pending if e.kind in ROLLED]
        if not news:
            continue
        pid, no = link
        parent = changed.get(pid) or (loaded or {}).get(pid)
        if parent is None:
            try:
                parent = await uow.matters.get(pid)
            except NotFound:
                continue
        if not parent.is_open or not any(a.no == no and a.is_open for a in parent.assignments):
            continue
        for e in news:
            ev = parent.note_child(at=at, no=no, kind=ROLLED[e.kind], actor_id=e.actor_id,
                                   child_id=child.id or 0, child_number=child.number,
                                   text=str(e.after.get("text") or e.after.get("comment")
                                            or e.after.get("reason") or ""))
            await _tell_office(uow, parent, ev, at)
        changed[pid] = parent
    return list(changed.values())
