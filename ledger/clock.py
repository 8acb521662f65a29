"""Time for the domain: the only place that reads the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class OffsetClock:
    """The system clock shifted by a fixed offset: benchmarks and simulations run at a
    chosen working-day moment and still let real time flow (a FixedClock stops time;
    restarts keep the same offset)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset
        self._system = SystemClock()

    @classmethod
    def starting_at(cls, moment: datetime) -> OffsetClock:
        if moment.tzinfo is None:
            raise ValueError("OffsetClock needs an aware datetime")
        return cls(moment - SystemClock().now())

    def now(self) -> datetime:
        return self._system.now() + self.offset


def cn_date(day: date) -> str:
    """A date as users read it: 2026年12月17日 (never ISO; presentation's `cn_date` filter
    and the ledger's own refusals both write it so)."""
    return f"{day.year}年{day.month}月{day.day}日"


def local_now(clock: Clock) -> datetime:
    return clock.now().astimezone(LOCAL_TZ)


def local_today(clock: Clock) -> date:
    return local_now(clock).date()


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)
