"""Running `duban` as an operator does: a subprocess, a clean environment, a fresh directory."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Shaped like a real token (the sandbox answers 401 to those it does not know, as Telegram).
UNKNOWN_TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(values)
    return env


async def duban(args: Sequence[str], env: Mapping[str, str], cwd: Path,
                prefix: Sequence[str] = (), timeout: float = 60.0) -> Result:
    proc = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, "-m", "bot.cli", *args, cwd=cwd, env=dict(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def migrated_db(path: Path) -> Path:
    from storage.db import upgrade

    await upgrade(str(path))
    return path


def damage_a_page(path: Path) -> None:
    """Fill a table enough to span many pages, then overwrite one page in the middle."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # everything in the main file
        conn.execute("CREATE TABLE filler (x TEXT)")
        conn.executemany("INSERT INTO filler VALUES (?)", [(str(i) * 40,) for i in range(4000)])
        conn.execute("CREATE INDEX filler_x ON filler (x)")
    conn.close()
    size = path.stat().st_size
    page = 4096
    assert size > 40 * page
    with path.open("r+b") as f:
        f.seek((size // page // 2) * page + 64)
        f.write(b"\xa5" * 1500)
