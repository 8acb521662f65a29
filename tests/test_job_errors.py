"""A scheduled job that fails is logged with its traceback and reported once per cause (to
the ops chat, else the admins); the reminder wake-up does not spin after a failed pass."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot import reminder_jobs
from bot.config import Config
from handlers.deps import BotData
from handlers.errors import on_error
from ledger.clock import FixedClock
from presentation.render import Renderer
from reminders import scheduler


@dataclass
class FakeBot:
    sent: list[tuple[int, str]] = field(default_factory=list)

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        self.sent.append((chat_id, text))


def _context(config: Config, err: BaseException, bot: FakeBot, data: BotData,
             job: str = "bulletin-0") -> Any:
    deps = SimpleNamespace(config=config, render=Renderer())
    return SimpleNamespace(error=err, job=SimpleNamespace(name=job), bot_data=data,
                           deps=deps, bot=bot)


def _fail(message: str) -> BaseException:
    try:
        raise RuntimeError(message)
    except RuntimeError as e:
        return e


async def test_job_failure_reported_to_admins_once_per_cause(
        caplog: pytest.LogCaptureFixture) -> None:
    bot, data = FakeBot(), BotData()
    config = Config(token="1:x", admins=(501, 502))
    caplog.set_level(logging.ERROR, logger="handlers.errors")
    await on_error(None, _context(config, _fail("database is locked"), bot, data))
    assert [c for c, _ in bot.sent] == [501, 502]
    assert "定时任务 bulletin-0" in bot.sent[0][1] and "RuntimeError: database is locked" in bot.sent[0][1]
    assert "Traceback" in bot.sent[0][1]
    assert "scheduled job bulletin-0 failed" in caplog.text and "Traceback" in caplog.text
    # the same cause again: logged, not reported again
    await on_error(None, _context(config, _fail("database is locked"), bot, data))
    assert len(bot.sent) == 2
    assert caplog.text.count("scheduled job bulletin-0 failed") == 2
    # another job failing is another cause
    await on_error(None, _context(config, _fail("x"), bot, data, job="outbox-dispatch"))
    assert len(bot.sent) == 4


async def test_job_failure_goes_to_the_ops_chat_when_there_is_one() -> None:
    bot, data = FakeBot(), BotData()
    config = Config(token="1:secret", admins=(501,), ops_chat_id=-100)
    await on_error(None, _context(config, _fail("token 1:secret leaked?"), bot, data))
    assert [c for c, _ in bot.sent] == [-100]
    assert "1:secret" not in bot.sent[0][1]


class _Jobs:
    def __init__(self) -> None:
        self.scheduled: list[float] = []

    def get_jobs_by_name(self, name: str) -> list[Any]:
        return []

    def run_once(self, callback: Any, when: float, **_: Any) -> None:
        self.scheduled.append(when)


class _FailingService:
    ticking = False

    def __init__(self) -> None:
        self.clock = FixedClock(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
        self.settings = scheduler.Settings(sweep_seconds=30.0)
        self.stopping = asyncio.Event()  # never stopped here

    async def tick(self) -> None:
        raise RuntimeError("a pass failed")

    async def next_due_at(self) -> datetime:
        return self.clock.now() - timedelta(seconds=5)  # still due: the pass failed


async def test_wake_up_waits_a_sweep_after_a_failed_pass() -> None:
    jobs, service = _Jobs(), _FailingService()
    with pytest.raises(RuntimeError):
        await reminder_jobs._run(service, jobs)  # type: ignore[arg-type]
    assert jobs.scheduled == [30.0]  # not 0: it would fail again at once, ~80 times a second
