"""Entering a year's holidays: the three formats, malformed files, storage, the recount
of provisional deadlines (events, notices, summary), and the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from ledger.calendar_entry import (
    RECOUNT_REASON,
    enter_year,
    load_entered,
    next_year_warning_due,
    next_year_warnings,
)
from ledger.clock import FixedClock
from ledger.deadlines import MatterClass
from ledger.errors import PermissionDenied
from ledger.holidays import HolidayFileError, read_arrangement
from ledger.usecases.deadlines import decide_extension, request_extension, sign
from ledger.usecases.ledger_mgmt import AssignSpec, RegisterMatter, assign, register_matter
from ledger.workcalendar import WorkCalendar
from storage.uow import SqlUnitOfWork, uow_factory
from tests.dbs import url_for
from tests.test_storage_helpers import World, migrated_engine, seed

DATA = Path(__file__).resolve().parent / "data"
NOTICE = (DATA / "notice_2027.txt").read_bytes()
JSON_2027 = (DATA / "holiday-cn_2027.json").read_bytes()
TOML_2027 = (DATA / "schedule_2027.toml").read_bytes()
SPRING = {date(2027, 2, 5) + (date(2027, 2, 2) - date(2027, 2, 1)) * i for i in range(9)}


# ---- the three formats ---------------------------------------------------------------------

@pytest.mark.parametrize("data", [NOTICE, JSON_2027, TOML_2027], ids=["notice", "json", "toml"])
def test_each_format_reads_the_same_arrangement(data: bytes) -> None:
    a = read_arrangement(data)
    assert a.year == 2027
    assert a.holidays >= SPRING and len(a.holidays) == 29
    assert a.workdays == {date(2027, 2, 14), date(2027, 2, 20), date(2027, 5, 8),
                          date(2027, 9, 26), date(2027, 10, 9)}
    lines = a.lines()
    assert lines[1] == "春节：2月5日至2月13日放假，共9天；2月14日（周日）、2月20日（周六）上班"
    assert lines[-1].startswith("国庆节：10月1日至10月7日放假，共7天；9月26日（周日）")


def test_notice_in_gbk_and_with_month_spanning_ranges() -> None:
    text = ("国务院办公厅关于2027年部分节假日安排的通知\n"
            "一、元旦：1月1日至3日放假，共3天。\n"
            "二、春节：2月5日（农历除夕）至13日放假调休，共9天。2月14日（星期日）、2月20日（星期六）上班。\n"
            "三、清明节：4月3日至5日放假，共3天。\n"
            "四、劳动节：5月1日至5日放假调休，共5天。5月8日（星期六）上班。\n"
            "五、端午节：6月9日放假。\n"
            "六、中秋节、国庆节：9月15日放假；9月30日至10月7日放假调休，共8天。"
            "9月26日（星期日）、10月9日（星期六）上班。\n")
    a = read_arrangement(text.encode("gb18030"))
    assert date(2027, 9, 30) in a.holidays and date(2027, 10, 7) in a.holidays
    assert a.names[date(2027, 10, 1)] == "中秋节、国庆节"


def test_holiday_cn_dates_of_other_years_are_left_out() -> None:
    doc = json.loads(JSON_2027)
    doc["days"].insert(0, {"name": "元旦", "date": "2026-12-27", "isOffDay": False})
    a = read_arrangement(json.dumps(doc, ensure_ascii=False))
    assert a.ignored == (date(2026, 12, 27),)
    assert all(d.year == 2027 for d in a.holidays | a.workdays)


def _json(**changes: object) -> str:
    doc = json.loads(JSON_2027)
    doc.update(changes)
    return json.dumps(doc, ensure_ascii=False)


_MALFORMED = [
    (b"", "文件是空的"),
    (b"\xff\xfe\x00\x01\x80\x81\xfe", "不是文本"),
    ("随便写点什么".encode(), "看不出这是节假日安排"),
    (b'{"year": 2027, "days": [', "JSON 格式有误"),
    (_json(year=None), "缺少年份"),
    (_json(days=[{"name": "元旦", "date": "2027-01-01"}]), "第1项不完整"),
    (_json(days=[{"name": "元旦", "date": "2027-13-01", "isOffDay": True}]), "日期「2027-13-01」无效"),
    # a make-up day that is a Monday (the 2026 line copied into 2027)
    (NOTICE.decode().replace("2月14日（星期日）", "1月4日（星期日）").encode(), "1月4日"),
    # 国庆 missing: a statutory holiday not covered
    (NOTICE.decode().replace("七、国庆节：10月1日至7日放假调休，共7天。9月26日（星期日）、10月9日（星期六）上班。", "")
     .encode(), "缺少法定节假日"),
    (NOTICE.decode().replace("关于2027年", "关于").encode(), "找不到年份"),
    (NOTICE.decode().replace("6月9日（星期三）放假", "6月放假").encode(), "看不懂放假日期"),
    (TOML_2027.decode().replace("[2027]", "[2027]\nfoo = 1").encode(), "不认识的项"),
    (TOML_2027 + b'\n[2028]\nholidays = ["2028-01-01"]\nworkdays = []\n', "多个年份"),
    (TOML_2027.decode().replace('"2027-06-09",', '"2028-06-09",').encode(), "不在 2027 年内"),
]


@pytest.mark.parametrize(("data", "says"), _MALFORMED, ids=[s for _, s in _MALFORMED])
def test_malformed_files_are_refused_saying_what_is_wrong(data: bytes | str, says: str) -> None:
    with pytest.raises(HolidayFileError) as info:
        read_arrangement(data)
    assert says in str(info.value), str(info.value)


def test_monday_make_up_day_message_names_the_rule() -> None:
    bad = NOTICE.decode().replace("2月14日（星期日）", "1月4日（星期日）")
    with pytest.raises(HolidayFileError) as info:
        read_arrangement(bad)
    assert "1月4日（2027-01-04 是周一）" in str(info.value) and "周六或周日" in str(info.value)


# ---- storage and recount -------------------------------------------------------------------

# Thu 2026-12-24, 10:00 in Shanghai
DEC24 = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncEngine:
    e = await migrated_engine(tmp_path / "duban.db")
    yield e  # type: ignore[misc]
    await e.dispose()


async def _assign(engine: AsyncEngine, w: World, clock: FixedClock, cal: WorkCalendar,
                  title: str, klass: MatterClass = MatterClass.NORMAL,
                  deadline: date | None = None) -> int:
    uow = uow_factory(engine)
    m = await register_matter(uow(), clock, cal, w.admin_id,
                              RegisterMatter(title=title, klass=klass))
    assert m.id is not None
    p, r, h = w.a_people
    await assign(uow(), clock, cal, w.admin_id, m.id,
                 [AssignSpec(w.unit_a, p, r, h, lead=True)], deadline=deadline)
    return m.id


async def test_entering_the_year_recounts_provisional_deadlines(engine: AsyncEngine) -> None:
    w = await seed(engine)
    clock = FixedClock(DEC24)
    cal = WorkCalendar()
    uow = uow_factory(engine)
    # counted provisionally: Dec 25, 28-31 (5), Jan 1 off, Jan 4-8 (10)
    normal = await _assign(engine, w, clock, cal, "跨年的一般件")
    # major, 20 working days: Jan 22, provisionally and as entered below
    major = await _assign(engine, w, clock, cal, "重大疑难件", MatterClass.MAJOR)
    explicit = await _assign(engine, w, clock, cal, "写明时限的", deadline=date(2027, 1, 6))
    async with SqlUnitOfWork(engine) as u:
        m = await u.matters.get(normal)
    assert m.lead is not None and m.lead.deadline == date(2027, 1, 8)
    assert m.lead.counted_from == date(2026, 12, 24) and m.lead.counted_workdays == 10

    # Suppose the notice also makes Mon Jan 4 a holiday (for the test), Sat Jan 9 worked.
    text = NOTICE.decode().replace("一、元旦：1月1日（星期五）至3日放假，共3天。",
                                   "一、元旦：1月1日至4日放假调休，共4天。1月9日（星期六）上班。")
    arrangement = read_arrangement(text)
    clock.advance(timedelta(hours=1))
    result = await enter_year(uow(), clock, cal, arrangement, actor_id=w.admin_id,
                              actor_name="")
    assert result.status_before == "provisional"
    assert cal.year_status(2027) == "entered"
    by_id = {r.matter_id: r for r in result.recounted}
    # the explicit deadline is not counted; the major one's count lands on the same day
    assert set(by_id) == {normal}
    # Jan 4 off, Sat Jan 9 worked: Dec 25, 28-31 (5), Jan 5-8 (9), Sat Jan 9 (10)
    assert (by_id[normal].before, by_id[normal].after) == (date(2027, 1, 8), date(2027, 1, 9))

    async with SqlUnitOfWork(engine) as u:
        m = await u.matters.get(normal)
        history = await u.events.for_matter(normal)
        notices = [n for n in await u.outbox.for_person(w.a_people[1])
                   if n.kind == "deadline_recounted"]
        handler_notices = [n for n in await u.outbox.for_person(w.a_people[2])
                           if n.kind == "deadline_recounted"]
        summary = [n for n in await u.outbox.for_person(w.admin_id)
                   if n.kind == "office_holidays_entered"]
        rows = await u.matters.open_assignments(matter_ids=[normal, explicit])
        entered = await u.holidays.latest()
    assert m.lead is not None and m.lead.deadline == date(2027, 1, 9)
    e = history[-1]
    assert e.kind == "deadline_recounted"
    assert e.before["deadline"] == "2027-01-08" and e.after["deadline"] == "2027-01-09"
    assert e.after["reason"] == RECOUNT_REASON == "节假日安排录入"
    assert {n.matter_id for n in notices} == {normal}
    assert {n.matter_id for n in handler_notices} == {normal}
    assert notices[0].payload["old_deadline"] and notices[0].payload["deadline"]
    assert len(summary) == 1 and summary[0].payload["count"] == 1
    async with SqlUnitOfWork(engine) as u:
        mj = await u.matters.get(major)
    assert mj.lead is not None and mj.lead.deadline == date(2027, 1, 22)
    assert {r.matter_id: r.deadline for r in rows}[explicit] == date(2027, 1, 6)
    assert {r.matter_id: r.deadline for r in rows}[normal] == date(2027, 1, 9)
    assert [(x.year, x.entered_by, x.source) for x in entered] == [(2027, w.admin_id, "notice")]

    # A fresh calendar (another process, a restart) gets the year from storage.
    fresh = WorkCalendar()
    assert fresh.year_status(2027) == "provisional"
    await load_entered(uow, fresh)
    assert fresh.year_status(2027) == "entered" and fresh.is_workday(date(2027, 1, 9))

    # Entering the same again changes nothing more.
    again = await enter_year(uow(), clock, cal, arrangement, actor_id=w.admin_id, actor_name="")
    assert again.recounted == () and again.status_before == "entered"


async def test_a_non_office_person_cannot_enter_a_year(engine: AsyncEngine) -> None:
    w = await seed(engine)
    cal = WorkCalendar()
    with pytest.raises(PermissionDenied):
        await enter_year(uow_factory(engine)(), FixedClock(DEC24), cal,
                         read_arrangement(NOTICE), actor_id=w.a_people[2], actor_name="")
    async with SqlUnitOfWork(engine) as u:
        assert await u.holidays.latest() == []
    assert cal.year_status(2027) == "provisional"


def test_warning_ahead_once_a_week_on_a_working_day() -> None:
    cal = WorkCalendar()
    at = lambda d: datetime(d.year, d.month, d.day, 1, 0, tzinfo=UTC)  # noqa: E731
    start = (11, 1)
    assert next_year_warning_due(cal, at(date(2026, 10, 30)), from_month=11, from_day=1) is None
    # Sun Nov 1: not a working day; Mon Nov 2 and Tue Nov 3 are in the same week
    assert next_year_warning_due(cal, at(date(2026, 11, 1)), from_month=11, from_day=1) is None
    assert next_year_warning_due(cal, at(date(2026, 11, 2)), from_month=11,
                                 from_day=1) == (2027, "2026-W45")
    assert next_year_warning_due(cal, at(date(2026, 11, 3)), from_month=11,
                                 from_day=1) == (2027, "2026-W45")
    assert next_year_warning_due(cal, at(date(2026, 11, 9)), from_month=11,
                                 from_day=1) == (2027, "2026-W46")
    [n] = next_year_warnings(cal, at(date(2026, 11, 9)), start, {1: [7]})
    assert (n.key, n.kind, n.person_id) == ("holidays_missing:2027:2026-W46:p7",
                                            "office_holidays_missing", 7)
    assert next_year_warnings(cal, at(date(2026, 11, 9)), None, {1: [7]}) == []
    cal.set_entered({2027: read_arrangement(NOTICE).schedule})
    assert next_year_warning_due(cal, at(date(2026, 11, 16)), from_month=11, from_day=1) is None


async def test_warning_ahead_is_planned_by_the_reminder_scheduler(engine: AsyncEngine) -> None:
    from bot.config import ReminderPolicy
    from reminders.scheduler import ReminderService, Settings
    from tests.test_reminders_service import FakeSender

    w = await seed(engine)
    uow = uow_factory(engine)
    clock = FixedClock(datetime(2026, 11, 9, 1, 30, tzinfo=UTC))  # Mon 09:30
    sender = FakeSender(clock=clock)
    service = ReminderService(uow, clock, WorkCalendar(), ReminderPolicy(holidays_warn_from=(11, 1)),
                              sender,
                              Settings(limits=None))
    await service.tick(full=True)
    await service.tick(full=True)
    warned = [n for _, n in sender.sent if n.kind == "office_holidays_missing"]
    assert [n.person_id for n in warned] == [w.admin_id]  # once this week
    clock.advance(timedelta(days=7))
    await service.tick(full=True)
    assert len([n for _, n in sender.sent if n.kind == "office_holidays_missing"]) == 2


# ---- the command line ----------------------------------------------------------------------

def _cli_env(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    monkeypatch.delenv("DUBAN_CONFIG", raising=False)
    monkeypatch.setenv("DUBAN_DB", url_for(db))


def test_cli_import_show_and_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "duban.db"
    _cli_env(monkeypatch, db)
    assert main(["holidays", "show", "2027"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2027年：暂定") and "春节：2月5日至2月8日放假，共4天" in out
    assert main(["deadline", "2026-12-24", "10"]) == 0
    out = capsys.readouterr().out
    assert out.split()[0] == "2027-01-08" and "暂定" in out and "2027年" in out

    path = tmp_path / "通知.txt"
    path.write_bytes(NOTICE)
    assert main(["holidays", "import", str(path)]) == 0  # migrates the new database first
    out = capsys.readouterr().out
    assert "已录入 2027 年节假日安排" in out and "国庆节：10月1日至10月7日放假，共7天" in out
    assert main(["holidays", "show", "2027"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2027年：已录入") and "2月14日（周日）" in out
    assert main(["deadline", "2026-12-24", "10"]) == 0
    out = capsys.readouterr().out
    assert out.split()[0] == "2027-01-08" and "暂定" not in out
    assert main(["holidays", "show", "2026"]) == 0
    assert capsys.readouterr().out.startswith("2026年：内置")


def test_cli_refuses_a_bad_file_and_stores_nothing(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "duban.db"
    _cli_env(monkeypatch, db)
    assert main(["db", "upgrade"]) == 0
    path = tmp_path / "2027.json"
    path.write_text(_json(days=[{"name": "元旦", "date": "2027-01-01", "isOffDay": True}]),
                    encoding="utf-8")
    assert main(["holidays", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("未录入") and "缺少法定节假日" in err
    assert asyncio.run(_count_entered(url_for(db))) == 0
    assert main(["holidays", "show", "20x7"]) == 2
    assert main(["holidays", "import", str(tmp_path / "nope.txt")]) == 2


def test_warning_start_is_configurable(tmp_path: Path) -> None:
    from bot.config import ConfigError, load_config

    path = tmp_path / "duban.toml"
    path.write_text("[calendar]\n", encoding="utf-8")
    assert load_config({}, path).reminders.holidays_warn_from == (11, 1)  # on by default
    for value, expected in (('"12-01"', (12, 1)), ("false", None), ('"off"', None)):
        path.write_text(f"[calendar]\nwarn_from = {value}\n", encoding="utf-8")
        assert load_config({}, path).reminders.holidays_warn_from == expected
    path.write_text('[calendar]\nwarn_from = "11-31"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="warn_from"):
        load_config({}, path)


async def test_in_january_of_an_unentered_year_nothing_stops(engine: AsyncEngine) -> None:
    """Registration (default, 20-day, explicit), 签收 with N个工作日, an extension, and the
    recount keeping a committed deadline that equalled the old one in step."""
    from ledger.dateparse import parse_deadline
    from ledger.lights import assignment_provisional, workdays_left

    w = await seed(engine)
    clock = FixedClock(datetime(2027, 1, 25, 1, 0, tzinfo=UTC))  # Mon 09:00, 2027 provisional
    cal = WorkCalendar()
    uow = uow_factory(engine)
    normal = await _assign(engine, w, clock, cal, "一般件")
    major = await _assign(engine, w, clock, cal, "重大件", MatterClass.MAJOR)
    explicit = await _assign(engine, w, clock, cal, "写明时限", deadline=date(2027, 3, 1))
    p, _, h = w.a_people
    committed = parse_deadline("10个工作日", date(2027, 1, 25), cal)
    assert committed == date(2027, 2, 10)  # provisionally, across 除夕 and 初三
    await sign(uow(), clock, h, normal, 1, committed)
    await request_extension(uow(), clock, p, explicit, 1, "春节期间停工", date(2027, 3, 15))
    await decide_extension(uow(), clock, w.admin_id, explicit, 1, True)
    async with SqlUnitOfWork(engine) as u:
        mj = await u.matters.get(major)
        ex = await u.matters.get(explicit)
        nm = await u.matters.get(normal)
    assert mj.lead is not None and mj.lead.deadline == date(2027, 2, 24)
    assert ex.lead is not None and ex.lead.deadline == date(2027, 3, 15)
    assert ex.lead.counted_from is None  # an approved extension is a decided date
    assert nm.lead is not None and nm.lead.committed_deadline == date(2027, 2, 10)
    today = date(2027, 1, 25)
    assert workdays_left(cal, today, nm.lead.effective_deadline) == 10
    assert assignment_provisional(cal, today, nm.lead)

    result = await enter_year(uow(), clock, cal, read_arrangement(NOTICE), actor_id=w.admin_id,
                              actor_name="")
    changed = {x.matter_id: (x.before, x.after) for x in result.recounted}
    # Jan 26-29, Feb 1-4 (8), Sun Feb 14 (9), Feb 15 (10); the major one goes on: Feb 16-19
    # (14), Sat Feb 20 (15), Feb 22-26 (20)
    assert changed == {normal: (date(2027, 2, 10), date(2027, 2, 15)),
                       major: (date(2027, 2, 24), date(2027, 2, 26))}
    async with SqlUnitOfWork(engine) as u:
        nm = await u.matters.get(normal)
    assert nm.lead is not None and nm.lead.committed_deadline == date(2027, 2, 15)
    assert not assignment_provisional(cal, today, nm.lead)


def test_the_reminder_planner_sees_an_entered_year_the_same_day() -> None:
    from bot.config import ReminderPolicy
    from reminders.planner import Planner

    cal = WorkCalendar()
    planner = Planner(cal, ReminderPolicy())
    now = datetime(2027, 2, 3, 1, 0, tzinfo=UTC)
    before = planner.timeline(now)
    assert not before.is_workday(date(2027, 2, 14).toordinal())  # a Sunday, provisionally
    assert planner.timeline(now) is before
    cal.set_entered({2027: read_arrangement(NOTICE).schedule})
    after = planner.timeline(now)
    assert after is not before and after.is_workday(date(2027, 2, 14).toordinal())
    cal.set_entered({2027: read_arrangement(NOTICE).schedule})  # the same again: no rebuild
    assert planner.timeline(now) is after


async def _count_entered(url: str) -> int:
    from sqlalchemy import func, select

    from storage.db import make_engine
    from storage.tables import holiday_years

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(holiday_years)))
                       .scalar_one())
    finally:
        await engine.dispose()
