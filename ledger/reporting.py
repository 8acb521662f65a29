"""Use cases of the reports issue: publishing a bulletin issue (its number kept in the
ledger) and loading what bulletins and the appraisal are computed from.

Kept beside `ledger.usecases` (same conventions: dependencies as parameters, permission
first, one transaction) so the two files can change independently.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from ledger import permissions as perm
from ledger.bulletins import BulletinKind, Period
from ledger.clock import LOCAL_TZ, Clock, cn_date, local_today, to_local
from ledger.deadlines import MatterClass, default_deadline
from ledger.errors import Conflict, DomainError, PermissionDenied
from ledger.lights import LightPolicy
from ledger.model import (
    NUMBER_RE,
    Event,
    Matter,
    MatterStatus,
    Office,
    Person,
    Role,
    Source,
    Unit,
)
from ledger.offices import Rollup
from ledger.policy import publishable
from ledger.ports import BulletinRecord, MatterQuery, UnitOfWork
from ledger.usecases.offices import children_figures
from ledger.workcalendar import WorkCalendar

__all__ = [
    "IMPORT_TAG",
    "ImportRejected",
    "ImportResult",
    "ImportRow",
    "LedgerSnapshot",
    "RowError",
    "import_key",
    "import_ledger",
    "load_snapshot",
    "publish_bulletin",
    "require_office_actor",
]


async def require_office_actor(uow: UnitOfWork, actor_id: int, office_id: int | None = None,
                               ) -> int:
    """The actor's office id, if the actor is the office (督查室); else PermissionDenied."""
    actor = await perm.load_actor(uow, actor_id)
    perm.require_office(actor)
    if office_id is not None and actor.office_id != office_id:
        raise PermissionDenied("只能操作本督查室的通报。")
    return actor.office_id


async def publish_bulletin(uow: UnitOfWork, clock: Clock, office_id: int, kind: BulletinKind,
                           period: Period, actor_id: int | None = None,
                           ) -> tuple[BulletinRecord, bool]:
    """Give the issue of `kind` for `period` its number (第N期 of the publication year) and
    record it, with a `bulletin_published` event. Idempotent: the same period again returns
    the issue already recorded and False. `actor_id` None is the scheduler."""
    for attempt in range(3):
        try:
            async with uow:
                if actor_id is not None:
                    await require_office_actor(uow, actor_id, office_id)
                existing = await uow.bulletins.for_period(office_id, kind.value, period.start,
                                                          period.end)
                if existing is not None:
                    return existing, False
                now = clock.now()
                year = local_today(clock).year
                number = await uow.bulletins.next_number(office_id, kind.value, year)
                record = await uow.bulletins.add(BulletinRecord(
                    office_id=office_id, kind=kind.value, year=year, number=number,
                    period_start=period.start, period_end=period.end, published_at=now,
                    published_by=actor_id))
                await uow.events.append(Event(
                    kind="bulletin_published", at=now, actor_id=actor_id, office_id=office_id,
                    after={"bulletin_id": record.id, "kind": kind.value, "year": year,
                           "number": number, "period_start": period.start.isoformat(),
                           "period_end": period.end.isoformat()}))
                await uow.commit()
                return record, True
        except Conflict:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class LedgerSnapshot:
    """What a report is computed from, read in one transaction."""

    office: Office
    units: dict[int, str]          # id → name, in the office's order
    matters: list[Matter]
    events: list[Event]
    next_number: int | None = None
    record: BulletinRecord | None = None
    # the child offices and their figures (issue 16), when asked for
    children: list[tuple[Office, Rollup]] = field(default_factory=list)


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), LOCAL_TZ)


_OPEN = frozenset({MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                   MatterStatus.COMPLETION_REQUESTED})


async def load_snapshot(uow: UnitOfWork, office_id: int, since: datetime, until: datetime,
                        *, include_confidential: bool = False, whole: bool = True,
                        bulletin: tuple[BulletinKind, Period, int] | None = None,
                        children: tuple[WorkCalendar, LightPolicy, date] | None = None,
                        ) -> LedgerSnapshot:
    """The office, its units, its matters and the events of [since, until).

    `whole=False` loads only what a bulletin needs: the open matters and those any event of
    the window is about (registered, closed, urged … in it), so a weekly issue costs the
    same in a ledger of many closed years. With `bulletin` (kind, period, year): also the
    issue recorded for that period, or the number the next issue would get. With
    `children` (calendar, light policy, today): each child office's figures for the
    window (`ledger.usecases.offices.children_figures`, as /list 下级 counts them)."""
    async with uow:
        office = await uow.people.get_office(office_id)
        units = {u.id: u.name for u in await uow.people.units(office_id)}
        events = await uow.events.since(office_id, since, until)
        if whole:
            matters = await uow.matters.list(MatterQuery(
                office_id=office_id, include_confidential=include_confidential))
        else:
            found = {m.id: m for m in await uow.matters.list(MatterQuery(
                office_id=office_id, statuses=_OPEN, include_confidential=include_confidential))}
            for matter_id in dict.fromkeys(e.matter_id for e in events):
                if matter_id is None or matter_id in found:
                    continue
                m = await uow.matters.get(matter_id)
                if include_confidential or publishable(m):
                    found[matter_id] = m
            matters = list(found.values())
        record = None
        next_number = None
        if bulletin is not None:
            kind, period, year = bulletin
            record = await uow.bulletins.for_period(office_id, kind.value, period.start,
                                                    period.end)
            if record is None:
                next_number = await uow.bulletins.next_number(office_id, kind.value, year)
        rolled = []
        if children is not None:
            cal, policy, today = children
            rolled = await children_figures(uow, office_id, cal, policy, today, since, until)
        return LedgerSnapshot(office, units, matters, events, next_number, record, rolled)


# ---------------------------------------------------------------- importing a ledger


@dataclass(frozen=True)
class RowError:
    """One problem of one row of an imported file, in words the office can act on."""

    row: int                    # the spreadsheet's own row number
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"第{self.row}行" + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.message}"


class ImportRejected(DomainError):
    """The file has bad rows: nothing was imported. `errors` lists every one."""

    SHOWN = 50

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = tuple(sorted(errors, key=lambda e: (e.row, e.column or "")))
        lines = [str(e) for e in self.errors[:self.SHOWN]]
        if len(self.errors) > self.SHOWN:
            lines.append(f"……另有{len(self.errors) - self.SHOWN}处问题。")
        super().__init__(f"导入失败，共{len(self.errors)}处问题，未导入任何事项。"
                         "请改正后重新导入：\n" + "\n".join(lines))


@dataclass(frozen=True)
class ImportRow:
    """One row of an office's ledger, parsed but not yet checked against the ledger."""

    row: int
    title: str
    number: str | None = None
    source: Source = Source.COUNTY_DECISION
    klass: MatterClass = MatterClass.NORMAL
    lead_unit: str | None = None
    co_units: tuple[str, ...] = ()
    principal: str | None = None
    responsible: str | None = None
    handler: str | None = None
    assigned_on: date | None = None
    deadline: date | None = None
    progress: str | None = None
    status: MatterStatus | None = None
    closed_on: date | None = None
    confidential: bool = False
    body: str = ""
    instruction_text: str | None = None
    instruction_author: str | None = None


@dataclass(frozen=True)
class ImportResult:
    created: tuple[str, ...]     # numbers of the new matters, in file order
    skipped: tuple[str, ...]     # numbers of rows already in the ledger
    rows: int

    @property
    def summary(self) -> str:
        return (f"共{self.rows}行：新导入{len(self.created)}件，"
                f"已在台账中{len(self.skipped)}件（未重复导入）。")


IMPORT_TAG = "导入"
IMPORT_SLICE = 5000  # new matters written per add_many
_IMPORT_HOUR = time(9, 0)


def import_key(title: str, lead_unit_id: int | None, day: date | None) -> tuple[str, int | None,
                                                                                 date | None]:
    """A row without 编号 is the same matter as one with the same title, lead unit and
    assignment day (交办日期)."""
    return (title.strip(), lead_unit_id, day)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic GC off for a stretch of synchronous bulk work (no await inside: the loop
    would run other handlers meanwhile). Whoever turned it off turns it back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _moment(day: date, minutes: int = 0) -> datetime:
    return datetime.combine(day, _IMPORT_HOUR, LOCAL_TZ) + timedelta(minutes=minutes)


async def import_ledger(uow: UnitOfWork, clock: Clock, cal: WorkCalendar, actor_id: int,
                        rows: Sequence[ImportRow], parse_errors: Sequence[RowError] = (),
                        source_name: str = "") -> ImportResult:
    """Register (and assign, and close where the file says so) every row, in one transaction.

    Every row is checked first; if any row (or `parse_errors`) is bad, raises ImportRejected
    listing all of them and writes nothing. Idempotent: a row whose 编号 is already in the
    ledger with the same title, or (without 编号) whose title, lead unit and 交办日期 match a
    matter, is skipped. A 编号 is kept as the matter's number; rows without one are numbered
    in the year of their 交办日期. Imported matters carry the tag 导入; the import itself is
    an office event `ledger_imported`.
    """
    errors: list[RowError] = list(parse_errors)
    async with uow:
        office_id = await require_office_actor(uow, actor_id)
        office = await uow.people.get_office(office_id)
        units = await uow.people.units(office_id)
        unit_by_name = {u.name: u for u in units}
        persons = [p for p in await uow.people.persons(office_id) if p.active]
        keys = await uow.matters.keys(office_id)
        now = clock.now()
        today = local_today(clock)

        def plan() -> tuple[list[Matter], list[str]]:
            """Check every row, then build the new matters (or raise ImportRejected).
            Synchronous and in memory: 100k rows make millions of small objects, none in
            cycles, so the cyclic GC is paused rather than run over and over for nothing."""
            with gc_paused():
                by_seq = {(k.year, k.seq): k for k in keys}
                by_key = {import_key(k.title, k.lead_unit_id,
                                     to_local(k.lead_assigned_at or k.registered_at).date()): k
                          for k in keys}

                by_unit: dict[int | None, list[Person]] = {}
                for person in persons:
                    by_unit.setdefault(person.unit_id, []).append(person)

                def member(unit_id: int, name: str | None, role: Role,
                           fallbacks: Sequence[Role] = ()) -> Person | None:
                    here = by_unit.get(unit_id, [])
                    if name:
                        return next((p for p in here if p.name == name), None)
                    for r in (role, *fallbacks):
                        found = next((p for p in here if p.has(r)), None)
                        if found is not None:
                            return found
                    return None

                planned: list[tuple[ImportRow, int, int, str]] = []   # row, year, seq, prefix
                skipped: list[str] = []
                seen_numbers: dict[tuple[int, int], int] = {}
                seen_keys: dict[tuple[str, int | None, date | None], int] = {}
                resolved: dict[int, tuple[Unit | None, list[Unit], tuple[Person, ...] | None,
                                          date]] = {}
                for r in rows:
                    bad = len(errors)
                    title = r.title.strip()
                    if not title:
                        errors.append(RowError(r.row, "事项名称不能为空。", "事项"))
                    elif len(title) > 200:
                        errors.append(RowError(r.row, "事项名称太长（最多200字）。", "事项"))
                    lead: Unit | None = None
                    if r.lead_unit:
                        lead = unit_by_name.get(r.lead_unit)
                        if lead is None:
                            errors.append(RowError(r.row, f"单位「{r.lead_unit}」不在单位名单中。",
                                                   "牵头单位"))
                    co: list[Unit] = []
                    for name in r.co_units:
                        u = unit_by_name.get(name)
                        if u is None:
                            errors.append(RowError(r.row, f"单位「{name}」不在单位名单中。", "配合单位"))
                        elif lead is not None and u.id == lead.id:
                            errors.append(RowError(r.row, f"「{name}」已是牵头单位。", "配合单位"))
                        else:
                            co.append(u)
                    if (r.co_units or r.principal or r.responsible or r.handler) and not r.lead_unit:
                        errors.append(RowError(r.row, "填写了配合单位或责任人，但缺少牵头单位。",
                                               "牵头单位"))
                    trio: tuple[Person, ...] | None = None
                    if lead is not None:
                        found = (member(lead.id, r.principal, Role.PRINCIPAL),
                                 member(lead.id, r.responsible, Role.RESPONSIBLE, (Role.PRINCIPAL,)),
                                 member(lead.id, r.handler, Role.HANDLER, (Role.RESPONSIBLE,)))
                        for p, given, label in zip(found, (r.principal, r.responsible, r.handler),
                                                   ("第一责任人", "责任人", "承办人"), strict=True):
                            if p is None:
                                what = f"「{given}」不是{lead.name}的人员" if given else \
                                    f"{lead.name}还没有{label}，请填写姓名或先添加人员"
                                errors.append(RowError(r.row, what + "。", label))
                        if found[0] is not None and not found[0].has(Role.PRINCIPAL):
                            errors.append(RowError(r.row, f"「{found[0].name}」不是{lead.name}的"
                                                   "第一责任人。", "第一责任人"))
                        if all(p is not None for p in found):
                            trio = tuple(p for p in found if p is not None)
                        for u in co:
                            if member(u.id, None, Role.PRINCIPAL) is None or \
                                    member(u.id, None, Role.RESPONSIBLE, (Role.PRINCIPAL,)) is None:
                                errors.append(RowError(r.row, f"{u.name}还没有第一责任人或责任人，"
                                                       "请先添加人员。", "配合单位"))
                    day = r.assigned_on or today
                    if day > today:
                        errors.append(RowError(r.row, f"交办日期 {cn_date(day)} 晚于今天。", "交办日期"))
                    if r.deadline is not None and r.deadline < day:
                        errors.append(RowError(r.row, f"办结时限 {cn_date(r.deadline)} 早于交办日期 {cn_date(day)}。",
                                               "办结时限"))
                    status = r.status
                    if status in (MatterStatus.CLOSED, MatterStatus.COMPLETION_REQUESTED) and lead is None:
                        errors.append(RowError(r.row, "已办结或待审核的事项须填写牵头单位。", "状态"))
                    if status is MatterStatus.CLOSED:
                        if r.closed_on is None:
                            errors.append(RowError(r.row, "状态为已销号，但缺少销号日期。", "销号日期"))
                        elif r.closed_on < day:
                            errors.append(RowError(r.row, "销号日期早于交办日期。", "销号日期"))
                        elif r.closed_on > today:
                            errors.append(RowError(r.row, "销号日期不能晚于今天。", "销号日期"))
                    if r.source is Source.INSTRUCTION and not (r.instruction_text or "").strip():
                        errors.append(RowError(r.row, "领导批示件须填写批示内容。", "领导批示"))
                    year, seq, prefix = day.year, 0, office.doc_prefix
                    if r.number:
                        m = NUMBER_RE.match(r.number.strip())
                        if m is None or int(m["seq"]) < 1:
                            errors.append(RowError(r.row, f"编号「{r.number}」应写成 督〔2026〕12号 这样。",
                                                   "编号"))
                        else:
                            year, seq, prefix = int(m["year"]), int(m["seq"]), m["prefix"]
                            if (year, seq) in seen_numbers:
                                errors.append(RowError(r.row, f"编号与第{seen_numbers[(year, seq)]}行"
                                                       "重复。", "编号"))
                            seen_numbers.setdefault((year, seq), r.row)
                    else:
                        key = import_key(title, lead.id if lead else None, r.assigned_on or day)
                        if key in seen_keys:
                            errors.append(RowError(r.row, f"与第{seen_keys[key]}行是同一事项"
                                                   "（事项、牵头单位、交办日期都相同）。"))
                        seen_keys.setdefault(key, r.row)
                    if len(errors) > bad:
                        continue
                    if seq:
                        existing = by_seq.get((year, seq))
                        if existing is not None:
                            if existing.title == title:
                                skipped.append(existing.number)
                            else:
                                errors.append(RowError(r.row, f"编号{r.number}已被「{existing.title}」"
                                                       "占用。", "编号"))
                            continue
                    else:
                        found_key = by_key.get(import_key(title, lead.id if lead else None,
                                                          r.assigned_on or day))
                        if found_key is not None:
                            skipped.append(found_key.number)
                            continue
                    planned.append((r, year, seq, prefix))
                    resolved[r.row] = (lead, co, trio, day)

                if errors:
                    raise ImportRejected(errors)

                # Numbers for rows without one: after every number in the ledger and in the file.
                top: dict[int, int] = {}
                for (y, q) in [*by_seq, *seen_numbers]:
                    top[y] = max(top.get(y, 0), q)
                new: list[Matter] = []
                for r, year, seq, prefix in planned:
                    if not seq:
                        seq = top.get(year, 0) + 1
                        top[year] = seq
                    lead, co, trio, day = resolved[r.row]
                    try:
                        new.append(_build(r, office_id, year, seq, prefix, actor_id, now, cal, lead, co,
                                          trio, day, persons))
                    except DomainError as e:
                        errors.append(RowError(r.row, str(e)))
                if errors:
                    raise ImportRejected(errors)
                return new, skipped

        # Seconds of CPU for a big file: in a thread, so the bot keeps answering other chats
        # meanwhile (the transaction stays open: on SQLite it holds the write lock).
        new, skipped = await asyncio.to_thread(plan)
        # In slices, still one transaction (all or nothing): the rows to insert are built a
        # slice at a time, not 100k matters' JSON, events and assignments at once.
        for k in range(0, len(new), IMPORT_SLICE):
            await uow.matters.add_many(new[k:k + IMPORT_SLICE])
        await uow.events.append(Event(
            kind="ledger_imported", at=now, actor_id=actor_id, office_id=office_id,
            after={"file": source_name, "rows": len(rows), "created": len(new),
                   "skipped": len(skipped), "numbers": [m.number for m in new][:1000]}))
        await uow.commit()
    return ImportResult(tuple(m.number for m in new), tuple(skipped), len(rows))


def _build(r: ImportRow, office_id: int, year: int, seq: int, prefix: str, actor_id: int,
           now: datetime, cal: WorkCalendar, lead: Unit | None, co: list[Unit],
           trio: tuple[Person, ...] | None, day: date, persons: list[Person]) -> Matter:
    registered = _moment(day) if r.assigned_on is not None else now
    m = Matter.register(
        office_id=office_id, year=year, seq=seq, prefix=prefix, title=r.title.strip(),
        body=r.body.strip(), source=r.source, klass=r.klass, confidential=r.confidential,
        tags=(IMPORT_TAG,), received_at=registered, at=registered, actor_id=actor_id,
        instruction_text=r.instruction_text or None,
        instruction_author=r.instruction_author or None, deadline=r.deadline)
    if lead is None or trio is None:
        if r.status is MatterStatus.CANCELLED:
            m.cancel(at=max(registered, now), actor_id=actor_id, reason="导入台账：已撤销")
        return m
    # An existing ledger's 办结时限 may lie past the usual limits (an approved extension):
    # it is taken as written; only a missing one gets the default (RULES 1).
    deadline = r.deadline or default_deadline(cal, day, r.klass)
    assigned = registered + timedelta(minutes=1)
    a = m.assign(at=assigned, actor_id=actor_id, unit_id=lead.id, lead=True,
                 principal_id=trio[0].id, responsible_id=trio[1].id, handler_id=trio[2].id,
                 deadline=deadline)
    for u in co:
        here = [p for p in persons if p.unit_id == u.id]
        principal = next(p for p in here if p.has(Role.PRINCIPAL))
        responsible = next((p for p in here if p.has(Role.RESPONSIBLE)), principal)
        handler = next((p for p in here if p.has(Role.HANDLER)), responsible)
        m.assign(at=assigned, actor_id=actor_id, unit_id=u.id, lead=False,
                 principal_id=principal.id, responsible_id=responsible.id,
                 handler_id=handler.id, deadline=deadline)
    step = assigned + timedelta(minutes=1)
    if r.progress:
        m.report_progress(at=step, actor_id=trio[1].id, no=a.no, text=r.progress)
    if r.status is MatterStatus.CLOSED and r.closed_on is not None:
        done = max(_moment(r.closed_on), step + timedelta(minutes=1))
        m.request_completion(at=done, actor_id=trio[1].id, no=a.no, text="")
        m.close(at=done + timedelta(minutes=1), actor_id=actor_id, comment="导入台账：已销号")
    elif r.status is MatterStatus.COMPLETION_REQUESTED:
        m.request_completion(at=max(step + timedelta(minutes=1), now), actor_id=trio[1].id,
                             no=a.no, text="")
    elif r.status is MatterStatus.CANCELLED:
        m.cancel(at=max(step + timedelta(minutes=1), now), actor_id=actor_id,
                 reason="导入台账：已撤销")
    return m
