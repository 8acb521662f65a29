"""Helpers the repositories share: ids, roles, constraint checks."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    CursorResult,
)
from sqlalchemy.exc import IntegrityError

from ledger.model import (
    OPEN_ASSIGNMENT,
    Role,
)

_OPEN_ASSIGNMENT = sorted(s.value for s in OPEN_ASSIGNMENT)
_IN_CHUNK = 500  # ids per IN (...) list

CONFLICT_MESSAGE = "这件事项刚被别人修改过，请重试。"


def _violates(exc: IntegrityError, constraint: str, sqlite_columns: str) -> bool:
    """Whether `exc` is that unique constraint (PostgreSQL names it, SQLite lists columns)."""
    text = str(exc.orig)
    return constraint in text or sqlite_columns in text


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _roles_json(roles: Iterable[Role]) -> builtins.list[str]:
    return sorted(Role(r).value for r in roles)


def _roles(value: Iterable[str]) -> frozenset[Role]:
    return frozenset(Role(r) for r in value)


# ---- matters ----
