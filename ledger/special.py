"""Special supervision and the office's other systems (§2.5, §2.8, §2.9, §3.3):

- 三个优先: priority flags on matters;
- 专项督查: project matters, their monthly figures and the query bulletins use;
- 重点企业月回访: key enterprises, monthly visits, problems that become matters;
- 聘员督办: liaison officers' inspections (明查/暗访) and the matters they propose;
- 联席会议: joint meetings, invitations, reminders, decisions that become matters.

Records that are not matters (enterprises, visits, meetings, inspections) live in
`uow.records`; every change to one is also an event (matter_id None, after.record_id).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger import permissions as perm
from ledger.clock import Clock, local_today, to_local
from ledger.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    check_name,
    shown,
)
from ledger.model import (
    Attachment,
    Event,
    Matter,
    MatterStatus,
    Person,
    ProjectKind,
    Role,
)
from ledger.notices import tell_office
from ledger.policy import publishable
from ledger.ports import FiguresRow, MatterQuery, Notice, Record, UnitOfWork
from ledger.recurrence import (
    first_workdays_of_months,
    local_moment,
    period_of,
    previous_workday,
)
from ledger.workcalendar import WorkCalendar

ENTERPRISE, VISIT, MEETING, INSPECTION = "enterprise", "visit", "meeting", "inspection"
ANNOUNCED, UNANNOUNCED = "announced", "unannounced"
MODE_LABELS = {ANNOUNCED: "明查", UNANNOUNCED: "暗访"}
CHECK_MONTHS = 12  # monthly asks queued ahead
# Outbox kinds this module queues (handlers.cards.compose_notice renders them).
NOTICE_KINDS = frozenset({"project_check", "office_figures", "visit_due", "meeting_invite",
                          "meeting_reminder", "office_inspection", "office_proposal",
                          "proposal_registered"})


_actor = perm.load_actor


def _require_inspector(actor: Person) -> None:
    if not (actor.is_office or actor.has(Role.LIAISON)):
        raise PermissionDenied("只有督查室和督查联络员可以这样做。")


async def _tell_office(uow: UnitOfWork, office_id: int, kind: str, key: str, at: datetime,
                       payload: dict[str, Any], matter_id: int | None = None,
                       private: bool = False) -> None:
    await tell_office(uow, office_id=office_id, confidential=private, key=key, kind=kind,
                      at=at, payload=payload, matter_id=matter_id)


async def _event(uow: UnitOfWork, kind: str, at: datetime, actor: Person, record: Record,
                 after: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    await uow.events.append(Event(kind=kind, at=at, actor_id=actor.id,
                                  office_id=actor.office_id,
                                  before=before or {},
                                  after={"record_id": record.id, "record_kind": record.kind,
                                         **after}))


async def _record(uow: UnitOfWork, actor: Person, record_id: int, kind: str) -> Record:
    try:
        r = await uow.records.get(record_id)
    except NotFound:
        raise NotFound(_MISSING[kind]) from None
    if r.office_id != actor.office_id or r.kind != kind:
        raise NotFound(_MISSING[kind])
    return r


_MISSING = {ENTERPRISE: "找不到这家企业。", VISIT: "找不到这次回访记录。",
            MEETING: "找不到这次会议。", INSPECTION: "找不到这条督查记录。"}


# ---------------------------------------------------------------- 三个优先


async def set_priority(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int, on: bool,
                       reason: str = "") -> Matter:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        m.set_priority(at=clock.now(), actor_id=actor.id, on=on, reason=reason)
        await uow.matters.save(m)
        await uow.commit()
        return m


# ---------------------------------------------------------------- 专项督查


@dataclass(frozen=True)
class Figures:
    percent: int
    investment: float | None  # 万元
    problems: str


_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*[%％]")
_MONEY = re.compile(r"(\d+(?:\.\d+)?)\s*(万元|万|亿元|亿)")
_PROBLEMS = re.compile(r"(?:问题|困难)\s*[:：]?\s*(.*)$", re.S)


def parse_figures(text: str) -> Figures | None:
    """`完成60% 累计投资1200万 问题：征地未完成` → Figures; None when there is no percentage
    (then the text is an ordinary progress report)."""
    pm = _PERCENT.search(text)
    if pm is None:
        return None
    percent = round(float(pm[1]))
    if not 0 <= percent <= 100:
        raise InvalidInput("完成进度应在 0% 到 100% 之间。")
    mm = _MONEY.search(text)
    investment = None
    if mm is not None:
        investment = float(mm[1]) * (10000 if mm[2].startswith("亿") else 1)
    problems = ""
    qm = _PROBLEMS.search(text)
    if qm is not None:
        problems = qm[1].strip()
    if problems in ("无", "没有", "暂无"):
        problems = ""
    return Figures(percent, investment, problems)


async def set_project(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                      matter_id: int, kind: ProjectKind | None) -> tuple[Matter, list[date]]:
    """Make a matter a project under 专项督查 (or stop it). Its lead unit's responsible
    person and handler are asked for the month's figures on the first working day of each
    month until the deadline (at most a year ahead). Returns the matter and the ask days."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        now = clock.now()
        m.set_project(at=now, actor_id=actor.id, kind=kind)
        await uow.matters.save(m)
        assert m.id is not None
        days: list[date] = []
        if kind is None:
            await uow.outbox.cancel(m.id, frozenset({"project_check"}))
        else:
            days = await _plan_project(uow, cal, local_today(clock), m)
        await uow.commit()
        return m, days


async def _plan_project(uow: UnitOfWork, cal: WorkCalendar, today: date, m: Matter,
                        ) -> list[date]:
    """Queue the monthly asks of a project up to its lead's deadline (idempotent: the
    outbox keys are unique)."""
    lead = m.lead
    if lead is None or not m.is_open or m.project is None:
        return []
    days = first_workdays_of_months(cal, today, CHECK_MONTHS,
                                    until=max(lead.effective_deadline, today))
    for day in days:
        for pid in dict.fromkeys((lead.responsible_id, lead.handler_id)):
            await uow.outbox.add(Notice(
                key=f"projcheck:{m.id}:{period_of(day)}:p{pid}", office_id=m.office_id,
                kind="project_check", due_at=local_moment(day), person_id=pid,
                matter_id=m.id, assignment_no=lead.no, payload={"period": period_of(day)}))
    return days


async def _plan_visits(uow: UnitOfWork, cal: WorkCalendar, today: date, ent: Record) -> None:
    for day in first_workdays_of_months(cal, today, CHECK_MONTHS):
        await _tell_office(uow, ent.office_id, "visit_due",
                           f"visitdue:{ent.id}:{period_of(day)}", local_moment(day),
                           {"record_id": ent.id, "name": ent.data["name"],
                            "period": period_of(day)})


async def plan_recurring(uow: UnitOfWork, clock: Clock, cal: WorkCalendar) -> None:
    """Top up the monthly asks (project figures, enterprise visits) of every office: run
    daily, so months the calendar did not know yet are planned once their holidays are
    entered, and a deadline moved by an extension gets its asks. Idempotent."""
    async with uow:
        today = local_today(clock)
        for office in await uow.people.offices():
            for ent in await uow.records.list(office.id, ENTERPRISE):
                await _plan_visits(uow, cal, today, ent)
            q = MatterQuery(office_id=office.id,
                            statuses=frozenset({MatterStatus.IN_PROGRESS,
                                                MatterStatus.COMPLETION_REQUESTED}))
            for m in await uow.matters.list(q):
                if m.project is not None:
                    await _plan_project(uow, cal, today, m)
        await uow.commit()


async def report_figures(uow: UnitOfWork, clock: Clock, actor_id: int, matter_id: int,
                         no: int | None, figures: Figures) -> Matter:
    """The month's figures of a project, from its unit (月检查); the office is told."""
    async with uow:
        actor = await _actor(uow, actor_id)
        m = await uow.matters.get(matter_id)
        perm.require_view(actor, m)
        mine = perm.actor_assignments(actor, m)
        if no is not None:
            a = m.assignment(no)
            perm.require_work_on(actor, a)
        elif mine:
            a = mine[0]
        else:
            raise PermissionDenied("这项分工不是您负责的，不能代为操作。")
        now = clock.now()
        period = period_of(local_today(clock))
        m.report_figures(at=now, actor_id=actor.id, no=a.no, period=period,
                         percent=figures.percent, investment=figures.investment,
                         problems=figures.problems)
        await uow.matters.save(m)
        assert m.id is not None
        await _tell_office(uow, m.office_id, "office_figures", f"figures:{m.id}:{m.version}",
                           now, {"actor_id": actor.id, "period": period,
                                 "percent": figures.percent,
                                 "investment": figures.investment,
                                 "problems": figures.problems},
                           matter_id=m.id, private=m.confidential)
        await uow.commit()
        return m


async def project_figures(uow: UnitOfWork, office_id: int, since: datetime | None = None,
                          until: datetime | None = None, public_only: bool = False,
                          ) -> list[FiguresRow]:
    """Monthly figures reported in [since, until): for the quarterly 《项目建设督查专报》
    and the annual appraisal (reports/ may wire it). `public_only` drops confidential
    matters (anything published)."""
    async with uow:
        rows = await uow.records.figures(office_id, since, until)
        if public_only and rows:
            keep: list[FiguresRow] = []
            for r in rows:
                m = await uow.matters.get(r.matter_id)
                if publishable(m):
                    keep.append(r)
            rows = keep
        return rows


def latest_by_matter(rows: Sequence[FiguresRow]) -> dict[int, FiguresRow]:
    """The last figures of each project among `rows`."""
    out: dict[int, FiguresRow] = {}
    for r in rows:
        out[r.matter_id] = r
    return out


# ---------------------------------------------------------------- 重点企业 月回访


async def add_enterprise(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                         name: str, unit_id: int) -> Record:
    """A key enterprise followed up monthly; `unit_id` is the unit that serves it (its
    problems are assigned there). The office is reminded on the first working day of each
    month to visit it."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        name = check_name(name, "企业名称")
        if not name:
            raise InvalidInput("请写企业名称。")
        unit = await uow.people.get_unit(unit_id)
        if unit.office_id != actor.office_id:
            raise NotFound("找不到该单位。")
        if any(r.data["name"] == name
               for r in await uow.records.list(actor.office_id, ENTERPRISE)):
            raise InvalidInput(f"重点企业「{name}」已在名单中。")
        now = clock.now()
        r = await uow.records.add(Record(office_id=actor.office_id, kind=ENTERPRISE,
                                         created_at=now, created_by=actor.id,
                                         data={"name": name, "unit_id": unit_id}))
        await _event(uow, "enterprise_added", now, actor, r, dict(r.data))
        await _plan_visits(uow, cal, local_today(clock), r)
        await uow.commit()
        return r


async def enterprises(uow: UnitOfWork, actor_id: int) -> list[Record]:
    async with uow:
        actor = await _actor(uow, actor_id)
        return await uow.records.list(actor.office_id, ENTERPRISE)


async def find_enterprise(uow: UnitOfWork, actor_id: int, name: str) -> Record:
    async with uow:
        actor = await _actor(uow, actor_id)
        found = [r for r in await uow.records.list(actor.office_id, ENTERPRISE)
                 if r.data["name"] == name.strip()]
        if not found:
            found = [r for r in await uow.records.list(actor.office_id, ENTERPRISE)
                     if name.strip() and name.strip() in r.data["name"]]
        if len(found) != 1:
            raise NotFound(f"找不到重点企业「{shown(name)}」。发送 /enterprises 查看名单。")
        return found[0]


async def record_visit(uow: UnitOfWork, clock: Clock, actor_id: int, enterprise_id: int,
                       problems: Sequence[str], note: str = "") -> Record:
    """月回访: the office (or a liaison) visited the enterprise; the problems it raised."""
    async with uow:
        actor = await _actor(uow, actor_id)
        _require_inspector(actor)
        ent = await _record(uow, actor, enterprise_id, ENTERPRISE)
        items = [p.strip() for p in problems if p.strip()]
        now = clock.now()
        r = await uow.records.add(Record(
            office_id=actor.office_id, kind=VISIT, created_at=now, created_by=actor.id,
            ref_id=ent.id,
            data={"enterprise_id": ent.id, "name": ent.data["name"],
                  "visited_on": local_today(clock).isoformat(), "visitor_id": actor.id,
                  "note": note.strip(),
                  "problems": [{"text": t, "matter_id": None} for t in items]}))
        await _event(uow, "visit_recorded", now, actor, r, dict(r.data))
        await uow.commit()
        return r


@dataclass(frozen=True)
class EnterpriseStory:
    enterprise: Record
    visits: list[Record]
    matters: dict[int, Matter]  # the matters its problems became


async def enterprise_story(uow: UnitOfWork, actor_id: int, enterprise_id: int,
                           ) -> EnterpriseStory:
    """An enterprise's visits and each problem's matter, to closure."""
    async with uow:
        actor = await _actor(uow, actor_id)
        ent = await _record(uow, actor, enterprise_id, ENTERPRISE)
        if not (actor.is_office or actor.has(Role.LEADER) or actor.has(Role.LIAISON)
                or actor.unit_id == ent.data["unit_id"]):
            raise PermissionDenied("只有督查室、县领导、联络员和服务该企业的单位可以查看。")
        visits = await uow.records.list(actor.office_id, VISIT, ref_id=ent.id)
        found: dict[int, Matter] = {}
        for v in visits:
            for p in v.data["problems"]:
                mid = p.get("matter_id")
                if mid is not None:
                    m = await uow.matters.get(mid)
                    if perm.can_view(actor, m):
                        found[mid] = m
        return EnterpriseStory(ent, visits, found)


# ---------------------------------------------------------------- items → matters


@dataclass(frozen=True)
class ItemToRegister:
    """What one tap turns into a matter: a visit's problem, a meeting's decision or an
    inspection's proposal."""

    record: Record
    item: int
    title: str
    unit_ids: tuple[int, ...]
    deadline: date | None
    origin: dict[str, Any]


def _items(r: Record) -> list[dict[str, Any]]:
    if r.kind == VISIT:
        return list(r.data["problems"])
    if r.kind == MEETING:
        return list(r.data.get("decisions", []))
    if r.kind == INSPECTION:
        p = r.data.get("proposal")
        return [p] if p else []
    return []


async def item_to_register(uow: UnitOfWork, actor_id: int, record_id: int, item: int,
                           ) -> ItemToRegister:
    """Checks a tap before registering: the office, an item not yet registered."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        try:
            r = await uow.records.get(record_id)
        except NotFound:
            raise NotFound("找不到这条记录。") from None
        if r.office_id != actor.office_id:
            raise NotFound("找不到这条记录。")
        items = _items(r)
        if not 1 <= item <= len(items):
            raise InvalidInput("没有这一项。")
        x = items[item - 1]
        if x.get("matter_id") is not None:
            m = await uow.matters.get(x["matter_id"])
            raise InvalidTransition(f"这一项已立项：{m.number}。")
        deadline = date.fromisoformat(x["deadline"]) if x.get("deadline") else None
        if r.kind == VISIT:
            ent = await uow.records.get(r.data["enterprise_id"])
            units: tuple[int, ...] = (ent.data["unit_id"],)
            title = f"{r.data['name']}反映：{x['text']}"
        elif r.kind == MEETING:
            units = tuple(x.get("unit_ids") or ())
            title = x["text"]
        else:
            units = tuple(x.get("unit_ids") or ())
            title = x["text"]
        if not units:
            raise InvalidInput("这一项没有写承办单位，无法一键立项；请用 /new 立项。")
        return ItemToRegister(r, item, title, units, deadline,
                              {"kind": r.kind, "id": r.id, "item": item})


async def link_item(uow: UnitOfWork, clock: Clock, actor_id: int, record_id: int, item: int,
                    matter_id: int) -> Record:
    """The item became that matter: kept on the record (and as an event)."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        r = await uow.records.get(record_id)
        m = await uow.matters.get(matter_id)
        if r.office_id != actor.office_id or m.office_id != actor.office_id:
            raise NotFound("找不到这条记录。")
        key = {VISIT: "problems", MEETING: "decisions"}.get(r.kind)
        if key is not None:
            items = r.data[key]
            if items[item - 1].get("matter_id") is not None:
                raise InvalidTransition("这一项已立项。")
            items[item - 1] = {**items[item - 1], "matter_id": matter_id}
        else:
            r.data["proposal"] = {**r.data["proposal"], "matter_id": matter_id}
        await uow.records.save(r)
        now = clock.now()
        await _event(uow, f"{r.kind}_item_registered", now, actor, r,
                     {"item": item, "matter_id": matter_id, "number": m.number})
        proposer = (r.data.get("proposal") or {}).get("by") if r.kind == INSPECTION else None
        if isinstance(proposer, int) and proposer != actor.id:
            # the liaison hears that the proposal became a matter
            await uow.outbox.add(Notice(
                key=f"proposalreg:{r.id}:p{proposer}", office_id=r.office_id,
                kind="proposal_registered", due_at=now, person_id=proposer,
                matter_id=matter_id, payload={"record_id": r.id}))
        await uow.commit()
        return r


# ---------------------------------------------------------------- 聘员督办: inspections


async def record_inspection(uow: UnitOfWork, clock: Clock, actor_id: int, mode: str,
                            findings: str, attachments: Sequence[Attachment] = (),
                            matter_id: int | None = None, unit_id: int | None = None,
                            ) -> Record:
    """明查 or 暗访 by a liaison (or the office) on a matter or a unit, with findings and
    photos. On a matter it is also in the matter's own history, as the inspector's."""
    async with uow:
        actor = await _actor(uow, actor_id)
        _require_inspector(actor)
        if mode not in MODE_LABELS:
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


# ---------------------------------------------------------------- 联席会议


@dataclass(frozen=True)
class Decision:
    text: str
    unit_ids: tuple[int, ...] = ()
    deadline: date | None = None


async def schedule_meeting(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                           topic: str, at: datetime, unit_ids: Sequence[int],
                           place: str = "") -> Record:
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
        r = await uow.records.add(Record(
            office_id=actor.office_id, kind=MEETING, created_at=now, created_by=actor.id,
            data={"topic": topic, "at": at.isoformat(), "place": place.strip(),
                  "unit_ids": list(dict.fromkeys(unit_ids)), "invited": principals,
                  "decisions": []}))
        await _event(uow, "meeting_scheduled", now, actor, r, dict(r.data))
        meeting_day = to_local(at).date()
        remind_day = previous_workday(cal, meeting_day)
        remind_at = local_moment(remind_day)
        payload = {"record_id": r.id, "topic": topic, "at": at.isoformat(),
                   "place": place.strip()}
        for pid in principals:
            await uow.outbox.add(Notice(key=f"meeting:{r.id}:p{pid}", office_id=r.office_id,
                                        kind="meeting_invite", due_at=now, person_id=pid,
                                        payload=payload))
            if remind_at > now:
                await uow.outbox.add(Notice(
                    key=f"meetingrem:{r.id}:p{pid}", office_id=r.office_id,
                    kind="meeting_reminder", due_at=remind_at, person_id=pid,
                    payload=payload))
        await uow.commit()
        return r


async def meetings(uow: UnitOfWork, actor_id: int) -> list[Record]:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        return await uow.records.list(actor.office_id, MEETING)


async def get_meeting(uow: UnitOfWork, actor_id: int, meeting_id: int) -> Record:
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        return await _record(uow, actor, meeting_id, MEETING)


async def record_decisions(uow: UnitOfWork, clock: Clock, actor_id: int, meeting_id: int,
                           decisions: Sequence[Decision]) -> Record:
    """After the meeting: its decisions, each of which can become a matter in one tap."""
    async with uow:
        actor = await _actor(uow, actor_id)
        perm.require_office(actor)
        r = await _record(uow, actor, meeting_id, MEETING)
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
