"""Matters and their assignments (the ledger aggregate), read and written."""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from dataclasses import fields, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

from ledger.clock import SystemClock
from ledger.errors import Conflict, NotFound
from ledger.lights import LightPolicy, LightStamp
from ledger.model import (
    AssignmentStatus,
    Event,
    Light,
    Matter,
    MatterStatus,
)
from ledger.ports import (
    AssignmentRow,
    MatterKey,
    MatterQuery,
)
from ledger.reporting import gc_paused
from ledger.workcalendar import WorkCalendar
from storage.bulk import driver_insert, driver_rows, insert_rows
from storage.matter_json import matter_from_json, matter_to_json
from storage.repositories._common import (
    _IN_CHUNK,
    _OPEN_ASSIGNMENT,
    CONFLICT_MESSAGE,
    _new_id,
    _violates,
)
from storage.tables import (
    assignments,
    events,
    matters,
)


def _matter_values(m: Matter, light: str) -> dict[str, Any]:
    return {
        "office_id": m.office_id, "year": m.year, "seq": m.seq, "number": m.number,
        "title": m.title, "status": m.status.value, "confidential": m.confidential,
        "klass": m.klass.value, "source": m.source.value,
        "registered_at": m.registered_at, "closed_at": m.closed_at,
        "cancelled_at": m.cancelled_at, "version": m.version, "state": matter_to_json(m),
        "priority": m.priority, "light": light,
    }


def _assignment_rows(m: Matter, paused: bool) -> builtins.list[dict[str, Any]]:
    assert m.id is not None
    return [{
        "matter_id": m.id, "no": a.no, "office_id": m.office_id, "klass": m.klass.value,
        "confidential": m.confidential, "paused": paused, "parent_no": a.parent_no,
        "lead": a.lead, "unit_id": a.unit_id, "principal_id": a.principal_id,
        "responsible_id": a.responsible_id, "handler_id": a.handler_id,
        "status": a.status.value, "deadline": a.effective_deadline,
        "assigned_at": a.assigned_at, "last_progress_at": a.last_progress_at,
        "urge_limit": a.urge_limit, "urge_count": a.urge_count, "criticized": a.criticized,
    } for a in m.assignments]


def _event_values(e: Event, matter_seq: int | None, matter_id: int | None = None,
                  ) -> dict[str, Any]:
    return {
        "office_id": e.office_id, "at": e.at, "actor_id": e.actor_id, "kind": e.kind,
        "matter_id": e.matter_id if matter_id is None else matter_id, "matter_seq": matter_seq,
        "assignment_no": e.assignment_no, "person_id": e.person_id,
        "before": e.before, "after": e.after,
    }


_MATTER_COLUMNS = ("id", "office_id", "year", "seq", "number", "title", "status", "confidential",
                   "klass", "source", "registered_at", "closed_at", "cancelled_at", "version",
                   "state", "priority", "light")
_EVENT_COLUMNS = ("office_id", "at", "actor_id", "kind", "matter_id", "matter_seq",
                  "assignment_no", "person_id", "before", "after")
_ASSIGNMENT_COLUMNS = ("matter_id", "no", "office_id", "klass", "confidential", "paused",
                       "parent_no", "lead", "unit_id", "principal_id", "responsible_id",
                       "handler_id", "status", "deadline", "assigned_at", "last_progress_at",
                       "urge_limit", "urge_count", "criticized")


def _event(row: Row[Any]) -> Event:
    return Event(kind=row.kind, at=row.at, actor_id=row.actor_id, office_id=row.office_id,
                 matter_id=row.matter_id, assignment_no=row.assignment_no,
                 person_id=row.person_id, before=row.before, after=row.after, id=row.id)


def _matter(row: Row[Any]) -> Matter:
    state = dict(row.state)
    # The columns are authoritative for identity and the concurrency token.
    state["id"] = row.id
    state["version"] = row.version
    return matter_from_json(state)


_STATUS = {s.value: s for s in AssignmentStatus}
_ON_LOOP = 100  # a page of at most this many matters is decoded on the event loop
_OPEN_MATTER = sorted(s.value for s in (MatterStatus.REGISTERED, MatterStatus.IN_PROGRESS,
                                         MatterStatus.COMPLETION_REQUESTED))




def _assignment_rows_native(rows: Iterable[Sequence[Any]]) -> builtins.list[AssignmentRow]:
    st = _STATUS
    return [AssignmentRow(r[0], r[1], r[2], r[3], bool(r[4]), st[r[5]], r[6], r[7], r[8],
                          r[9], r[10], r[11], r[12], r[13], r[14], bool(r[15]), bool(r[16]))
            for r in rows]


_ROW_FIELDS = tuple(f.name for f in fields(AssignmentRow))
# AssignmentRow is a frozen dataclass: its __init__ sets each of 17 fields through
# object.__setattr__, which is a third of a 100k-row scan. Filling the instance dict
# directly makes the same objects (equal, hashable, same repr) in half the time; fall
# back to the constructor should the class ever use slots or validate in __post_init__.
_FILL_DICT = not hasattr(AssignmentRow, "__slots__") and \
    not hasattr(AssignmentRow, "__post_init__")


def _sqlite_assignment_rows(rows: Iterable[Sequence[Any]]) -> builtins.list[AssignmentRow]:
    """Rows of raw SQLite values (dates and UTC datetimes as SQLAlchemy's text format)."""
    st, day, moment = _STATUS, date.fromisoformat, datetime.fromisoformat
    values = [(mid, no, office, klass, conf == 1, st[status], unit, principal, responsible,
               handler, day(deadline), moment(assigned + "+00:00"),
               None if progress is None else moment(progress + "+00:00"),
               None if limit is None else day(limit), urges, crit == 1, paused == 1)
              for (mid, no, office, klass, conf, status, unit, principal, responsible, handler,
                   deadline, assigned, progress, limit, urges, crit, paused) in rows]
    if not _FILL_DICT:
        return [AssignmentRow(*v) for v in values]
    new, names, out = object.__new__, _ROW_FIELDS, []
    for v in values:
        row = new(AssignmentRow)
        row.__dict__.update(zip(names, v, strict=True))
        out.append(row)
    return out


@functools.cache
def default_stamp() -> LightStamp:
    """The light of a unit of work made without one (tests, tools): the statutory calendar
    and default thresholds. The bot passes its own (storage.uow.uow_factory)."""
    return LightStamp(WorkCalendar(), SystemClock(), LightPolicy())


def _decode_batch(result: Any) -> tuple[builtins.list[Matter], tuple[int, int] | None]:
    """A keyset batch's matters and where the next begins (run in a thread)."""
    rows = result.all()
    with gc_paused():
        return [_matter(r) for r in rows], (rows[-1].year, rows[-1].seq) if rows else None


class SqlMatterRepository:
    def __init__(self, conn: AsyncConnection, lights: LightStamp | None = None) -> None:
        self._conn = conn
        self._lights = lights or default_stamp()

    def _values(self, m: Matter, today: date | None = None) -> dict[str, Any]:
        return _matter_values(m, self._lights.of(m, today).value)

    async def _append_events(self, m: Matter, first_seq: int) -> None:
        assert m.id is not None
        rows = [_event_values(e, first_seq + i, m.id) for i, e in enumerate(m.pending)]
        await self._insert_events(rows)

    async def _insert_events(self, rows: builtins.list[dict[str, Any]]) -> None:
        """A taken (matter_id, matter_seq): another writer saved the matter first."""
        if not rows:
            return
        try:
            await insert_rows(self._conn, events, rows)
        except IntegrityError as exc:
            if _violates(exc, "uq_events_matter_id_matter_seq",
                         "events.matter_id, events.matter_seq"):
                raise Conflict(CONFLICT_MESSAGE) from exc
            raise

    async def _write_assignments(self, m: Matter, paused: bool) -> None:
        rows = _assignment_rows(m, paused)
        if rows:
            await self._conn.execute(insert(assignments), rows)

    async def add(self, matter: Matter) -> Matter:
        if matter.id is not None:
            raise ValueError(f"matter {matter.id} is already stored; use save()")
        if not matter.pending or matter.pending[0].kind != "registered":
            raise ValueError("a new matter's pending events must start with its registration")
        if matter.version != len(matter.pending):
            raise ValueError("a new matter's version must equal its pending event count")
        try:
            result = await self._conn.execute(insert(matters), self._values(matter))
        except IntegrityError as exc:
            if _violates(exc, "uq_matters_office_id_year_seq",
                         "matters.office_id, matters.year, matters.seq"):
                raise Conflict(f"事项编号 {matter.number} 刚被占用，请重试。") from exc
            raise
        matter.id = _new_id(result)
        # The snapshot needs the id, known only now.
        await self._conn.execute(
            update(matters).where(matters.c.id == matter.id)
            .values(state=matter_to_json(matter)))
        await self._append_events(matter, 1)
        await self._write_assignments(matter, paused=False)
        matter.pending.clear()
        return matter

    async def save(self, matter: Matter) -> None:
        if matter.id is None:
            raise ValueError("matter has no id yet; use add()")
        if not matter.pending:
            return
        loaded_at = matter.version - len(matter.pending)
        # Take the row first: a concurrent writer that saved since we loaded makes this
        # match nothing. The events' unique (matter_id, matter_seq) is the second guard.
        row = (await self._conn.execute(
            update(matters)
            .where(matters.c.id == matter.id, matters.c.version == loaded_at)
            .values(self._values(matter))
            .returning(matters.c.paused))).first()
        if row is None:
            raise Conflict(CONFLICT_MESSAGE)
        await self._append_events(matter, loaded_at + 1)
        await self._conn.execute(delete(assignments).where(assignments.c.matter_id == matter.id))
        await self._write_assignments(matter, paused=bool(row.paused))
        matter.pending.clear()

    async def save_many(self, matters_: Sequence[Matter]) -> None:
        todo = [m for m in matters_ if m.pending]
        if len(todo) <= 1:
            for m in todo:
                await self.save(m)
            return
        ids = [m.id for m in todo]
        if None in ids or len(set(ids)) != len(ids):
            raise ValueError("save_many: each matter once, and stored already")
        loaded_at = {m.id: m.version - len(m.pending) for m in todo}
        today = self._lights.today()
        # The same guards as `save`, as one executemany each: the version in the row, then
        # the events' unique (matter_id, matter_seq).
        result = await self._conn.execute(
            update(matters).where(matters.c.id == bindparam("_id"),
                                  matters.c.version == bindparam("_loaded")),
            [{**self._values(m, today), "_id": m.id, "_loaded": loaded_at[m.id]}
             for m in todo])
        if self._conn.dialect.supports_sane_multi_rowcount and result.rowcount != len(todo):
            raise Conflict(CONFLICT_MESSAGE)
        await self._insert_events([_event_values(e, loaded_at[m.id] + 1 + i, m.id)
                                   for m in todo for i, e in enumerate(m.pending)])
        paused: dict[int, bool] = {r[0]: bool(r[1]) for r in await self._conn.execute(
            select(matters.c.id, matters.c.paused).where(matters.c.id.in_(ids)))}
        await self._conn.execute(delete(assignments).where(assignments.c.matter_id.in_(ids)))
        a_rows = [row for m in todo for row in _assignment_rows(m, paused=paused[m.id or 0])]
        await insert_rows(self._conn, assignments, a_rows)
        for m in todo:
            m.pending.clear()

    async def get_many(self, matter_ids: Collection[int]) -> dict[int, Matter]:
        ids = builtins.list(dict.fromkeys(matter_ids))
        if not ids:
            return {}
        rows = await self._conn.execute(
            select(matters.c.id, matters.c.version, matters.c.state)
            .where(matters.c.id.in_(ids)))
        return {r.id: _matter(r) for r in rows}

    async def get(self, matter_id: int) -> Matter:
        row = (await self._conn.execute(
            select(matters.c.id, matters.c.version, matters.c.state)
            .where(matters.c.id == matter_id))).first()
        if row is None:
            raise NotFound("找不到这件事项。")
        return _matter(row)

    async def find(self, office_id: int, year: int, seq: int) -> Matter:
        row = (await self._conn.execute(
            select(matters.c.id, matters.c.version, matters.c.state).where(
                matters.c.office_id == office_id, matters.c.year == year,
                matters.c.seq == seq))).first()
        if row is None:
            raise NotFound(f"找不到 {year} 年第 {seq} 号事项。")
        return _matter(row)

    async def next_seq(self, office_id: int, year: int) -> int:
        current = (await self._conn.execute(
            select(func.max(matters.c.seq))
            .where(matters.c.office_id == office_id, matters.c.year == year))).scalar()
        return int(current or 0) + 1

    @staticmethod
    def _where(q: MatterQuery) -> builtins.list[ColumnElement[bool]]:
        where: builtins.list[ColumnElement[bool]] = [matters.c.office_id == q.office_id]
        if q.statuses is not None:
            where.append(matters.c.status.in_(sorted(s.value for s in q.statuses)))
        if not q.include_confidential:
            where.append(matters.c.confidential == false())
        if q.year is not None:
            where.append(matters.c.year == q.year)
        if q.registered_from is not None:
            where.append(matters.c.registered_at >= q.registered_from)
        if q.registered_to is not None:
            where.append(matters.c.registered_at < q.registered_to)
        if q.light is not None:
            where.append(matters.c.light == q.light.value)
        if q.text:
            where.append(or_(matters.c.number.icontains(q.text, autoescape=True),
                             matters.c.title.icontains(q.text, autoescape=True)))
        # Assignment filters hold for one and the same assignment: "unit 5's overdue
        # matters" means unit 5's own assignment is overdue.
        a = assignments.alias("a")
        on: builtins.list[ColumnElement[bool]] = []
        if q.unit_id is not None:
            on.append(a.c.unit_id == q.unit_id)
        if q.person_id is not None:
            on.append(or_(a.c.principal_id == q.person_id, a.c.responsible_id == q.person_id,
                          a.c.handler_id == q.person_id))
        if q.overdue_on is not None:
            on.append(and_(a.c.status.in_(_OPEN_ASSIGNMENT), a.c.deadline < q.overdue_on))
        if q.due_by is not None:
            on.append(and_(a.c.status.in_(_OPEN_ASSIGNMENT), a.c.deadline <= q.due_by))
        if on:
            # IN (the matching assignments' matter ids), not a correlated EXISTS: the index on
            # the person or unit finds the few, instead of a probe per matter of the office.
            where.append(matters.c.id.in_(select(a.c.matter_id).where(*on)))
        return where

    async def list(self, query: MatterQuery) -> builtins.list[Matter]:
        stmt = (select(matters.c.id, matters.c.version, matters.c.state)
                .where(*self._where(query))
                .order_by(matters.c.priority.desc(), matters.c.year.desc(),
                          matters.c.seq.desc()))
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        if query.offset:
            stmt = stmt.offset(query.offset)
        result = await self._conn.execute(stmt)  # buffered: the rows are fetched already
        if query.limit is not None and query.limit <= _ON_LOOP:
            return [_matter(row) for row in result]

        def build() -> builtins.list[Matter]:
            with gc_paused():  # many small objects, no cycles
                return [_matter(row) for row in result.all()]
        # Decoding a whole ledger's snapshots (a bulletin, an export) takes seconds at
        # 100k: in a thread, so every chat keeps being answered meanwhile.
        return await asyncio.to_thread(build)

    async def batches(self, query: MatterQuery, size: int = 2000,
                      ) -> AsyncIterator[builtins.list[Matter]]:
        """The query's matters oldest first (year, seq), `size` at a time by keyset: an
        export of any size holds one batch in memory, and no OFFSET is rescanned."""
        where = self._where(query)
        after: tuple[int, int] | None = None
        while True:
            stmt = select(matters.c.id, matters.c.version, matters.c.state, matters.c.year,
                          matters.c.seq).where(*where)
            if after is not None:
                stmt = stmt.where(or_(matters.c.year > after[0], and_(
                    matters.c.year == after[0], matters.c.seq > after[1])))
            result = await self._conn.execute(
                stmt.order_by(matters.c.year, matters.c.seq).limit(size))

            batch, after = await asyncio.to_thread(_decode_batch, result)
            if not batch:
                return
            yield batch
            if len(batch) < size:
                return

    async def count(self, query: MatterQuery) -> int:
        n = (await self._conn.execute(
            select(func.count()).select_from(matters).where(*self._where(query)))).scalar()
        return int(n or 0)

    async def light_counts(self, query: MatterQuery) -> dict[Light, int]:
        """How many matters of the query have each light (one COUNT over the index)."""
        rows = await self._conn.execute(
            select(matters.c.light, func.count()).where(*self._where(query))
            .group_by(matters.c.light))
        out = dict.fromkeys(Light, 0)
        for row in rows.all():
            out[Light(str(row[0]))] = int(row[1])
        return out

    async def work_page(self, query: MatterQuery) -> tuple[builtins.list[int], int]:
        """A person's work (query.person_id named on an open assignment): a page of matter
        ids, 三个优先 first, then the nearest of the person's deadlines; and the total."""
        assert query.person_id is not None
        a, p = assignments, query.person_id
        named = and_(a.c.status.in_(_OPEN_ASSIGNMENT),
                     or_(a.c.principal_id == p, a.c.responsible_id == p, a.c.handler_id == p))
        base = (select(a.c.matter_id, func.min(a.c.deadline).label("due"))
                .where(named).group_by(a.c.matter_id).subquery("w"))
        where = [*self._where(replace(query, person_id=None)), matters.c.id == base.c.matter_id]
        total = (await self._conn.execute(
            select(func.count()).select_from(matters).join(base, true()).where(*where)
        )).scalar()
        stmt = (select(matters.c.id).select_from(matters).join(base, true()).where(*where)
                .order_by(matters.c.priority.desc(), base.c.due, matters.c.id))
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        if query.offset:
            stmt = stmt.offset(query.offset)
        ids = [int(r[0]) for r in await self._conn.execute(stmt)]
        return ids, int(total or 0)

    async def recount_lights(self, after_id: int, limit: int) -> tuple[int | None, int]:
        """One batch of the daily recount of the stored light: the open matters after
        `after_id` in id order, counted from their assignment rows in a thread. Returns the
        last id read (None when there were none) and how many lights changed."""
        today = self._lights.today()
        head = (await self._conn.execute(
            select(matters.c.id, matters.c.version, matters.c.light)
            .where(matters.c.id > after_id, matters.c.status.in_(_OPEN_MATTER))
            .order_by(matters.c.id).limit(limit))).all()
        if not head:
            return None, 0
        a = assignments
        rows: Sequence[Any] = (await self._conn.execute(
            select(a.c.matter_id, a.c.status, a.c.deadline, a.c.last_progress_at,
                   a.c.assigned_at)
            .where(a.c.matter_id >= head[0].id, a.c.matter_id <= head[-1].id))).all()
        stamp = self._lights

        def count() -> builtins.list[dict[str, Any]]:
            by_matter: dict[int, builtins.list[tuple[bool, date, datetime]]] = {}
            for mid, status, deadline, progress, assigned in rows:
                by_matter.setdefault(mid, []).append(
                    (status in _OPEN_ASSIGNMENT, deadline, progress or assigned))
            changed = []
            for r in head:
                light = stamp.of_rows(by_matter.get(r.id, ()), today).value
                if light != r.light:
                    changed.append({"_id": r.id, "_version": r.version, "_light": light})
            return changed

        changed = await asyncio.to_thread(count)
        if changed:
            # The version guard: a matter saved meanwhile has its light from that save.
            await self._conn.execute(
                update(matters).where(matters.c.id == bindparam("_id"),
                                      matters.c.version == bindparam("_version"))
                .values(light=bindparam("_light")), changed)
        return int(head[-1].id), len(changed)

    async def add_many(self, matters_: builtins.list[Matter]) -> None:
        """`add` for an import: a handful of statements whatever the count."""
        if not matters_:
            return
        for m in matters_:
            if m.id is not None or not m.pending or m.pending[0].kind != "registered" \
                    or m.version != len(m.pending):
                raise ValueError(f"{m.number}: not a newly registered matter")
        try:
            if self._conn.dialect.name == "sqlite":
                await self._add_many_sqlite(matters_)
            else:
                await self._add_many_generic(matters_)
        except IntegrityError as exc:
            if _violates(exc, "uq_matters_office_id_year_seq",
                         "matters.office_id, matters.year, matters.seq"):
                raise Conflict("导入的事项编号与已有事项重复，请检查后重试。") from exc
            if _violates(exc, "pk_matters", "matters.id"):
                raise Conflict(CONFLICT_MESSAGE) from exc
            raise
        for m in matters_:
            m.pending.clear()

    async def _add_many_generic(self, matters_: builtins.list[Matter]) -> None:
        today = self._lights.today()
        result = await self._conn.execute(
            insert(matters).returning(matters.c.id, sort_by_parameter_order=True),
            [self._values(m, today) for m in matters_])
        for m, new_id in zip(matters_, result.scalars().all(), strict=True):
            m.id = int(new_id)
        await self._conn.execute(
            update(matters).where(matters.c.id == bindparam("_id"))
            .values(state=bindparam("_state")),
            [{"_id": m.id, "_state": matter_to_json(m)} for m in matters_])
        await self._conn.execute(insert(events), [
            _event_values(e, i + 1, m.id)
            for m in matters_ for i, e in enumerate(m.pending)])
        rows = [row for m in matters_ for row in _assignment_rows(m, paused=False)]
        if rows:
            await self._conn.execute(insert(assignments), rows)

    async def _add_many_sqlite(self, matters_: builtins.list[Matter]) -> None:
        """SQLite: the ids are the block after the highest (the transaction began with BEGIN
        IMMEDIATE, so no other writer inserts meanwhile; one that did would collide on the
        primary key, a Conflict), so each row goes in once with its finished snapshot, and
        the rows go through the driver's executemany without SQLAlchemy's per-row work."""
        top = (await self._conn.execute(select(func.max(matters.c.id)))).scalar()
        next_id = int(top or 0) + 1
        for i, m in enumerate(matters_):
            m.id = next_id + i
        dialect = self._conn.dialect
        today = self._lights.today()

        def parameters() -> builtins.list[tuple[Table, tuple[str, ...],
                                                builtins.list[tuple[Any, ...]]]]:
            with gc_paused():  # 100k small objects, no cycles: GC would run over and over
                return [
                    (matters, _MATTER_COLUMNS, driver_rows(dialect, matters, _MATTER_COLUMNS, (
                        {**self._values(m, today), "id": m.id} for m in matters_))),
                    (events, _EVENT_COLUMNS, driver_rows(dialect, events, _EVENT_COLUMNS, (
                        _event_values(e, i + 1, m.id)
                        for m in matters_ for i, e in enumerate(m.pending)))),
                    (assignments, _ASSIGNMENT_COLUMNS, driver_rows(
                        dialect, assignments, _ASSIGNMENT_COLUMNS, (
                            row for m in matters_ for row in _assignment_rows(m, paused=False)))),
                ]

        # Seconds of CPU for 100k matters: in a thread, so the event loop keeps running.
        for table, columns, rows in await asyncio.to_thread(parameters):
            if rows:
                await self._conn.exec_driver_sql(driver_insert(table, columns), rows)

    async def keys(self, office_id: int) -> builtins.list[MatterKey]:
        m = matters
        lead = assignments.alias("lead")
        stmt = (
            select(m.c.id, m.c.year, m.c.seq, m.c.number, m.c.title, lead.c.unit_id,
                   lead.c.assigned_at, m.c.registered_at)
            .select_from(m.outerjoin(lead, and_(lead.c.matter_id == m.c.id,
                                                lead.c.lead == true(),
                                                lead.c.parent_no.is_(None))))
            .where(m.c.office_id == office_id)
            .order_by(m.c.year, m.c.seq))
        return [MatterKey(id=r[0], year=r[1], seq=r[2], number=r[3], title=r[4],
                          lead_unit_id=r[5], lead_assigned_at=r[6], registered_at=r[7])
                for r in await self._conn.execute(stmt)]

    async def open_assignments(self, office_id: int | None = None, *,
                               matter_ids: Collection[int] | None = None,
                               person_id: int | None = None,
                               after: tuple[int, int] | None = None,
                               limit: int | None = None,
                               ) -> builtins.list[AssignmentRow]:
        """Every open assignment, in no particular order. This is the reminder scan:
        one table, no JSON (an open assignment implies an open matter, and the matter
        fields needed are copied onto the assignment rows). `limit`: a page in key order,
        starting after the key `after`."""
        a = assignments
        cols = (a.c.matter_id, a.c.no, a.c.office_id, a.c.klass, a.c.confidential,
                a.c.status, a.c.unit_id, a.c.principal_id, a.c.responsible_id,
                a.c.handler_id, a.c.deadline, a.c.assigned_at, a.c.last_progress_at,
                a.c.urge_limit, a.c.urge_count, a.c.criticized, a.c.paused)
        sqlite = self._conn.dialect.name == "sqlite"
        # On SQLite the rows are converted below in one pass, much faster than per-value
        # type processors; elsewhere the driver returns native values.
        stmt = (select(*(type_coerce(c, NullType()) for c in cols) if sqlite else cols)
                .where(a.c.status.in_(_OPEN_ASSIGNMENT)))
        if office_id is not None:
            stmt = stmt.where(a.c.office_id == office_id)
        if person_id is not None:
            stmt = stmt.where(or_(a.c.principal_id == person_id, a.c.responsible_id == person_id,
                                  a.c.handler_id == person_id))
        if limit is not None:
            if after is not None:
                m, n = after
                stmt = stmt.where(or_(a.c.matter_id > m, and_(a.c.matter_id == m, a.c.no > n)))
            # A bounded page along the primary key: the planner's sweep, batch by batch.
            return await self._scan(stmt.order_by(a.c.matter_id, a.c.no).limit(limit), sqlite,
                                    in_thread=True)
        if matter_ids is not None:
            ids = sorted(set(matter_ids))
            out: builtins.list[AssignmentRow] = []
            for k in range(0, len(ids), _IN_CHUNK):
                # Many matters (a sweep's escalations, a busy minute): built off the loop.
                out += await self._scan(stmt.where(a.c.matter_id.in_(ids[k:k + _IN_CHUNK])),
                                        sqlite, in_thread=len(ids) > _IN_CHUNK)
            return out
        # The whole table (the reminder scan): build the rows off the event loop, so a bot
        # with 100,000 open matters keeps answering while it runs.
        return await self._scan(stmt, sqlite, in_thread=person_id is None)

    async def _scan(self, stmt: Select[Any], sqlite: bool, *, in_thread: bool = False,
                    ) -> builtins.list[AssignmentRow]:
        result = await self._conn.execute(stmt)  # buffered: the rows are fetched already

        def build() -> builtins.list[AssignmentRow]:
            with gc_paused():  # 100k small objects, no cycles: GC would run over and over
                rows = result.all()
                return _sqlite_assignment_rows(rows) if sqlite else _assignment_rows_native(rows)
        return await asyncio.to_thread(build) if in_thread else build()

    async def paused_ids(self, matter_ids: Collection[int]) -> set[int]:
        ids = sorted(set(matter_ids))
        found: set[int] = set()
        for k in range(0, len(ids), _IN_CHUNK):
            rows = await self._conn.execute(select(matters.c.id).where(
                matters.c.id.in_(ids[k:k + _IN_CHUNK]), matters.c.paused == true()))
            found.update(int(r[0]) for r in rows)
        return found

    async def set_paused(self, matter_id: int, paused: bool) -> None:
        result = await self._conn.execute(
            update(matters).where(matters.c.id == matter_id).values(paused=paused))
        if result.rowcount != 1:
            raise NotFound("找不到这件事项。")
        await self._conn.execute(
            update(assignments).where(assignments.c.matter_id == matter_id)
            .values(paused=paused))


# ---- people ----
