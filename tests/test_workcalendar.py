"""WorkCalendar: the official calendar, schedule.toml overrides, working-day arithmetic."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.workcalendar import CalendarYearUnknown, ScheduleError, WorkCalendar, YearSchedule

CAL = WorkCalendar()
STRICT = WorkCalendar(provisional=False)  # the old behaviour: unknown years raise
REPO = Path(__file__).resolve().parent.parent

# A made-up 2027 arrangement (the real one is for the office to enter).
TOML_2027 = """
[2027]
holidays = ["2027-01-01..2027-01-03", "2027-02-05..2027-02-13", "2027-10-01..2027-10-07"]
workdays = ["2027-02-20", "2027-10-09"]
"""
CAL_2027 = WorkCalendar(WorkCalendar.parse_toml(TOML_2027))


def d(text: str) -> date:
    return date.fromisoformat(text)


# -- the package's data ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2026-01-01", False),  # 元旦
        ("2026-02-16", False),  # 春节
        ("2026-02-14", True),  # Saturday, 春节调休上班
        ("2026-02-28", True),  # Saturday, 春节调休上班
        ("2026-10-01", False),  # 国庆
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),  # Saturday, 国庆调休上班
        ("2026-10-11", False),  # ordinary Sunday
        ("2026-05-13", True),  # ordinary Wednesday
        ("2026-05-16", False),  # ordinary Saturday
        ("2004-01-01", False),
        ("2004-01-17", True),  # the package's first make-up day
        ("2020-01-24", False),  # 除夕 2020
    ],
)
def test_is_workday_known_days(day: str, working: bool) -> None:
    assert CAL.is_workday(d(day)) is working


def test_knows_package_years_only() -> None:
    assert CAL.knows(2004) and CAL.knows(2026)
    assert not CAL.knows(2003) and not CAL.knows(2027)
    assert CAL.covers(2027) and CAL.year_status(2027) == "provisional"
    assert not STRICT.covers(2027) and STRICT.year_status(2027) == "unknown"
    assert not WorkCalendar(use_package=False, provisional=False).covers(2026)


def test_known_answer_national_day_2026() -> None:
    assert CAL.add_workdays(date(2026, 9, 28), 10) == date(2026, 10, 16)


# -- the counting rule: every example in docs/working-days.md ----------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2026-05-18", 0, "2026-05-18"),
        ("2026-05-18", 1, "2026-05-19"),
        ("2026-05-16", 0, "2026-05-18"),
        ("2026-05-16", 1, "2026-05-18"),
        ("2026-05-16", 2, "2026-05-19"),
        ("2026-10-03", 1, "2026-10-08"),
        ("2026-10-09", 1, "2026-10-10"),
        ("2026-09-28", 10, "2026-10-16"),
        ("2025-12-31", 1, "2026-01-04"),
    ],
)
def test_add_workdays_documented_examples(start: str, n: int, expected: str) -> None:
    assert CAL.add_workdays(d(start), n) == d(expected)


def test_workdays_between_documented_examples() -> None:
    assert CAL.workdays_between(d("2026-09-28"), d("2026-10-16")) == 10
    assert CAL.workdays_between(d("2026-10-16"), d("2026-09-28")) == -10
    assert CAL.workdays_between(d("2026-05-16"), d("2026-05-18")) == 1
    assert CAL.workdays_between(d("2026-05-16"), d("2026-05-16")) == 0


def test_next_workday_and_on_or_after() -> None:
    assert CAL.next_workday(d("2026-05-18")) == d("2026-05-19")
    assert CAL.next_workday(d("2026-09-30")) == d("2026-10-08")
    assert CAL.workday_on_or_after(d("2026-05-18")) == d("2026-05-18")
    assert CAL.workday_on_or_after(d("2026-10-01")) == d("2026-10-08")


def test_negative_n_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.add_workdays(d("2026-05-18"), -1)


def test_add_workdays_across_many_years() -> None:
    start = d("2010-06-01")
    end = CAL.add_workdays(start, 2500)
    assert CAL.workdays_between(start, end) == 2500
    assert end.year == 2020


# -- unknown years ------------------------------------------------------------------------


def test_unknown_year_names_the_year() -> None:
    with pytest.raises(CalendarYearUnknown) as info:
        STRICT.is_workday(d("2027-03-01"))
    assert info.value.year == 2027
    assert "2027年的节假日安排尚未录入" in str(info.value)
    assert "duban holidays import" in str(info.value)


def test_unknown_year_when_counting_runs_past_the_data() -> None:
    with pytest.raises(CalendarYearUnknown) as info:
        STRICT.add_workdays(d("2026-12-20"), 10)
    assert info.value.year == 2027
    with pytest.raises(CalendarYearUnknown):
        STRICT.workdays_between(d("2026-12-20"), d("2027-01-10"))
    with pytest.raises(CalendarYearUnknown) as early:
        STRICT.add_workdays(d("2003-12-31"), 1)
    assert early.value.year == 2003


def test_counting_up_to_the_last_known_day_needs_no_next_year() -> None:
    assert CAL.workdays_between(d("2026-12-30"), d("2026-12-31")) == 1
    assert CAL.add_workdays(d("2026-12-30"), 1) == d("2026-12-31")


# -- overrides ------------------------------------------------------------------------------


def test_override_makes_2027_computable() -> None:
    assert CAL_2027.covers(2027)
    assert not CAL_2027.is_workday(d("2027-02-08"))
    assert CAL_2027.is_workday(d("2027-02-20"))  # Saturday make-up
    assert CAL_2027.add_workdays(d("2026-12-30"), 2) == d("2027-01-04")
    # Sep 27-30 (4), Oct 8 (5), Sat Oct 9 (6), Oct 11-14 (10)
    assert CAL_2027.add_workdays(d("2027-09-24"), 10) == d("2027-10-14")


def test_override_replaces_the_whole_package_year() -> None:
    cal = WorkCalendar({2026: YearSchedule(2026, frozenset({d("2026-03-02")}), frozenset())})
    assert not cal.is_workday(d("2026-03-02"))  # the override's holiday
    assert cal.is_workday(d("2026-10-01"))  # package holiday gone: a plain Thursday
    assert not cal.is_workday(d("2026-10-10"))  # package make-up day gone: a plain Saturday
    assert cal.is_workday(d("2025-10-01")) is False  # other years untouched


def test_use_package_false_knows_only_overrides() -> None:
    cal = WorkCalendar(WorkCalendar.parse_toml(TOML_2027), use_package=False,
                       provisional=False)
    assert cal.covers(2027) and not cal.covers(2026)
    with pytest.raises(CalendarYearUnknown):
        cal.is_workday(d("2026-05-13"))


def test_override_key_must_match_its_year() -> None:
    with pytest.raises(ScheduleError):
        WorkCalendar({2027: YearSchedule(2028, frozenset(), frozenset())})


def test_from_toml_missing_or_none_means_package_only(tmp_path: Path) -> None:
    for cal in (WorkCalendar.from_toml(None), WorkCalendar.from_toml(tmp_path / "nope.toml")):
        assert cal.knows(2026) and not cal.knows(2027)


def test_from_toml_reads_file_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "schedule.toml"
    path.write_text("\ufeff" + TOML_2027, encoding="utf-8")
    cal = WorkCalendar.from_toml(path)
    assert cal.covers(2027) and cal.covers(2026)
    assert cal.is_workday(d("2027-10-09"))


def test_parse_toml_accepts_bare_dates_and_ranges() -> None:
    parsed = WorkCalendar.parse_toml(
        '[2027]\nholidays = [2027-01-01, "2027-02-05 .. 2027-02-07"]\nworkdays = []\n'
    )
    assert parsed[2027].holidays == {d("2027-01-01"), d("2027-02-05"), d("2027-02-06"),
                                     d("2027-02-07")}
    assert parsed[2027].workdays == frozenset()


def _example_section() -> str:
    text = (REPO / "schedule.example.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("# [2027]")
    return "\n".join(re.sub(r"^# ?", "", line) for line in lines[start:])


def test_schedule_example_is_valid_when_uncommented() -> None:
    # the file itself, as shipped, defines nothing
    assert WorkCalendar.parse_toml((REPO / "schedule.example.toml").read_text("utf-8")) == {}
    parsed = WorkCalendar.parse_toml(_example_section())
    assert set(parsed) == {2027}
    assert len(parsed[2027].workdays) == 5
    cal = WorkCalendar(parsed)
    assert cal.add_workdays(d("2027-09-30"), 1) == d("2027-10-08")


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[2027\n", "格式有误"),
        ("[abcd]\nholidays=[]\nworkdays=[]\n", "「abcd」不是年份"),
        ("2027 = 1\n", "应是一节 [2027]"),
        ('[2027]\nholidays=[]\nworkdays=[]\nholiday=["2027-01-01"]\n', "不认识的项「holiday」"),
        ('[2027]\nholidays=["2027-01-01"]\n', "缺少 workdays"),
        ("[2027]\nworkdays=[]\n", "缺少 holidays"),
        ('[2027]\nholidays="2027-01-01"\nworkdays=[]\n', "应写成列表"),
        ('[2027]\nholidays=["2027-02-30"]\nworkdays=[]\n', "「2027-02-30」不是有效日期"),
        ('[2027]\nholidays=["27-2-3"]\nworkdays=[]\n', "「27-2-3」不是有效日期"),
        ('[2027]\nholidays=["2027-01-01..2027-01-02..2027-01-03"]\nworkdays=[]\n', "看不懂"),
        ("[2027]\nholidays=[5]\nworkdays=[]\n", "「5」不是日期"),
        ('[2027]\nholidays=["2026-12-31"]\nworkdays=[]\n', "「2026-12-31」不在 2027 年内"),
        ('[2027]\nholidays=["2026-12-31..2027-01-02"]\nworkdays=[]\n', "不在 2027 年内"),
        ('[2027]\nholidays=["2027-02-11..2027-02-05"]\nworkdays=[]\n', "起点晚于终点"),
        ('[2027]\nholidays=["2027-02-05..2027-02-13"]\nworkdays=["2027-02-13"]\n',
         "既在 holidays（「2027-02-05..2027-02-13」）又在 workdays（「2027-02-13」）"),
        ('[2027]\nholidays=[]\nworkdays=["2027-02-15"]\n', "「2027-02-15」含 2027-02-15（周一）"),
    ],
)
def test_schedule_errors_name_year_and_entry(toml: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as info:
        WorkCalendar.parse_toml(toml)
    message = str(info.value)
    assert fragment in message
    if "格式有误" not in fragment and "abcd" not in fragment:
        assert "2027" in message


def test_schedule_error_carries_year_and_entry() -> None:
    with pytest.raises(ScheduleError) as info:
        WorkCalendar.parse_toml('[2027]\nholidays=[]\nworkdays=["2027-02-15"]\n')
    assert info.value.year == 2027
    assert info.value.entry == "2027-02-15"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("holidays", "workdays"),
    [
        ({date(2026, 1, 1)}, set()),  # wrong year
        ({date(2027, 2, 20)}, {date(2027, 2, 20)}),  # both
        (set(), {date(2027, 2, 15)}),  # a Monday as make-up day
    ],
)
def test_year_schedule_validates_itself(holidays: set[date], workdays: set[date]) -> None:
    with pytest.raises(ScheduleError):
        YearSchedule(2027, frozenset(holidays), frozenset(workdays))


# -- properties -----------------------------------------------------------------------------

# Keep clear of both ends of the data so results stay inside known years.
# 40 working days (a + b below) are about two months.
known_days = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 10, 15))
override_days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 10, 15))
small_n = st.integers(min_value=0, max_value=20)


@given(known_days, st.integers(min_value=1, max_value=20))
def test_result_is_a_working_day(start: date, n: int) -> None:
    assert CAL.is_workday(CAL.add_workdays(start, n))


@given(known_days, small_n)
def test_monotone_in_n(start: date, n: int) -> None:
    this, following = CAL.add_workdays(start, n), CAL.add_workdays(start, n + 1)
    # strictly increasing, except n=0 → 1 from a non-working start (both its next working day)
    if n >= 1 or CAL.is_workday(start):
        assert this < following
    else:
        assert this == following


@given(known_days, small_n)
def test_at_least_n_calendar_days(start: date, n: int) -> None:
    assert (CAL.add_workdays(start, n) - start).days >= n


@given(known_days, small_n)
def test_workdays_between_inverts_add(start: date, n: int) -> None:
    end = CAL.add_workdays(start, n)
    if n >= 1 or CAL.is_workday(start):
        assert CAL.workdays_between(start, end) == n
        assert CAL.workdays_between(end, start) == -n


@given(known_days, known_days)
def test_workdays_between_antisymmetric_and_bounded(a: date, b: date) -> None:
    count = CAL.workdays_between(a, b)
    assert count == -CAL.workdays_between(b, a)
    assert abs(count) <= abs((b - a).days)


@given(known_days, small_n, small_n)
def test_add_is_additive_from_a_working_day(start: date, a: int, b: int) -> None:
    w = CAL.workday_on_or_after(start)
    assert CAL.add_workdays(CAL.add_workdays(w, a), b) == CAL.add_workdays(w, a + b)


@given(known_days)
def test_next_workday_skips_only_non_working_days(start: date) -> None:
    nxt = CAL.next_workday(start)
    assert nxt > start and CAL.is_workday(nxt)
    gap = (start + timedelta(days=i) for i in range(1, (nxt - start).days))
    assert not any(CAL.is_workday(x) for x in gap)


@given(known_days)
def test_is_workday_matches_the_package(day: date) -> None:
    import chinese_calendar

    assert CAL.is_workday(day) is chinese_calendar.is_workday(day)


@given(override_days, small_n)
def test_override_year_is_computable(start: date, n: int) -> None:
    end = CAL_2027.add_workdays(start, n)
    assert CAL_2027.is_workday(end)
    if n >= 1 or CAL_2027.is_workday(start):
        assert CAL_2027.workdays_between(start, end) == n


# -- timing (printed, not asserted) ---------------------------------------------------------


def test_timing_100k_add_workdays(capsys: pytest.CaptureFixture[str]) -> None:
    cal = WorkCalendar()
    base = date(2005, 1, 1).toordinal()
    starts = [date.fromordinal(base + (i * 37) % 7800) for i in range(100_000)]
    t0 = time.perf_counter()
    for i, start in enumerate(starts):
        cal.add_workdays(start, i % 21)
    elapsed = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n100,000 add_workdays calls (n in 0..20, 2005-2026): {elapsed:.3f} s")
