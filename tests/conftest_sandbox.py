"""Sandbox fixtures, imported by the tests/test_sandbox_*.py modules.

(Candidates for tests/conftest.py; see the sandbox report.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from sandbox.server import SandboxServer
from sandbox.testing import ManualClock, running_server, sandbox_config

BOT_USERNAME = "duban_bot"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A running server with flood limits off (functional tests send in bursts)."""
    async with running_server(sandbox_config(flood_limits=False)) as server:
        yield server


@pytest.fixture
async def limited_sandbox(clock: ManualClock) -> AsyncIterator[SandboxServer]:
    """Flood limits on, driven by a manual clock: deterministic 429 tests."""
    async with running_server(sandbox_config(flood_limits=True, clock=clock)) as server:
        yield server


@pytest.fixture
def bot_token(sandbox: SandboxServer) -> str:
    return sandbox.create_bot(username=BOT_USERNAME, first_name="督办助手")


@pytest.fixture
async def bot(sandbox: SandboxServer, bot_token: str) -> AsyncIterator[Bot]:
    """A bare initialized PTB Bot on the sandbox (no Application, no polling)."""
    async with Bot(
        bot_token, base_url=sandbox.base_url, base_file_url=sandbox.base_file_url
    ) as ptb_bot:
        yield ptb_bot


def seconds(value: Any) -> float:
    """RetryAfter.retry_after is int or timedelta depending on PTB settings."""
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
