"""Only one scheduler per database: the storage lock row, held by heartbeating.

A holder is ``host:pid:token``. Another process refuses to start its scheduler while the
holder heartbeats; it takes over when the heartbeat is older than `stale_after`, or at
once when the holder was a process on this same host that no longer exists (a restart
after a crash or `kill -9` need not wait).
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.clock import to_local
from storage.locks import (
    acquire_scheduler_lock,
    heartbeat_scheduler_lock,
    release_scheduler_lock,
    scheduler_lock_holder,
)

DEFAULT_STALE_AFTER = timedelta(seconds=60)


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _dead_local_process(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class SchedulerLock:
    def __init__(self, engine: AsyncEngine, holder: str | None = None,
                 stale_after: timedelta = DEFAULT_STALE_AFTER) -> None:
        self.engine = engine
        self.holder = holder or new_holder()
        self.stale_after = stale_after
        self.refusal = ""

    async def acquire(self, now: datetime) -> bool:
        """True when this process holds the lock; else `refusal` says who does."""
        if await acquire_scheduler_lock(self.engine, self.holder, now, self.stale_after):
            self.refusal = ""
            return True
        other, beat = await scheduler_lock_holder(self.engine)
        if (other is not None and _dead_local_process(other)
                and await acquire_scheduler_lock(self.engine, self.holder, now, timedelta(0))):
            self.refusal = ""
            return True
        seen = f"{to_local(beat):%Y-%m-%d %H:%M:%S}" if beat is not None else "—"
        self.refusal = (
            f"另一个实例（{other}，最后心跳 {seen}）正在运行提醒调度，本实例不启动调度器；"
            f"它停止心跳 {int(self.stale_after.total_seconds())} 秒后本实例自动接管。"
            f" / Another instance ({other}, last heartbeat {seen}) runs the reminder "
            f"scheduler against this database; this one will not start its own.")
        return False

    async def heartbeat(self, now: datetime) -> bool:
        """False: the lock was taken over; stop scheduling."""
        return await heartbeat_scheduler_lock(self.engine, self.holder, now)

    async def release(self) -> None:
        await release_scheduler_lock(self.engine, self.holder)
