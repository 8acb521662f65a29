"""The statutory holidays (法定节假日) that 《全国年节及纪念日放假办法》 fixes, for any year.

Used for a year whose official arrangement is neither built in nor entered yet (the
provisional calendar) and to check an entered arrangement covers every statutory day.
Lunar dates and the 清明 solar term come from ``lunar-python`` (6tail's ``lunar``; pure
Python, astronomical 寿星 algorithm, 1900–2100). No 调休 or 补休 is ever guessed here.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar, Solar  # type: ignore[import-untyped]

__all__ = ["FIRST_YEAR", "LAST_YEAR", "STATUTORY_NAMES", "statutory_days"]

FIRST_YEAR = 1901
LAST_YEAR = 2099
STATUTORY_NAMES = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
# The 2024 amendment (in force from 2025) added 除夕 and 5月2日.
_AMENDED_FROM = 2025


def _lunar(year: int, month: int, day: int) -> date:
    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def _qingming(year: int) -> date:
    # The lunar year that contains mid-April holds that solar year's 清明 in its table.
    s = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    return date(s.getYear(), s.getMonth(), s.getDay())


def statutory_days(year: int) -> dict[date, str]:
    """Each statutory holiday of ``year`` → its festival's name (元旦, 春节, …), by date."""
    return dict(_statutory(year))


@lru_cache(maxsize=64)
def _statutory(year: int) -> tuple[tuple[date, str], ...]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year} outside {FIRST_YEAR}..{LAST_YEAR}")
    amended = year >= _AMENDED_FROM
    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    new_year = _lunar(year, 1, 1)
    first = -1 if amended else 0  # 除夕 is the day before 正月初一
    for i in range(first, 3):
        days[new_year + timedelta(days=i)] = "春节"
    days[_qingming(year)] = "清明节"
    days[date(year, 5, 1)] = "劳动节"
    if amended:
        days[date(year, 5, 2)] = "劳动节"
    days[_lunar(year, 5, 5)] = "端午节"
    days[_lunar(year, 8, 15)] = "中秋节"
    for d in (1, 2, 3):
        days[date(year, 10, d)] = "国庆节"
    return tuple(sorted(days.items()))
