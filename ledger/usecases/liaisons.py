"""聘员督办 (§2.5): liaison officers' inspections (明查/暗访) and the matters they propose."""

from __future__ import annotations

from collections.abc import Sequence

from ledger import evidence
from ledger import permissions as perm
from ledger.clock import Clock, local_today
from ledger.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from ledger.model import (
    Attachment,
    Matter,
)
from ledger.ports import Record, UnitOfWork
from ledger.usecases.records import (
    INSPECTION,
    MODES,
    _actor,
    _event,
    _record,
    _require_inspector,
    _tell_office,
)


async def record_inspection(uow: UnitOfWork, clock: Clock, actor_id: int, mode: str,
                            findings: str, attachments: Sequence[Attachment] = (),
                            matter_id: int | None = None, unit_id: int | None = None,
                            ) -> Record:
    """明查 or 暗访 by a liaison (or the office) on a matter or a unit, with findings and
    photos. On a matter it is also in the matter's own history, as the inspector's."""
    async with uow:
        actor = await _actor(uow, actor_id)
        _require_inspector(actor)
        if mode not in MODES:
            raise InvalidInput("请写明查或暗访。")
        findings = findings.strip()
        if not findings and not attachments:
            raise InvalidInput("请写明督查发现的情况，或附上照片。")
        m: Matter | None = None
        if matter_id is not None:
            m = await uow.matters.get(matter_id)
            perm.require_view(actor, m)  # a confidential matter stays invisible
        elif unit_id is not None:
            unit = await uow.people.get_unit(unit_id)
            if unit.office_id != actor.office_id:
                raise NotFound("找不到该单位。")
        else:
            raise InvalidInput("请指明督查的事项或单位。")
        now = clock.now()
        atts = [a.to_json() for a in attachments]
        r = await uow.records.add(Record(
            office_id=actor.office_id, kind=INSPECTION, created_at=now, created_by=actor.id,
            ref_id=matter_id,
            data={"mode": mode, "matter_id": matter_id,
                  "unit_id": unit_id if m is None else (m.lead.unit_id if m.lead else None),
                  "findings": findings, "attachments": atts, "inspector_id": actor.id,
                  "inspector_role": "liaison" if not actor.is_office else "office",
                  "on": local_today(clock).isoformat(), "proposal": None}))
        await _event(uow, "inspection_recorded", now, actor, r, dict(r.data))
        if m is not None:
            assert r.id is not None
            m.record_inspection(at=now, actor_id=actor.id, inspection_id=r.id, mode=mode,
                                findings=findings, attachments=tuple(attachments))
            await uow.matters.save(m)
            await uow.outbox.add_many(evidence.download_notices(m.office_id, m.id,
                                                                m.last_event, now))
        if not actor.is_office:
            await _tell_office(uow, actor.office_id, "office_inspection",
                               f"inspection:{r.id}", now,
                               {"record_id": r.id, "actor_id": actor.id, "mode": mode,
                                "findings": findings, "photos": len(atts),
                                "unit_id": r.data["unit_id"]},
                               matter_id=matter_id,
                               private=m is not None and m.confidential)
        await uow.commit()
        return r


async def inspections(uow: UnitOfWork, actor_id: int) -> list[Record]:
    """The inspections the actor may see: the office all, a liaison their own."""
    async with uow:
        actor = await _actor(uow, actor_id)
        _require_inspector(actor)
        found = await uow.records.list(actor.office_id, INSPECTION)
        if actor.is_office:
            return found
        return [r for r in found if r.created_by == actor.id]


async def propose_matter(uow: UnitOfWork, clock: Clock, actor_id: int, inspection_id: int,
                         title: str) -> Record:
    """A liaison proposes a new matter from a finding; the office registers it (or not)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        _require_inspector(actor)
        r = await _record(uow, actor, inspection_id, INSPECTION)
        if not actor.is_office and r.created_by != actor.id:
            raise PermissionDenied("只能就自己的督查记录建议立项。")
        title = title.strip() or r.data["findings"][:60]
        if not title:
            raise InvalidInput("请写建议立项的事项标题。")
        if r.data.get("proposal"):
            raise InvalidTransition("这条督查记录已经建议立项。")
        unit_ids = [r.data["unit_id"]] if r.data.get("unit_id") else []
        before = {"proposal": None}
        r.data["proposal"] = {"text": title, "unit_ids": unit_ids, "deadline": None,
                              "matter_id": None, "by": actor.id}
        await uow.records.save(r)
        now = clock.now()
        await _event(uow, "inspection_proposed", now, actor, r,
                     {"proposal": r.data["proposal"]}, before)
        await _tell_office(uow, actor.office_id, "office_proposal", f"proposal:{r.id}", now,
                           {"record_id": r.id, "actor_id": actor.id, "title": title,
                            "unit_id": r.data.get("unit_id"), "mode": r.data["mode"],
                            "findings": r.data["findings"]}, private=True)
        await uow.commit()
        return r
