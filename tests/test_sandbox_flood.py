"""Flood limits: 429 when a bot exceeds Telegram's rates, none when it respects them.

The server's monotonic clock is a ManualClock, so these tests are exact and instant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import RetryAfter

from sandbox.limits import FloodLimiter, FloodLimits, is_message_method
from sandbox.server import SandboxServer
from sandbox.testing import ManualClock
from tests.conftest_sandbox import *  # noqa: F403
from tests.conftest_sandbox import seconds

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def limited_bot(limited_sandbox: SandboxServer) -> AsyncIterator[Bot]:
    token = limited_sandbox.create_bot(username="duban_bot")
    async with Bot(
        token, base_url=limited_sandbox.base_url, base_file_url=limited_sandbox.base_file_url
    ) as bot:
        yield bot


async def send_all(bot: Bot, chat_id: int, n: int, clock: ManualClock, step: float) -> list[int]:
    """Send n messages `step` seconds apart; the retry_after of each 429 (0 = accepted)."""
    outcomes = []
    for i in range(n):
        try:
            await bot.send_message(chat_id, f"提醒 {i}")
            outcomes.append(0)
        except RetryAfter as exc:
            outcomes.append(int(seconds(exc.retry_after)))
        clock.advance(step)
    return outcomes


async def test_private_chat_burst_then_one_per_second(
    limited_sandbox: SandboxServer, limited_bot: Bot, clock: ManualClock
) -> None:
    alice = limited_sandbox.person(first_name="张三")
    outcomes = await send_all(limited_bot, alice.id, 5, clock, step=0.0)
    assert outcomes == [0, 0, 0, 1, 1]  # burst of 3, then "retry after 1"
    clock.advance(1.0)
    assert await send_all(limited_bot, alice.id, 1, clock, step=0.0) == [0]
    assert limited_sandbox.too_many_requests == 2
    assert limited_sandbox.flood_rejections == 2
    assert len(alice.inbox()) == 4


async def test_one_message_per_second_is_never_limited(
    limited_sandbox: SandboxServer, limited_bot: Bot, clock: ManualClock
) -> None:
    alice = limited_sandbox.person(first_name="张三")
    assert set(await send_all(limited_bot, alice.id, 30, clock, step=1.0)) == {0}
    assert limited_sandbox.too_many_requests == 0


async def test_group_twenty_per_minute(
    limited_sandbox: SandboxServer, limited_bot: Bot, clock: ManualClock
) -> None:
    alice = limited_sandbox.person(first_name="张三")
    group = limited_sandbox.group(title="县督查工作群", members=[alice])
    # 1/s respects the per-chat limit but not the group's 20 per minute
    outcomes = await send_all(limited_bot, group.id, 40, clock, step=1.0)
    first = outcomes.index(next(o for o in outcomes if o))
    assert 20 <= first <= 30
    assert all(1 <= o <= 3 for o in outcomes if o)

    clock.advance(60)
    # one every 3 s is exactly 20 per minute: fine forever
    assert set(await send_all(limited_bot, group.id, 40, clock, step=3.0)) == {0}


async def test_thirty_per_second_overall(
    limited_sandbox: SandboxServer, limited_bot: Bot, clock: ManualClock
) -> None:
    people = [limited_sandbox.person(first_name=f"干部{i}") for i in range(31)]
    outcomes = []
    for person in people:  # one message each, all at the same instant
        outcomes += await send_all(limited_bot, person.id, 1, clock, step=0.0)
    assert outcomes == [0] * 30 + [1]
    clock.advance(1.0)
    assert await send_all(limited_bot, people[-1].id, 1, clock, step=0.0) == [0]


async def test_limits_can_be_switched_off_and_on(
    limited_sandbox: SandboxServer, limited_bot: Bot, clock: ManualClock
) -> None:
    alice = limited_sandbox.person(first_name="张三")
    limited_sandbox.set_flood_limits(enabled=False)
    assert set(await send_all(limited_bot, alice.id, 50, clock, step=0.0)) == {0}
    limited_sandbox.set_flood_limits(FloodLimits(per_chat_burst=1))
    assert await send_all(limited_bot, alice.id, 2, clock, step=0.0) == [0, 1]


async def test_non_message_calls_are_not_counted(
    limited_sandbox: SandboxServer, limited_bot: Bot, clock: ManualClock
) -> None:
    alice = limited_sandbox.person(first_name="张三")
    for _ in range(10):
        await limited_bot.send_chat_action(alice.id, "typing")
        await limited_bot.get_chat(alice.id)
    assert set(await send_all(limited_bot, alice.id, 3, clock, step=0.0)) == {0}


def test_limiter_unit() -> None:
    clock = ManualClock()
    limiter = FloodLimiter(FloodLimits(per_chat_burst=2, per_chat_per_second=0.5), clock)
    assert limiter.acquire(1, 5) is None
    assert limiter.acquire(1, 5) is None
    assert limiter.acquire(1, 5) == 2  # 0.5 per second: a token in 2 s
    clock.advance(1.0)
    assert limiter.acquire(1, 5) == 1
    clock.advance(1.0)
    assert limiter.acquire(1, 5) is None
    assert limiter.acquire(2, 5) is None  # another bot has its own buckets
    assert limiter.rejected == 2
    assert is_message_method("sendMessage") and is_message_method("editMessageText")
    assert is_message_method("copyMessage") and is_message_method("forwardMessages")
    assert not is_message_method("sendChatAction") and not is_message_method("getUpdates")
