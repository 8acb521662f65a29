"""Bulk inserts of many rows (a batch of escalations, an import's slice).

SQLAlchemy's executemany builds and processes each row's parameters through its compiled
statement: on SQLite that costs more than the database's own work (issue 15: a county-wide
automatic 催办 writes 700k outbox rows). Here the rows go to the driver's executemany as
tuples, each value through its column type's own bind processor (the same text SQLAlchemy
would store). PostgreSQL keeps SQLAlchemy's path.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from ledger.reporting import gc_paused
from storage.dialect import insert_ignore_many
from storage.tables import UTCDateTime

IN_THREAD_ROWS = 1000  # rows from which their parameters are built in a thread


def sqlite_utc_text(value: datetime | None) -> str | None:
    """UTCDateTime's bind processing on SQLite (UTC, then SQLAlchemy's text format
    "2026-03-02 01:30:00.000000"), in one isoformat call instead of two processors."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: storage needs an aware datetime")
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def bind_processor(dialect: Dialect, type_: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite" and isinstance(type_, UTCDateTime):
        return sqlite_utc_text
    return type_.dialect_impl(dialect).bind_processor(dialect)


def driver_insert(table: Table, columns: Sequence[str], ignore: Sequence[str] = ()) -> str:
    """A plain INSERT in the driver's own ('qmark', SQLite) parameter style; with `ignore`,
    a row whose `ignore` key is taken is skipped."""
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    return sql + f" ON CONFLICT ({', '.join(ignore)}) DO NOTHING" if ignore else sql


def driver_rows(dialect: Dialect, table: Table, columns: Sequence[str],
                rows: Iterable[Mapping[str, Any]]) -> builtins.list[tuple[Any, ...]]:
    """Value dicts as the driver's parameter tuples, each value through its column type's
    bind processor (exactly what SQLAlchemy would send: UTC text datetimes, JSON text …)."""
    get = itemgetter(*columns)
    procs = [(i, proc) for i, name in enumerate(columns) if (proc := bind_processor(
        dialect, table.c[name].type))]
    out = []
    for row in rows:
        values = list(get(row))
        for i, proc in procs:
            values[i] = proc(values[i])
        out.append(tuple(values))
    return out


def _quiet_rows(dialect: Dialect, table: Table, columns: Sequence[str],
                rows: Iterable[Mapping[str, Any]]) -> builtins.list[tuple[Any, ...]]:
    with gc_paused():  # thousands of small tuples, no cycles: a collection would stall the loop
        return driver_rows(dialect, table, columns, rows)


async def insert_rows(conn: AsyncConnection, table: Table,
                      rows: Sequence[Mapping[str, Any]], ignore: Sequence[str] = ()) -> int:
    """Insert `rows` (dicts with the same keys); with `ignore`, a row whose `ignore` key is
    taken is skipped. Returns the rows inserted."""
    if not rows:
        return 0
    if conn.dialect.name != "sqlite":
        if ignore:  # RETURNING counts what went in: an executemany's rowcount is -1 on asyncpg
            stmt = insert_ignore_many(conn.dialect, table, list(ignore)).returning(
                table.c[ignore[0]])
            return len((await conn.execute(stmt, list(rows))).all())
        await conn.execute(table.insert(), list(rows))
        return len(rows)
    columns = tuple(rows[0])
    if len(rows) >= IN_THREAD_ROWS:  # tens of ms of JSON and datetime text: off the loop
        values = await asyncio.to_thread(_quiet_rows, conn.dialect, table, columns, rows)
    else:
        values = driver_rows(conn.dialect, table, columns, rows)
    result = await conn.exec_driver_sql(driver_insert(table, columns, ignore), values)
    return int(result.rowcount)
