"""What the use cases need from storage. `storage/` implements these on SQLAlchemy."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from ledger.model import (
    AssignmentStatus,
    Event,
    Light,
    Matter,
    MatterStatus,
    Office,
    Person,
    Role,
    Unit,
)
from ledger.receipts import Receipt


@dataclass(frozen=True)
class MatterQuery:
    """A filter over the ledger. Fields left None do not filter."""

    office_id: int
    statuses: frozenset[MatterStatus] | None = None
    unit_id: int | None = None          # an assignment of this unit
    person_id: int | None = None        # named on an assignment (principal/responsible/handler)
    include_confidential: bool = True
    # open assignments whose effective deadline is before this date
    overdue_on: date | None = None
    # open assignments whose effective deadline is on or before this date
    due_by: date | None = None
    year: int | None = None
    registered_from: datetime | None = None
    registered_to: datetime | None = None
    text: str | None = None             # substring of number or title
    light: Light | None = None          # the stored light (matters.light)
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class Invite:
    token: str
    office_id: int
    name: str
    roles: frozenset[Role]
    unit_id: int | None
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    person_id: int | None = None  # the person it created, once used


@dataclass(frozen=True)
class GroupChat:
    chat_id: int
    office_id: int
    unit_id: int | None   # None: the office's own chat
    title: str
    bound_by: int
    bound_at: datetime


@dataclass(frozen=True)
class MessageRef:
    """A message the bot sent about a matter, so replies to it land on that matter."""

    chat_id: int
    message_id: int
    matter_id: int
    assignment_no: int | None


@dataclass(frozen=True)
class LiveCard:
    """A message the bot sent that shows a matter's state and buttons (issue 13's live
    cards): redrawn in place, through the outbox, whenever the matter changes.

    layout: "card" (the whole card), "assignment" (the 交办通知 card), "buttons" (a notice
    whose buttons follow the matter; its text stays), "feed" (an office feed line: its
    buttons follow, `kind` and `files` say which).
    viewer_id: whose buttons it shows (None: nobody's own, e.g. a feed line)."""

    chat_id: int
    message_id: int
    matter_id: int
    layout: str
    sent_at: datetime
    viewer_id: int | None = None
    kind: str | None = None
    files: bool = False
    digest: str | None = None   # of what it shows now (None: not known)


# Outbox kinds that show a matter's state rather than ask anything: never cancelled with
# the matter's other notices (a closed matter's cards and public post must say so).
CARD_EDIT_KIND = "card_edit"
CHANNEL_POST_KIND = "channel_post"
STATE_KINDS = frozenset({CARD_EDIT_KIND, CHANNEL_POST_KIND})


@dataclass
class Notice:
    """One message to deliver, kept in the outbox until delivered. `key` is unique."""

    key: str
    office_id: int
    kind: str
    due_at: datetime
    person_id: int | None = None
    chat_id: int | None = None
    matter_id: int | None = None
    assignment_no: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    status: str = "pending"  # pending | sent | failed | cancelled
    attempts: int = 0
    next_try_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class AssignmentRow:
    """An open assignment as reminders see it: flat, cheap to scan."""

    matter_id: int
    no: int
    office_id: int
    klass: str
    confidential: bool
    status: AssignmentStatus
    unit_id: int
    principal_id: int
    responsible_id: int
    handler_id: int
    deadline: date  # effective deadline
    assigned_at: datetime
    last_progress_at: datetime | None
    urge_limit: date | None
    urge_count: int
    criticized: bool
    paused: bool


@dataclass(frozen=True)
class MatterKey:
    """What identifies a matter for an Excel import: its number and (title, lead unit,
    assignment time). Cheap to list for a whole office."""

    id: int
    year: int
    seq: int
    number: str
    title: str
    lead_unit_id: int | None
    lead_assigned_at: datetime | None
    registered_at: datetime


@dataclass(frozen=True)
class BulletinRecord:
    """One published issue of a bulletin: numbered per (office, kind, year) from 1."""

    office_id: int
    kind: str
    year: int
    number: int
    period_start: date
    period_end: date
    published_at: datetime
    published_by: int | None = None
    delivered: tuple[int, ...] = ()   # chat ids it has been posted to
    id: int | None = None


@dataclass
class Record:
    """One of the office's own records that is not a matter: a key enterprise (kind
    "enterprise"), a monthly visit to one ("visit", ref_id = the enterprise), a joint meeting
    ("meeting") or an inspection ("inspection"). `data` is its current state; every change
    to it is also an event (matter_id None, after["record_id"]). `version` guards writers."""

    office_id: int
    kind: str
    created_at: datetime
    created_by: int
    data: dict[str, Any]
    ref_id: int | None = None
    id: int | None = None
    version: int = 1


@dataclass(frozen=True)
class PublicPost:
    """The public channel's post of one matter (公示), and what it last said."""

    matter_id: int
    chat_id: int
    message_id: int
    digest: str
    posted_at: datetime
    edited_at: datetime | None = None


@dataclass(frozen=True)
class FiguresRow:
    """One month's reported figures of a project (专项督查), for bulletins and appraisal."""

    matter_id: int
    number: str
    title: str
    project: str | None
    period: str                 # "2026-11"
    percent: int
    investment: float | None    # 万元, to date
    problems: str
    reported_at: datetime
    reported_by: int | None
    unit_id: int | None


class RecordRepository(Protocol):
    async def add(self, record: Record) -> Record: ...

    async def get(self, record_id: int) -> Record: ...

    async def save(self, record: Record) -> None:
        """Write `data` back; raises Conflict if another writer saved it since loading."""
        ...

    async def list(self, office_id: int, kind: str, ref_id: int | None = None,
                   ) -> builtins.list[Record]: ...

    async def figures(self, office_id: int, since: datetime | None = None,
                      until: datetime | None = None) -> builtins.list[FiguresRow]:
        """Monthly project figures reported in [since, until), oldest first."""
        ...


class PublicPostRepository(Protocol):
    async def get(self, matter_id: int) -> PublicPost | None: ...

    async def put(self, post: PublicPost) -> None: ...

    async def all(self, chat_id: int) -> builtins.list[PublicPost]: ...

    async def candidates(self, office_id: int) -> dict[int, int]:
        """Matter id → version of every matter that is or was postable (not confidential;
        assigned, closed or cancelled): cheap, no JSON decoded."""
        ...


class BulletinRepository(Protocol):
    async def next_number(self, office_id: int, kind: str, year: int) -> int: ...

    async def add(self, record: BulletinRecord) -> BulletinRecord:
        """Insert; raises Conflict when the number or the period is already taken."""
        ...

    async def for_period(self, office_id: int, kind: str, start: date, end: date,
                         ) -> BulletinRecord | None: ...

    async def list(self, office_id: int, kind: str | None = None,
                   year: int | None = None) -> builtins.list[BulletinRecord]: ...

    async def mark_delivered(self, bulletin_id: int, chat_id: int) -> None: ...


class MatterRepository(Protocol):
    async def add(self, matter: Matter) -> Matter:
        """Insert a newly registered matter and its pending events; sets `matter.id`."""
        ...

    async def save(self, matter: Matter) -> None:
        """Append pending events and update the projection. Raises Conflict if another
        writer saved the same matter since it was loaded."""
        ...

    async def save_many(self, matters: Sequence[Matter]) -> None:
        """`save` for several matters at once (a batch of reports): a few statements
        whatever the count. Raises Conflict as `save` does; then nothing is saved."""
        ...

    async def get(self, matter_id: int) -> Matter: ...

    async def get_many(self, matter_ids: Collection[int]) -> dict[int, Matter]:
        """The matters with these ids, by id; ids not found are left out."""
        ...

    async def find(self, office_id: int, year: int, seq: int) -> Matter: ...

    async def next_seq(self, office_id: int, year: int) -> int: ...

    async def list(self, query: MatterQuery) -> list[Matter]: ...

    async def count(self, query: MatterQuery) -> int: ...

    def batches(self, query: MatterQuery, size: int = 2000,
                ) -> AsyncIterator[builtins.list[Matter]]:
        """The query's matters oldest first (year, seq), a batch at a time."""
        ...

    async def light_counts(self, query: MatterQuery) -> dict[Light, int]:
        """How many matters of the query have each light."""
        ...

    async def work_page(self, query: MatterQuery) -> tuple[builtins.list[int], int]:
        """Matter ids where query.person_id is named on an open assignment, a page of them
        (三个优先 first, then the nearest deadline), and how many there are."""
        ...

    async def recount_lights(self, after_id: int, limit: int) -> tuple[int | None, int]:
        """Recount the stored light of up to `limit` open matters after `after_id`: the last
        id read (None when done) and how many changed."""
        ...

    async def open_assignments(self, office_id: int | None = None, *,
                               matter_ids: Collection[int] | None = None,
                               person_id: int | None = None,
                               after: tuple[int, int] | None = None,
                               limit: int | None = None,
                               ) -> builtins.list[AssignmentRow]:
        """Open assignments; `matter_ids`: only these matters; `person_id`: only those
        naming this person (principal, responsible or handler); `limit`: at most that
        many, in (matter_id, no) order, after the key `after`."""
        ...

    async def paused_ids(self, matter_ids: Collection[int]) -> set[int]:
        """Which of these matters have their reminders paused."""
        ...

    async def set_paused(self, matter_id: int, paused: bool) -> None: ...

    async def add_many(self, matters: builtins.list[Matter]) -> None:
        """`add` for many new matters at once (imports): few statements, one transaction."""
        ...

    async def keys(self, office_id: int) -> builtins.list[MatterKey]: ...


class PeopleRepository(Protocol):
    async def add_office(self, name: str, doc_prefix: str = "督") -> Office: ...

    async def get_office(self, office_id: int) -> Office: ...

    async def offices(self) -> list[Office]: ...

    async def add_unit(self, office_id: int, name: str, parent_id: int | None = None) -> Unit: ...

    async def get_unit(self, unit_id: int) -> Unit: ...

    async def units(self, office_id: int) -> list[Unit]: ...

    async def unit_by_name(self, office_id: int, name: str) -> Unit | None: ...

    async def add_person(self, office_id: int, name: str, roles: frozenset[Role],
                         unit_id: int | None = None, telegram_id: int | None = None) -> Person: ...

    async def get_person(self, person_id: int) -> Person: ...

    async def by_telegram(self, telegram_id: int, office_id: int | None = None,
                          ) -> Person | None: ...

    async def persons(self, office_id: int, unit_id: int | None = None) -> list[Person]: ...

    async def save_person(self, person: Person) -> None: ...


class EventLog(Protocol):
    async def append(self, event: Event) -> None:
        """For events that are not about one matter (people, groups, bulletins)."""
        ...

    async def for_matter(self, matter_id: int) -> list[Event]: ...

    async def since(self, office_id: int, since: datetime,
                    until: datetime | None = None) -> list[Event]: ...

    def batches_since(self, office_id: int, since: datetime, size: int = 5000,
                      ) -> AsyncIterator[builtins.list[Event]]:
        """`since` in (at, id) order, a batch at a time (an export of any size)."""
        ...

    async def changed_matters(self, office_id: int, since: datetime) -> set[int]:
        """Ids of the matters with events at or after `since` (what a re-plan needs,
        without reading the events themselves)."""
        ...


class InviteRepository(Protocol):
    async def add(self, invite: Invite) -> None: ...

    async def get(self, token: str) -> Invite | None: ...

    async def mark_used(self, token: str, at: datetime, person_id: int) -> bool:
        """True only for the one caller that used it first."""
        ...


class ChatRepository(Protocol):
    async def bind(self, chat: GroupChat) -> None: ...

    async def get(self, chat_id: int) -> GroupChat | None: ...

    async def for_office(self, office_id: int) -> list[GroupChat]: ...

    async def remember(self, ref: MessageRef) -> None: ...

    async def remember_many(self, refs: Sequence[MessageRef]) -> None:
        """Several at once; a message already remembered keeps its matter."""
        ...

    async def lookup(self, chat_id: int, message_id: int) -> MessageRef | None: ...


class CardRepository(Protocol):
    """Live cards. Saving a matter (MatterRepository.save/save_many) queues a
    `CARD_EDIT_KIND` notice for each of its cards, so every use case redraws them."""

    async def record(self, card: LiveCard, keep: int | None = None) -> None:
        """Remember a card (again: replaced). `keep`: then forget all but the newest
        `keep` of this chat, matter and layout."""
        ...

    async def get(self, chat_id: int, message_id: int) -> LiveCard | None: ...

    async def for_matter(self, matter_id: int) -> builtins.list[LiveCard]: ...

    async def drop(self, chat_id: int, message_id: int) -> None:
        """Forget a card Telegram will not edit (deleted, too old, chat gone)."""
        ...

    async def shown(self, chat_id: int, message_id: int, digest: str) -> None:
        """What the card shows now (so an edit to the same is not sent)."""
        ...

    async def redraw(self, matter_id: int, at: datetime,
                     message: tuple[int, int] | None = None, tag: str = "") -> int:
        """Queue a redraw of the matter's cards (or of one of them); returns how many.
        Once per matter version and card, unless `tag` differs."""
        ...


class Outbox(Protocol):
    async def add(self, notice: Notice) -> bool:
        """Queue it; False (and nothing written) when its key is already queued or sent."""
        ...

    async def add_many(self, notices: Sequence[Notice]) -> int:
        """`add` for many at once (the reminder planner): one statement, insert-ignore by
        key; returns how many were new. Does not set the notices' ids."""
        ...

    async def skip(self, notice_id: int, reason: str) -> None:
        """Cancel one pending notice that is no longer due (found stale at send time)."""
        ...

    async def due(self, now: datetime, limit: int = 100) -> list[Notice]: ...

    async def next_due_at(self) -> datetime | None: ...

    async def mark_sent(self, notice_id: int, at: datetime) -> None: ...

    async def mark_retry(self, notice_id: int, error: str, retry_at: datetime) -> None: ...

    async def mark_failed(self, notice_id: int, error: str) -> None: ...

    async def cancel(self, matter_id: int, kinds: frozenset[str] | None = None) -> int:
        """Cancel the matter's pending notices (of `kinds`; None: all but STATE_KINDS)."""
        ...

    async def for_person(self, person_id: int, limit: int = 20) -> list[Notice]: ...

    async def by_keys(self, keys: Collection[str]) -> list[Notice]:
        """The notices with these keys (any status)."""
        ...

    async def note(self, notice_id: int, payload: dict[str, Any]) -> None:
        """Replace a notice's payload (a sender keeping its progress through parts)."""
        ...


@dataclass(frozen=True)
class EnteredYear:
    """A year's holiday arrangement as the office entered it, with who and when."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    entered_by: int | None
    entered_by_name: str
    entered_at: datetime


class HolidayRepository(Protocol):
    async def add(self, entry: EnteredYear) -> None: ...

    async def latest(self) -> list[EnteredYear]:
        """The entry in force of each entered year (the latest), by year."""
        ...


class ReceiptRepository(Protocol):
    """已阅 receipts (ledger.receipts): the notices that ask to be acknowledged."""

    async def add(self, receipt: Receipt) -> Receipt:
        """Insert with its readers; returns it with its id."""
        ...

    async def add_many(self, many: Sequence[Receipt]) -> builtins.list[Receipt]:
        """`add` for many at once (a batch of urges), ids set in order."""
        ...

    async def get(self, receipt_id: int) -> Receipt | None: ...

    async def mark_read(self, receipt_id: int, person_id: int, unit_id: int | None,
                        at: datetime) -> bool:
        """Record that the person read it (a reader not expected is added, expected
        False); False when they had read it already."""
        ...

    async def posted(self, receipt_id: int, chat_id: int, message_id: int,
                     person_id: int | None = None) -> None:
        """Where the message carrying the receipt's button went: to a person's private
        chat (person_id), or a group post (None)."""
        ...

    async def unread(self, office_id: int, limit: int = 200) -> builtins.list[Receipt]:
        """The office's receipts someone expected has not read yet, oldest first."""
        ...
class OfficeRepository(Protocol):
    """The offices of one deployment and an account's bindings across them (issue 16)."""

    async def add(self, name: str, doc_prefix: str, parent_id: int | None) -> Office:
        """Refuses (InvalidInput) a name or prefix already used."""
        ...

    async def all(self) -> list[Office]: ...

    async def by_name(self, name: str) -> Office | None: ...

    async def by_prefix(self, doc_prefix: str) -> Office | None: ...

    async def bindings(self, telegram_id: int) -> list[Person]:
        """The person rows bound to the account, at most one per office."""
        ...

    async def chosen(self, telegram_id: int) -> int | None:
        """The office the account's private chat works in (/office), if chosen."""
        ...

    async def choose(self, telegram_id: int, office_id: int, at: datetime) -> None: ...

    async def office_of_matter(self, matter_id: int) -> int | None: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    matters: MatterRepository
    people: PeopleRepository
    events: EventLog
    invites: InviteRepository
    chats: ChatRepository
    outbox: Outbox
    bulletins: BulletinRepository
    records: RecordRepository
    posts: PublicPostRepository
    holidays: HolidayRepository
    receipts: ReceiptRepository
    cards: CardRepository
    offices: OfficeRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
