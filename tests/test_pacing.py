"""Exact pacing (reminders.ratelimit): at most 20 messages in any rolling 60 s per group, at
most one a second per private chat, at most 30 a second overall.

Telegram's own numbers are checked in virtual time (a minute of a group's backlog takes no
minute here); the sandbox then counts the timestamps of messages it received from many
concurrent senders, with the group window shortened to a few seconds."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace

from telegram.ext import ExtBot

from handlers.ratelimit import TelegramRateLimiter
from reminders.ratelimit import FloodLimits
from sandbox.limits import FloodLimits as SandboxFlood
from sandbox.server import SandboxConfig, SandboxServer

GROUP = -100_123
TELEGRAM_GROUP = (20, 60.0)
TELEGRAM_PRIVATE_S = 1.0
TELEGRAM_OVERALL = (30, 1.0)


def most_in_window(times: list[float], span: float) -> int:
    """The most timestamps in any half-open window [t, t + span)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class VirtualTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def test_telegrams_numbers_in_virtual_time() -> None:
    vt = VirtualTime()
    limiter = TelegramRateLimiter(clock=vt.now, sleep=vt.sleep)
    group: list[float] = []
    private: list[float] = []
    overall: list[float] = []
    # A long group backlog, a busy private chat and a crowd, interleaved.
    for i in range(200):
        await limiter.acquire(GROUP)
        group.append(vt.t)
        overall.append(vt.t)
        await limiter.acquire(42)
        private.append(vt.t)
        overall.append(vt.t)
        for k in range(3):
            await limiter.acquire(1000 + i * 3 + k)
            overall.append(vt.t)
    n, span = TELEGRAM_GROUP
    assert most_in_window(group, span) == n   # the limit, and used
    assert most_in_window(group, span + 2.0) > n  # (the window is no wider than it needs)
    assert min(b - a for a, b in itertools.pairwise(private)) >= TELEGRAM_PRIVATE_S
    assert most_in_window(overall, TELEGRAM_OVERALL[1]) <= TELEGRAM_OVERALL[0]
    # Not slower than it must be: 200 group messages in about 10 minutes.
    assert group[-1] - group[0] < 11 * 60


async def test_the_sandbox_counts_what_it_received() -> None:
    server = SandboxServer(SandboxConfig(flood=SandboxFlood(enabled=False)))
    await server.start()
    try:
        token = server.create_bot(username="pace_bot")
        hot = server.person("甲")
        crowd = [server.person(f"p{i}") for i in range(30)]
        group = server.group("工作群", [hot])
        window = (20, 3.0)   # a group's minute, shortened
        limits = replace(FloodLimits(), group_window=window[0], group_window_s=window[1] + 0.1,
                         group_interval=0.02, group_burst=5)
        limiter = TelegramRateLimiter(limits)
        bot = ExtBot(token, base_url=server.base_url, base_file_url=server.base_file_url,
                     rate_limiter=limiter)
        async with bot:
            sends = [bot.send_message(group.id, f"g{k}") for k in range(45)]
            sends += [bot.send_message(hot.id, f"h{k}") for k in range(5)]
            sends += [bot.send_message(p.id, f"c{k}") for k in range(2) for p in crowd]
            await asyncio.gather(*sends)
        calls = server.calls_to("sendMessage")
        assert len(calls) == 45 + 5 + 60
        group_times = [c.time for c in calls if c.chat_id == group.id]
        hot_times = sorted(c.time for c in calls if c.chat_id == hot.id)
        assert most_in_window(group_times, window[1]) <= window[0]
        assert most_in_window(group_times, window[1] * 2.5) > window[0]  # it kept sending
        assert min(b - a for a, b in itertools.pairwise(hot_times)) \
            >= TELEGRAM_PRIVATE_S
        assert most_in_window([c.time for c in calls], TELEGRAM_OVERALL[1]) \
            <= TELEGRAM_OVERALL[0]
    finally:
        await server.stop()


async def test_a_stop_releases_a_send_waiting_for_its_groups_turn() -> None:
    limiter = TelegramRateLimiter()
    for _ in range(3):
        await limiter.acquire(GROUP)     # the burst; the next waits ~3 s
    waiting = asyncio.create_task(limiter.acquire(GROUP))
    await asyncio.sleep(0.05)
    limiter.close()
    from telegram.error import TimedOut
    try:
        await asyncio.wait_for(waiting, 1.0)
    except TimedOut:
        pass
    else:
        raise AssertionError("the waiting send went out after the stop")


async def test_edits_in_a_private_chat_add_no_message_there() -> None:
    vt = VirtualTime()
    limiter = TelegramRateLimiter(clock=vt.now, sleep=vt.sleep)
    moments: list[tuple[str, float]] = []

    async def call(*args: object, **kwargs: object) -> bool:
        return True

    for endpoint in ("sendMessage", "editMessageText", "editMessageReplyMarkup",
                     "sendMessage"):
        await limiter.process_request(call, (), {}, endpoint, {"chat_id": 42}, None)
        moments.append((endpoint, vt.t))
    sends = [t for e, t in moments if e == "sendMessage"]
    edits = [t for e, t in moments if e != "sendMessage"]
    assert edits[0] - sends[0] < 0.5 and edits[1] - sends[0] < 0.5  # at once
    assert sends[1] - sends[0] >= TELEGRAM_PRIVATE_S                 # the next message waits
