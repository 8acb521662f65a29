"""The annual appraisal (年终目标考评, §2.10): per-unit scores from the ledger. Pure: no I/O.

Every point is an `AppraisalItem` naming its unit, its matter (or the event) and the
weight it was multiplied by, so a score can be traced line by line. A unit's score is
`weights.base` plus the sum of its items' points.

What counts for year Y (local dates, Asia/Shanghai), per top-level assignment (a unit's
own share; internal splits are the unit's business):

- on_time / late_close: the matter was closed in Y; finished (the unit's completion
  request, else the close) on or before the effective deadline, or after it;
- overdue: working days past the deadline *within Y* (from the deadline, or from 1 January,
  to the finish, or to the cut-off for what is still open), capped per assignment;
- urge, criticism, commendation, extension (approved), referral: one item per event in Y.

The cut-off is the end of Y, or `as_of` when the year is not over. Cancelled matters count
for nothing; confidential ones only with `include_confidential`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ledger.bulletins import finished_on, on_time
from ledger.clock import cn_date, to_local
from ledger.errors import InvalidInput
from ledger.lights import workdays_left
from ledger.model import Assignment, AssignmentStatus, Event, Matter, Office
from ledger.policy import publishable
from ledger.workcalendar import WorkCalendar

__all__ = [
    "FACTORS",
    "Appraisal",
    "AppraisalItem",
    "AppraisalWeights",
    "Factor",
    "OfficeScore",
    "UnitScore",
    "compute_appraisal",
    "rank_offices",
]


class Factor(StrEnum):
    ON_TIME = "on_time"
    LATE_CLOSE = "late_close"
    OVERDUE = "overdue"
    URGE = "urge"
    CRITICISM = "criticism"
    COMMENDATION = "commendation"
    EXTENSION = "extension"
    REFERRAL = "referral"


# label, the counted thing
FACTORS: dict[Factor, tuple[str, str]] = {
    Factor.ON_TIME: ("按时办结", "件"),
    Factor.LATE_CLOSE: ("逾期办结", "件"),
    Factor.OVERDUE: ("超期工作日", "个工作日"),
    Factor.URGE: ("被催办", "次"),
    Factor.CRITICISM: ("通报批评", "次"),
    Factor.COMMENDATION: ("通报表彰", "次"),
    Factor.EXTENSION: ("延期", "次"),
    Factor.REFERRAL: ("提请追究责任", "次"),
}

_EVENT_FACTORS = {
    "urged": Factor.URGE,
    "criticized": Factor.CRITICISM,
    "commended": Factor.COMMENDATION,
    "extension_approved": Factor.EXTENSION,
    "referred": Factor.REFERRAL,
}


@dataclass(frozen=True)
class AppraisalWeights:
    """Points per counted thing; the config's [appraisal] table overrides them."""

    base: float = 100.0
    on_time: float = 2.0
    late_close: float = 0.0
    overdue: float = -0.5           # per working day overdue
    overdue_cap_workdays: int = 20  # per assignment and year
    urge: float = -2.0
    criticism: float = -5.0
    commendation: float = 5.0
    extension: float = -1.0
    referral: float = -10.0

    def weight(self, factor: Factor) -> float:
        value: float = getattr(self, factor.value)
        return value

    def describe(self, factor: Factor) -> str:
        """`+2/件`: printed beside the scores."""
        per = FACTORS[factor][1]
        w = self.weight(factor)
        per_word = "工作日" if factor is Factor.OVERDUE else per
        return f"{_signed(w)}/{per_word}"


def _iso_cn(value: object) -> str:
    """A date kept in an event as ISO text, as users read it."""
    try:
        return cn_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value or "")


def _signed(x: float) -> str:
    text = f"{x:g}"
    return text if x < 0 else f"+{text}"


@dataclass(frozen=True)
class AppraisalItem:
    unit_id: int
    unit: str
    factor: Factor
    matter_id: int
    number: str
    title: str
    quantity: int
    weight: float
    day: date | None
    note: str

    @property
    def points(self) -> float:
        return self.quantity * self.weight

    @property
    def label(self) -> str:
        return FACTORS[self.factor][0]


@dataclass(frozen=True)
class UnitScore:
    unit_id: int
    unit: str
    base: float
    items: tuple[AppraisalItem, ...]
    rank: int = 0

    def quantity(self, factor: Factor) -> int:
        return sum(i.quantity for i in self.items if i.factor is factor)

    def points(self, factor: Factor) -> float:
        return sum(i.points for i in self.items if i.factor is factor)

    @property
    def score(self) -> float:
        return round(self.base + sum(i.points for i in self.items), 2)


@dataclass(frozen=True)
class Appraisal:
    year: int
    as_of: datetime
    cutoff: date
    weights: AppraisalWeights
    scores: tuple[UnitScore, ...]   # best first

    def for_unit(self, unit_id: int) -> UnitScore:
        for s in self.scores:
            if s.unit_id == unit_id:
                return s
        raise KeyError(unit_id)


def _overdue_days(cal: WorkCalendar, deadline: date, end: date, year: int) -> int:
    start = max(deadline, date(year - 1, 12, 31))
    if end <= start:
        return 0
    return max(0, -workdays_left(cal, end, start))


def compute_appraisal(*, year: int, matters: Iterable[Matter], events: Iterable[Event],
                      units: Mapping[int, str], cal: WorkCalendar, as_of: datetime,
                      weights: AppraisalWeights | None = None,
                      include_confidential: bool = False) -> Appraisal:
    """Scores of every unit in `units` (id → name, in the office's order) for `year`."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be aware")
    w = weights or AppraisalWeights()
    today = to_local(as_of).date()
    cutoff = min(date(year, 12, 31), today)
    items: dict[int, list[AppraisalItem]] = {uid: [] for uid in units}
    scoped: dict[int, Matter] = {}

    def add(m: Matter, a: Assignment, factor: Factor, quantity: int, day: date | None,
            note: str) -> None:
        if quantity <= 0:
            return
        assert m.id is not None
        items.setdefault(a.unit_id, []).append(AppraisalItem(
            a.unit_id, units.get(a.unit_id, f"单位{a.unit_id}"), factor, m.id, m.number,
            m.title, quantity, w.weight(factor), day, note))

    for m in matters:
        if m.id is None or m.cancelled_at is not None:
            continue
        if not include_confidential and not publishable(m):
            continue
        scoped[m.id] = m
        closed_on = to_local(m.closed_at).date() if m.closed_at is not None else None
        for a in m.assignments:
            if a.parent_no is not None or a.status == AssignmentStatus.CANCELLED:
                continue
            if to_local(a.assigned_at).date() > cutoff:
                continue
            deadline = a.effective_deadline
            if closed_on is not None and closed_on.year == year and closed_on <= cutoff:
                done = finished_on(m, a) or closed_on
                if on_time(m, a):
                    add(m, a, Factor.ON_TIME, 1, closed_on,
                        f"时限{cn_date(deadline)}，{cn_date(done)}办结")
                else:
                    add(m, a, Factor.LATE_CLOSE, 1, closed_on,
                        f"时限{cn_date(deadline)}，{cn_date(done)}办结")
                end = done
            elif closed_on is not None and closed_on < date(year, 1, 1):
                continue
            else:
                end = cutoff  # open at the cut-off (or closed only after it)
            days = min(_overdue_days(cal, deadline, end, year), w.overdue_cap_workdays)
            add(m, a, Factor.OVERDUE, days, None,
                f"时限{cn_date(deadline)}，至{cn_date(end)}超期{days}个工作日"
                + ("（暂定）" if cal.provisional_years(deadline, end) else "")
                + ("（已封顶）" if days == w.overdue_cap_workdays else ""))

    for e in events:
        factor = _EVENT_FACTORS.get(e.kind)
        if factor is None or e.matter_id is None or e.assignment_no is None:
            continue
        day = to_local(e.at).date()
        if day.year != year or day > cutoff:
            continue
        em = scoped.get(e.matter_id)
        if em is None:
            continue
        try:
            a = em.assignment(e.assignment_no)
        except InvalidInput:
            continue
        note = str(e.after.get("reason") or e.after.get("note") or "")
        if e.kind == "urged":
            note = f"限期{_iso_cn(e.after.get('limit'))}" + (f"；{note}" if note else "")
        elif e.kind == "extension_approved":
            note = f"时限延至{_iso_cn(e.after.get('deadline'))}"
        add(em, a, factor, 1, day, note)

    order = {uid: i for i, uid in enumerate(units)}
    raw = [UnitScore(uid, units.get(uid, f"单位{uid}"), w.base,
                     tuple(sorted(its, key=lambda i: (list(Factor).index(i.factor),
                                                      i.number, i.day or date.min))))
           for uid, its in items.items()]
    raw.sort(key=lambda s: (-s.score, order.get(s.unit_id, len(order)), s.unit_id))
    ranked: list[UnitScore] = []
    for i, s in enumerate(raw):
        rank = ranked[-1].rank if ranked and ranked[-1].score == s.score else i + 1
        ranked.append(UnitScore(s.unit_id, s.unit, s.base, s.items, rank))
    return Appraisal(year=year, as_of=as_of, cutoff=cutoff, weights=w, scores=tuple(ranked))


# ---------------------------------------------------------------- child offices (issue 16)


@dataclass(frozen=True)
class OfficeScore:
    """A child office ranked among its siblings: the mean score of its units that took
    part (had at least one scored item in the year; none: the base), each unit's score
    computed on the child's own ledger exactly as its own /appraisal does."""

    office_id: int
    office: str
    appraisal: Appraisal
    rank: int = 0

    @property
    def taking_part(self) -> tuple[UnitScore, ...]:
        return tuple(s for s in self.appraisal.scores if s.items)

    @property
    def score(self) -> float:
        part = self.taking_part
        if not part:
            return self.appraisal.weights.base
        return round(sum(s.score for s in part) / len(part), 2)


def rank_offices(appraisals: Sequence[tuple[Office, Appraisal]]) -> tuple[OfficeScore, ...]:
    """The child offices best first (ties share a rank, then the offices' order)."""
    raw = [OfficeScore(o.id, o.name, a) for o, a in appraisals]
    order = {o.id: i for i, (o, _) in enumerate(appraisals)}
    raw.sort(key=lambda s: (-s.score, order[s.office_id]))
    out: list[OfficeScore] = []
    for i, s in enumerate(raw):
        rank = out[-1].rank if out and out[-1].score == s.score else i + 1
        out.append(OfficeScore(s.office_id, s.office, s.appraisal, rank))
    return tuple(out)
