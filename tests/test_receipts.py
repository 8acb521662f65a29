"""已阅 receipts: the working hours a reminder waits, at their boundaries; the [receipts]
configuration; the repository on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, load_config
from ledger.clock import LOCAL_TZ
from ledger.model import Assignment, Person, Role
from ledger.receipts import (
    Reader,
    Receipt,
    ReceiptPolicy,
    add_working_hours,
    bulletin_readers,
    escalate_at,
    remind_at,
    urge_readers,
)
from ledger.workcalendar import WorkCalendar
from storage.db import make_engine, upgrade
from storage.uow import uow_factory
from tests.dbs import url_for

CAL = WorkCalendar()
P = ReceiptPolicy()


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


def test_two_working_hours_inside_a_morning() -> None:
    assert local(remind_at(CAL, at(11, 23, 9), P)) == at(11, 23, 11)


def test_lunch_is_not_counted() -> None:
    # 11:00 → 12:00 is one hour; the second is 14:00 → 15:00.
    assert local(add_working_hours(CAL, at(11, 23, 11), 2, P)) == at(11, 23, 15)
    assert local(escalate_at(CAL, at(11, 23, 9), P)) == at(11, 23, 15)
    # Exactly at noon the morning is used up: the hour ends at 12:00, not 14:00.
    assert local(add_working_hours(CAL, at(11, 23, 10), 2, P)) == at(11, 23, 12)


def test_evening_counts_from_the_next_working_morning() -> None:
    # Friday 17:00: half an hour left on Friday, the rest on Monday from 8:30.
    assert local(add_working_hours(CAL, at(11, 27, 17), 2, P)) == at(11, 30, 10)
    # Saturday night: Monday 8:30 + 2 h.
    assert local(add_working_hours(CAL, at(11, 28, 22), 2, P)) == at(11, 30, 10, 30)


def test_holidays_are_skipped() -> None:
    # Wednesday 30 September 17:00: half an hour that day, the rest on the first working
    # day after the National Day holiday.
    start = at(9, 30, 17)
    end = local(add_working_hours(CAL, start, 2, P))
    assert end.date() > datetime(2026, 10, 7).date()
    assert CAL.is_workday(end.date())


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 5), max_value=datetime(2026, 12, 20)),
       st.floats(min_value=0.25, max_value=30))
def test_the_end_is_always_inside_office_hours(start: datetime, hours: float) -> None:
    begin = start.replace(tzinfo=LOCAL_TZ)
    end = local(add_working_hours(CAL, begin, hours, P))
    assert end > begin
    assert CAL.is_workday(end.date())
    assert any(a < end.time() <= b for a, b in P.hours)
    # more hours never end earlier
    assert add_working_hours(CAL, begin, hours + 0.5, P) > end.astimezone(UTC)


def test_receipts_configuration(tmp_path: Path) -> None:
    c = load_config(env={}, path=None)
    assert c.reminders.receipts == ReceiptPolicy()
    f = tmp_path / "duban.toml"
    f.write_text("[receipts]\nremind_after_hours = 3\nescalate_after_hours = 0\n")
    c = load_config(env={}, path=f)
    assert (c.reminders.receipts.remind_after_hours,
            c.reminders.receipts.escalate_after_hours) == (3.0, 0.0)
    for bad in ("remind_after_hours = -1", "remind_after_hours = \"两小时\"", "after = 2"):
        f.write_text(f"[receipts]\n{bad}\n")
        with pytest.raises(ConfigError, match="receipts"):
            load_config(env={}, path=f)


def test_office_hours_are_sane() -> None:
    assert all(a < b for a, b in P.hours) and P.hours[0][0] == time(8, 30)


async def test_repository_records_reads_once(tmp_path: Path) -> None:
    url = url_for(tmp_path / "r.db", migrated=True)
    await upgrade(url)
    engine = make_engine(url)
    uow = uow_factory(engine)
    try:
        async with uow() as u:
            office_id = (await u.people.add_office("示例县督查室", "督")).id
            await u.commit()
        now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
        async with uow() as u:
            r = await u.receipts.add(Receipt(office_id=office_id, kind="urge", created_at=now,
                                             title="第1次催办",
                                             readers=[Reader(1, 10), Reader(2, 10)]))
            await u.commit()
        assert r.id is not None
        async with uow() as u:
            assert [x.id for x in await u.receipts.unread(office_id)] == [r.id]
            assert await u.receipts.mark_read(r.id, 1, 10, now + timedelta(minutes=5))
            assert not await u.receipts.mark_read(r.id, 1, 10, now + timedelta(minutes=6))
            assert await u.receipts.mark_read(r.id, 3, None, now)  # not expected: recorded
            await u.receipts.posted(r.id, 555, 7, person_id=2)
            await u.commit()
        async with uow() as u:
            got = await u.receipts.get(r.id)
            assert got is not None
            assert [x.person_id for x in got.unread] == [2]
            one = got.reader(1)
            assert one is not None and one.read_at == now + timedelta(minutes=5)
            three = got.reader(3)
            assert three is not None and not three.expected
            assert await u.receipts.mark_read(r.id, 2, 10, now)
            await u.commit()
        async with uow() as u:
            assert await u.receipts.unread(office_id) == []
    finally:
        await engine.dispose()


def _assignment(principal: int, responsible: int) -> Assignment:
    return Assignment(no=1, unit_id=10, lead=True, principal_id=principal,
                      responsible_id=responsible, handler_id=99,
                      assigned_at=datetime(2026, 11, 23, 1, tzinfo=UTC), assigned_by=1,
                      deadline=datetime(2026, 12, 7).date())


def test_who_is_expected_to_read() -> None:
    # a 催办通知单: principal and responsible person, once each; never the handler
    assert [r.person_id for r in urge_readers(_assignment(3, 4))] == [3, 4]
    assert [r.person_id for r in urge_readers(_assignment(3, 3))] == [3]
    people = [Person(1, 1, "王主任", frozenset({Role.ADMIN})),
              Person(2, 1, "李县长", frozenset({Role.LEADER})),
              Person(3, 1, "赵镇长", frozenset({Role.PRINCIPAL}), unit_id=10),
              Person(4, 1, "钱副镇长", frozenset({Role.RESPONSIBLE}), unit_id=10),
              Person(5, 1, "孙干事", frozenset({Role.HANDLER}), unit_id=10),
              Person(6, 1, "周局长", frozenset({Role.PRINCIPAL}), unit_id=11),
              Person(7, 1, "已停用", frozenset({Role.RESPONSIBLE}), unit_id=10, active=False)]
    # a bulletin in a unit's group: that unit's principal and responsible persons
    assert [r.person_id for r in bulletin_readers(10, people)] == [3, 4]
    # in the office's own group: the county leaders
    assert [r.person_id for r in bulletin_readers(None, people)] == [2]


def test_a_receipt_is_done_when_every_expected_reader_has_read_it() -> None:
    now = datetime(2026, 11, 23, 1, tzinfo=UTC)
    r = Receipt(office_id=1, kind="urge", created_at=now,
                readers=[Reader(3, 10), Reader(4, 10, read_at=now), Reader(5, 10, False)])
    assert [x.person_id for x in r.unread] == [3] and not r.done
    assert [x.person_id for x in r.unread_in_unit(10)] == [3] and r.unread_in_unit(11) == []
    r.readers[0] = Reader(3, 10, read_at=now)
    assert r.done  # the reader not expected (5) does not hold it open
