"""Telegram's flood limits as token buckets over an injectable monotonic clock."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class FloodLimits:
    """Telegram's documented broadcast limits; mutable so a test can switch them live.

    A bucket holds `burst` tokens and refills at its rate; a message needs one token from
    every bucket that applies (chat, group, bot-wide).
    """

    enabled: bool = True
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: float = 20.0
    per_group_burst: int = 20
    global_per_second: float = 30.0
    global_burst: int = 30


class TokenBucket:
    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if it is)."""
        self.refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else math.inf


def is_message_method(method: str) -> bool:
    """Calls Telegram counts against flood limits: send*/edit*/forward*/copy*."""
    name = method.lower()
    if name in ("sendchataction", "sendmessagedraft", "sendrichmessagedraft"):
        return False
    return name.startswith(("send", "edit", "forward", "copy"))


class FloodLimiter:
    def __init__(self, limits: FloodLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[tuple[str, int, int], TokenBucket] = {}
        self.rejected = 0

    def reset(self) -> None:
        self._buckets.clear()

    def _bucket(self, kind: str, bot_id: int, key: int, now: float) -> TokenBucket:
        bucket = self._buckets.get((kind, bot_id, key))
        if bucket is None:
            lim = self.limits
            if kind == "chat":
                bucket = TokenBucket(lim.per_chat_burst, lim.per_chat_per_second, now)
            elif kind == "group":
                bucket = TokenBucket(lim.per_group_burst, lim.per_group_per_minute / 60.0, now)
            else:
                bucket = TokenBucket(lim.global_burst, lim.global_per_second, now)
            self._buckets[(kind, bot_id, key)] = bucket
        return bucket

    def acquire(self, bot_id: int, chat_id: int | None) -> int | None:
        """Take a message slot; None if allowed, else whole seconds to wait (retry_after)."""
        if not self.limits.enabled:
            return None
        now = self.clock()
        buckets = [self._bucket("global", bot_id, 0, now)]
        if chat_id is not None:
            buckets.append(self._bucket("chat", bot_id, chat_id, now))
            if chat_id < 0:
                buckets.append(self._bucket("group", bot_id, chat_id, now))
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            self.rejected += 1
            return max(1, math.ceil(wait))
        for b in buckets:
            b.tokens -= 1.0
        return None
