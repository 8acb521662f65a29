"""催办与问责 (§2.6): 催办 (by the office or automatic), 通报批评 flagged, 表彰, 批评,
追究 (referral), and pausing a matter's reminders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

from ledger import permissions as perm
from ledger.clock import Clock, cn_date, local_today
from ledger.deadlines import (
    MAX_DAYS_AHEAD,
)
from ledger.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    InvalidTransition,
)
from ledger.model import (
    Assignment,
    AssignmentStatus,
    Event,
    Matter,
)
from ledger.notices import tell_office
from ledger.policy import urge_audience
from ledger.ports import Notice, UnitOfWork, UnitOfWorkFactory
from ledger.receipts import ReceiptPolicy
from ledger.usecases._shared import _actor, _office_matter, _save, _tell_persons
from ledger.usecases.receipts import DOC_URGING, queue_urging_documents, urging_documents
from ledger.workcalendar import WorkCalendar


async def urge(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int | None,
               matter_id: int, no: int | None, limit: date | None = None, note: str = "",
               limit_workdays: int = 3, max_days_ahead: int = MAX_DAYS_AHEAD,
               limit_counted: tuple[date, int] | None = None,
               receipts: ReceiptPolicy | None = None) -> Matter:
    """催办: a formal push with a new limit, to the unit's principal and responsible person,
    with the 催办通知单 they are expected to acknowledge (`receipts`: when to remind).
    `actor_id` None is the automatic escalation. `limit_counted`: the typed limit's basis
    (N个工作日); the default limit is counted from today."""
    async with uow:
        if actor_id is None:
            m = await uow.matters.get(matter_id)
        else:
            _, m = await _office_matter(uow, actor_id, matter_id)
        today = local_today(clock)
        if limit is None:
            limit, limit_counted = cal.add_workdays(today, limit_workdays), (today, limit_workdays)
        targets = [m.assignment(no)] if no is not None else [
            a for a in m.top_assignments if a.is_open]
        if not targets:
            raise InvalidInput("这件事项没有在办的分工，无需催办。")
        now = clock.now()
        for a in targets:
            m.urge(at=now, actor_id=actor_id, no=a.no, limit=limit, today=today, note=note,
                   max_days_ahead=max_days_ahead, counted=limit_counted)
        await _save(uow, m)
        await _tell_urged(uow, cal, receipts or ReceiptPolicy(), m, targets, now,
                          {"limit": limit.isoformat(), "note": note})
        await uow.commit()
        return m


async def auto_urge(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, matter_id: int, no: int,
                    after_workdays: int, limit_workdays: int,
                    receipts: ReceiptPolicy | None = None) -> Matter | None:
    """The automatic 催办 (actor None) of an assignment overdue `after_workdays` working days
    and never urged. Checks again inside the transaction; None when it no longer applies
    (done, urged meanwhile, paused, completion requested)."""
    async with uow:
        m = await uow.matters.get(matter_id)
        paused = bool(await uow.matters.paused_ids([matter_id]))
        if not await _auto_urge(uow, clock, cal, m, no, paused, after_workdays, limit_workdays,
                                receipts):
            return None
        await _save(uow, m)
        await uow.commit()
        return m


async def _auto_urge(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, m: Matter, no: int,
                     paused: bool, after_workdays: int, limit_workdays: int,
                     receipts: ReceiptPolicy | None = None) -> bool:
    """One automatic 催办 on a loaded matter, in the open unit of work (not saved)."""
    urged = _urge_if_due(clock, cal, m, no, paused, after_workdays, limit_workdays)
    if urged is None:
        return False
    a, payload = urged
    now = clock.now()
    await _tell_urged(uow, cal, receipts or ReceiptPolicy(), m, [a], now, payload)
    return True


def _urge_if_due(clock: Clock, cal: WorkCalendar, m: Matter, no: int, paused: bool,
                 after_workdays: int, limit_workdays: int,
                 ) -> tuple[Assignment, dict[str, object]] | None:
    """The automatic 催办's rule and its event: the assignment as urged and its notice's
    payload, or None when it does not apply (done, urged before, paused, completion
    requested, not overdue enough)."""
    a = m.assignment(no)
    if (not m.is_open or not a.is_open or a.status == AssignmentStatus.COMPLETION_REQUESTED
            or a.urge_count > 0 or paused):
        return None
    today = local_today(clock)
    if today <= a.effective_deadline:
        return None
    overdue = cal.workdays_between(a.effective_deadline, today)
    if overdue < after_workdays:
        return None
    limit = cal.add_workdays(today, limit_workdays)
    note = f"已超期{overdue}个工作日，系统自动催办。"
    m.urge(at=clock.now(), actor_id=None, no=no, limit=limit, today=today, note=note,
           counted=(today, limit_workdays))
    return m.assignment(no), {"limit": limit.isoformat(), "note": note, "auto": True,
                              "overdue_workdays": overdue}


PARENT_URGED = "parent_urged"  # to a child office's admins: the county urged its unit


async def _tell_urged(uow: UnitOfWork, cal: WorkCalendar, receipts: ReceiptPolicy, m: Matter,
                      urged: Sequence[Assignment], at: datetime, payload: dict[str, Any],
                      ) -> None:
    """In the open unit of work, after a 催办: whom it reaches (`policy.urge_audience`).
    The 催办通知单 first, then the notice with the card's buttons; for an assignment
    passed down (转办), the child office's admins get the notice about their own linked
    matter and the 催办通知单 too."""
    await queue_urging_documents(uow, cal, receipts, m, urged, at)
    await _tell_audience(uow, m, urged, at, payload)


async def _tell_audience(uow: UnitOfWork, m: Matter, urged: Sequence[Assignment],
                         at: datetime, payload: dict[str, Any]) -> None:
    """`_tell_urged` after its 催办通知单 (a batch queues those for all its urges first)."""
    assert m.id is not None
    office = None
    for x in urged:
        a = m.assignment(x.no)  # as urged just now
        audience = await urge_audience(uow, a)
        await _tell_persons(uow, m, "urged", audience.persons, at, a.no, payload)
        if audience.child_office_id is None or not audience.child_admins:
            continue
        office = office or await uow.people.get_office(m.office_id)
        down = {**payload, "count": a.urge_count, "parent_number": m.number,
                "parent_office": office.name, "parent_matter_id": m.id, "parent_no": a.no}
        for pid in audience.child_admins:
            await uow.outbox.add(Notice(
                key=f"{PARENT_URGED}:{m.id}:{a.no}:{a.urge_count}:p{pid}",
                office_id=audience.child_office_id, kind=PARENT_URGED, due_at=at,
                person_id=pid, matter_id=audience.child_matter_id, payload=dict(down)))
        for pid in audience.child_documents:
            # the county's document as its unit received it; no 已阅 expected of them
            await uow.outbox.add(Notice(
                key=f"docurge:{m.id}:{a.no}:{a.urge_count}:p{pid}", office_id=m.office_id,
                kind=DOC_URGING, due_at=at, person_id=pid, matter_id=m.id,
                assignment_no=a.no, payload={}))


CRITICISM_FLAG_REASON = "催办限期内未落实"


async def flag_for_criticism(uow: UnitOfWork, clock: Clock, matter_id: int, no: int,
                             ) -> Matter | None:
    """Urged, and the urging limit passed with the assignment still open: 通报批评 in the next
    bulletin (a `criticized` event, actor None) and the office is told (§2.10). None when
    it no longer applies."""
    async with uow:
        m = await uow.matters.get(matter_id)
        paused = bool(await uow.matters.paused_ids([matter_id]))
        if not await _flag(uow, clock, m, no, paused):
            return None
        await _save(uow, m)
        await uow.commit()
        return m


async def _flag(uow: UnitOfWork, clock: Clock, m: Matter, no: int, paused: bool) -> bool:
    """One criticism flag on a loaded matter, in the open unit of work (not saved)."""
    a = m.assignment(no)
    today = local_today(clock)
    if (not m.is_open or not a.is_open or a.status == AssignmentStatus.COMPLETION_REQUESTED
            or a.criticized or a.urge_limit is None or today <= a.urge_limit or paused):
        return False
    limit = a.urge_limit
    now = clock.now()
    m.criticize(at=now, actor_id=None, no=no,
                reason=f"{CRITICISM_FLAG_REASON}（催办限期 {cn_date(limit)}）")
    await tell_office(uow, office_id=m.office_id, confidential=m.confidential,
                      key=f"critflag:{m.id}:{no}", kind="office_criticism_flag", at=now,
                      matter_id=m.id, assignment_no=no,
                      payload={"limit": limit.isoformat(), "urge_count": a.urge_count,
                               "deadline": a.effective_deadline.isoformat(),
                               "unit_id": a.unit_id, "reason": CRITICISM_FLAG_REASON})
    return True


# ---- many at once (the planner's escalations) ------------------------------------------

ESCALATION_BATCH = 500  # assignments per transaction

# (matter_id, assignment no)
Target = tuple[int, int]
_Apply = Callable[[UnitOfWork, Matter, int, bool], Awaitable[bool]]
# After a batch's targets, given those applied: the notices to queue before theirs
_Before = Callable[[UnitOfWork, Sequence[tuple[Matter, int]]], Awaitable[list[Notice]]]


async def auto_urge_many(uows: UnitOfWorkFactory, clock: Clock, cal: WorkCalendar,
                         targets: Sequence[Target], after_workdays: int, limit_workdays: int,
                         batch: int = ESCALATION_BATCH, receipts: ReceiptPolicy | None = None,
                         ) -> list[Matter | None]:
    """`auto_urge` for many assignments, `batch` to a transaction, each its own event
    and notices. For each target in order: the matter urged, or None (no longer applies,
    or deferred to the next pass). A batch's receipts are stored in one insert and its
    notices in another; each urge's 催办通知单 is queued before the notices."""
    policy = receipts or ReceiptPolicy()

    async def apply(u: UnitOfWork, m: Matter, no: int, paused: bool) -> bool:
        done = _urge_if_due(clock, cal, m, no, paused, after_workdays, limit_workdays)
        if done is None:
            return False
        a, payload = done
        await _tell_audience(u, m, [a], clock.now(), payload)
        return True

    async def documents(u: UnitOfWork, done: Sequence[tuple[Matter, int]]) -> list[Notice]:
        # An assignment is urged once a batch (never urged before), so its state now is
        # its state as urged.
        return await urging_documents(u, cal, policy, [(m, m.assignment(no)) for m, no in done],
                                      clock.now())
    return await _in_batches(uows, targets, batch, apply, documents)


async def flag_for_criticism_many(uows: UnitOfWorkFactory, clock: Clock,
                                  targets: Sequence[Target], batch: int = ESCALATION_BATCH,
                                  ) -> list[Matter | None]:
    """`flag_for_criticism` for many assignments, `batch` to a transaction."""
    async def apply(u: UnitOfWork, m: Matter, no: int, paused: bool) -> bool:
        return await _flag(u, clock, m, no, paused)
    return await _in_batches(uows, targets, batch, apply)


async def _in_batches(uows: UnitOfWorkFactory, targets: Sequence[Target], batch: int,
                      apply: _Apply, before: _Before | None = None) -> list[Matter | None]:
    out: list[Matter | None] = []
    for k in range(0, len(targets), batch):
        chunk = targets[k:k + batch]
        try:
            out += await _batch(uows(), chunk, apply, before)
        except Conflict:  # one was saved by someone else meanwhile: each on its own
            for t in chunk:
                try:
                    out += await _batch(uows(), [t], apply, before)
                except DomainError:
                    out.append(None)
    return out


async def _batch(uow: UnitOfWork, chunk: Sequence[Target], apply: _Apply,
                 before: _Before | None = None) -> list[Matter | None]:
    async with uow:
        loaded = await uow.matters.get_many({mid for mid, _ in chunk})
        paused = await uow.matters.paused_ids(list(loaded))
        gathered = _Gathered(uow)
        out: list[Matter | None] = []
        applied: list[tuple[Matter, int]] = []
        for i, (mid, no) in enumerate(chunk):
            if i % 50 == 49:  # the gathered writes never wait: let the event loop breathe
                await asyncio.sleep(0)
            m = loaded.get(mid)
            try:
                done = m is not None and await apply(cast(UnitOfWork, gathered), m, no,
                                                     mid in paused)
            except DomainError:  # this one no longer applies as asked; the others go on
                done = False
            out.append(m if done else None)
            if m is not None and done:
                applied.append((m, no))
        first = await before(uow, applied) if before is not None and applied else []
        await uow.matters.save_many([m for m in loaded.values() if m.pending])
        await uow.outbox.add_many(first + gathered.outbox.notices)
        await uow.commit()
        return out


class _GatheredOutbox:
    def __init__(self, outbox: Any) -> None:
        self._outbox = outbox
        self.notices: list[Notice] = []

    async def add(self, notice: Notice) -> bool:
        self.notices.append(notice)
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)


class _Gathered:
    """The open unit of work with its outbox gathered: one insert for the whole batch."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self.outbox = _GatheredOutbox(uow.outbox)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


async def reminders_paused(uow: UnitOfWork, actor_id: int, matter_id: int) -> bool:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        return bool(await uow.matters.paused_ids([matter_id]))


async def _set_reminders(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                         paused: bool, reason: str) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        m.require_open()
        reason = reason.strip()
        if paused and not reason:
            raise InvalidInput("暂停提醒须写明理由。")
        if bool(await uow.matters.paused_ids([matter_id])) == paused:
            raise InvalidTransition(
                f"事项 {m.number} 的提醒{'已经暂停' if paused else '没有暂停'}。")
        assert m.id is not None
        e = Event(kind="reminders_paused" if paused else "reminders_resumed", at=clock.now(),
                  actor_id=actor.id, office_id=m.office_id, matter_id=m.id,
                  before={"paused": not paused}, after={"paused": paused, "reason": reason})
        m.apply(e)
        m.pending.append(e)
        await _save(uow, m)
        await uow.matters.set_paused(m.id, paused)
        await uow.commit()
        return m


async def pause_reminders(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                          reason: str) -> Matter:
    """The office stops every reminder and escalation of a matter, with a reason (an event).
    Reminders already queued are dropped when their time comes."""
    return await _set_reminders(uow, clock, actor_id, matter_id, True, reason)


async def resume_reminders(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                           reason: str = "") -> Matter:
    """Reminders start again from their next slot (what fell due meanwhile is not sent)."""
    return await _set_reminders(uow, clock, actor_id, matter_id, False, reason)


async def _judge(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int, no: int | None,
                 reason: str, kind: str) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        nos = [no] if no is not None else [a.no for a in m.top_assignments if a.lead]
        now = clock.now()
        for n in nos:
            getattr(m, kind)(at=now, actor_id=actor.id, no=n, reason=reason)
        await _save(uow, m)
        await uow.commit()
        return m


async def commend(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                  no: int | None, reason: str) -> Matter:
    return await _judge(uow, clock, actor_id, matter_id, no, reason, "commend")


async def criticize(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                    no: int | None, reason: str) -> Matter:
    return await _judge(uow, clock, actor_id, matter_id, no, reason, "criticize")


async def refer(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                no: int | None, reason: str) -> Matter:
    return await _judge(uow, clock, actor_id, matter_id, no, reason, "refer")
