"""Reading a year's official holiday arrangement from what the office has at hand.

Three formats, told apart by their content:

- holiday-cn JSON, as that project publishes it (``$schema``, ``$id``, ``year``, ``papers``,
  ``days: [{name, date, isOffDay}]``; ``isOffDay: false`` is a make-up working day);
- a ``schedule.toml`` section (``[2027]`` with ``holidays`` and ``workdays``);
- the State Council notice as plain text (《国务院办公厅关于2027年部分节假日安排的通知》).

`read_arrangement` returns a checked `Arrangement` or raises `HolidayFileError`, whose
message (Chinese) says what is wrong and what to send instead. Nothing here stores anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from ledger.errors import InvalidInput
from ledger.statutory import FIRST_YEAR, LAST_YEAR, STATUTORY_NAMES, statutory_days
from ledger.workcalendar import ScheduleError, WorkCalendar, YearSchedule

__all__ = ["WHAT_TO_SEND", "Arrangement", "HolidayFileError", "read_arrangement"]

WHAT_TO_SEND = (
    "请发送以下任一种文件：国务院办公厅《关于××年部分节假日安排的通知》全文（纯文本 .txt）、"
    "holiday-cn 的 ××××.json，或 schedule.toml 中该年的一节（[2027] 下写 holidays 与 workdays）。"
)
_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
SOURCE_LABELS = {"holiday-cn": "holiday-cn JSON", "toml": "schedule.toml", "notice": "国务院通知"}


class HolidayFileError(InvalidInput):
    """The file cannot be used; str() is the reply."""


@dataclass(frozen=True)
class Arrangement:
    """One year's arrangement, read and checked."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str  # holiday-cn / toml / notice
    names: dict[date, str] = field(default_factory=dict)  # festival of each day, when known
    ignored: tuple[date, ...] = ()  # dates of other years found in the file (not entered)

    @property
    def schedule(self) -> YearSchedule:
        return YearSchedule(self.year, self.holidays, self.workdays)

    def lines(self) -> list[str]:
        """The days, festival by festival, for the office to check before confirming."""
        groups: dict[str, tuple[list[date], list[date]]] = {}
        statutory = statutory_days(self.year)
        for d in sorted(self.holidays | self.workdays):
            name = (self.names.get(d) or statutory.get(d)
                    or _nearest_name(d, self.names or statutory))
            off, work = groups.setdefault(name, ([], []))
            (work if d in self.workdays else off).append(d)
        out = []
        for name, (off, work) in groups.items():
            text = f"{name}：{_ranges(off)}放假，共{len(off)}天" if off else f"{name}："
            if work:
                text += "；" + "、".join(f"{_md(d)}（{_WEEKDAYS[d.weekday()]}）" for d in work)
                text += "上班"
            out.append(text)
        return out


def _nearest_name(d: date, names: dict[date, str]) -> str:
    if not names:
        return "其他"
    best = min(names, key=lambda x: abs((x - d).days))
    return names[best]


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def _ranges(days: list[date]) -> str:
    parts: list[str] = []
    start = prev = days[0]
    for d in [*days[1:], None]:
        if d is not None and d - prev == timedelta(days=1):
            prev = d
            continue
        parts.append(_md(start) if start == prev else f"{_md(start)}至{_md(prev)}")
        if d is not None:
            start = prev = d
    return "、".join(parts)


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is fine), else GB18030 (a notice saved on Windows)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise HolidayFileError("文件不是文本（UTF-8 或 GBK 编码）。" + WHAT_TO_SEND)


def read_arrangement(data: bytes | str) -> Arrangement:
    """Parse and check one year's arrangement from any of the three formats."""
    text = decode(data) if isinstance(data, bytes) else data
    stripped = text.strip()
    if not stripped:
        raise HolidayFileError("文件是空的。" + WHAT_TO_SEND)
    if stripped.startswith("{"):
        found = _from_holiday_cn(stripped)
    elif re.search(r"^\s*\[\s*\d{4}\s*\]", stripped, re.M) and "holidays" in stripped:
        found = _from_toml(stripped)
    elif "放假" in stripped or "节假日安排" in stripped:
        found = _from_notice(stripped)
    else:
        raise HolidayFileError("看不出这是节假日安排。" + WHAT_TO_SEND)
    _check(found)
    return found


# ---- holiday-cn JSON ----------------------------------------------------------------------

def _from_holiday_cn(text: str) -> Arrangement:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HolidayFileError(
            f"JSON 格式有误（第{exc.lineno}行第{exc.colno}列）。" + WHAT_TO_SEND) from exc
    if not isinstance(data, dict) or not isinstance(data.get("days"), list):
        raise HolidayFileError(
            "这个 JSON 不是 holiday-cn 的格式：应有 \"year\" 和 \"days\"（每项含 name、date、"
            "isOffDay）。")
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise HolidayFileError("JSON 中缺少年份 \"year\"（如 \"year\": 2027）。")
    _check_year_range(year)
    holidays: set[date] = set()
    workdays: set[date] = set()
    names: dict[date, str] = {}
    ignored: list[date] = []
    for i, item in enumerate(data["days"], start=1):
        if not isinstance(item, dict) or not {"name", "date", "isOffDay"} <= set(item):
            raise HolidayFileError(
                f"days 的第{i}项不完整：每项要有 name、date、isOffDay 三个字段。")
        raw, off, name = item["date"], item["isOffDay"], item["name"]
        if not isinstance(off, bool) or not isinstance(name, str):
            raise HolidayFileError(
                f"days 的第{i}项（{raw}）有误：isOffDay 应是 true 或 false，name 应是节日名称。")
        try:
            d = date.fromisoformat(str(raw))
        except ValueError as exc:
            raise HolidayFileError(
                f"days 的第{i}项日期「{raw}」无效：应写成 {year}-01-01。") from exc
        if d.year != year:
            ignored.append(d)  # holiday-cn lists late-December make-up days under next year
            continue
        (holidays if off else workdays).add(d)
        names[d] = _festival(name)
    return Arrangement(year, frozenset(holidays), frozenset(workdays), "holiday-cn", names,
                       tuple(sorted(ignored)))


def _festival(name: str) -> str:
    for known in STATUTORY_NAMES:
        if known.rstrip("节") in name:
            return known
    return name.strip() or "其他"


# ---- schedule.toml ------------------------------------------------------------------------

def _from_toml(text: str) -> Arrangement:
    try:
        sections = WorkCalendar.parse_toml(text)
    except ScheduleError as exc:
        raise HolidayFileError(str(exc)) from exc
    if len(sections) != 1:
        years = "、".join(str(y) for y in sorted(sections))
        raise HolidayFileError(f"文件里有 {years} 多个年份：请一次录入一年，只留一节。")
    (year, sched), = sections.items()
    _check_year_range(year)
    return Arrangement(year, sched.holidays, sched.workdays, "toml")


# ---- the State Council notice -------------------------------------------------------------

_TITLE_YEAR = re.compile(r"关于\s*(\d{4})\s*年\s*(?:部分)?节假日")
_ITEM = re.compile(r"^\s*[一二三四五六七八九十]+\s*[、.．]\s*(?P<names>[^：:]{1,20})[：:](?P<body>.+)$")
_RANGE = re.compile(
    r"(?:(?P<y1>\d{4})年)?(?P<m1>\d{1,2})月(?P<d1>\d{1,2})日"
    r"(?:\s*至\s*(?:(?P<y2>\d{4})年)?(?:(?P<m2>\d{1,2})月)?(?P<d2>\d{1,2})日)?")
_PAREN = re.compile(r"[（(][^）)]*[）)]")


def _from_notice(text: str) -> Arrangement:
    m = _TITLE_YEAR.search(text)
    if m is None:
        raise HolidayFileError(
            "通知里找不到年份：请连同标题一起发送，如《国务院办公厅关于2027年部分节假日安排的通知》。")
    year = int(m[1])
    _check_year_range(year)
    holidays: set[date] = set()
    workdays: set[date] = set()
    names: dict[date, str] = {}
    ignored: list[date] = []
    items = 0
    for line in text.splitlines():
        item = _ITEM.match(line.strip())
        if item is None:
            continue
        festival = "、".join(_festival(n) for n in re.split(r"[、，,]", item["names"]) if n)
        body = _PAREN.sub("", item["body"])
        found = False
        for sentence in re.split(r"[。；;]", body):
            if "放假" in sentence:
                head = sentence.split("放假", 1)[0]
                for r in _RANGE.finditer(head):
                    for d in _expand(year, r, line):
                        found = True
                        if d.year != year:
                            ignored.append(d)
                            continue
                        holidays.add(d)
                        names[d] = festival
            elif "上班" in sentence:
                for r in _RANGE.finditer(sentence):
                    for d in _expand(year, r, line):
                        if d.year != year:
                            ignored.append(d)
                            continue
                        workdays.add(d)
                        names[d] = festival
        if not found:
            raise HolidayFileError(
                f"这一条看不懂放假日期：「{line.strip()}」。应写成「一、元旦：1月1日至3日放假调休，"
                "共3天。1月4日（星期日）上班。」这样的原文。")
        items += 1
    if items == 0:
        raise HolidayFileError(
            "通知里找不到「一、元旦：1月1日放假……」这样的条目：请发送通知全文（纯文本）。")
    return Arrangement(year, frozenset(holidays), frozenset(workdays), "notice", names,
                       tuple(sorted(ignored)))


def _expand(year: int, r: re.Match[str], line: str) -> list[date]:
    try:
        y1 = int(r["y1"] or year)
        first = date(y1, int(r["m1"]), int(r["d1"]))
        if r["d2"] is None:
            return [first]
        y2 = int(r["y2"] or y1)
        last = date(y2, int(r["m2"] or r["m1"]), int(r["d2"]))
    except ValueError as exc:
        raise HolidayFileError(f"这一条里有不存在的日期：「{line.strip()}」。") from exc
    if last < first:
        if r["y2"] is None and r["m2"] is not None and last.replace(year=last.year + 1) >= first:
            last = last.replace(year=last.year + 1)  # 12月31日至1月2日
        else:
            raise HolidayFileError(f"这一条的日期区间起点晚于终点：「{line.strip()}」。")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ---- checks -------------------------------------------------------------------------------

def _check_year_range(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise HolidayFileError(f"年份 {year} 不对：请检查文件中的年份。")


def _check(a: Arrangement) -> None:
    if not a.holidays:
        raise HolidayFileError(f"文件里没有 {a.year} 年的放假日期。" + WHAT_TO_SEND)
    both = sorted(a.holidays & a.workdays)
    if both:
        raise HolidayFileError(f"{both[0].isoformat()} 既是放假日又是上班日，请检查文件。")
    for d in sorted(a.workdays):
        if d.weekday() < 5:
            raise HolidayFileError(
                f"调休上班日 {_md(d)}（{d.isoformat()} 是{_WEEKDAYS[d.weekday()]}）：调休上班日只能是周六或周日，"
                "请核对通知原文。")
    missing = [(d, n) for d, n in statutory_days(a.year).items()
               if d not in a.holidays and (d.weekday() < 5 or d in a.workdays)]
    if missing:
        text = "、".join(f"{n}{_md(d)}" for d, n in missing)
        raise HolidayFileError(
            f"{a.year} 年的安排缺少法定节假日：{text}。请核对是否是完整的全年安排"
            "（《全国年节及纪念日放假办法》规定的节日都应放假）。")
