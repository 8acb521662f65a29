"""Deadlines typed as N个工作日 in a provisional year are counted again when the year is
entered, each from its own start: at registration (/new), at 签收, in an extension request,
an urging limit. A typed date is what was decided and stays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.calendar_entry import RECOUNT_REASON, enter_year
from ledger.clock import FixedClock
from ledger.dateparse import ParsedDeadline, parse_deadline, parse_deadline_counted
from ledger.holidays import read_arrangement
from ledger.model import Matter
from ledger.usecases.accountability import urge
from ledger.usecases.deadlines import decide_extension, request_extension, sign
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, assign, register_matter
from ledger.workcalendar import WorkCalendar
from storage.uow import SqlUnitOfWork, uow_factory
from tests.test_storage_helpers import World, migrated_engine, seed

NOTICE = (Path(__file__).resolve().parent / "data" / "notice_2027.txt").read_bytes()
JAN25 = datetime(2027, 1, 25, 1, 0, tzinfo=UTC)  # Mon 09:00 in Shanghai; 2027 provisional
MON = date(2027, 1, 25)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncEngine:
    e = await migrated_engine(tmp_path / "duban.db")
    yield e  # type: ignore[misc]
    await e.dispose()


def test_the_parser_keeps_the_basis_of_a_working_day_count() -> None:
    cal = WorkCalendar()
    # provisionally: Jan 26-29, Feb 1-4 (8), 除夕 Feb 5 and 初三 Feb 8 off, Feb 9-12, 15-17
    assert parse_deadline_counted("15个工作日", MON, cal) == ParsedDeadline(
        date(2027, 2, 17), MON, 15)
    assert parse_deadline_counted("十个工作日内", MON, cal).counted == (MON, 10)
    # calendar days and dates are not counted on the calendar: nothing to count again
    for typed in ("12月5日", "三天内", "下周五", "月底"):
        parsed = parse_deadline_counted(typed, MON, cal)
        assert parsed.counted is None and parsed.day == parse_deadline(typed, MON, cal)


async def _new(engine: AsyncEngine, w: World, clock: FixedClock, cal: WorkCalendar,
               title: str, typed: str | None) -> int:
    """As /new does: the typed deadline goes with the registration, the 交办 takes it."""
    uow = uow_factory(engine)
    parsed = parse_deadline_counted(typed, MON, cal) if typed else None
    m = await register_matter(uow(), clock, cal, w.admin_id, RegisterMatter(
        title=title, deadline=parsed.day if parsed else None,
        deadline_counted=parsed.counted if parsed else None))
    assert m.id is not None
    p, r, h = w.a_people
    await assign(uow(), clock, cal, w.admin_id, m.id,
                 [AssignSpec(w.unit_a, p, r, h, lead=True)])
    return m.id


async def _get(engine: AsyncEngine, matter_id: int) -> Matter:
    async with SqlUnitOfWork(engine) as u:
        return await u.matters.get(matter_id)


async def _enter(engine: AsyncEngine, clock: FixedClock, w: World, cal: WorkCalendar,
                 ) -> dict[int, tuple[date, date]]:
    result = await enter_year(uow_factory(engine)(), clock, cal, read_arrangement(NOTICE),
                              actor_id=w.admin_id, actor_name="督查员")
    return {r.matter_id: (r.before, r.after) for r in result.recounted}


async def test_new_and_sign_typed_in_working_days_are_counted_again(engine: AsyncEngine,
                                                                     ) -> None:
    w = await seed(engine)
    clock = FixedClock(JAN25)
    cal = WorkCalendar()
    uow = uow_factory(engine)
    typed = await _new(engine, w, clock, cal, "十五个工作日", "15个工作日")
    dated = await _new(engine, w, clock, cal, "写明日期", "12月5日")
    # an explicit date, then 签收 with 「10个工作日」: only the committed deadline is counted
    signed = await _new(engine, w, clock, cal, "签收十个工作日", "2027-03-01")
    _, r, h = w.a_people
    committed = parse_deadline_counted("10个工作日", MON, cal)
    await sign(uow(), clock, h, signed, 1, committed.day, committed.counted)

    m = await _get(engine, typed)
    assert m.lead is not None and m.lead.deadline == date(2027, 2, 17)
    assert (m.lead.counted_from, m.lead.counted_workdays) == (MON, 15)
    d = await _get(engine, dated)
    assert d.lead is not None and d.lead.deadline == date(2027, 12, 5)
    assert d.lead.counted_from is None
    s = await _get(engine, signed)
    assert s.lead is not None and s.lead.committed_deadline == date(2027, 2, 10)

    clock.advance(timedelta(hours=2))
    changed = await _enter(engine, clock, w, cal)
    # Jan 26-29, Feb 1-4 (8), Sun Feb 14 (9), Feb 15-19 (14), Sat Feb 20 (15);
    # the committed one: Feb 15 (10); the date typed as a date is not touched
    assert changed == {typed: (date(2027, 2, 17), date(2027, 2, 20)),
                       signed: (date(2027, 2, 10), date(2027, 2, 15))}

    m, s = await _get(engine, typed), await _get(engine, signed)
    assert m.lead is not None and m.lead.deadline == date(2027, 2, 20)
    assert s.lead is not None and s.lead.deadline == date(2027, 3, 1)
    assert s.lead.committed_deadline == date(2027, 2, 15)
    d = await _get(engine, dated)
    assert d.lead is not None and d.lead.deadline == date(2027, 12, 5)
    async with SqlUnitOfWork(engine) as u:
        history = await u.events.for_matter(signed)
        told = [n for n in await u.outbox.for_person(r) if n.kind == "deadline_recounted"]
        summary = [n for n in await u.outbox.for_person(w.admin_id)
                   if n.kind == "office_holidays_entered"]
    e = history[-1]
    assert e.kind == "deadline_recounted" and e.after["reason"] == RECOUNT_REASON
    assert e.before == {"deadline": "2027-03-01", "committed_deadline": "2027-02-10"}
    assert e.after["committed_deadline"] == "2027-02-15"
    assert Matter.replay(history).lead == s.lead  # the basis is rebuilt from the events
    assert {(n.matter_id, n.payload["old_deadline"], n.payload["deadline"]) for n in told} == {
        (typed, "2027-02-17", "2027-02-20"), (signed, "2027-02-10", "2027-02-15")}
    assert len(summary) == 1 and summary[0].payload["count"] == 2


async def test_an_extension_requested_in_working_days_is_counted_again(engine: AsyncEngine,
                                                                       ) -> None:
    w = await seed(engine)
    clock = FixedClock(JAN25)
    cal = WorkCalendar()
    uow = uow_factory(engine)
    mid = await _new(engine, w, clock, cal, "延期二十个工作日", "2月12日")
    p, _, h = w.a_people
    await sign(uow(), clock, h, mid, 1, date(2027, 2, 12))
    asked = parse_deadline_counted("20个工作日", MON, cal)
    assert asked.day == date(2027, 2, 24)
    await request_extension(uow(), clock, p, mid, 1, "春节期间停工", asked.day,
                            counted=asked.counted)
    await decide_extension(uow(), clock, w.admin_id, mid, 1, True)
    m = await _get(engine, mid)
    assert m.lead is not None and m.lead.effective_deadline == date(2027, 2, 24)
    assert (m.lead.counted_from, m.lead.counted_workdays) == (MON, 20)

    changed = await _enter(engine, clock, w, cal)
    assert changed == {mid: (date(2027, 2, 24), date(2027, 2, 26))}
    m = await _get(engine, mid)
    assert m.lead is not None and m.lead.deadline == date(2027, 2, 26)
    assert m.lead.committed_deadline == date(2027, 2, 26)  # it was the approved date


async def test_an_extension_decided_by_the_office_is_not_counted(engine: AsyncEngine) -> None:
    w = await seed(engine)
    clock = FixedClock(JAN25)
    cal = WorkCalendar()
    uow = uow_factory(engine)
    mid = await _new(engine, w, clock, cal, "督查室另定延期", "2月12日")
    p, _, _ = w.a_people
    asked = parse_deadline_counted("20个工作日", MON, cal)
    await request_extension(uow(), clock, p, mid, 1, "春节期间停工", asked.day,
                            counted=asked.counted)
    await decide_extension(uow(), clock, w.admin_id, mid, 1, True,
                           new_deadline=date(2027, 2, 25))
    m = await _get(engine, mid)
    assert m.lead is not None and m.lead.counted_from is None
    assert await _enter(engine, clock, w, cal) == {}


async def test_urging_limits_in_working_days_are_counted_again(engine: AsyncEngine) -> None:
    w = await seed(engine)
    clock = FixedClock(JAN25)
    cal = WorkCalendar()
    uow = uow_factory(engine)
    typed = await _new(engine, w, clock, cal, "限期五个工作日", "1月29日")
    default = await _new(engine, w, clock, cal, "默认限期", "1月29日")
    dated = await _new(engine, w, clock, cal, "限期写明日期", "1月29日")
    clock.advance(datetime(2027, 2, 3, 1, 0, tzinfo=UTC) - clock.now())  # Wed Feb 3, overdue
    wed = date(2027, 2, 3)
    five = parse_deadline_counted("5个工作日", wed, cal)
    await urge(uow(), clock, cal, w.admin_id, typed, None, five.day,
               limit_counted=five.counted)
    await urge(uow(), clock, cal, w.admin_id, default, None)  # 3 working days
    await urge(uow(), clock, cal, w.admin_id, dated, None, date(2027, 2, 12))
    assert [(await _get(engine, x)).assignment(1).urge_limit for x in (typed, default)] == [
        date(2027, 2, 12), date(2027, 2, 10)]

    result = await enter_year(uow(), clock, cal, read_arrangement(NOTICE),
                              actor_id=w.admin_id, actor_name="督查员")
    limits = {r.matter_id: (r.limit_before, r.limit_after) for r in result.recounted}
    # Feb 4 (1), Sun Feb 14 (2), Feb 15-17 (5); the default: Feb 4, 14, 15
    assert limits == {typed: (date(2027, 2, 12), date(2027, 2, 17)),
                      default: (date(2027, 2, 10), date(2027, 2, 15))}
    m = await _get(engine, typed)
    assert m.lead is not None and m.lead.urge_limit == date(2027, 2, 17)
    assert m.lead.deadline == date(2027, 1, 29)  # the typed date stays
    assert (await _get(engine, dated)).assignment(1).urge_limit == date(2027, 2, 12)
    async with SqlUnitOfWork(engine) as u:
        history = await u.events.for_matter(typed)
        rows = await u.matters.open_assignments(matter_ids=[typed])
        told = [n for n in await u.outbox.for_person(w.a_people[1])
                if n.kind == "deadline_recounted" and n.matter_id == typed]
    e = history[-1]
    assert e.before["urge_limit"] == "2027-02-12" and e.after["urge_limit"] == "2027-02-17"
    assert rows[0].urge_limit == date(2027, 2, 17)  # what the escalation scan reads
    assert told[0].payload["limit"] == "2027-02-17"
    assert Matter.replay(history).lead == m.lead
