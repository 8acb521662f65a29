"""Hand-written in-memory fakes of ledger.ports, for fast use-case tests.

They copy matters in and out through the same JSON snapshot storage uses, so a test
cannot pass by sharing a mutable object with the "database".
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Self

from ledger.errors import Conflict, NotFound
from ledger.lights import LightStamp
from ledger.model import (
    Event,
    Light,
    Matter,
    MatterStatus,
    Office,
    Person,
    Role,
    Unit,
)
from ledger.ports import (
    AssignmentRow,
    GroupChat,
    Invite,
    LiveCard,
    MatterQuery,
    MessageRef,
    Notice,
)
from ledger.receipts import Reader, Receipt
from storage.matter_json import matter_from_json, matter_to_json
from storage.repositories.matters import default_stamp


class Store:
    """The fake database shared by every FakeUnitOfWork of one test."""

    def __init__(self) -> None:
        self.offices: dict[int, Office] = {}
        self.units: dict[int, Unit] = {}
        self.persons: dict[int, Person] = {}
        self.matters: dict[int, dict[str, object]] = {}
        self.paused: set[int] = set()
        self.events: list[Event] = []
        self.invites: dict[str, Invite] = {}
        self.chats: dict[int, GroupChat] = {}
        self.refs: dict[tuple[int, int], MessageRef] = {}
        self.outbox: list[Notice] = []
        self.receipts: dict[int, Receipt] = {}
        self.cards: dict[tuple[int, int], LiveCard] = {}
        self.choices: dict[int, int] = {}  # telegram id → office id (/office)
        self.commits = 0
        # What the stored light is counted with; the fake counts it on every read (as
        # if the daily recount had just run).
        self.lights: LightStamp = default_stamp()


class _Matters:
    def __init__(self, s: Store, staged: Store) -> None:
        self.s, self.t = s, staged

    async def add(self, m: Matter) -> Matter:
        m.id = max(self.t.matters, default=0) + 1
        for i, e in enumerate(m.pending):
            self.t.events.append(replace(e, matter_id=m.id, id=len(self.t.events) + 1 + i))
        m.pending.clear()
        self.t.matters[m.id] = copy.deepcopy(matter_to_json(m))
        return m

    async def save(self, m: Matter) -> None:
        assert m.id is not None
        stored = self.t.matters[m.id]
        if stored["version"] != m.version - len(m.pending):
            raise Conflict("这件事项刚被别人修改过，请重试。")
        for e in m.pending:
            self.t.events.append(replace(e, matter_id=m.id, id=len(self.t.events) + 1))
        m.pending.clear()
        self.t.matters[m.id] = copy.deepcopy(matter_to_json(m))

    async def save_many(self, ms: Sequence[Matter]) -> None:
        for m in ms:
            await self.save(m)

    async def get_many(self, matter_ids: Collection[int]) -> dict[int, Matter]:
        return {i: await self.get(i) for i in matter_ids if i in self.t.matters}

    async def get(self, matter_id: int) -> Matter:
        if matter_id not in self.t.matters:
            raise NotFound("找不到这件事项。")
        return matter_from_json(copy.deepcopy(self.t.matters[matter_id]))

    async def find(self, office_id: int, year: int, seq: int) -> Matter:
        for d in self.t.matters.values():
            if (d["office_id"], d["year"], d["seq"]) == (office_id, year, seq):
                return matter_from_json(copy.deepcopy(d))
        raise NotFound("找不到这件事项。")

    async def next_seq(self, office_id: int, year: int) -> int:
        return 1 + max((int(str(d["seq"])) for d in self.t.matters.values()
                        if d["office_id"] == office_id and d["year"] == year), default=0)

    def _all(self, q: MatterQuery) -> list[Matter]:
        out = []
        for d in self.t.matters.values():
            m = matter_from_json(copy.deepcopy(d))
            if m.office_id != q.office_id:
                continue
            if q.statuses is not None and m.status not in q.statuses:
                continue
            if q.unit_id is not None and q.unit_id not in m.unit_ids():
                continue
            if q.person_id is not None and not m.names(q.person_id):
                continue
            if not q.include_confidential and m.confidential:
                continue
            if q.overdue_on is not None and not any(
                    a.is_open and a.effective_deadline < q.overdue_on for a in m.assignments):
                continue
            if q.text and q.text not in m.title and q.text not in m.number:
                continue
            if q.light is not None and self.s.lights.of(m) != q.light:
                continue
            out.append(m)
        out.sort(key=lambda m: (-m.year, -m.seq))
        return out

    async def list(self, q: MatterQuery) -> list[Matter]:
        found = self._all(q)[q.offset:]
        return found[: q.limit] if q.limit is not None else found

    async def count(self, q: MatterQuery) -> int:
        return len(self._all(q))

    async def light_counts(self, q: MatterQuery) -> dict[Light, int]:
        out = dict.fromkeys(Light, 0)
        for m in self._all(q):
            out[self.s.lights.of(m)] += 1
        return out

    async def work_page(self, q: MatterQuery) -> tuple[list[int], int]:
        assert q.person_id is not None
        p = q.person_id
        found = []
        for m in self._all(replace(q, person_id=None)):
            due = [a.effective_deadline for a in m.assignments if a.is_open and p in (
                a.principal_id, a.responsible_id, a.handler_id)]
            if due and m.id is not None:
                found.append((not m.priority, min(due), m.id))
        ids = [i for *_, i in sorted(found)][q.offset:]
        return (ids[: q.limit] if q.limit is not None else ids), len(found)

    async def recount_lights(self, after_id: int, limit: int) -> tuple[int | None, int]:
        return None, 0  # counted on every read

    async def open_assignments(self, office_id: int | None = None, *,
                               matter_ids: Collection[int] | None = None,
                               person_id: int | None = None,
                               after: tuple[int, int] | None = None,
                               limit: int | None = None) -> list[AssignmentRow]:
        rows = []
        for d in self.t.matters.values():
            m = matter_from_json(copy.deepcopy(d))
            if m.status in (MatterStatus.CLOSED, MatterStatus.CANCELLED):
                continue
            if office_id is not None and m.office_id != office_id:
                continue
            assert m.id is not None
            if matter_ids is not None and m.id not in matter_ids:
                continue
            for a in m.assignments:
                if a.is_open and (person_id is None or a.names(person_id)):
                    rows.append(AssignmentRow(
                        matter_id=m.id, no=a.no, office_id=m.office_id, klass=m.klass.value,
                        confidential=m.confidential, status=a.status, unit_id=a.unit_id,
                        principal_id=a.principal_id, responsible_id=a.responsible_id,
                        handler_id=a.handler_id, deadline=a.effective_deadline,
                        assigned_at=a.assigned_at, last_progress_at=a.last_progress_at,
                        urge_limit=a.urge_limit, urge_count=a.urge_count,
                        criticized=a.criticized, paused=m.id in self.t.paused))
        if limit is not None:
            rows = sorted((r for r in rows if after is None or (r.matter_id, r.no) > after),
                          key=lambda r: (r.matter_id, r.no))[:limit]
        return rows

    async def set_paused(self, matter_id: int, paused: bool) -> None:
        (self.t.paused.add if paused else self.t.paused.discard)(matter_id)

    async def paused_ids(self, matter_ids: Collection[int]) -> set[int]:
        return set(matter_ids) & self.t.paused


class _People:
    def __init__(self, t: Store) -> None:
        self.t = t

    async def add_office(self, name: str, doc_prefix: str = "督") -> Office:
        o = Office(len(self.t.offices) + 1, name, doc_prefix)
        self.t.offices[o.id] = o
        return o

    async def get_office(self, office_id: int) -> Office:
        return self.t.offices[office_id]

    async def offices(self) -> list[Office]:
        return list(self.t.offices.values())

    async def add_unit(self, office_id: int, name: str, parent_id: int | None = None) -> Unit:
        u = Unit(len(self.t.units) + 1, office_id, name, parent_id)
        self.t.units[u.id] = u
        return u

    async def get_unit(self, unit_id: int) -> Unit:
        if unit_id not in self.t.units:
            raise NotFound("找不到该单位。")
        return self.t.units[unit_id]

    async def units(self, office_id: int) -> list[Unit]:
        return [u for u in self.t.units.values() if u.office_id == office_id]

    async def unit_by_name(self, office_id: int, name: str) -> Unit | None:
        return next((u for u in self.t.units.values()
                     if u.office_id == office_id and u.name == name), None)

    async def add_person(self, office_id: int, name: str, roles: frozenset[Role],
                         unit_id: int | None = None, telegram_id: int | None = None) -> Person:
        p = Person(len(self.t.persons) + 1, office_id, name, roles, unit_id, telegram_id)
        self.t.persons[p.id] = p
        return p

    async def get_person(self, person_id: int) -> Person:
        if person_id not in self.t.persons:
            raise NotFound("找不到此人。")
        return self.t.persons[person_id]

    async def by_telegram(self, telegram_id: int, office_id: int | None = None,
                          ) -> Person | None:
        return next((p for p in self.t.persons.values() if p.telegram_id == telegram_id
                     and office_id in (None, p.office_id)), None)

    async def persons(self, office_id: int, unit_id: int | None = None) -> list[Person]:
        return [p for p in self.t.persons.values() if p.office_id == office_id
                and (unit_id is None or p.unit_id == unit_id)]

    async def save_person(self, person: Person) -> None:
        self.t.persons[person.id] = person


class _Offices:
    """ledger.ports.OfficeRepository over the same store (issue 16)."""

    def __init__(self, t: Store) -> None:
        self.t = t

    async def add(self, name: str, doc_prefix: str, parent_id: int | None) -> Office:
        o = Office(len(self.t.offices) + 1, name, doc_prefix, parent_id)
        self.t.offices[o.id] = o
        return o

    async def all(self) -> list[Office]:
        return list(self.t.offices.values())

    async def by_name(self, name: str) -> Office | None:
        return next((o for o in self.t.offices.values() if o.name == name), None)

    async def by_prefix(self, doc_prefix: str) -> Office | None:
        return next((o for o in self.t.offices.values() if o.doc_prefix == doc_prefix), None)

    async def bindings(self, telegram_id: int) -> list[Person]:
        return sorted((p for p in self.t.persons.values() if p.telegram_id == telegram_id),
                      key=lambda p: (p.office_id, p.id))

    async def chosen(self, telegram_id: int) -> int | None:
        return self.t.choices.get(telegram_id)

    async def choose(self, telegram_id: int, office_id: int, at: datetime) -> None:
        self.t.choices[telegram_id] = office_id

    async def office_of_matter(self, matter_id: int) -> int | None:
        data = self.t.matters.get(matter_id)
        return None if data is None else int(str(data["office_id"]))


class _Events:
    def __init__(self, t: Store) -> None:
        self.t = t

    async def append(self, event: Event) -> None:
        self.t.events.append(replace(event, id=len(self.t.events) + 1))

    async def for_matter(self, matter_id: int) -> list[Event]:
        return [e for e in self.t.events if e.matter_id == matter_id]

    async def changed_matters(self, office_id: int, since: datetime) -> set[int]:
        return {e.matter_id for e in self.t.events
                if e.office_id == office_id and e.at >= since and e.matter_id is not None}

    async def since(self, office_id: int, since: datetime,
                    until: datetime | None = None) -> list[Event]:
        return [e for e in self.t.events if e.office_id == office_id and e.at >= since
                and (until is None or e.at < until)]


class _Invites:
    def __init__(self, t: Store) -> None:
        self.t = t

    async def add(self, invite: Invite) -> None:
        self.t.invites[invite.token] = invite

    async def get(self, token: str) -> Invite | None:
        return self.t.invites.get(token)

    async def mark_used(self, token: str, at: datetime, person_id: int) -> bool:
        inv = self.t.invites[token]
        if inv.used_at is not None:
            return False
        self.t.invites[token] = replace(inv, used_at=at, person_id=person_id)
        return True


class _Chats:
    def __init__(self, t: Store) -> None:
        self.t = t

    async def bind(self, chat: GroupChat) -> None:
        self.t.chats[chat.chat_id] = chat

    async def get(self, chat_id: int) -> GroupChat | None:
        return self.t.chats.get(chat_id)

    async def for_office(self, office_id: int) -> list[GroupChat]:
        return [c for c in self.t.chats.values() if c.office_id == office_id]

    async def remember(self, ref: MessageRef) -> None:
        self.t.refs[(ref.chat_id, ref.message_id)] = ref

    async def remember_many(self, refs: Sequence[MessageRef]) -> None:
        for ref in refs:
            self.t.refs.setdefault((ref.chat_id, ref.message_id), ref)

    async def lookup(self, chat_id: int, message_id: int) -> MessageRef | None:
        return self.t.refs.get((chat_id, message_id))


class _Outbox:
    def __init__(self, t: Store) -> None:
        self.t = t

    async def add(self, notice: Notice) -> bool:
        if any(n.key == notice.key for n in self.t.outbox):
            return False
        self.t.outbox.append(replace(notice, id=len(self.t.outbox) + 1))
        return True

    async def add_many(self, notices: Sequence[Notice]) -> int:
        return sum([await self.add(n) for n in notices])

    async def skip(self, notice_id: int, reason: str) -> None:
        n = next(x for x in self.t.outbox if x.id == notice_id)
        if n.status == "pending":
            self._set(notice_id, status="cancelled", last_error=reason)

    async def due(self, now: datetime, limit: int = 100) -> list[Notice]:
        ready = [n for n in self.t.outbox if n.status == "pending"
                 and (n.next_try_at or n.due_at) <= now]
        return sorted(ready, key=lambda n: n.next_try_at or n.due_at)[:limit]

    async def next_due_at(self) -> datetime | None:
        return min((n.next_try_at or n.due_at for n in self.t.outbox
                    if n.status == "pending"), default=None)

    def _set(self, notice_id: int, **kw: object) -> None:
        for i, n in enumerate(self.t.outbox):
            if n.id == notice_id:
                self.t.outbox[i] = replace(n, **kw)  # type: ignore[arg-type]

    async def mark_sent(self, notice_id: int, at: datetime) -> None:
        self._set(notice_id, status="sent", sent_at=at)

    async def mark_retry(self, notice_id: int, error: str, retry_at: datetime) -> None:
        n = next(x for x in self.t.outbox if x.id == notice_id)
        self._set(notice_id, attempts=n.attempts + 1, last_error=error, next_try_at=retry_at)

    async def mark_failed(self, notice_id: int, error: str) -> None:
        self._set(notice_id, status="failed", last_error=error)

    async def cancel(self, matter_id: int, kinds: frozenset[str] | None = None) -> int:
        count = 0
        for i, n in enumerate(self.t.outbox):
            if n.matter_id == matter_id and n.status == "pending" and (
                    kinds is None or n.kind in kinds):
                self.t.outbox[i] = replace(n, status="cancelled")
                count += 1
        return count

    async def for_person(self, person_id: int, limit: int = 20) -> list[Notice]:
        return [n for n in self.t.outbox if n.person_id == person_id][:limit]


class _Receipts:
    def __init__(self, t: Store) -> None:
        self.t = t

    async def add(self, receipt: Receipt) -> Receipt:
        receipt.id = len(self.t.receipts) + 1
        self.t.receipts[receipt.id] = copy.deepcopy(receipt)
        return receipt

    async def add_many(self, many: Sequence[Receipt]) -> list[Receipt]:
        return [await self.add(r) for r in many]

    async def get(self, receipt_id: int) -> Receipt | None:
        return copy.deepcopy(self.t.receipts.get(receipt_id))

    async def mark_read(self, receipt_id: int, person_id: int, unit_id: int | None,
                        at: datetime) -> bool:
        r = self.t.receipts[receipt_id]
        old = r.reader(person_id)
        if old is not None and old.read_at is not None:
            return False
        r.readers = [x for x in r.readers if x.person_id != person_id] + [
            Reader(person_id, unit_id, old is not None, at)]
        return True

    async def posted(self, receipt_id: int, chat_id: int, message_id: int,
                     person_id: int | None = None) -> None:
        return None

    async def unread(self, office_id: int, limit: int = 200) -> list[Receipt]:
        return [copy.deepcopy(r) for r in self.t.receipts.values()
                if r.office_id == office_id and not r.done][:limit]


def _copy(store: Store) -> Store:
    # the light's calendar and clock are the test's own, not copies frozen in time
    return copy.deepcopy(store, {id(store.lights): store.lights})
class _Cards:
    """Live cards, without the redraws a save queues (storage does that)."""

    def __init__(self, t: Store) -> None:
        self.t = t

    async def record(self, card: LiveCard, keep: int | None = None) -> None:
        self.t.cards[(card.chat_id, card.message_id)] = card

    async def get(self, chat_id: int, message_id: int) -> LiveCard | None:
        return self.t.cards.get((chat_id, message_id))

    async def for_matter(self, matter_id: int) -> list[LiveCard]:
        return [c for c in self.t.cards.values() if c.matter_id == matter_id]

    async def drop(self, chat_id: int, message_id: int) -> None:
        self.t.cards.pop((chat_id, message_id), None)

    async def shown(self, chat_id: int, message_id: int, digest: str) -> None:
        card = self.t.cards.get((chat_id, message_id))
        if card is not None:
            self.t.cards[(chat_id, message_id)] = replace(card, digest=digest)

    async def redraw(self, matter_id: int, at: datetime,
                     message: tuple[int, int] | None = None, tag: str = "") -> int:
        return 0


class FakeUnitOfWork:
    """Stages changes on a copy of the store; commit swaps it in, anything else drops it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __aenter__(self) -> Self:
        self.staged = _copy(self.store)
        self.matters = _Matters(self.store, self.staged)
        self.people = _People(self.staged)
        self.offices = _Offices(self.staged)
        self.events = _Events(self.staged)
        self.invites = _Invites(self.staged)
        self.chats = _Chats(self.staged)
        self.outbox = _Outbox(self.staged)
        self.receipts = _Receipts(self.staged)
        self.cards = _Cards(self.staged)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.staged = _copy(self.store)

    async def commit(self) -> None:
        self.staged.commits = self.store.commits + 1
        self.store.__dict__.update(_copy(self.staged).__dict__)

    async def rollback(self) -> None:
        self.staged = _copy(self.store)
