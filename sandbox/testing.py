"""Test helpers around the sandbox, ready to be wrapped in pytest fixtures.

Nothing here imports pytest; see the conftest snippet in the sandbox report::

    async with running_server() as server:
        token = server.create_bot(username="duban_bot")
        async with running_application(build_application(server, token)) as app:
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application, ApplicationBuilder

from sandbox.limits import FloodLimits
from sandbox.server import SandboxConfig, SandboxServer


class ManualClock:
    """A monotonic clock that moves only when told: deterministic flood-limit tests."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self.now += seconds


def sandbox_config(*, flood_limits: bool = True, clock: ManualClock | None = None) -> SandboxConfig:
    return SandboxConfig(flood=FloodLimits(enabled=flood_limits), clock=clock)


@asynccontextmanager
async def running_server(config: SandboxConfig | None = None) -> AsyncIterator[SandboxServer]:
    """A started server; on exit it stops and fails loudly on internal sandbox errors."""
    server = SandboxServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert_no_internal_errors(server)


def assert_no_internal_errors(server: SandboxServer) -> None:
    if server.internal_errors:
        raise AssertionError("sandbox internal errors:\n" + "\n".join(server.internal_errors))


def application_builder(
    server: SandboxServer, token: str, *, read_timeout: float = 5.0
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """A PTB builder wired to the sandbox; add handlers/options, then .build()."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .read_timeout(read_timeout)
        .get_updates_read_timeout(read_timeout)
    )


def build_application(
    server: SandboxServer, token: str, *, read_timeout: float = 5.0
) -> Application[Any, Any, Any, Any, Any, Any]:
    return application_builder(server, token, read_timeout=read_timeout).build()


@asynccontextmanager
async def running_application(
    app: Application[Any, Any, Any, Any, Any, Any],
    *,
    poll_timeout: float = 5.0,
    allowed_updates: list[str] | None = None,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """initialize/start/start_polling as run_polling does, and the reverse on exit."""
    await app.initialize()
    try:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0, timeout=int(poll_timeout), allowed_updates=allowed_updates
        )
        yield app
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
