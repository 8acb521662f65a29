"""联席会议 (§2.9): joint meetings, invitations, reminders, decisions that become matters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ledger import permissions as perm
from ledger.clock import Clock, to_local
from ledger.errors import (
    InvalidInput,
    NotFound,
)
from ledger.model import (
    Person,
    Role,
)
from ledger.ports import Notice, Record, UnitOfWork
from ledger.receipts import MEETING as MEETING_RECEIPT
from ledger.receipts import Reader, Receipt, ReceiptPolicy
from ledger.recurrence import (
    local_moment,
    previous_workday,
)
from ledger.usecases.receipts import open_receipt
from ledger.usecases.records import MEETING, _actor, _event
from ledger.workcalendar import WorkCalendar


@dataclass(frozen=True)
class Decision:
    text: str
    unit_ids: tuple[int, ...] = ()
    deadline: date | None = None


async def schedule_meeting(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                           topic: str, at: datetime, unit_ids: Sequence[int],
                           place: str = "", receipts: ReceiptPolicy | None = None) -> Record:
    """联席会议: invitations to each invited unit's principal now, and a reminder at 9:00
    on the working day before."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        topic = topic.strip()
        if not topic:
            raise InvalidInput("请写会议议题。")
        if at.tzinfo is None:
            raise ValueError("meeting time must be aware")
        now = clock.now()
        if at <= now:
            raise InvalidInput("会议时间已过，请写将来的时间。")
        if not unit_ids:
            raise InvalidInput("请至少邀请一个单位。")
        principals: list[int] = []
        for uid in dict.fromkeys(unit_ids):
            unit = await uow.people.get_unit(uid)
            if unit.office_id != actor.office_id:
                raise NotFound("找不到该单位。")
            heads = [p for p in await uow.people.persons(actor.office_id, uid)
                     if p.has(Role.PRINCIPAL)]
            if not heads:
                raise InvalidInput(f"{unit.name}还没有第一责任人，无法发出邀请。")
            principals += [p.id for p in heads]
        no = 1 + max((meeting_no(x) for x in await uow.records.list(actor.office_id, MEETING)),
                     default=0)
        r = await uow.records.add(Record(
            office_id=actor.office_id, kind=MEETING, created_at=now, created_by=actor.id,
            data={"no": no, "topic": topic, "at": at.isoformat(), "place": place.strip(),
                  "unit_ids": list(dict.fromkeys(unit_ids)), "invited": principals,
                  "decisions": []}))
        await _event(uow, "meeting_scheduled", now, actor, r, dict(r.data))
        meeting_day = to_local(at).date()
        remind_day = previous_workday(cal, meeting_day)
        remind_at = local_moment(remind_day)
        payload = {"record_id": r.id, "topic": topic, "at": at.isoformat(),
                   "place": place.strip()}
        unit_of = {pid: (await uow.people.get_person(pid)).unit_id for pid in principals}
        receipt = await open_receipt(uow, cal, receipts or ReceiptPolicy(), Receipt(
            office_id=r.office_id, kind=MEETING_RECEIPT, created_at=now, record_id=r.id,
            title=topic, readers=[Reader(pid, uid) for pid, uid in unit_of.items()]), {})
        for pid in principals:
            await uow.outbox.add(Notice(key=f"meeting:{r.id}:p{pid}", office_id=r.office_id,
                                        kind="meeting_invite", due_at=now, person_id=pid,
                                        payload={**payload, "receipt_id": receipt.id}))
            if remind_at > now:
                await uow.outbox.add(Notice(
                    key=f"meetingrem:{r.id}:p{pid}", office_id=r.office_id,
                    kind="meeting_reminder", due_at=remind_at, person_id=pid,
                    payload=payload))
        await uow.commit()
        return r


def meeting_no(r: Record) -> int:
    """A meeting's own number in its office (会议号): 1, 2, 3 in the order scheduled; not
    shared with inspections, visits or enterprises (migration 0013 numbered older ones)."""
    no = r.data.get("no")
    return no if isinstance(no, int) else 0


async def _meeting(uow: UnitOfWork, actor: Person, no: int) -> Record:
    for r in await uow.records.list(actor.office_id, MEETING):
        if meeting_no(r) == no:
            return r
    raise NotFound(f"找不到联席会议 #{no}。发送 /meetings 查看会议号。")


async def meetings(uow: UnitOfWork, actor_id: int) -> list[Record]:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        return await uow.records.list(actor.office_id, MEETING)


async def get_meeting(uow: UnitOfWork, actor_id: int, meeting_no: int) -> Record:
    """The meeting of that number (会议号, as /meetings lists)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        return await _meeting(uow, actor, meeting_no)


async def record_decisions(uow: UnitOfWork, clock: Clock, actor_id: int, meeting_no: int,
                           decisions: Sequence[Decision]) -> Record:
    """After the meeting (by its 会议号): its decisions, each of which can become a matter in
    one tap."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        r = await _meeting(uow, actor, meeting_no)
        if not decisions:
            raise InvalidInput("请至少写一条会议决定。")
        before = {"decisions": list(r.data["decisions"])}
        r.data["decisions"] = [*r.data["decisions"], *[
            {"text": d.text.strip(), "unit_ids": list(d.unit_ids),
             "deadline": d.deadline.isoformat() if d.deadline else None, "matter_id": None}
            for d in decisions]]
        await uow.records.save(r)
        await _event(uow, "meeting_decisions_recorded", clock.now(), actor, r,
                     {"decisions": r.data["decisions"]}, before)
        await uow.commit()
        return r
