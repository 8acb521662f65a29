"""Where every test gets its database: one place, two engines.

By default a test's database is an SQLite file at the path it names. When `DUBAN_TEST_DB`
names a PostgreSQL server (`postgresql+asyncpg://user@127.0.0.1:55432/postgres`, a role
that may CREATE DATABASE), the same path stands for a fresh database on that server,
created on first use (from a migrated template when asked: no migration per test) and
dropped when the test ends (tests/conftest.py). The same path within a test gives the same
database, so a second engine on it sees the first one's rows, as with a file.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from storage.db import database_url

T = TypeVar("T")

SERVER = os.environ.get("DUBAN_TEST_DB", "").strip()
ON_PG = SERVER != ""
ENGINE = "postgresql" if ON_PG else "sqlite"
_PREFIX = f"duban_t{os.getpid()}_"
_HEAD_TEMPLATE = f"{_PREFIX}head"

_names = itertools.count(1)
_created: dict[str, str] = {}   # resolved path → database name
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_admin: Any = None              # asyncpg connection to the server's maintenance database
_template_ready = False


def url_for(path: Path | str, *, migrated: bool = False) -> str:
    """The URL of the database a test keeps at `path` (for make_engine, upgrade, DUBAN_DB).

    SQLite: the path itself. PostgreSQL: a database of its own, empty, or at the head
    migration when `migrated` (the caller's `upgrade` is then a no-op).
    """
    if not ON_PG:
        return str(path)
    key = str(Path(path).resolve())
    with _lock:
        name = _created.get(key)
        if name is None:
            name = f"{_PREFIX}{next(_names)}"
            template = _head_template() if migrated else "template0"
            _admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            _created[key] = name
    return _pg_url(name)


def exists(path: Path | str) -> bool:
    """Whether the test made a database at `path` (a file on SQLite)."""
    if not ON_PG:
        return Path(path).exists()
    return str(Path(path).resolve()) in _created


def copy_db(src: Path | str, dst: Path | str) -> str:
    """A private copy of a database nobody is connected to; returns the copy's URL."""
    if not ON_PG:
        import shutil
        shutil.copyfile(src, dst)
        return str(dst)
    with _lock:
        source = _created[str(Path(src).resolve())]
        name = f"{_PREFIX}{next(_names)}"
        _admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY')
        _created[str(Path(dst).resolve())] = name
    return _pg_url(name)


def created() -> set[str]:
    return set(_created.values())


def drop_since(before: set[str]) -> None:
    """Drop the databases made after `before` was taken (engines left open are cut off)."""
    if not ON_PG:
        return
    with _lock:
        for key, name in list(_created.items()):
            if name not in before:
                _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                del _created[key]


def drop_all() -> None:
    if not ON_PG or _loop is None:
        return
    drop_since(set())
    with _lock:
        global _template_ready
        if _template_ready:
            _admin_sql(f'DROP DATABASE IF EXISTS "{_HEAD_TEMPLATE}" WITH (FORCE)')
            _template_ready = False
        _run(_admin.close())
    _loop.call_soon_threadsafe(_loop.stop)


def _pg_url(database: str) -> str:
    url = make_url(database_url(SERVER)).set(database=database)
    return url.render_as_string(hide_password=False)


def _head_template() -> str:
    global _template_ready
    if not _template_ready:
        from storage.db import upgrade

        _admin_sql(f'DROP DATABASE IF EXISTS "{_HEAD_TEMPLATE}" WITH (FORCE)')
        _admin_sql(f'CREATE DATABASE "{_HEAD_TEMPLATE}" TEMPLATE template0')
        _run(upgrade(_pg_url(_HEAD_TEMPLATE)))   # its engine is disposed afterwards
        _template_ready = True
    return _HEAD_TEMPLATE


# The admin connection lives on its own loop in a thread: url_for is called from sync
# helpers and from inside running test loops alike.

def _run(coro: Coroutine[Any, Any, T]) -> T:
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        threading.Thread(target=_loop.run_forever, name="test-db-admin", daemon=True).start()
    return asyncio.run_coroutine_threadsafe(coro, _loop).result()


def _admin_sql(sql: str) -> None:
    _run(_admin_execute(sql))


async def _admin_execute(sql: str) -> None:
    global _admin
    if _admin is None:
        import asyncpg

        url = make_url(database_url(SERVER))
        _admin = await asyncpg.connect(
            host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
            password=url.password, database=url.database or "postgres")
        # Leftovers of runs that were killed before they could drop their databases.
        rows = await _admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'duban_t%'")
        for row in rows:
            pid = row["datname"].removeprefix("duban_t").split("_", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                await _admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    await _admin.execute(sql)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
