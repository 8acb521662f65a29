"""Bulletins (通报, §2.6): what one issue says, computed from the ledger. Pure: no I/O.

A bulletin covers a *period* (local dates, both ends included) and is built at a moment
`as_of` (normally just after the period ends):

- flow figures (registered, closed, urged, commended, criticized) count what happened
  inside the period;
- state figures (open, overdue, due soon, stagnating) are the ledger's state at `as_of`.

Confidential matters (RULES 5) and cancelled ones never enter a bulletin: they are
dropped before anything is counted. Only top-level assignments (a unit's own share, not
its internal split) are counted per unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from ledger.clock import LOCAL_TZ, to_local
from ledger.errors import InvalidInput
from ledger.lights import LightPolicy, Standing, stagnant_for, standing, workdays_left
from ledger.model import (
    Assignment,
    AssignmentStatus,
    Event,
    Matter,
    Office,
    Source,
    format_number,
)
from ledger.offices import Rollup
from ledger.policy import Place, may_show
from ledger.workcalendar import WorkCalendar

__all__ = [
    "KIND_INFO",
    "Bulletin",
    "BulletinKind",
    "ChildSection",
    "DueLine",
    "Figures",
    "JudgementLine",
    "KindInfo",
    "MatterLine",
    "OverdueLine",
    "Period",
    "StagnantLine",
    "UnitOverdue",
    "UnitRow",
    "UrgeLine",
    "compute_bulletin",
    "current_period",
    "finished_on",
    "in_scope",
    "on_time",
    "previous_period",
    "rolls_up_children",
]


class BulletinKind(StrEnum):
    REGULAR = "regular"        # 《督察》, weekly
    PROJECT = "project"        # 《项目建设督查专报》, monthly, project matters only
    QUARTERLY = "quarterly"    # 季度督查通报
    LEADERS = "leaders"        # 督查专报（呈阅县领导）, private


class Cadence(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class KindInfo:
    label: str                  # what users read: the publication's name
    masthead: str               # the red mark on the document
    cadence: Cadence
    sources: frozenset[Source] | None = None   # None: every source
    doc_suffix: str = "通"       # document number prefix = office prefix + this


KIND_INFO: dict[BulletinKind, KindInfo] = {
    BulletinKind.REGULAR: KindInfo("《督察》", "督察", Cadence.WEEK, doc_suffix="察"),
    BulletinKind.PROJECT: KindInfo("《项目建设督查专报》", "项目建设督查专报", Cadence.MONTH,
                                   frozenset({Source.PROJECT}), doc_suffix="项"),
    BulletinKind.QUARTERLY: KindInfo("季度督查通报", "督查通报", Cadence.QUARTER,
                                     doc_suffix="通"),
    BulletinKind.LEADERS: KindInfo("督查专报", "督查专报", Cadence.WEEK, doc_suffix="专"),
}


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """Local calendar dates, `start` and `end` both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends {self.end} before it starts {self.start}")

    @property
    def since(self) -> datetime:
        """The first moment of the period, aware (Asia/Shanghai)."""
        return datetime.combine(self.start, time(0), LOCAL_TZ)

    @property
    def until(self) -> datetime:
        """The first moment after the period, aware (Asia/Shanghai)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), LOCAL_TZ)

    def holds(self, moment: datetime | date | None) -> bool:
        if moment is None:
            return False
        d = to_local(moment).date() if isinstance(moment, datetime) else moment
        return self.start <= d <= self.end

    @property
    def label(self) -> str:
        s, e = self.start, self.end
        tail = f"{e.month}月{e.day}日" if e.year == s.year else f"{e.year}年{e.month}月{e.day}日"
        return f"{s.year}年{s.month}月{s.day}日至{tail}"



def _title(m: Matter) -> str:
    """A flagged matter (三个优先, §2.8) is marked wherever a bulletin names it."""
    return f"【优先】{m.title}" if m.priority else m.title

def _quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def current_period(kind: BulletinKind, today: date) -> Period:
    """The period `today` falls in, up to and including today (a preview)."""
    cadence = KIND_INFO[kind].cadence
    if cadence is Cadence.WEEK:
        start = today - timedelta(days=today.weekday())
    elif cadence is Cadence.MONTH:
        start = today.replace(day=1)
    else:
        start = _quarter_start(today)
    return Period(start, today)


def previous_period(kind: BulletinKind, today: date) -> Period:
    """The last whole period before today: last week (Mon–Sun), month or quarter."""
    cadence = KIND_INFO[kind].cadence
    if cadence is Cadence.WEEK:
        end = today - timedelta(days=today.weekday() + 1)
        return Period(end - timedelta(days=6), end)
    if cadence is Cadence.MONTH:
        start = _add_months(today.replace(day=1), -1)
        return Period(start, today.replace(day=1) - timedelta(days=1))
    this = _quarter_start(today)
    return Period(_add_months(this, -3), this - timedelta(days=1))


# ---------------------------------------------------------------- what an issue holds


@dataclass(frozen=True)
class MatterLine:
    matter_id: int
    number: str
    title: str
    unit: str          # the lead unit, "—" when not assigned yet
    day: date | None   # registered / closed on
    deadline: date | None = None
    on_time: bool | None = None


@dataclass(frozen=True)
class OverdueLine:
    matter_id: int
    number: str
    title: str
    unit: str
    lead: bool
    deadline: date
    workdays_overdue: int
    urge_count: int
    urge_limit: date | None
    provisional: bool = False  # counted across a year not yet entered (暂定)


@dataclass(frozen=True)
class UnitOverdue:
    unit_id: int
    unit: str
    lines: tuple[OverdueLine, ...]

    @property
    def workdays(self) -> int:
        return sum(x.workdays_overdue for x in self.lines)


@dataclass(frozen=True)
class DueLine:
    matter_id: int
    number: str
    title: str
    unit: str
    deadline: date
    workdays_left: int
    provisional: bool = False


@dataclass(frozen=True)
class StagnantLine:
    matter_id: int
    number: str
    title: str
    unit: str
    since: date          # last progress (or assignment) day
    workdays: int        # working days without progress


@dataclass(frozen=True)
class UrgeLine:
    matter_id: int
    number: str
    title: str
    unit: str
    at: date
    limit: date
    count: int


@dataclass(frozen=True)
class JudgementLine:
    """A commendation or a criticism of the period (§2.10)."""

    matter_id: int
    number: str
    title: str
    unit: str
    at: date
    reason: str


@dataclass(frozen=True)
class UnitRow:
    """One unit's line in the on-time table."""

    unit_id: int
    unit: str
    open: int = 0
    overdue: int = 0
    closed: int = 0
    closed_on_time: int = 0
    urged: int = 0
    commended: int = 0
    criticized: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None

    @property
    def on_time_text(self) -> str:
        rate = self.on_time_rate
        return "—" if rate is None else f"{round(rate * 100)}%"


@dataclass(frozen=True)
class ChildSection:
    """A child office's section of its parent's bulletin (issue 16): its figures as
    `ledger.offices.rollup` counts them (the same as the parent's /list 下级), each one
    traceable to the child's own ledger by the numbers of its worst matters."""

    office_id: int
    office: str
    doc_prefix: str
    figures: Rollup


def rolls_up_children(kind: BulletinKind) -> bool:
    """Which issues carry a section per child office: all but the project 专报 (its
    scope is the office's own project matters)."""
    return kind is not BulletinKind.PROJECT


@dataclass(frozen=True)
class Figures:
    registered: int = 0
    closed: int = 0
    closed_on_time: int = 0
    open: int = 0
    overdue: int = 0          # open assignments past their deadline
    overdue_matters: int = 0
    due_soon: int = 0
    stagnating: int = 0
    urged: int = 0            # urge events in the period
    commended: int = 0
    criticized: int = 0


@dataclass(frozen=True)
class Bulletin:
    kind: BulletinKind
    office_name: str
    year: int
    number: int
    doc_number: str
    period: Period
    as_of: datetime
    figures: Figures
    registered: tuple[MatterLine, ...] = ()
    closed: tuple[MatterLine, ...] = ()
    overdue_by_unit: tuple[UnitOverdue, ...] = ()
    due_soon: tuple[DueLine, ...] = ()
    stagnating: tuple[StagnantLine, ...] = ()
    urged: tuple[UrgeLine, ...] = ()
    commendations: tuple[JudgementLine, ...] = ()
    criticisms: tuple[JudgementLine, ...] = ()
    units: tuple[UnitRow, ...] = ()
    preview: bool = False
    matter_ids: frozenset[int] = field(default_factory=frozenset)
    # Years not yet entered that some figure was counted across (those figures say 暂定).
    provisional_years: tuple[int, ...] = ()
    children: tuple[ChildSection, ...] = ()   # one per child office (issue 16)

    @property
    def info(self) -> KindInfo:
        return KIND_INFO[self.kind]

    @property
    def issue(self) -> str:
        """第N期 of its year."""
        return f"{self.year}年第{self.number}期"

    @property
    def name(self) -> str:
        return f"{self.info.label}{self.issue}"

    @property
    def title(self) -> str:
        return f"关于{self.period.label}督办事项落实情况的通报"

    @property
    def issued_on(self) -> date:
        return to_local(self.as_of).date()


# ---------------------------------------------------------------- the computation


def in_scope(m: Matter, kind: BulletinKind) -> bool:
    """Whether a matter may appear in this kind of bulletin at all."""
    if not may_show(None, Place.BULLETIN, m):
        return False
    sources = KIND_INFO[kind].sources
    return sources is None or m.source in sources


def finished_on(m: Matter, a: Assignment) -> date | None:
    """The day the unit finished: its (lead's) last completion request, else the close."""
    lead = m.lead
    moment = (a.completion_requested_at
              or (lead.completion_requested_at if lead is not None else None)
              or m.closed_at)
    return to_local(moment).date() if moment is not None else None


def on_time(m: Matter, a: Assignment) -> bool:
    """A closed assignment finished on or before its effective deadline (after any approved
    extension: an extension is legitimate, RULES 4)."""
    done = finished_on(m, a)
    return done is not None and done <= a.effective_deadline


def _unit_name(units: Mapping[int, str], unit_id: int | None) -> str:
    if unit_id is None:
        return "—"
    return units.get(unit_id, f"单位{unit_id}")


def _top(m: Matter) -> list[Assignment]:
    return [a for a in m.assignments
            if a.parent_no is None and a.status != AssignmentStatus.CANCELLED]


@dataclass
class _Tally:
    open: int = 0
    overdue: int = 0
    closed: int = 0
    closed_on_time: int = 0
    urged: int = 0
    commended: int = 0
    criticized: int = 0

    def touched(self) -> bool:
        return any(vars(self).values())


def compute_bulletin(*, kind: BulletinKind, matters: Iterable[Matter], events: Iterable[Event],
                     units: Mapping[int, str], cal: WorkCalendar, period: Period,
                     as_of: datetime, office_name: str, doc_prefix: str, number: int,
                     year: int | None = None, preview: bool = False,
                     policy: LightPolicy | None = None,
                     children: Iterable[tuple[Office, Rollup]] = ()) -> Bulletin:
    """One issue of a bulletin. `units` maps unit id → name in the office's order;
    `children`: the child offices' figures (`ledger.usecases.offices.children_figures`)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be aware")
    policy = policy or LightPolicy()
    today = to_local(as_of).date()
    scoped = {m.id: m for m in matters if m.id is not None and in_scope(m, kind)}
    tally: dict[int, _Tally] = {}

    def t(unit_id: int) -> _Tally:
        return tally.setdefault(unit_id, _Tally())

    registered: list[MatterLine] = []
    closed: list[MatterLine] = []
    overdue: dict[int, list[OverdueLine]] = {}
    due_soon: list[DueLine] = []
    stagnating: list[StagnantLine] = []
    closed_on_time = 0
    open_count = 0
    provisional: set[int] = set()
    for mid, m in scoped.items():
        lead = m.lead
        lead_unit = _unit_name(units, lead.unit_id if lead else None)
        if period.holds(m.registered_at):
            registered.append(MatterLine(mid, m.number, _title(m), lead_unit,
                                         to_local(m.registered_at).date(),
                                         lead.effective_deadline if lead else m.deadline))
        if m.closed_at is not None and period.holds(m.closed_at):
            lead_ok: bool | None = None
            for a in _top(m):
                ok = on_time(m, a)
                t(a.unit_id).closed += 1
                t(a.unit_id).closed_on_time += ok
                if a.lead:
                    lead_ok = ok
            closed_on_time += bool(lead_ok)
            closed.append(MatterLine(mid, m.number, _title(m), lead_unit,
                                     to_local(m.closed_at).date(),
                                     lead.effective_deadline if lead else None, lead_ok))
        if not m.is_open:
            continue
        open_count += 1
        for a in _top(m):
            if not a.is_open:
                continue
            unit = _unit_name(units, a.unit_id)
            t(a.unit_id).open += 1
            left = workdays_left(cal, today, a.effective_deadline)
            prov = cal.provisional_years(today, a.effective_deadline)
            why = standing(a, cal, today, policy)
            if why is Standing.OVERDUE:
                t(a.unit_id).overdue += 1
                overdue.setdefault(a.unit_id, []).append(OverdueLine(
                    mid, m.number, _title(m), unit, a.lead, a.effective_deadline,
                    max(0, -left), a.urge_count, a.urge_limit, bool(prov)))
                provisional.update(prov)
                continue
            if why is Standing.DUE_SOON:
                due_soon.append(DueLine(mid, m.number, _title(m), unit, a.effective_deadline,
                                        left, bool(prov)))
                provisional.update(prov)
                continue
            if why is Standing.STAGNANT:
                idle = stagnant_for(cal, today, a)
                since = to_local(a.last_progress_at or a.assigned_at).date()
                stagnating.append(StagnantLine(mid, m.number, _title(m), unit, since, idle))

    urged: list[UrgeLine] = []
    commendations: list[JudgementLine] = []
    criticisms: list[JudgementLine] = []
    for e in events:
        if e.kind not in ("urged", "commended", "criticized") or not period.holds(e.at):
            continue
        em = scoped.get(e.matter_id) if e.matter_id is not None else None
        if em is None or e.assignment_no is None:
            continue
        try:
            a = em.assignment(e.assignment_no)
        except InvalidInput:  # an event naming an assignment the snapshot lacks: skip it
            continue
        unit = _unit_name(units, a.unit_id)
        day = to_local(e.at).date()
        if e.kind == "urged":
            t(a.unit_id).urged += 1
            urged.append(UrgeLine(em.id or 0, em.number, em.title, unit, day,
                                  date.fromisoformat(e.after["limit"]),
                                  int(e.after.get("count", 1))))
        elif e.kind == "commended":
            t(a.unit_id).commended += 1
            commendations.append(JudgementLine(em.id or 0, em.number, em.title, unit, day,
                                               str(e.after.get("reason", ""))))
        else:
            t(a.unit_id).criticized += 1
            criticisms.append(JudgementLine(em.id or 0, em.number, em.title, unit, day,
                                            str(e.after.get("reason", ""))))

    order = {uid: i for i, uid in enumerate(units)}

    def unit_key(uid: int) -> tuple[int, int]:
        return (order.get(uid, len(order)), uid)

    seq = {mid: (m.year, m.seq) for mid, m in scoped.items()}

    def by_number(x: MatterLine) -> tuple[tuple[int, int], str]:
        return (seq[x.matter_id], x.unit)

    overdue_by_unit = tuple(
        UnitOverdue(uid, _unit_name(units, uid),
                    tuple(sorted(lines, key=lambda x: (-x.workdays_overdue, seq[x.matter_id]))))
        for uid, lines in sorted(overdue.items(),
                                 key=lambda kv: (-sum(x.workdays_overdue for x in kv[1]),
                                                 unit_key(kv[0]))))
    rows = tuple(
        UnitRow(uid, _unit_name(units, uid), tl.open, tl.overdue, tl.closed,
                tl.closed_on_time, tl.urged, tl.commended, tl.criticized)
        for uid, tl in sorted(tally.items(), key=lambda kv: unit_key(kv[0])) if tl.touched())
    overdue_lines = [x for u in overdue_by_unit for x in u.lines]
    year = year if year is not None else period.end.year
    figures = Figures(
        registered=len(registered), closed=len(closed), closed_on_time=closed_on_time,
        open=open_count, overdue=len(overdue_lines),
        overdue_matters=len({x.matter_id for x in overdue_lines}), due_soon=len(due_soon),
        stagnating=len(stagnating), urged=len(urged), commended=len(commendations),
        criticized=len(criticisms))
    prefix = doc_prefix + KIND_INFO[kind].doc_suffix
    return Bulletin(
        kind=kind, office_name=office_name, year=year, number=number,
        doc_number=format_number(prefix, year, number), period=period, as_of=as_of,
        figures=figures,
        registered=tuple(sorted(registered, key=by_number)),
        closed=tuple(sorted(closed, key=by_number)),
        overdue_by_unit=overdue_by_unit,
        due_soon=tuple(sorted(due_soon, key=lambda x: (x.workdays_left, seq[x.matter_id]))),
        stagnating=tuple(sorted(stagnating, key=lambda x: (-x.workdays, seq[x.matter_id]))),
        urged=tuple(sorted(urged, key=lambda x: (x.at, seq[x.matter_id]))),
        commendations=tuple(sorted(commendations, key=lambda x: (x.at, seq[x.matter_id]))),
        criticisms=tuple(sorted(criticisms, key=lambda x: (x.at, seq[x.matter_id]))),
        units=rows, preview=preview, matter_ids=frozenset(scoped),
        provisional_years=tuple(sorted(provisional)),
        children=tuple(ChildSection(o.id, o.name, o.doc_prefix, f) for o, f in children
                       if rolls_up_children(kind)))
