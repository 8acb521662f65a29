"""时限 (§2.3): 签收 with a committed deadline, and 延期 (asked, confirmed by the
principal, decided by the office)."""

from __future__ import annotations

from datetime import date

from ledger import permissions as perm
from ledger.clock import Clock, local_today
from ledger.deadlines import (
    MAX_DAYS_AHEAD,
)
from ledger.errors import (
    InvalidInput,
)
from ledger.model import (
    Event,
    Matter,
)
from ledger.ports import UnitOfWork
from ledger.usecases._shared import (
    _actor,
    _office_matter,
    _pick,
    _save,
    _tell_office,
    _tell_persons,
)


async def sign(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int, no: int | None,
               committed: date, counted: tuple[date, int] | None = None) -> Matter:
    """签收 with a committed deadline; ``counted``: its basis when typed as N个工作日."""
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = _pick(actor, m, no)
        perm.require_work_on(actor, a)
        today = local_today(clock)
        if committed < today:
            raise InvalidInput("承诺办结时限不能早于今天。")
        m.sign(at=clock.now(), actor_id=actor.id, no=a.no, committed=committed,
               counted=counted)
        await _save(uow, m)
        await uow.commit()
        return m


async def request_extension(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                            no: int | None, reason: str, new_deadline: date,
                            max_days_ahead: int = MAX_DAYS_AHEAD,
                            counted: tuple[date, int] | None = None) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = _pick(actor, m, no)
        perm.require_work_on(actor, a)
        by_principal = perm.is_principal(actor, a)
        now = clock.now()
        m.request_extension(at=now, actor_id=actor.id, no=a.no, reason=reason,
                            new_deadline=new_deadline, today=local_today(clock),
                            by_principal=by_principal, max_days_ahead=max_days_ahead,
                            counted=counted)
        await _save(uow, m)
        if by_principal:
            await _tell_office(uow, m, m.last_event, now)
        else:
            await _tell_persons(uow, m, "extension_confirm", [a.principal_id], now, a.no)
        await uow.commit()
        return m


async def confirm_extension(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                            no: int) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = m.assignment(no)
        perm.require_principal(actor, a)
        now = clock.now()
        m.confirm_extension(at=now, actor_id=actor.id, no=no)
        await _save(uow, m)
        ext = a.extension
        assert ext is not None
        request = Event(kind="extension_requested", at=now, actor_id=ext.requested_by,
                        office_id=m.office_id, matter_id=m.id, assignment_no=no,
                        after={"reason": ext.reason,
                               "new_deadline": ext.new_deadline.isoformat(),
                               "confirmed_by": actor.id})
        await _tell_office(uow, m, request, now)
        await uow.commit()
        return m


async def decide_extension(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                           no: int, approve: bool, new_deadline: date | None = None,
                           reason: str = "", max_days_ahead: int = MAX_DAYS_AHEAD) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        a = m.assignment(no)
        ext = a.extension
        now = clock.now()
        m.decide_extension(at=now, actor_id=actor.id, no=no, approve=approve,
                           new_deadline=new_deadline, reason=reason, today=local_today(clock),
                           max_days_ahead=max_days_ahead)
        await _save(uow, m)
        kind = "extension_approved" if approve else "extension_rejected"
        asked = [ext.requested_by] if ext else []
        await _tell_persons(uow, m, kind, [*asked, a.responsible_id, a.principal_id], now, no,
                            dict(m.last_event.after))
        await uow.commit()
        return m
