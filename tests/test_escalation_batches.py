"""Automatic 催办 and criticism flags over many assignments: a batch to a transaction, and
still one event (and its notices) per assignment (issue 15)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.reminders import Spec, add_matters, open_db, seed_people
from ledger.clock import FixedClock
from ledger.ports import UnitOfWork, UnitOfWorkFactory
from ledger.usecases import accountability
from ledger.workcalendar import WorkCalendar
from storage.tables import events, outbox, receipt_readers, receipts
from tests.dbs import url_for
from tests.reminders_sim import local

CAL = WorkCalendar()


def counting(uows: UnitOfWorkFactory, made: list[UnitOfWork]) -> UnitOfWorkFactory:
    def make() -> UnitOfWork:
        u = uows()
        made.append(u)
        return u
    return make


async def test_urges_and_flags_commit_in_batches_one_event_each(tmp_path: Path) -> None:
    engine, uow = await open_db(url_for(tmp_path / "e.db", migrated=True))
    try:
        county = await seed_people(uow, 3)
        p, r, h = county.persons
        assigned = local(2026, 11, 2, 10)
        specs = [Spec(assigned, date(2026, 11, 13), p, r, h) for _ in range(7)]
        await add_matters(uow, county, specs)
        await accountability.pause_reminders(uow(), FixedClock(assigned), county.admin_id, 7,
                                             "等待上级批复")
        clock = FixedClock(local(2026, 11, 30, 10))  # 11 working days overdue
        made: list[UnitOfWork] = []
        targets = [(mid, 1) for mid in range(1, 8)] + [(3, 1)]  # 3 twice: urged once
        urged = await accountability.auto_urge_many(
            counting(uow, made), clock, CAL, targets, after_workdays=3, limit_workdays=3,
            batch=3)
        assert len(made) == 3                               # 8 targets, 3 to a transaction
        assert [m is not None for m in urged] == [True] * 6 + [False, False]  # paused; again
        async with engine.connect() as conn:
            n_urged = (await conn.execute(select(func.count()).select_from(events).where(
                events.c.kind == "urged"))).scalar()
            notices = (await conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.kind == "urged"))).scalar()
        assert n_urged == 6                                 # one event per assignment
        assert notices == 12                                # principal and responsible each
        async with uow() as u:
            m = await u.matters.get(1)
        assert m.assignment(1).urge_count == 1
        assert m.assignment(1).urge_limit == CAL.add_workdays(date(2026, 11, 30), 3)

        # The urging limit passed, still open: flagged, in batches too.
        clock.set(clock.now() + timedelta(days=7))
        made.clear()
        flagged = await accountability.flag_for_criticism_many(
            counting(uow, made), clock, [(mid, 1) for mid in range(1, 8)], batch=4)
        assert len(made) == 2
        assert [m is not None for m in flagged] == [True] * 6 + [False]
        async with engine.connect() as conn:
            crit = (await conn.execute(select(func.count()).select_from(events).where(
                events.c.kind == "criticized"))).scalar()
        assert crit == 6
        # Nothing left to do: a second run changes nothing.
        again = await accountability.flag_for_criticism_many(uow, clock,
                                                             [(mid, 1) for mid in range(1, 8)])
        assert again == [None] * 7
    finally:
        await engine.dispose()


async def _urge_rows(engine: AsyncEngine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The outbox rows and receipts an urge left, receipt ids named by (matter, no)."""
    async with engine.connect() as conn:
        rc = {r.id: (r.matter_id, r.assignment_no) for r in await conn.execute(select(receipts))}
        readers = sorted((rc[r.receipt_id], r.person_id, r.unit_id, r.expected, r.read_at)
                         for r in await conn.execute(select(receipt_readers)))
        titles = sorted((rc[r.id], r.kind, r.title, r.office_id, r.open)
                        for r in await conn.execute(select(receipts)))
        rows = []
        for r in await conn.execute(select(outbox).order_by(outbox.c.id)):
            payload = dict(r.payload)
            key = r.key
            if "receipt_id" in payload:
                named = rc[payload.pop("receipt_id")]
                payload["receipt"] = named
                key = key.replace(f"rcpt:{r.payload['receipt_id']}:", f"rcpt:{named}:")
            rows.append((key, r.kind, r.person_id, r.due_at, r.matter_id, r.assignment_no,
                         payload, r.status))
    return rows, titles + readers  # type: ignore[return-value]


async def test_batched_urges_leave_what_one_at_a_time_leaves(tmp_path: Path) -> None:
    """The batch stores every receipt and notice the single automatic 催办 does (the
    催办通知单 to each reader with its receipt, the reminders, the notices), and each
    person's 催办通知单 is queued before the notice about it."""
    clock = FixedClock(local(2026, 11, 30, 10))
    found = []
    for name, batched in (("one", False), ("many", True)):
        engine, uow = await open_db(url_for(tmp_path / f"{name}.db", migrated=True))
        try:
            county = await seed_people(uow, 3)
            p, r, h = county.persons
            assigned = local(2026, 11, 2, 10)
            specs = [Spec(assigned, date(2026, 11, 13), p, r, h),
                     Spec(assigned, date(2026, 11, 13), p, p, h),   # principal responsible
                     Spec(assigned, date(2026, 11, 27), p, r, h),   # 1 day over: not yet
                     Spec(assigned, date(2026, 11, 16), r, h, p)]
            await add_matters(uow, county, specs)
            targets = [(mid, 1) for mid in range(1, 5)]
            if batched:
                urged = await accountability.auto_urge_many(
                    uow, clock, CAL, targets, after_workdays=3, limit_workdays=3, batch=3)
            else:
                urged = [await accountability.auto_urge(uow(), clock, CAL, mid, no, 3, 3)
                         for mid, no in targets]
            assert [m is not None for m in urged] == [True, True, False, True]
            found.append(await _urge_rows(engine))
        finally:
            await engine.dispose()
    (one_rows, one_receipts), (many_rows, many_receipts) = found
    assert sorted(many_rows, key=repr) == sorted(one_rows, key=repr)
    assert many_receipts == one_receipts
    assert len([x for x in one_receipts if len(x) == 5 and x[1] == "urge"]) == 3
    kinds = Counter(row[1] for row in many_rows)
    assert kinds["doc_urging"] == 5 and kinds["urged"] == 5   # 2 + 1 + 2 readers
    assert kinds["receipt_remind"] == 5 and kinds["receipt_escalate"] == 3
    order = [(row[1], row[4], row[2]) for row in many_rows]
    for i, (kind, mid, pid) in enumerate(order):
        if kind == "urged":
            assert ("doc_urging", mid, pid) in order[:i]
