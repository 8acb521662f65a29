"""parse_deadline: what officials type on phones. Examples mirror docs/working-days.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.dateparse import ROLLOVER_DAYS, DateParseError, parse_deadline
from ledger.workcalendar import CalendarYearUnknown, WorkCalendar

CAL = WorkCalendar()
TODAY = date(2026, 5, 13)  # a Wednesday
DEC20 = date(2026, 12, 20)  # a Sunday
d = date.fromisoformat


def parse(text: str, today: date = TODAY) -> date:
    return parse_deadline(text, today, CAL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05", "2026-12-05"),
        ("2026/12/5", "2026-12-05"),
        ("2026.12.5", "2026-12-05"),
        ("2026年12月5日", "2026-12-05"),
        ("2026年12月5号", "2026-12-05"),
        ("20261205", "2026-12-05"),
        ("12月5日", "2026-12-05"),
        ("12月5号", "2026-12-05"),
        ("12月5", "2026-12-05"),
        ("12.5", "2026-12-05"),
        ("12/5", "2026-12-05"),
        ("12-5", "2026-12-05"),
        ("十二月五日", "2026-12-05"),
        ("二〇二六年十二月五日", "2026-12-05"),
        ("二零二六年十二月五号", "2026-12-05"),
        ("十一月二十三日", "2026-11-23"),
        ("十月三十一日", "2026-10-31"),
        ("十月十日", "2026-10-10"),
        ("5月20日", "2026-05-20"),
        ("今天", "2026-05-13"),
        ("明天", "2026-05-14"),
        ("后天", "2026-05-15"),
        ("大后天", "2026-05-16"),
        ("下周一", "2026-05-18"),
        ("下周三", "2026-05-20"),
        ("下周日", "2026-05-24"),
        ("下周天", "2026-05-24"),
        ("下星期一", "2026-05-18"),
        ("下礼拜天", "2026-05-24"),
        ("下个周五", "2026-05-22"),
        ("本周五", "2026-05-15"),
        ("这周五", "2026-05-15"),
        ("本周三", "2026-05-13"),
        ("这个星期日", "2026-05-17"),
        ("周五", "2026-05-15"),
        ("星期五", "2026-05-15"),
        ("周5", "2026-05-15"),
        ("周三", "2026-05-13"),
        ("周一", "2026-05-18"),
        ("月底", "2026-05-31"),
        ("本月底", "2026-05-31"),
        ("下月底", "2026-06-30"),
        ("下个月底", "2026-06-30"),
        ("年底", "2026-12-31"),
        ("10个工作日", "2026-05-27"),
        ("十个工作日", "2026-05-27"),
        ("5个工作日内", "2026-05-20"),
        ("三天内", "2026-05-16"),
        ("3天内", "2026-05-16"),
        ("3天", "2026-05-16"),
        ("3日内", "2026-05-16"),
        ("两周内", "2026-05-27"),
        ("2周内", "2026-05-27"),
        ("一周", "2026-05-20"),
        ("一个月内", "2026-06-13"),
        # normalisation: spaces, full width, prefixes and suffixes
        (" 12 月 5 日 ", "2026-12-05"),
        ("１２．５", "2026-12-05"),
        ("１２／５", "2026-12-05"),
        ("２０２６－１２－０５", "2026-12-05"),
        ("12。5", "2026-12-05"),
        ("12月5日前", "2026-12-05"),
        ("截止12月5日", "2026-12-05"),
        ("到月底", "2026-05-31"),
        ("下周五之前", "2026-05-22"),
    ],
)
def test_accepted_forms(text: str, expected: str) -> None:
    assert parse(text) == d(expected)


def test_month_end_is_kept_even_if_not_a_working_day() -> None:
    assert parse("月底", date(2026, 10, 20)) == date(2026, 10, 31)  # a Saturday
    assert not CAL.is_workday(date(2026, 10, 31))


def test_month_end_on_last_day_is_today() -> None:
    assert parse("月底", date(2026, 5, 31)) == date(2026, 5, 31)
    assert parse("下月底", date(2026, 1, 31)) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.5", None), ("10.21", None), ("10.20", "2027-10-20"), ("1月10日", "2027-01-10"),
     ("12.20", "2026-12-20"), ("12月31日", "2026-12-31")],
)
def test_year_rollover_rule(text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(DateParseError, match="日期已过"):
            parse(text, DEC20)
    else:
        assert parse(text, DEC20) == d(expected)


def test_feb_29() -> None:
    assert parse("2月29日", date(2027, 12, 1)) == date(2028, 2, 29)
    with pytest.raises(DateParseError, match="2027年没有2月29日"):
        parse("2月29日", date(2027, 2, 1))
    with pytest.raises(DateParseError, match="没有这个日期"):
        parse("2月29日", date(2026, 12, 1))  # 2027 is a common year


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2025-01-01", "日期已过"),
        ("2026-05-12", "日期已过"),
        ("5.1", "日期已过"),
        ("2月30日", "没有这个日期"),
        ("2026-13-01", "没有这个日期"),
        ("13.5", "没有这个日期"),
        ("零月五日", "没有这个日期"),
        ("本周一", "已经过去"),
        ("这周二", "已经过去"),
        ("0天", "至少"),
        ("400天", "太远"),
        ("300个工作日", "太远"),
        ("3天前", "看不懂"),
        ("下周", "看不懂"),
        ("十十月五日", "看不懂"),
        ("两十天", "看不懂"),
        ("明天下午", "看不懂"),
        ("", "看不懂"),
        ("   ", "看不懂"),
        ("尽快", "看不懂"),
        ("12.5.6", "看不懂"),
        ("٣.٥", "看不懂"),  # Arabic-Indic digits are not accepted
    ],
)
def test_rejected(text: str, fragment: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse(text)
    assert fragment in str(info.value)


def test_unreadable_message_lists_accepted_forms() -> None:
    with pytest.raises(DateParseError) as info:
        parse("xx")
    assert str(info.value) == (
        "看不懂这个日期：「xx」。可以这样写：2026-12-05、12月5日、12.5、明天、下周一、月底、10个工作日、三天内"
    )
    assert info.value.text == "xx"


def test_workdays_into_unknown_year_raise_calendar_error() -> None:
    with pytest.raises(CalendarYearUnknown):
        parse_deadline("10个工作日", DEC20, WorkCalendar(provisional=False))
    # the default calendar counts 2027 provisionally (1月1日 off, no 调休)
    assert parse("10个工作日", DEC20) == date(2027, 1, 4)
    # explicit dates in an unknown year need no calendar
    assert parse("2027-03-01", DEC20) == date(2027, 3, 1)


# -- properties -----------------------------------------------------------------------------

CN_DIGITS = "〇一二三四五六七八九"
FULL_WIDTH = str.maketrans("0123456789-/.", "０１２３４５６７８９－／．")


def cn(n: int) -> str:
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")
    return head + (CN_DIGITS[ones] if ones else "")


FULL_STYLES: list[Callable[[date], str]] = [
    lambda x: x.isoformat(),
    lambda x: f"{x.year}-{x.month}-{x.day}",
    lambda x: f"{x.year}/{x.month}/{x.day}",
    lambda x: f"{x.year}.{x.month}.{x.day}",
    lambda x: f"{x.year}年{x.month}月{x.day}日",
    lambda x: f"{x.year}年{x.month:02d}月{x.day:02d}号",
    lambda x: f"{x:%Y%m%d}",
    lambda x: x.isoformat().translate(FULL_WIDTH),
    lambda x: "".join(CN_DIGITS[int(c)] for c in str(x.year)) + f"年{cn(x.month)}月{cn(x.day)}日",
]
MONTH_DAY_STYLES: list[Callable[[date], str]] = [
    lambda x: f"{x.month}.{x.day}",
    lambda x: f"{x.month}/{x.day}",
    lambda x: f"{x.month}-{x.day}",
    lambda x: f"{x.month:02d}.{x.day:02d}",
    lambda x: f"{x.month}月{x.day}日",
    lambda x: f"{x.month}月{x.day}号",
    lambda x: f"{cn(x.month)}月{cn(x.day)}日",
    lambda x: f"{x.month}.{x.day}".translate(FULL_WIDTH),
]
todays = st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 12, 31))


@given(todays, st.integers(min_value=0, max_value=3000), st.sampled_from(FULL_STYLES))
def test_full_dates_round_trip(today: date, ahead: int, style: Callable[[date], str]) -> None:
    target = today + timedelta(days=ahead)
    assert parse_deadline(style(target), today, CAL) == target


@given(todays, st.integers(min_value=0, max_value=290), st.sampled_from(MONTH_DAY_STYLES))
def test_month_day_round_trip(today: date, ahead: int, style: Callable[[date], str]) -> None:
    target = today + timedelta(days=ahead)
    assert parse_deadline(style(target), today, CAL) == target


@given(todays, st.integers(min_value=1, max_value=ROLLOVER_DAYS), st.sampled_from(MONTH_DAY_STYLES))
def test_recent_past_month_day_is_an_error(
    today: date, ago: int, style: Callable[[date], str]
) -> None:
    target = today - timedelta(days=ago)
    assume(target.year == today.year)
    with pytest.raises(DateParseError, match="日期已过"):
        parse_deadline(style(target), today, CAL)


@given(todays, st.integers(min_value=1, max_value=3000), st.sampled_from(FULL_STYLES))
def test_past_full_date_is_an_error(today: date, ago: int, style: Callable[[date], str]) -> None:
    with pytest.raises(DateParseError, match="日期已过"):
        parse_deadline(style(today - timedelta(days=ago)), today, CAL)


@given(todays, st.sampled_from("一二三四五六日"))
def test_next_week_weekday(today: date, day: str) -> None:
    got = parse_deadline("下周" + day, today, CAL)
    assert got.isocalendar().week != today.isocalendar().week or got.year != today.year
    assert 1 <= (got - today).days <= 13
    assert got.weekday() == "一二三四五六日".index(day)


# Parsing garbage must only ever raise DateParseError. 2025-03-01 keeps even 250 working
# days inside the package's years, so CalendarYearUnknown cannot legitimately occur.
GARBAGE_TODAY = date(2025, 3, 1)
near_miss = st.text(
    alphabet="0123456789０１２.-/。年月日号周星期礼拜下本这个工作天内前后今明十一二三两〇零底 ",
    max_size=12,
)


@given(st.one_of(st.text(max_size=40), near_miss))
def test_garbage_raises_only_date_parse_error(text: str) -> None:
    try:
        result = parse_deadline(text, GARBAGE_TODAY, CAL)
    except DateParseError as exc:
        assert str(exc)
    else:
        assert isinstance(result, date)


def test_a_past_date_is_refused_with_its_date_written_the_chinese_way() -> None:
    with pytest.raises(DateParseError) as info:
        parse("2026-12-17", DEC20)
    assert "是 2026年12月17日，今天已是 2026年12月20日" in str(info.value)
    assert "2026-12-17" not in str(info.value).replace("「2026-12-17」", "")
