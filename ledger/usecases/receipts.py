"""已阅 receipts and the formal notices as documents (§2.2 交办通知单, §2.10 催办通知单).

The documents are queued as outbox notices carrying ids only; the delivery adapter builds
each .docx from the ledger when it is sent. A 催办通知单 opens a receipt: the persons it
goes to are expected to press 「已阅」; the unread are reminded after the policy's working
hours, and their unit's principal told after a second interval (outbox rows, checked
against the ledger when their time comes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger import permissions as perm
from ledger.clock import Clock
from ledger.errors import NotFound
from ledger.model import Assignment, Event, Matter, Role
from ledger.ports import Notice, UnitOfWork
from ledger.receipts import (
    BULLETIN,
    KIND_LABELS,
    URGE,
    Reader,
    Receipt,
    ReceiptPolicy,
    bulletin_readers,
    escalate_at,
    posted_only,
    remind_at,
    urge_readers,
)
from ledger.usecases._shared import _actor
from ledger.workcalendar import WorkCalendar

# Outbox kinds (reminders.kinds names them too).
DOC_ASSIGNMENT = "doc_assignment"      # 交办通知单 .docx, beside the assignment card
DOC_URGING = "doc_urging"              # 催办通知单 .docx, with 「已阅」
RECEIPT_REMIND = "receipt_remind"      # still unread after the first interval
RECEIPT_ESCALATE = "receipt_escalate"  # still unread after the second: the unit's principal

STALE_READ = "已阅"
STALE_GONE = "通知已失效"


async def queue_assignment_documents(uow: UnitOfWork, m: Matter,
                                     assignments: Sequence[Assignment], at: datetime) -> None:
    """In the open unit of work: each new assignment's 交办通知单 to its unit's responsible
    person and, once, its principal (one is enough when they are the same person)."""
    assert m.id is not None
    for a in assignments:
        for pid in dict.fromkeys((a.responsible_id, a.principal_id)):
            await uow.outbox.add(Notice(
                key=f"docassign:{m.id}:{a.no}:p{pid}", office_id=m.office_id,
                kind=DOC_ASSIGNMENT, due_at=at, person_id=pid, matter_id=m.id,
                assignment_no=a.no, payload={}))


async def open_receipt(uow: UnitOfWork, cal: WorkCalendar, policy: ReceiptPolicy,
                       receipt: Receipt, principal_of: dict[int, int]) -> Receipt:
    """In the open unit of work: store the receipt and plan its reminder (each expected
    reader) and escalation (`principal_of`: unit id → the principal to tell)."""
    r = await uow.receipts.add(receipt)
    for n in receipt_notices(cal, policy, r, principal_of):
        await uow.outbox.add(n)
    return r


def receipt_notices(cal: WorkCalendar, policy: ReceiptPolicy, r: Receipt,
                    principal_of: dict[int, int]) -> list[Notice]:
    """A stored receipt's reminder (each expected reader) and escalation (the principal of
    each unit in `principal_of`), due after the policy's working hours."""
    assert r.id is not None
    payload = {"receipt_id": r.id}
    out: list[Notice] = []
    if policy.remind_after_hours > 0:
        due = remind_at(cal, r.created_at, policy)
        for reader in r.readers:
            if reader.expected:
                out.append(Notice(
                    key=f"rcpt:{r.id}:r:p{reader.person_id}", office_id=r.office_id,
                    kind=RECEIPT_REMIND, due_at=due, person_id=reader.person_id,
                    matter_id=r.matter_id, assignment_no=r.assignment_no,
                    payload=dict(payload)))
    if policy.escalate_after_hours > 0:
        due = escalate_at(cal, r.created_at, policy)
        for unit_id, principal in principal_of.items():
            out.append(Notice(
                key=f"rcpt:{r.id}:e:u{unit_id}", office_id=r.office_id,
                kind=RECEIPT_ESCALATE, due_at=due, person_id=principal,
                matter_id=r.matter_id, assignment_no=r.assignment_no,
                payload={**payload, "unit_id": unit_id}))
    return out


async def queue_urging_documents(uow: UnitOfWork, cal: WorkCalendar, policy: ReceiptPolicy,
                                 m: Matter, assignments: Sequence[Assignment],
                                 at: datetime) -> None:
    """In the open unit of work, after a 催办: the 催办通知单 of each urged assignment to
    whom the urge went, each with a receipt they are expected to acknowledge."""
    for n in await urging_documents(uow, cal, policy,
                                    [(m, m.assignment(a.no)) for a in assignments], at):
        await uow.outbox.add(n)


async def urging_documents(uow: UnitOfWork, cal: WorkCalendar, policy: ReceiptPolicy,
                           urged: Sequence[tuple[Matter, Assignment]], at: datetime,
                           ) -> list[Notice]:
    """The receipts of many urges stored at once (each assignment as urged, its
    `urge_count` already counting the urge), and the notices to queue: each urge's
    催办通知单 to its readers, then every receipt's reminders and escalation."""
    opened = [Receipt(office_id=m.office_id, kind=URGE, created_at=at, matter_id=m.id,
                      assignment_no=a.no, title=f"第{a.urge_count}次催办",
                      readers=urge_readers(a)) for m, a in urged]
    stored = await uow.receipts.add_many(opened)
    docs: list[Notice] = []
    later: list[Notice] = []
    for (m, a), r in zip(urged, stored, strict=True):
        assert m.id is not None
        later += receipt_notices(cal, policy, r, {a.unit_id: a.principal_id})
        for reader in r.readers:
            docs.append(Notice(
                key=f"docurge:{m.id}:{a.no}:{a.urge_count}:p{reader.person_id}",
                office_id=m.office_id, kind=DOC_URGING, due_at=at,
                person_id=reader.person_id, matter_id=m.id, assignment_no=a.no,
                payload={"receipt_id": r.id}))
    return docs + later


@dataclass(frozen=True)
class Ack:
    receipt: Receipt
    first: bool          # False: they had pressed before
    read_at: datetime


async def acknowledge(uow: UnitOfWork, clock: Clock, actor_id: int, receipt_id: int) -> Ack:
    """「已阅」 pressed: who read it and when (an event in the matter's history)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        r = await uow.receipts.get(receipt_id)
        if r is None or r.office_id != actor.office_id:
            raise NotFound("这条通知已失效，无需再点「已阅」。")
        now = clock.now()
        before = r.reader(actor.id)
        if before is not None and before.read_at is not None:
            return Ack(r, False, before.read_at)
        await uow.receipts.mark_read(receipt_id, actor.id, actor.unit_id, now)
        await uow.events.append(Event(
            kind="receipt_read", at=now, actor_id=actor.id, office_id=r.office_id,
            matter_id=r.matter_id, assignment_no=r.assignment_no,
            after={"receipt_id": r.id, "kind": r.kind, "label": KIND_LABELS.get(r.kind, ""),
                   "title": r.title, "expected": before is not None}))
        await uow.commit()
        return Ack(r, True, now)


async def unread(uow: UnitOfWork, actor_id: int) -> list[Receipt]:
    """/unread: the office's notices someone expected has not acknowledged (office only)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        return [r for r in await uow.receipts.unread(actor.office_id) if posted_only(r)]


async def still_unread(uow: UnitOfWork, notice: Notice) -> tuple[Receipt, list[Reader]] | str:
    """At send time, for a receipt's reminder or escalation: the receipt and whom it is
    still about, or why it is no longer due (everyone read it, the matter is closed)."""
    receipt_id = notice.payload.get("receipt_id")
    r = await uow.receipts.get(int(receipt_id)) if isinstance(receipt_id, int) else None
    if r is None or not posted_only(r):
        return STALE_GONE
    if r.matter_id is not None:
        try:
            m = await uow.matters.get(r.matter_id)
        except NotFound:
            return STALE_GONE
        if not m.is_open:
            return STALE_GONE
    if notice.kind == RECEIPT_ESCALATE:
        unit_id = notice.payload.get("unit_id")
        left = r.unread_in_unit(unit_id if isinstance(unit_id, int) else None)
    else:
        left = [x for x in r.unread if x.person_id == notice.person_id]
    return (r, left) if left else STALE_READ


async def open_bulletin_receipt(uow: UnitOfWork, clock: Clock, cal: WorkCalendar,
                                policy: ReceiptPolicy, office_id: int, record_id: int,
                                title: str, chat_id: int) -> Receipt | None:
    """Before a bulletin is posted to a group bound to the office: its receipt (who is
    expected: ledger.receipts.bulletin_readers) with reminders planned. None when the
    chat is no bound group or nobody there is expected to read it."""
    async with uow:
        r = await bulletin_receipt(uow, clock, cal, policy, office_id, record_id, title,
                                   chat_id)
        await uow.commit()
        return r


async def bulletin_receipt(uow: UnitOfWork, clock: Clock, cal: WorkCalendar,
                           policy: ReceiptPolicy, office_id: int, record_id: int, title: str,
                           chat_id: int) -> Receipt | None:
    """`open_bulletin_receipt` in the caller's open unit of work (the bulletin's outbox row
    is queued in the same transaction)."""
    group = await uow.chats.get(chat_id)
    if group is None or group.office_id != office_id:
        return None
    persons = await uow.people.persons(office_id)
    readers = bulletin_readers(group.unit_id, persons)
    if not readers:
        return None
    unit_id = group.unit_id
    heads = [p.id for p in persons if unit_id is not None and p.unit_id == unit_id
             and p.active and p.has(Role.PRINCIPAL)]
    principal_of = {unit_id: heads[0]} if unit_id is not None and heads else {}
    return await open_receipt(uow, cal, policy, Receipt(
        office_id=office_id, kind=BULLETIN, created_at=clock.now(), record_id=record_id,
        title=title, chat_id=chat_id, readers=readers), principal_of)
