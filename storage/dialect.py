"""The few statements standard SQL has no portable spelling for (INSERT ... ON CONFLICT)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect


def _insert(dialect: Dialect, table: Table) -> sqlite.Insert | postgresql.Insert:
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"storage supports sqlite and postgresql, not {dialect.name}")


def insert_ignore(dialect: Dialect, table: Table, values: Mapping[str, Any],
                  conflict: Sequence[str]) -> Insert:
    """INSERT that does nothing when a row with the same `conflict` key exists."""
    return _insert(dialect, table).values(dict(values)).on_conflict_do_nothing(
        index_elements=list(conflict))


def insert_ignore_many(dialect: Dialect, table: Table, conflict: Sequence[str]) -> Insert:
    """`insert_ignore` for executemany: execute it with a list of value dicts."""
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=list(conflict))


def upsert(dialect: Dialect, table: Table, values: Mapping[str, Any],
           conflict: Sequence[str]) -> Insert:
    """INSERT, or UPDATE the other columns of the row with the same `conflict` key."""
    ins = _insert(dialect, table).values(dict(values))
    update = {k: ins.excluded[k] for k in values if k not in conflict}
    return ins.on_conflict_do_update(index_elements=list(conflict), set_=update)
