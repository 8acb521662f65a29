"""办结与销号 (§2.4): progress reports, 办结 asked, 审核 then 销号 or 退回."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import evidence
from ledger import permissions as perm
from ledger.clock import Clock
from ledger.errors import (
    DomainError,
    NotFound,
)
from ledger.model import (
    Assignment,
    Attachment,
    Matter,
    Person,
)
from ledger.policy import office_hears
from ledger.ports import MessageRef, Notice, UnitOfWork
from ledger.usecases._shared import (
    _actor,
    _office_matter,
    _office_notices,
    _pick,
    _save,
    _tell_office,
    _tell_persons,
)
from ledger.usecases.rollup import roll_up


@dataclass(frozen=True)
class ProgressReport:
    """One progress report from a phone: text and/or attachments about a matter."""

    actor_id: int
    matter_id: int
    no: int | None
    text: str
    attachments: tuple[Attachment, ...] = ()
    # The bot's confirmation, already sent: remembered in the report's own transaction, so
    # that a reply to it lands on the matter (one write per report, not two).
    reply: MessageRef | None = None


ProgressOutcome = tuple[Matter, Assignment] | DomainError


async def report_progress(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                          no: int | None, text: str,
                          attachments: Sequence[Attachment] = ()) -> tuple[Matter, Assignment]:
    [outcome] = await report_progress_many(
        uow, clock, [ProgressReport(actor_id, matter_id, no, text, tuple(attachments))])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def report_progress_many(uow: UnitOfWork, clock: Clock,
                               reports: Sequence[ProgressReport]) -> list[ProgressOutcome]:
    """Several reports in one transaction (the bot gathers those arriving together, so a
    busy morning costs one commit per batch, not per message). Each report is checked on
    its own: a refused one gets its error back and does not stop the others. Reports
    about the same matter apply in the order given. The confirmations sent for them
    (`ProgressReport.reply`) are remembered in the same transaction."""
    async with uow:
        outcomes, touched, notices = await _apply_progress(uow, clock, reports)
        # 转办: a child office's progress is recorded on the county's matter too
        touched += await roll_up(uow, touched, clock.now(), {m.id or 0: m for m in touched})
        await uow.matters.save_many(touched)
        await uow.outbox.add_many(notices)
        await uow.chats.remember_many([r.reply for r, o in zip(reports, outcomes, strict=True)
                                       if r.reply is not None and not isinstance(o, DomainError)])
        await uow.commit()
        return outcomes


async def check_progress_many(uow: UnitOfWork, clock: Clock,
                              reports: Sequence[ProgressReport]) -> list[ProgressOutcome]:
    """What `report_progress_many` would answer, writing nothing (a read-only unit of work
    will do): the bot words its confirmation from it before the one write."""
    async with uow:
        outcomes, _, _ = await _apply_progress(uow, clock, reports)
        return outcomes


async def _apply_progress(uow: UnitOfWork, clock: Clock, reports: Sequence[ProgressReport],
                          ) -> tuple[list[ProgressOutcome], list[Matter], list[Notice]]:
    actors: dict[int, Person | DomainError] = {}
    for r in reports:
        if r.actor_id not in actors:
            try:
                actors[r.actor_id] = await _actor(uow, r.actor_id)
            except DomainError as e:
                actors[r.actor_id] = e
    loaded = await uow.matters.get_many({r.matter_id for r in reports})
    targets: dict[tuple[int, bool], list[tuple[int | None, int | None]]] = {}
    now = clock.now()
    outcomes: list[ProgressOutcome] = []
    notices: list[Notice] = []
    touched: dict[int, Matter] = {}
    for r in reports:
        try:
            actor = actors[r.actor_id]
            if isinstance(actor, DomainError):
                raise actor
            m = loaded.get(r.matter_id)
            if m is None:
                raise NotFound("找不到这件事项。")
            a = _pick(actor, m, r.no)
            m.report_progress(at=now, actor_id=actor.id, no=a.no, text=r.text,
                              attachments=r.attachments)
        except DomainError as e:
            outcomes.append(e)
            continue
        assert m.id is not None
        touched[m.id] = m
        key = (m.office_id, m.confidential)
        if key not in targets:
            targets[key] = await office_hears(uow, m.office_id, m.confidential)
        notices += _office_notices(m, m.last_event, now, targets[key])
        notices += evidence.download_notices(m.office_id, m.id, m.last_event, now)
        outcomes.append((m, a))
    return outcomes, list(touched.values()), notices


async def request_completion(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                             no: int | None, text: str,
                             attachments: Sequence[Attachment] = ()) -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        a = _pick(actor, m, no)
        perm.require_lead_assignment(actor, a)
        now = clock.now()
        m.request_completion(at=now, actor_id=actor.id, no=a.no, text=text,
                             attachments=tuple(attachments))
        for parent in await roll_up(uow, [m], now):  # 转办
            await _save(uow, parent)
        await _save(uow, m)
        await uow.outbox.add_many(evidence.download_notices(m.office_id, m.id, m.last_event,
                                                            now))
        await _tell_office(uow, m, m.last_event, now)
        await uow.commit()
        return m


async def close_matter(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                       comment: str = "") -> Matter:
    """销号: only the office, only after the lead unit asked for it (RULES 6)."""
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        now = clock.now()
        m.close(at=now, actor_id=actor.id, comment=comment)
        for parent in await roll_up(uow, [m], now):  # 转办
            await _save(uow, parent)
        await _save(uow, m)
        await uow.outbox.cancel(matter_id)
        persons = [p for a in m.top_assignments for p in (a.responsible_id, a.principal_id)]
        await _tell_persons(uow, m, "closed", persons, now, None, {"comment": comment})
        await uow.commit()
        return m


async def return_matter(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                        reason: str) -> Matter:
    async with uow:
        actor, m = await _office_matter(uow, actor_id, matter_id)
        now = clock.now()
        m.return_(at=now, actor_id=actor.id, reason=reason)
        for parent in await roll_up(uow, [m], now):  # 转办
            await _save(uow, parent)
        await _save(uow, m)
        lead = m.lead
        assert lead is not None
        await _tell_persons(uow, m, "returned", [lead.responsible_id, lead.handler_id], now,
                            lead.no, {"reason": reason})
        await uow.commit()
        return m
