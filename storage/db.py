"""Engines, migrations and the schema check the app runs before it starts.

SQLite specifics (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE) live here and only
here; every other module emits portable SQL.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

BUSY_TIMEOUT_MS = 30_000

# Execution option read by the SQLite `begin` hook: "IMMEDIATE" (default) or "DEFERRED".
SQLITE_BEGIN = "duban_sqlite_begin"

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class SchemaError(RuntimeError):
    """The database schema does not match this version of the code."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer version of the code."""


class SchemaBehind(SchemaError):
    """The database needs `duban db upgrade`."""


def database_url(value: str) -> str:
    """A SQLAlchemy async URL from a URL or a plain file path."""
    value = value.strip()
    if value == ":memory:":
        return "sqlite+aiosqlite://"  # one shared connection; for throwaway use only
    if "://" not in value:
        return "sqlite+aiosqlite:///" + str(Path(value).expanduser().resolve())
    url = make_url(value)
    # Sync driver names in config files are common; the app needs the async ones.
    if url.drivername in _ASYNC_DRIVERS:
        url = url.set(drivername=_ASYNC_DRIVERS[url.drivername])
    return url.render_as_string(hide_password=False)


# json.dumps(value, ensure_ascii=False) builds a new encoder on every call (a third of the
# time for the small event payloads); one shared encoder gives the same text.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _json_dumps(value: Any) -> str:
    if type(value) is dict and not value:   # most events' `before`
        return "{}"
    return _JSON_ENCODER.encode(value)


def make_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite a file in WAL mode whose writers queue instead of failing.

    `foreign_keys=False` is for migrations only (SQLite batch mode rebuilds tables).
    """
    sa_url = make_url(database_url(url))
    # Chinese text stored as UTF-8, not \uXXXX escapes: half the size, readable in psql.
    kwargs.setdefault("json_serializer", _json_dumps)
    if sa_url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(sa_url, **kwargs)

    if sa_url.database and sa_url.database != ":memory:" and not sa_url.query.get("uri"):
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    # A connection comes back to the pool with its transaction already ended (Connection
    # rolls back whatever is open on close): the pool's own extra ROLLBACK is one more trip
    # to the driver's thread per unit of work, for nothing.
    kwargs.setdefault("pool_reset_on_return", None)
    engine = create_async_engine(sa_url, **kwargs)
    _configure_sqlite(engine, foreign_keys=foreign_keys)
    return engine


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the driver; `_on_begin` emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes fails with SQLITE_BUSY at
        # once when another writer committed in between (busy_timeout cannot help), so
        # writers take the write lock up front and simply queue.
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
            raise ValueError(f"bad {SQLITE_BEGIN}: {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")


async def read_only(conn: AsyncConnection) -> AsyncConnection:
    """Mark a connection, before its first statement, as one that will not write.

    On SQLite its transactions are deferred, so long reads do not hold the write lock.
    """
    return await conn.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


# ---- migrations ----

def alembic_config(url: str | None = None) -> Config:
    """Alembic's config, built in code: there is no alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        # Kept in attributes, not the ini options, so '%' in passwords needs no escaping.
        cfg.attributes["url"] = database_url(url)
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database to `revision`. Safe to call from a running event loop."""
    engine = make_engine(url, foreign_keys=False)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_on, alembic_config(url), revision)
    finally:
        await engine.dispose()


def _upgrade_on(conn: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)
    if conn.dialect.name == "sqlite":
        # Foreign keys were off while tables were rebuilt; check nothing broke.
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise SchemaError(f"migration left broken foreign keys: {broken[:5]}")


def upgrade_sync(url: str, revision: str = "head") -> None:
    """`upgrade` for the CLI, outside any event loop."""
    asyncio.run(upgrade(url, revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        await read_only(conn)
        return await conn.run_sync(_current_revision)


def _current_revision(conn: Connection) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    if len(heads) > 1:
        raise SchemaError(f"数据库有多个版本 {heads}。/ The database has several heads {heads}.")
    return heads[0] if heads else None


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse to run on a database this code does not match."""
    current = await current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if current == head:
        return
    if current is None:
        raise SchemaBehind(
            f"数据库尚未初始化（代码版本 {head}），请先运行 `duban db upgrade`。\n"
            f"The database has no schema yet (code revision {head}); "
            f"run `duban db upgrade` first.")
    known = {s.revision for s in script.walk_revisions()}
    if current not in known:
        raise SchemaTooNew(
            f"数据库版本 {current} 比本程序（版本 {head}）新，拒绝启动：请升级程序，"
            f"不要用旧版本打开新数据库。\n"
            f"The database is at revision {current}, which this code (head {head}) does not "
            f"know: it was migrated by a newer version. Refusing to start; upgrade the code.")
    raise SchemaBehind(
        f"数据库版本 {current} 落后于程序版本 {head}，请先运行 `duban db upgrade`。\n"
        f"The database is at revision {current}, behind the code's head {head}; "
        f"run `duban db upgrade`.")
