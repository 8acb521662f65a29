"""专项督查 (§2.8): 三个优先 (priority flags), project matters and their monthly figures
(the query bulletins use), key enterprises and their monthly visits (重点企业月回访)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ledger import permissions as perm
from ledger.clock import Clock, local_today
from ledger.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    check_name,
    shown,
)
from ledger.model import (
    Matter,
    MatterStatus,
    ProjectKind,
    Role,
)
from ledger.policy import publishable
from ledger.ports import FiguresRow, MatterQuery, Notice, Record, UnitOfWork
from ledger.recurrence import (
    first_workdays_of_months,
    local_moment,
    period_of,
)
from ledger.usecases.records import (
    CHECK_MONTHS,
    ENTERPRISE,
    VISIT,
    _actor,
    _event,
    _record,
    _require_inspector,
    _tell_office,
)
from ledger.workcalendar import WorkCalendar


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


@dataclass(frozen=True)
class NoCheck:
    """Why a project has no monthly check planned (set_project returned no days):
    "unassigned" (planned once assigned), "overdue" (its deadline has passed),
    "before_next_check" (the deadline comes before the next month's first working day;
    planned if it is extended) or "calendar" (that year's holidays are not entered yet)."""

    reason: str
    deadline: date | None = None
    next_check: date | None = None


def why_no_checks(m: Matter, cal: WorkCalendar, today: date) -> NoCheck:
    """The reason behind an empty plan of `_plan_project`, by the same rule."""
    lead = m.lead
    if lead is None:
        return NoCheck("unassigned")
    deadline = lead.effective_deadline
    if deadline < today:
        return NoCheck("overdue", deadline)
    upcoming = first_workdays_of_months(cal, today, 1)
    if upcoming and deadline < upcoming[0]:
        return NoCheck("before_next_check", deadline, upcoming[0])
    return NoCheck("calendar", deadline)


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
