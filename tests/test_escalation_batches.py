"""Automatic 催办 and criticism flags over many assignments: a batch to a transaction, and
still one event (and its notices) per assignment (issue 15)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.reminders import Spec, add_matters, open_db, seed_people
from ledger.clock import FixedClock
from ledger.ports import UnitOfWork, UnitOfWorkFactory
from ledger.usecases import accountability
from ledger.workcalendar import WorkCalendar
from storage.tables import events, outbox
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
