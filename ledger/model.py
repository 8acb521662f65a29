"""The ledger's entities. A matter is an aggregate rebuilt from its events.

Every change is made by a command method that validates, builds an `Event`
(before/after) and applies it; `Matter.replay(events)` applies the same events
to rebuild the same state, which is how the whole story is proven replayable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ledger.clock import cn_date
from ledger.deadlines import MAX_DAYS_AHEAD, MatterClass, check_horizon
from ledger.errors import InvalidInput, InvalidTransition, shown


class Role(StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    LIAISON = "liaison"
    PRINCIPAL = "principal"
    RESPONSIBLE = "responsible"
    HANDLER = "handler"


class Source(StrEnum):
    COUNTY_DECISION = "county_decision"
    DEPLOYMENT = "deployment"
    INSTRUCTION = "instruction"
    ANNUAL_KEY_WORK = "annual_key_work"
    PROJECT = "project"
    MEETING = "meeting"
    INSPECTION = "inspection"
    NPC_SUGGESTION = "npc_suggestion"
    CPPCC_PROPOSAL = "cppcc_proposal"
    PUBLIC_COMPLAINT = "public_complaint"
    ENTERPRISE = "enterprise"


class ProjectKind(StrEnum):
    """专项督查 (§2.8): the kinds of project work checked monthly."""

    CONSTRUCTION = "construction"
    INVESTMENT = "investment"


class MatterStatus(StrEnum):
    REGISTERED = "registered"
    IN_PROGRESS = "in_progress"
    COMPLETION_REQUESTED = "completion_requested"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    SIGNED = "signed"
    COMPLETION_REQUESTED = "completion_requested"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_ASSIGNMENT = frozenset({AssignmentStatus.ASSIGNED, AssignmentStatus.SIGNED,
                             AssignmentStatus.COMPLETION_REQUESTED})


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class ExtensionState(StrEnum):
    AWAITING_PRINCIPAL = "awaiting_principal"
    AWAITING_OFFICE = "awaiting_office"


@dataclass(frozen=True)
class Office:
    id: int
    name: str
    doc_prefix: str = "督"
    parent_id: int | None = None  # the office above (a township's: the county's)


@dataclass(frozen=True)
class Unit:
    id: int
    office_id: int
    name: str
    parent_id: int | None = None


@dataclass(frozen=True)
class Person:
    id: int
    office_id: int
    name: str
    roles: frozenset[Role]
    unit_id: int | None = None
    telegram_id: int | None = None
    reachable: bool = True
    active: bool = True
    # An admin from DUBAN_ADMINS without a name: asked for it on /start (people.give_name).
    name_pending: bool = False

    def has(self, role: Role) -> bool:
        return self.active and role in self.roles

    @property
    def is_office(self) -> bool:
        return self.has(Role.ADMIN)


_ATTACHMENT_EXTRA = ("file_unique_id", "file_size", "mime_type", "duration", "latitude",
                     "longitude", "title", "address")


@dataclass(frozen=True)
class Attachment:
    # photo | document | voice | video | video_note | audio (files: file_id set) or
    # location | venue (no file: coordinates, and a venue's title and address)
    kind: str
    file_id: str
    file_name: str | None = None
    file_unique_id: str | None = None  # the same for every bot: the evidence store's key
    file_size: int | None = None       # as Telegram declared it (20 MB download limit)
    mime_type: str | None = None
    duration: int | None = None        # seconds (voice, video, video note, audio)
    latitude: float | None = None
    longitude: float | None = None
    title: str | None = None           # a venue's name
    address: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "file_id": self.file_id,
                               "file_name": self.file_name}
        for key in _ATTACHMENT_EXTRA:  # only what is set: older records stay as they were
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> Attachment:
        extra = {k: data[k] for k in _ATTACHMENT_EXTRA if data.get(k) is not None}
        return Attachment(data["kind"], data.get("file_id") or "", data.get("file_name"),
                          **extra)


@dataclass(frozen=True)
class Extension:
    requested_at: datetime
    requested_by: int
    reason: str
    new_deadline: date
    state: ExtensionState
    confirmed_by: int | None = None
    # typed as N个工作日: counted from, how many (see Assignment.counted_from)
    counted_from: date | None = None
    counted_workdays: int | None = None


@dataclass(frozen=True)
class Event:
    """One line of history. Never updated, never deleted."""

    kind: str
    at: datetime
    actor_id: int | None
    office_id: int
    matter_id: int | None = None
    assignment_no: int | None = None
    person_id: int | None = None
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class PassedDown:
    """转办 (issue 16): the assignment's unit registered it in its own office's ledger;
    the child matter's state as it last rolled up (open, completion_requested, closed,
    cancelled), and its latest progress."""

    office_id: int
    office: str
    matter_id: int
    number: str
    state: str = "open"
    last_at: datetime | None = None
    last_text: str | None = None

    @property
    def finished(self) -> bool:
        """The child office has closed (or withdrawn) its linked matter."""
        return self.state in ("closed", "cancelled")


@dataclass
class Assignment:
    no: int
    unit_id: int
    lead: bool
    principal_id: int
    responsible_id: int
    handler_id: int
    assigned_at: datetime
    assigned_by: int
    deadline: date
    parent_no: int | None = None
    committed_deadline: date | None = None
    signed_at: datetime | None = None
    status: AssignmentStatus = AssignmentStatus.ASSIGNED
    last_progress_at: datetime | None = None
    last_progress_text: str | None = None
    progress_count: int = 0
    completion_requested_at: datetime | None = None
    extension: Extension | None = None
    urge_count: int = 0
    urge_limit: date | None = None
    criticized: bool = False
    commended: bool = False
    referred: bool = False
    # A deadline counted in working days (the default one, or typed as N个工作日): from
    # which day, how many. Kept so it can be counted again when a provisional year is
    # entered; likewise the committed deadline (签收) and the urging limit.
    counted_from: date | None = None
    counted_workdays: int | None = None
    committed_counted_from: date | None = None
    committed_counted_workdays: int | None = None
    limit_counted_from: date | None = None
    limit_counted_workdays: int | None = None
    passed_down: PassedDown | None = None

    @property
    def effective_deadline(self) -> date:
        return self.committed_deadline or self.deadline

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ASSIGNMENT

    def in_time_for_extension(self, today: date) -> bool:
        """延期 is asked before the deadline passes; the deadline day itself still counts."""
        return today <= self.effective_deadline

    def may_request_extension(self, today: date) -> bool:
        """Open, no request under way, and in time: the one rule, for use cases and cards."""
        return self.is_open and self.extension is None and self.in_time_for_extension(today)

    def persons(self) -> tuple[int, int, int]:
        return (self.principal_id, self.responsible_id, self.handler_id)

    def names(self, person_id: int) -> bool:
        return person_id in self.persons()


NUMBER_RE = re.compile(r"^(?P<prefix>\D*)〔(?P<year>\d{4})〕(?P<seq>\d+)号$")
SHORT_RE = re.compile(r"^(?:(?P<year>\d{2}|\d{4})-)?(?P<seq>\d{1,6})$")


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}〔{year}〕{seq}号"


def parse_reference(text: str, current_year: int) -> tuple[int, int]:
    """`督〔2026〕12号`, `2026-12`, `26-12` or `12` (this year) → (year, seq)."""
    text = text.strip().lstrip("#")
    m = NUMBER_RE.match(text)
    if m:
        return int(m["year"]), int(m["seq"])
    m = SHORT_RE.match(text)
    if m:
        year = m["year"]
        if year is None:
            y = current_year
        elif len(year) == 2:
            y = 2000 + int(year)
        else:
            y = int(year)
        return y, int(m["seq"])
    raise InvalidInput(f"找不到事项「{shown(text)}」。请写事项编号，如 12、26-12 或 督〔2026〕12号。")


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def _counted_json(counted: tuple[date, int] | None) -> dict[str, Any]:
    """An event's record of how a date was counted (nothing when it was not)."""
    if counted is None:
        return {}
    return {"counted_from": counted[0].isoformat(), "counted_workdays": counted[1]}


def _counted_of(after: dict[str, Any]) -> tuple[date | None, int | None]:
    return _d(after.get("counted_from")), after.get("counted_workdays")


@dataclass
class Matter:
    id: int | None
    office_id: int
    year: int
    seq: int
    number: str
    title: str
    body: str
    source: Source
    klass: MatterClass
    confidential: bool
    tags: tuple[str, ...]
    received_at: datetime
    registered_at: datetime
    registered_by: int
    instruction_text: str | None = None
    instruction_author: str | None = None
    deadline: date | None = None
    # the registered deadline typed as N个工作日: counted from, how many
    deadline_counted_from: date | None = None
    deadline_counted_workdays: int | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    # Where it came from: {"kind": "meeting"|"visit"|"inspection", "id": record id, "item": n}
    origin: dict[str, Any] | None = None
    priority: bool = False            # 三个优先 (§2.8): supervised, tracked, answered first
    priority_reason: str | None = None
    project: ProjectKind | None = None  # 专项督查: monthly figures are asked for
    figures: dict[str, Any] | None = None  # the latest monthly figures
    assignments: list[Assignment] = field(default_factory=list)
    version: int = 0
    pending: list[Event] = field(default_factory=list, repr=False, compare=False)
    _last: Event | None = field(default=None, repr=False, compare=False)

    # ---- derived ----
    @property
    def short_id(self) -> str:
        return f"{self.year % 100:02d}-{self.seq}"

    @property
    def status(self) -> MatterStatus:
        if self.cancelled_at is not None:
            return MatterStatus.CANCELLED
        if self.closed_at is not None:
            return MatterStatus.CLOSED
        lead = self.lead
        if lead is None:
            return MatterStatus.REGISTERED
        if lead.status == AssignmentStatus.COMPLETION_REQUESTED:
            return MatterStatus.COMPLETION_REQUESTED
        return MatterStatus.IN_PROGRESS

    @property
    def is_open(self) -> bool:
        return self.status in (MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                               MatterStatus.COMPLETION_REQUESTED)

    @property
    def lead(self) -> Assignment | None:
        return next((a for a in self.assignments if a.lead and a.parent_no is None), None)

    @property
    def top_assignments(self) -> list[Assignment]:
        return [a for a in self.assignments if a.parent_no is None]

    def assignment(self, no: int) -> Assignment:
        for a in self.assignments:
            if a.no == no:
                return a
        raise InvalidInput(f"事项 {self.number} 没有第 {no} 项分工。")

    def names(self, person_id: int) -> bool:
        return any(a.names(person_id) for a in self.assignments)

    def unit_ids(self) -> set[int]:
        return {a.unit_id for a in self.assignments}

    @property
    def last_event(self) -> Event:
        """The latest event this object recorded (still there after storage saved it)."""
        if self._last is None:
            raise ValueError("no event recorded yet")
        return self._last

    # ---- events ----
    def _record(self, kind: str, at: datetime, actor_id: int | None,
                after: dict[str, Any], before: dict[str, Any] | None = None,
                assignment_no: int | None = None) -> Event:
        event = Event(kind=kind, at=at, actor_id=actor_id, office_id=self.office_id,
                      matter_id=self.id, assignment_no=assignment_no,
                      before=before or {}, after=after)
        self.apply(event)
        self.pending.append(event)
        self._last = event
        return event

    def apply(self, e: Event) -> None:
        """Apply one event to the state. Must stay deterministic: replay depends on it."""
        handler = _APPLY.get(e.kind)
        if handler is None:
            raise ValueError(f"unknown event kind {e.kind}")
        handler(self, e)
        self.version += 1

    @classmethod
    def replay(cls, events: list[Event]) -> Matter:
        if not events or events[0].kind != "registered":
            raise ValueError("a matter's history starts with its registration")
        first = events[0]
        m = cls._from_registration(first)
        for e in events[1:]:
            m.apply(e)
        return m

    @classmethod
    def _from_registration(cls, e: Event) -> Matter:
        a = e.after
        m = cls(
            id=e.matter_id, office_id=e.office_id, year=a["year"], seq=a["seq"],
            number=a["number"], title=a["title"], body=a["body"], source=Source(a["source"]),
            klass=MatterClass(a["klass"]), confidential=a["confidential"],
            tags=tuple(a["tags"]), received_at=datetime.fromisoformat(a["received_at"]),
            registered_at=e.at, registered_by=a["registered_by"],
            instruction_text=a.get("instruction_text"),
            instruction_author=a.get("instruction_author"),
            deadline=_d(a.get("deadline")), version=1, origin=a.get("origin"),
            deadline_counted_from=_d(a.get("counted_from")),
            deadline_counted_workdays=a.get("counted_workdays"),
        )
        return m

    @classmethod
    def register(cls, *, office_id: int, year: int, seq: int, prefix: str, title: str,
                 body: str, source: Source, klass: MatterClass, confidential: bool,
                 tags: tuple[str, ...], received_at: datetime, at: datetime, actor_id: int,
                 instruction_text: str | None, instruction_author: str | None,
                 deadline: date | None, origin: dict[str, Any] | None = None,
                 deadline_counted: tuple[date, int] | None = None) -> Matter:
        after: dict[str, Any] = {
            "year": year, "seq": seq, "number": format_number(prefix, year, seq),
            "title": title, "body": body, "source": source.value, "klass": klass.value,
            "confidential": confidential, "tags": list(tags),
            "received_at": received_at.isoformat(), "registered_by": actor_id,
            "instruction_text": instruction_text, "instruction_author": instruction_author,
            "deadline": _iso(deadline),
        }
        if deadline is not None:
            after.update(_counted_json(deadline_counted))
        if origin is not None:
            after["origin"] = dict(origin)
        e = Event(kind="registered", at=at, actor_id=actor_id, office_id=office_id,
                  after=after)
        m = cls._from_registration(e)
        m.pending.append(e)
        return m

    def require_open(self) -> None:
        if self.status == MatterStatus.CLOSED:
            raise InvalidTransition(f"事项 {self.number} 已销号，不能再操作。")
        if self.status == MatterStatus.CANCELLED:
            raise InvalidTransition(f"事项 {self.number} 已撤销，不能再操作。")

    def _open_assignment(self, no: int) -> Assignment:
        self.require_open()
        a = self.assignment(no)
        if not a.is_open:
            done = "已撤销" if a.status == AssignmentStatus.CANCELLED else "已销号"
            raise InvalidTransition(f"该分工{done}，不能再操作。")
        return a

    # ---- commands ----
    def assign(self, *, at: datetime, actor_id: int, unit_id: int, lead: bool,
               principal_id: int, responsible_id: int, handler_id: int, deadline: date,
               parent_no: int | None = None,
               counted: tuple[date, int] | None = None) -> Assignment:
        self.require_open()
        if parent_no is None:
            if lead and self.lead is not None:
                raise InvalidTransition("该事项已有牵头单位。")
            if any(a.unit_id == unit_id and a.parent_no is None and a.is_open
                   for a in self.assignments):
                raise InvalidTransition("该单位已在本事项的承办单位中。")
        else:
            parent = self._open_assignment(parent_no)
            if deadline > parent.effective_deadline:
                raise InvalidInput(
                    f"细化分工的时限不能晚于本单位时限 {cn_date(parent.effective_deadline)}。")
        no = max((a.no for a in self.assignments), default=0) + 1
        after = {
            "no": no, "unit_id": unit_id, "lead": lead, "parent_no": parent_no,
            "principal_id": principal_id, "responsible_id": responsible_id,
            "handler_id": handler_id, "deadline": deadline.isoformat(),
        }
        if counted is not None:
            after["counted_from"], after["counted_workdays"] = counted[0].isoformat(), counted[1]
        self._record("assigned", at, actor_id, after, assignment_no=no)
        return self.assignment(no)

    def sign(self, *, at: datetime, actor_id: int, no: int, committed: date,
             counted: tuple[date, int] | None = None) -> None:
        a = self._open_assignment(no)
        if a.status != AssignmentStatus.ASSIGNED:
            raise InvalidTransition("该分工已签收。")
        if committed > a.deadline:
            raise InvalidInput(
                f"承诺时限不能晚于交办时限 {cn_date(a.deadline)}；需要更长时间请申请延期。")
        self._record("signed", at, actor_id,
                     {"committed_deadline": committed.isoformat(), **_counted_json(counted)},
                     {"status": a.status.value}, assignment_no=no)

    def recount_deadline(self, *, at: datetime, no: int, deadline: date, reason: str,
                         committed: date | None = None, urge_limit: date | None = None,
                         ) -> bool:
        """Counted dates counted again (a year's holidays entered); False if unchanged.

        ``committed``: the committed deadline counted again from its own basis; without
        one, a committed deadline that was the old deadline moves with it. Either way one
        later than the new deadline is brought back to it. ``urge_limit``: the urging
        limit counted again (None: unchanged)."""
        a = self._open_assignment(no)
        if committed is None:
            committed = a.committed_deadline
            if committed is not None and committed == a.deadline:
                committed = deadline
        elif a.committed_deadline is None:
            committed = None
        if committed is not None and committed > deadline:
            committed = deadline
        limit_changed = urge_limit is not None and urge_limit != a.urge_limit
        if deadline == a.deadline and committed == a.committed_deadline and not limit_changed:
            return False
        after = {"deadline": deadline.isoformat(), "committed_deadline": _iso(committed),
                 "reason": reason}
        before = {"deadline": a.deadline.isoformat(),
                  "committed_deadline": _iso(a.committed_deadline)}
        if limit_changed:
            after["urge_limit"], before["urge_limit"] = _iso(urge_limit), _iso(a.urge_limit)
        self._record("deadline_recounted", at, None, after, before, assignment_no=no)
        return True

    def report_progress(self, *, at: datetime, actor_id: int, no: int, text: str,
                        attachments: tuple[Attachment, ...] = ()) -> None:
        self._open_assignment(no)
        if not text.strip() and not attachments:
            raise InvalidInput("进展内容是空的：请写几句话，或发照片、文件。")
        self._record("progress", at, actor_id,
                     {"text": text.strip(), "attachments": [x.to_json() for x in attachments]},
                     assignment_no=no)

    def request_completion(self, *, at: datetime, actor_id: int, no: int, text: str,
                           attachments: tuple[Attachment, ...] = ()) -> None:
        a = self._open_assignment(no)
        if a.status == AssignmentStatus.COMPLETION_REQUESTED:
            raise InvalidTransition("已申请办结，正在等待督查室审核。")
        self._record("completion_requested", at, actor_id,
                     {"text": text.strip(), "attachments": [x.to_json() for x in attachments]},
                     {"status": a.status.value}, assignment_no=no)

    def awaiting_child(self) -> PassedDown | None:
        """转办: the final 销号 waits for the child office's own (RULES 6, issue 16)."""
        for a in self.top_assignments:
            if a.is_open and a.passed_down is not None and not a.passed_down.finished:
                return a.passed_down
        return None

    def close(self, *, at: datetime, actor_id: int, comment: str) -> None:
        self.require_open()
        if self.status != MatterStatus.COMPLETION_REQUESTED:
            raise InvalidTransition("牵头单位尚未申请办结，不能销号。")
        waiting = self.awaiting_child()
        if waiting is not None:
            raise InvalidTransition(
                f"本事项已转办「{waiting.office}」（{waiting.number}），下级尚未销号，"
                "暂不能销号：请待下级销号后再销号，或发送 /return 退回。")
        self._record("closed", at, actor_id, {"comment": comment.strip()},
                     {"status": self.status.value})

    def return_(self, *, at: datetime, actor_id: int, reason: str) -> None:
        self.require_open()
        if self.status != MatterStatus.COMPLETION_REQUESTED:
            raise InvalidTransition("没有待审核的办结申请，无需退回。")
        if not reason.strip():
            raise InvalidInput("退回须写明理由。")
        lead = self.lead
        assert lead is not None
        self._record("returned", at, actor_id, {"reason": reason.strip()},
                     {"status": lead.status.value}, assignment_no=lead.no)

    def request_extension(self, *, at: datetime, actor_id: int, no: int, reason: str,
                          new_deadline: date, today: date, by_principal: bool,
                          max_days_ahead: int = MAX_DAYS_AHEAD,
                          counted: tuple[date, int] | None = None) -> None:
        a = self._open_assignment(no)
        if a.extension is not None:
            raise InvalidTransition("已有一份延期申请在办理中。")
        if not a.in_time_for_extension(today):
            raise InvalidTransition("延期须在时限届满前申请；已超期的事项请尽快办结。")
        if new_deadline <= a.effective_deadline:
            raise InvalidInput(
                f"新时限须晚于现时限 {cn_date(a.effective_deadline)}。")
        check_horizon(today, new_deadline, "延期后的时限", max_days_ahead)
        if not reason.strip():
            raise InvalidInput("延期须写明理由。")
        self._record("extension_requested", at, actor_id,
                     {"reason": reason.strip(), "new_deadline": new_deadline.isoformat(),
                      "confirmed": by_principal, **_counted_json(counted)},
                     {"deadline": a.effective_deadline.isoformat()}, assignment_no=no)

    def confirm_extension(self, *, at: datetime, actor_id: int, no: int) -> None:
        a = self._open_assignment(no)
        if a.extension is None or a.extension.state != ExtensionState.AWAITING_PRINCIPAL:
            raise InvalidTransition("没有等待第一责任人确认的延期申请。")
        self._record("extension_confirmed", at, actor_id, {}, assignment_no=no)

    def decide_extension(self, *, at: datetime, actor_id: int, no: int, approve: bool,
                         new_deadline: date | None = None, reason: str = "",
                         today: date | None = None,
                         max_days_ahead: int = MAX_DAYS_AHEAD) -> None:
        a = self._open_assignment(no)
        ext = a.extension
        if ext is None:
            raise InvalidTransition("没有待审批的延期申请。")
        if ext.state != ExtensionState.AWAITING_OFFICE:
            raise InvalidTransition("延期申请还没有经第一责任人确认。")
        if approve:
            chosen = new_deadline or ext.new_deadline
            if chosen <= a.effective_deadline:
                raise InvalidInput(f"新时限须晚于现时限 {cn_date(a.effective_deadline)}。")
            if today is not None and new_deadline is not None:
                check_horizon(today, chosen, "延期后的时限", max_days_ahead)
            # the requested date, if typed as N个工作日, stays counted; the office's own is decided
            counted = (None if chosen != ext.new_deadline or ext.counted_from is None
                       or ext.counted_workdays is None
                       else (ext.counted_from, ext.counted_workdays))
            self._record("extension_approved", at, actor_id,
                         {"deadline": chosen.isoformat(), **_counted_json(counted)},
                         {"deadline": a.effective_deadline.isoformat()}, assignment_no=no)
        else:
            if not reason.strip():
                raise InvalidInput("不同意延期须写明理由。")
            self._record("extension_rejected", at, actor_id, {"reason": reason.strip()},
                         assignment_no=no)

    def urge(self, *, at: datetime, actor_id: int | None, no: int, limit: date,
             today: date, note: str = "", max_days_ahead: int = MAX_DAYS_AHEAD,
             counted: tuple[date, int] | None = None) -> None:
        a = self._open_assignment(no)
        if limit < today:
            raise InvalidInput("催办限期不能早于今天。")
        check_horizon(today, limit, "催办限期", max_days_ahead)
        self._record("urged", at, actor_id,
                     {"limit": limit.isoformat(), "note": note.strip(),
                      "count": a.urge_count + 1, **_counted_json(counted)},
                     {"limit": _iso(a.urge_limit), "count": a.urge_count}, assignment_no=no)

    def commend(self, *, at: datetime, actor_id: int, no: int, reason: str) -> None:
        self._require_open_or_closed()
        self.assignment(no)
        self._record("commended", at, actor_id, {"reason": reason.strip()}, assignment_no=no)

    def criticize(self, *, at: datetime, actor_id: int | None, no: int, reason: str) -> None:
        self._require_open_or_closed()
        self.assignment(no)
        if not reason.strip():
            raise InvalidInput("通报批评须写明理由。")
        self._record("criticized", at, actor_id, {"reason": reason.strip()}, assignment_no=no)

    def refer(self, *, at: datetime, actor_id: int, no: int, reason: str) -> None:
        self._require_open_or_closed()
        self.assignment(no)
        if not reason.strip():
            raise InvalidInput("提请追究责任须写明理由。")
        self._record("referred", at, actor_id, {"reason": reason.strip()}, assignment_no=no)

    def cancel(self, *, at: datetime, actor_id: int, reason: str) -> None:
        self.require_open()
        if not reason.strip():
            raise InvalidInput("撤销须写明理由（例如：重复登记）。")
        self._record("cancelled", at, actor_id, {"reason": reason.strip()},
                     {"status": self.status.value})

    def set_priority(self, *, at: datetime, actor_id: int, on: bool, reason: str) -> None:
        """三个优先 (§2.8): flag (or unflag) a matter to be supervised first."""
        self.require_open()
        if on == self.priority:
            raise InvalidTransition(
                f"事项 {self.number} {'已经是' if on else '不是'}优先督办事项。")
        if on and not reason.strip():
            raise InvalidInput("标记优先督办须写明理由（如：工业项目涉诉）。")
        self._record("priority_set", at, actor_id,
                     {"priority": on, "reason": reason.strip()},
                     {"priority": self.priority, "reason": self.priority_reason})

    def set_project(self, *, at: datetime, actor_id: int, kind: ProjectKind | None) -> None:
        """专项督查: a project whose lead unit reports monthly figures (None: no longer)."""
        self.require_open()
        if kind == self.project:
            raise InvalidTransition(f"事项 {self.number} 已是这样设置的。")
        self._record("project_set", at, actor_id,
                     {"project": kind.value if kind else None},
                     {"project": self.project.value if self.project else None})

    def report_figures(self, *, at: datetime, actor_id: int, no: int, period: str,
                       percent: int, investment: float | None, problems: str) -> None:
        """The month's progress figures of a project (月检查)."""
        if self.project is None:
            raise InvalidTransition(f"事项 {self.number} 不是专项督查项目。")
        self._open_assignment(no)
        if not 0 <= percent <= 100:
            raise InvalidInput("完成进度应在 0% 到 100% 之间。")
        if investment is not None and investment < 0:
            raise InvalidInput("累计投资不能为负数。")
        self._record("figures_reported", at, actor_id,
                     {"period": period, "percent": percent, "investment": investment,
                      "problems": problems.strip()},
                     dict(self.figures or {}), assignment_no=no)

    def record_inspection(self, *, at: datetime, actor_id: int, inspection_id: int,
                          mode: str, findings: str, attachments: tuple[Attachment, ...] = (),
                          ) -> None:
        """明查暗访 (§3.3) recorded on the matter's own history, as the inspector's."""
        self._require_open_or_closed()
        self._record("inspected", at, actor_id,
                     {"inspection_id": inspection_id, "mode": mode, "findings": findings,
                      "attachments": [x.to_json() for x in attachments]})

    def note_passed_down(self, *, at: datetime, actor_id: int, no: int, office_id: int,
                         office: str, child_id: int, child_number: str) -> Event:
        """转办 (issue 16): the unit's own office registered a linked matter for this
        assignment; recorded here, the state unchanged (the county still does the 销号)."""
        self._open_assignment(no)
        return self._record("passed_down", at, actor_id,
                            {"office_id": office_id, "office": office, "child_id": child_id,
                             "child_number": child_number}, assignment_no=no)

    def note_child(self, *, at: datetime, no: int, kind: str, actor_id: int | None,
                   child_id: int, child_number: str, text: str) -> Event:
        """The child office's linked matter moved (its progress, 办结 asked, 销号): recorded
        on the assignment it was passed down for; the state unchanged."""
        self._open_assignment(no)
        return self._record(kind, at, None,
                            {"child_id": child_id, "child_number": child_number,
                             "child_actor_id": actor_id, "text": text}, assignment_no=no)

    def hand_over(self, *, at: datetime, actor_id: int, no: int, old_id: int,
                  new_id: int) -> None:
        """A successor takes the old person's places on an open assignment (/handover)."""
        a = self._open_assignment(no)
        before = {"principal_id": a.principal_id, "responsible_id": a.responsible_id,
                  "handler_id": a.handler_id}
        after = {k: (new_id if v == old_id else v) for k, v in before.items()}
        if after == before:
            raise InvalidInput("这项分工没有写这个人，无需交接。")
        self._record("handed_over", at, actor_id, {**after, "from_id": old_id, "to_id": new_id},
                     before, assignment_no=no)

    def _require_open_or_closed(self) -> None:
        if self.status == MatterStatus.CANCELLED:
            raise InvalidTransition(f"事项 {self.number} 已撤销。")


# ---- how each event changes the state ----

def _ap_assigned(m: Matter, e: Event) -> None:
    a = e.after
    m.assignments.append(Assignment(
        no=a["no"], unit_id=a["unit_id"], lead=a["lead"], parent_no=a["parent_no"],
        principal_id=a["principal_id"], responsible_id=a["responsible_id"],
        handler_id=a["handler_id"], assigned_at=e.at, assigned_by=e.actor_id or 0,
        deadline=date.fromisoformat(a["deadline"]),
        counted_from=_d(a.get("counted_from")), counted_workdays=a.get("counted_workdays"),
    ))


def _asg(m: Matter, e: Event) -> Assignment:
    assert e.assignment_no is not None
    return m.assignment(e.assignment_no)


def _ap_signed(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.status = AssignmentStatus.SIGNED
    a.signed_at = e.at
    a.committed_deadline = date.fromisoformat(e.after["committed_deadline"])
    a.committed_counted_from, a.committed_counted_workdays = _counted_of(e.after)


def _ap_progress(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.last_progress_at = e.at
    a.last_progress_text = e.after["text"] or "（附件）"
    a.progress_count += 1


def _ap_completion_requested(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.status = AssignmentStatus.COMPLETION_REQUESTED
    a.completion_requested_at = e.at
    a.last_progress_at = e.at
    a.last_progress_text = e.after["text"] or a.last_progress_text
    a.progress_count += 1


def _ap_closed(m: Matter, e: Event) -> None:
    m.closed_at = e.at
    for a in m.assignments:
        if a.is_open:
            a.status = AssignmentStatus.CLOSED


def _ap_returned(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.status = AssignmentStatus.SIGNED if a.signed_at else AssignmentStatus.ASSIGNED
    a.completion_requested_at = None


def _ap_extension_requested(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.extension = Extension(
        requested_at=e.at, requested_by=e.actor_id or 0, reason=e.after["reason"],
        new_deadline=date.fromisoformat(e.after["new_deadline"]),
        state=(ExtensionState.AWAITING_OFFICE if e.after["confirmed"]
               else ExtensionState.AWAITING_PRINCIPAL),
        confirmed_by=e.actor_id if e.after["confirmed"] else None,
        counted_from=_d(e.after.get("counted_from")),
        counted_workdays=e.after.get("counted_workdays"),
    )


def _ap_extension_confirmed(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    assert a.extension is not None
    a.extension = replace(a.extension, state=ExtensionState.AWAITING_OFFICE,
                          confirmed_by=e.actor_id)


def _ap_extension_approved(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    new = date.fromisoformat(e.after["deadline"])
    a.deadline = new
    a.committed_deadline = new if a.committed_deadline else None
    a.extension = None
    # counted only when the office approved a date requested as N个工作日
    a.counted_from, a.counted_workdays = _counted_of(e.after)
    a.committed_counted_from = a.committed_counted_workdays = None  # now the deadline


def _ap_deadline_recounted(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.deadline = date.fromisoformat(e.after["deadline"])
    a.committed_deadline = _d(e.after["committed_deadline"])
    if "urge_limit" in e.after:
        a.urge_limit = _d(e.after["urge_limit"])


def _ap_extension_rejected(m: Matter, e: Event) -> None:
    _asg(m, e).extension = None


def _ap_urged(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.urge_count = e.after["count"]
    a.urge_limit = date.fromisoformat(e.after["limit"])
    a.limit_counted_from, a.limit_counted_workdays = _counted_of(e.after)


def _ap_commended(m: Matter, e: Event) -> None:
    _asg(m, e).commended = True


def _ap_criticized(m: Matter, e: Event) -> None:
    _asg(m, e).criticized = True


def _ap_referred(m: Matter, e: Event) -> None:
    _asg(m, e).referred = True


def _ap_cancelled(m: Matter, e: Event) -> None:
    m.cancelled_at = e.at
    m.cancel_reason = e.after["reason"]
    for a in m.assignments:
        if a.is_open:
            a.status = AssignmentStatus.CANCELLED


def _ap_priority_set(m: Matter, e: Event) -> None:
    m.priority = bool(e.after["priority"])
    m.priority_reason = (e.after.get("reason") or None) if m.priority else None


def _ap_project_set(m: Matter, e: Event) -> None:
    value = e.after.get("project")
    m.project = ProjectKind(value) if value else None


def _ap_figures_reported(m: Matter, e: Event) -> None:
    m.figures = {**e.after, "at": e.at.isoformat()}
    if e.assignment_no is not None:
        a = _asg(m, e)
        a.last_progress_at = e.at
        a.last_progress_text = f"{e.after['period']} 完成{e.after['percent']}%"
        a.progress_count += 1


def _ap_handed_over(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    a.principal_id = e.after["principal_id"]
    a.responsible_id = e.after["responsible_id"]
    a.handler_id = e.after["handler_id"]


def _ap_passed_down(m: Matter, e: Event) -> None:
    _asg(m, e).passed_down = PassedDown(
        office_id=e.after["office_id"], office=e.after.get("office", ""),
        matter_id=e.after["child_id"], number=e.after.get("child_number", ""))


_CHILD_STATES = {"child_completion_requested": "completion_requested",
                 "child_returned": "open", "child_closed": "closed",
                 "child_cancelled": "cancelled"}


def _ap_child(m: Matter, e: Event) -> None:
    a = _asg(m, e)
    if a.passed_down is None:
        return
    state = _CHILD_STATES.get(e.kind, a.passed_down.state)
    text = str(e.after.get("text") or "") or a.passed_down.last_text
    a.passed_down = replace(a.passed_down, state=state, last_at=e.at, last_text=text)


def _ap_noop(m: Matter, e: Event) -> None:
    """Events that record something without changing the matter's state."""


_APPLY = {
    "assigned": _ap_assigned,
    "signed": _ap_signed,
    "progress": _ap_progress,
    "completion_requested": _ap_completion_requested,
    "closed": _ap_closed,
    "returned": _ap_returned,
    "extension_requested": _ap_extension_requested,
    "extension_confirmed": _ap_extension_confirmed,
    "extension_approved": _ap_extension_approved,
    "extension_rejected": _ap_extension_rejected,
    "urged": _ap_urged,
    "commended": _ap_commended,
    "criticized": _ap_criticized,
    "referred": _ap_referred,
    "cancelled": _ap_cancelled,
    "reminders_paused": _ap_noop,
    "reminders_resumed": _ap_noop,
    "notice_sent": _ap_noop,
    "priority_set": _ap_priority_set,
    "project_set": _ap_project_set,
    "figures_reported": _ap_figures_reported,
    "inspected": _ap_noop,
    "deadline_recounted": _ap_deadline_recounted,
    "handed_over": _ap_handed_over,
    "receipt_read": _ap_noop,
    "passed_down": _ap_passed_down,
    "child_progress": _ap_child,
    "child_completion_requested": _ap_child,
    "child_closed": _ap_child,
    "child_returned": _ap_child,
    "child_cancelled": _ap_child,
}

