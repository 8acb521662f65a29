"""Is the database fit to run on? Checked at start (`duban run`) and by `duban doctor`.

Each problem is its own exception type carrying the facts (path, URL, detail); the
operator-facing Chinese lines are written in one place, `bot.preflight`.

SQLite is checked with the standard library's driver before any engine touches the file:
the engine's connect hook sets WAL mode, which on a garbage file fails deep inside the
pool with a long traceback.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import (
    SchemaBehind,
    SchemaTooNew,
    check_schema,
    current_revision,
    database_url,
    make_engine,
)

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_ASYNC_DRIVERS = ("aiosqlite", "asyncpg")
CONNECT_TIMEOUT = 10.0  # seconds
_SQLITE_MAGIC = b"SQLite format 3\x00"


class DatabaseProblem(Exception):
    """The database cannot be used; subclasses say why."""

    def __init__(self, where: str, detail: str = "") -> None:
        self.where = where      # a file path, or a URL with its password masked
        self.detail = detail
        super().__init__(f"{where}: {detail}" if detail else where)


class UnsupportedURL(DatabaseProblem):
    """Not a SQLite path/URL nor a PostgreSQL URL."""


class PathBlocked(DatabaseProblem):
    """A parent of the SQLite file is a file, or the path itself is a directory."""


class NotADatabase(DatabaseProblem):
    """The file is not SQLite at all (garbage, or empty header)."""


class Damaged(DatabaseProblem):
    """SQLite's quick_check found damage (a truncated file, a damaged page)."""


class Unreadable(DatabaseProblem):
    """The file or a directory on its path may not be read by this user."""


class ReadOnly(DatabaseProblem):
    """The database refuses writes (file or directory permissions, a read-only server)."""


class Unreachable(DatabaseProblem):
    """A PostgreSQL server that does not answer or refuses the login."""


class DriverMissing(DatabaseProblem):
    """The engine's driver package (asyncpg) is not installed; `detail` names it."""


class Missing(DatabaseProblem):
    """No SQLite file yet (doctor only: `duban run` creates it)."""


class TooNew(DatabaseProblem):
    """Migrated by a newer version of the code."""


class Behind(DatabaseProblem):
    """Needs `duban db upgrade` (doctor only: `duban run` upgrades by itself)."""


@dataclass(frozen=True)
class Health:
    backend: str
    where: str
    revision: str | None = None


def masked(url: str) -> str:
    """The URL with any password replaced by ***; a plain path unchanged."""
    if "://" not in url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def backend_of(url: str) -> str:
    """'sqlite' or 'postgresql'; else UnsupportedURL."""
    try:
        sa_url = make_url(database_url(url))
    except ArgumentError:
        raise UnsupportedURL(masked(url), "unparsable") from None
    backend = sa_url.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise UnsupportedURL(masked(url), backend)
    if sa_url.get_driver_name() not in _ASYNC_DRIVERS:  # e.g. psycopg2: not async
        raise UnsupportedURL(masked(url), sa_url.drivername)
    return backend


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for memory databases and non-SQLite URLs."""
    sa_url = make_url(database_url(url))
    if sa_url.get_backend_name() != "sqlite":
        return None
    name = sa_url.database
    if not name or name == ":memory:" or sa_url.query.get("uri"):
        return None
    return Path(name)


def check_location(path: Path) -> None:
    """The file (or the directories it will be made in) can be where the URL says."""
    if path.is_dir():
        raise PathBlocked(str(path), "is a directory")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise PathBlocked(str(path), str(parent))
            break


def check_sqlite_file(path: Path, *, write: bool = True) -> None:
    """Header, PRAGMA quick_check and (with `write`) a write probe; blocking, so callers
    on an event loop use `asyncio.to_thread`."""
    try:
        check_location(path)
        if not path.exists():
            return
        with path.open("rb") as f:
            header = f.read(len(_SQLITE_MAGIC))
    except PermissionError as e:
        raise Unreadable(str(path), e.strerror or "") from e
    if header and header != _SQLITE_MAGIC:
        raise NotADatabase(str(path))
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    except sqlite3.Error as e:
        raise _classify(path, e) from e
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        if [r[0] for r in rows] != ["ok"]:
            raise Damaged(str(path), "; ".join(str(r[0]) for r in rows[:3]))
        if write:
            # Rewriting the header's user_version with its own value is a real write that
            # changes nothing; a file opened read-only fails here, not mid-handling.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(f"PRAGMA user_version = {int(version)}")
            finally:
                with suppress(sqlite3.Error):  # keep the write's own error, not this one
                    conn.execute("ROLLBACK")
    except sqlite3.Error as e:
        raise _classify(path, e) from e
    finally:
        conn.close()


def _classify(path: Path, e: sqlite3.Error) -> DatabaseProblem:
    name = getattr(e, "sqlite_errorname", "") or ""
    text_ = str(e)
    if name.startswith("SQLITE_READONLY") or "readonly" in text_:
        return ReadOnly(str(path), text_)
    if name.startswith("SQLITE_NOTADB") or "not a database" in text_:
        return NotADatabase(str(path), text_)
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text_:
        return ReadOnly(str(path), text_)
    return Damaged(str(path), text_)


async def check_server(url: str, *, write: bool = True) -> None:
    """PostgreSQL: a connection test, and (with `write`) that the server takes writes."""
    try:
        # asyncpg waits 60 s for a host that drops packets; an operator should not.
        engine = make_engine(url, pool_pre_ping=False, connect_args={"timeout": CONNECT_TIMEOUT})
    except ModuleNotFoundError as e:
        raise DriverMissing(masked(url), e.name or "asyncpg") from e
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            if write:
                ro = (await conn.execute(text("SHOW transaction_read_only"))).scalar()
                if str(ro).lower() in ("on", "true"):
                    raise ReadOnly(masked(url), "transaction_read_only")
    except DatabaseProblem:
        raise
    except Exception as e:  # the driver's own errors: refused, bad password, no such db
        raise Unreachable(masked(url), f"{type(e).__name__}: {e}") from e
    finally:
        await engine.dispose()


async def check_database(url: str, *, write: bool = True, must_exist: bool = False,
                         schema: bool = False) -> Health:
    """Every check before an engine is used; `schema` also compares the migration."""
    backend = backend_of(url)
    where = masked(url)
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            where = str(path)
            if must_exist and not path.exists():
                check_location(path)
                raise Missing(where)
            await asyncio.to_thread(check_sqlite_file, path, write=write)
    else:
        await check_server(url, write=write)
    revision = None
    if schema:
        revision = await schema_state(url, where)
    return Health(backend=backend, where=where, revision=revision)


async def schema_state(url: str, where: str) -> str | None:
    """The current revision; TooNew/Behind when it is not the code's head."""

    engine = make_engine(url)
    try:
        try:
            await check_schema(engine)
        except SchemaTooNew as e:
            raise TooNew(where, str(e).splitlines()[0]) from e
        except SchemaBehind as e:
            raise Behind(where, str(e).splitlines()[0]) from e
        return await current_revision(engine)
    finally:
        await engine.dispose()
