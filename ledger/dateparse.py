"""Deadlines as officials type them on a phone: 12.5、12月5日、下周五、月底、10个工作日…

The rules (year roll-over, weekdays, what counts as past) are in docs/working-days.md.
Only ``N个工作日`` needs the calendar, so only it can raise CalendarYearUnknown.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from ledger.clock import cn_date
from ledger.errors import InvalidInput, shown
from ledger.workcalendar import WorkCalendar

__all__ = ["ROLLOVER_DAYS", "DateParseError", "ParsedDeadline", "parse_deadline",
           "parse_deadline_counted"]

# A year-less month-day this many days (or fewer) in the past is a mistake, not next year.
ROLLOVER_DAYS = 60

# Sanity caps: beyond these it is a typo, and dates could overflow.
_MAX_DAYS = 366
_MAX_WEEKS = 52
_MAX_MONTHS = 12
_MAX_WORKDAYS = 250

_HELP = "可以这样写：2026-12-05、12月5日、12.5、明天、下周一、月底、10个工作日、三天内"

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_WEEKDAYS = {
    "一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
    "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6,
}

_NUM = r"[0-9]{1,3}|[零〇一二两三四五六七八九十]{1,3}"
_YEAR = r"[0-9]{4}|[零〇一二三四五六七八九]{4}"
_WITHIN = r"(?:以内|之内|内)?"  # for durations: 3天内
_BEFORE = r"(?:之前|以前|前)?"  # for points in time: 12月5日前
_WEEK_WORD = r"(?:周|星期|礼拜)"

_PREFIX_RE = re.compile(r"^(?:截止到|截至到|截止|截至|到|至|在)")
_ISO_RE = re.compile(rf"^([0-9]{{4}})([-/.])([0-9]{{1,2}})\2([0-9]{{1,2}})(?:日|号)?{_BEFORE}$")
_COMPACT_RE = re.compile(rf"^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}}){_BEFORE}$")
_CN_DATE_RE = re.compile(rf"^(?:({_YEAR})年)?({_NUM})月({_NUM})(?:日|号)?{_BEFORE}$")
_MONTH_DAY_RE = re.compile(rf"^([0-9]{{1,2}})([-/.])([0-9]{{1,2}})(?:日|号)?{_BEFORE}$")
_WEEKDAY_RE = re.compile(rf"^(下个?|本|这个?)?{_WEEK_WORD}([一二三四五六日天1-7]){_BEFORE}$")
_WORKDAYS_RE = re.compile(rf"^({_NUM})个?工作日{_WITHIN}$")
_DAYS_RE = re.compile(rf"^({_NUM})(?:天{_WITHIN}|日(?:以内|之内|内))$")
_WEEKS_RE = re.compile(rf"^({_NUM})个?{_WEEK_WORD}{_WITHIN}$")
_MONTHS_RE = re.compile(rf"^({_NUM})个月{_WITHIN}$")
_WORD_RE = re.compile(rf"^(今天|今日|当天|明天|明日|后天|後天|大后天|本?月底|本?月末|这个?月底"
                      rf"|下个?月底|下个?月末|年底|年末){_BEFORE}$")

_WORD_OFFSETS = {"今天": 0, "今日": 0, "当天": 0, "明天": 1, "明日": 1, "后天": 2, "後天": 2,
                 "大后天": 3}


class DateParseError(InvalidInput, ValueError):
    """The text is not a usable deadline; str() is the Chinese reply."""

    def __init__(self, message: str, text: str = "") -> None:
        self.text = text
        super().__init__(message)


@dataclass(frozen=True)
class ParsedDeadline:
    """A typed deadline and, for ``N个工作日``, how it was counted: from which day, how
    many working days. Kept so the date can be counted again once a provisional year is
    entered (ledger.calendar_entry)."""

    day: date
    counted_from: date | None = None
    workdays: int | None = None

    @property
    def counted(self) -> tuple[date, int] | None:
        if self.counted_from is None or self.workdays is None:
            return None
        return self.counted_from, self.workdays


def parse_deadline(text: str, today: date, cal: WorkCalendar) -> date:
    """The calendar date meant by ``text``, typed on ``today``.

    Raises DateParseError for anything unreadable, impossible or already past;
    ``N个工作日`` may raise CalendarYearUnknown.
    """
    return parse_deadline_counted(text, today, cal).day


def parse_deadline_counted(text: str, today: date, cal: WorkCalendar) -> ParsedDeadline:
    """Like `parse_deadline`, with the basis of a working-day count (``N个工作日``)."""
    s = _normalise(text)
    if not s or len(s) > 30:
        raise _unreadable(text)
    s = _PREFIX_RE.sub("", s)
    try:
        if m := _WORKDAYS_RE.match(s):
            n = _count(m[1], text, _MAX_WORKDAYS, "个工作日")
            return ParsedDeadline(cal.add_workdays(today, n), today, n)
        return ParsedDeadline(_parse(s, text, today))
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, DateParseError):
            raise
        raise _unreadable(text) from exc


def _parse(s: str, text: str, today: date) -> date:
    if m := _ISO_RE.match(s):
        return _full_date(text, today, int(m[1]), int(m[3]), int(m[4]))
    if m := _COMPACT_RE.match(s):
        return _full_date(text, today, int(m[1]), int(m[2]), int(m[3]))
    if m := _CN_DATE_RE.match(s):
        month, day = _int(m[2], text), _int(m[3], text)
        if m[1]:
            return _full_date(text, today, _int(m[1], text), month, day)
        return _month_day(text, today, month, day)
    if m := _MONTH_DAY_RE.match(s):
        return _month_day(text, today, int(m[1]), int(m[3]))
    if m := _WEEKDAY_RE.match(s):
        return _weekday(text, today, m[1] or "", _WEEKDAYS[m[2]])
    if m := _DAYS_RE.match(s):
        return today + timedelta(days=_count(m[1], text, _MAX_DAYS, "天"))
    if m := _WEEKS_RE.match(s):
        return today + timedelta(weeks=_count(m[1], text, _MAX_WEEKS, "周"))
    if m := _MONTHS_RE.match(s):
        return today + relativedelta(months=_count(m[1], text, _MAX_MONTHS, "个月"))
    if m := _WORD_RE.match(s):
        return _word(m[1], today)
    raise _unreadable(text)


def _normalise(text: str) -> str:
    # NFKC folds full-width digits and ．／－ to ASCII; 。 and 、 are typed as dots too
    s = unicodedata.normalize("NFKC", text)
    s = s.replace("。", ".").replace("、", ".")
    return "".join(s.split())


def _unreadable(text: str) -> DateParseError:
    shown = text.strip()
    if len(shown) > 20:
        shown = shown[:20] + "…"
    return DateParseError(f"看不懂这个日期：「{shown}」。{_HELP}", text)


def _past(text: str, d: date, today: date) -> DateParseError:
    return DateParseError(
        f"日期已过：「{shown(text)}」是 {cn_date(d)}，今天已是 {cn_date(today)}。"
        "请填今天或以后的日期。",
        text,
    )


def _int(token: str, text: str) -> int:
    """Arabic or Chinese numeral: 5, 十一, 二十三, 三十一, 两, 二〇二六."""
    if token.isascii():
        return int(token)
    value = _cn_int(token)
    if value is None:
        raise _unreadable(text)
    return value


def _cn_int(token: str) -> int | None:
    if token == "两":
        return 2
    if "两" in token:
        return None
    if "十" in token:
        head, _, tail = token.partition("十")
        if "十" in tail or len(head) > 1 or len(tail) > 1:
            return None
        tens = 1 if head == "" else _CN_DIGITS[head]
        ones = 0 if tail == "" else _CN_DIGITS[tail]
        if tens == 0 or (tail and ones == 0):
            return None
        return tens * 10 + ones
    if len(token) in (1, 4):  # 五, or a year written digit by digit: 二〇二六
        return int("".join(str(_CN_DIGITS[c]) for c in token))
    return None


def _count(token: str, text: str, limit: int, unit: str) -> int:
    n = _int(token, text)
    if n < 1:
        raise DateParseError(f"「{shown(text)}」：期限至少要 1{unit}。", text)
    if n > limit:
        raise DateParseError(
            f"「{shown(text)}」太远了：最多 {limit}{unit}，更远的请直接写日期，如 12月5日。",
            text,
        )
    return n


def _make_date(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateParseError(
            f"没有这个日期：「{shown(text)}」（{year}年没有{month}月{day}日）。", text
        ) from exc


def _full_date(text: str, today: date, year: int, month: int, day: int) -> date:
    d = _make_date(text, year, month, day)
    if d < today:
        raise _past(text, d, today)
    return d


def _month_day(text: str, today: date, month: int, day: int) -> date:
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(2000, month)[1]):
        raise DateParseError(f"没有这个日期：「{shown(text)}」（没有{month}月{day}日）。", text)
    # Feb 29 in a common year: judge "how far past" by Feb 28
    this_year = date(today.year, month, min(day, calendar.monthrange(today.year, month)[1]))
    if this_year >= today or (today - this_year).days <= ROLLOVER_DAYS:
        d = _make_date(text, today.year, month, day)
        if d < today:
            raise _past(text, d, today)
        return d
    return _make_date(text, today.year + 1, month, day)


def _weekday(text: str, today: date, prefix: str, weekday: int) -> date:
    monday = today - timedelta(days=today.weekday())
    if prefix.startswith("下"):
        return monday + timedelta(days=7 + weekday)
    if prefix:  # 本周/这周: this calendar week (Monday to Sunday), strictly
        d = monday + timedelta(days=weekday)
        if d < today:
            raise DateParseError(
                f"「{shown(text)}」已经过去（{d:%Y-%m-%d}）。"
                f"要下周的请写「下周{'一二三四五六日'[weekday]}」。",
                text,
            )
        return d
    return today + timedelta(days=(weekday - today.weekday()) % 7)  # bare 周五: next one


def _word(word: str, today: date) -> date:
    if word in _WORD_OFFSETS:
        return today + timedelta(days=_WORD_OFFSETS[word])
    if word.startswith("下"):
        return _month_end(today + relativedelta(months=1))
    if word.startswith("年"):
        return date(today.year, 12, 31)
    return _month_end(today)


def _month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
