"""Evidence rows (table `evidence`): what the archive knows of each reported file — its
state, and once downloaded its sha256 in the file store, size, mime type and name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_ignore_many
from storage.tables import evidence

_c = evidence.c


@dataclass(frozen=True)
class EvidenceRow:
    file_key: str
    file_id: str
    kind: str
    status: str
    matter_id: int | None = None
    person_id: int | None = None
    file_name: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    size: int | None = None
    note: str | None = None
    stored_at: datetime | None = None


def _row(r: Any) -> EvidenceRow:
    return EvidenceRow(r.file_key, r.file_id, r.kind, r.status, r.matter_id, r.person_id,
                       r.file_name, r.mime_type, r.sha256, r.size, r.note, r.stored_at)


async def ensure(conn: AsyncConnection, row: EvidenceRow, at: datetime) -> None:
    """The row, as pending, unless the file is known already."""
    values = {"file_key": row.file_key, "file_id": row.file_id, "kind": row.kind,
              "status": row.status, "matter_id": row.matter_id, "person_id": row.person_id,
              "file_name": row.file_name, "mime_type": row.mime_type, "created_at": at}
    await conn.execute(insert_ignore_many(conn.dialect, evidence, ["file_key"]), [values])


async def get(conn: AsyncConnection, file_key: str) -> EvidenceRow | None:
    r = (await conn.execute(select(evidence).where(_c.file_key == file_key))).first()
    return _row(r) if r is not None else None


async def by_keys(conn: AsyncConnection, keys: Iterable[str]) -> dict[str, EvidenceRow]:
    wanted = sorted(set(keys))
    out: dict[str, EvidenceRow] = {}
    for i in range(0, len(wanted), 500):  # bound the IN list
        rows = await conn.execute(select(evidence).where(_c.file_key.in_(wanted[i:i + 500])))
        out.update({r.file_key: _row(r) for r in rows})
    return out


async def mark_stored(conn: AsyncConnection, file_key: str, sha256: str, size: int,
                      at: datetime, mime_type: str | None = None) -> None:
    values: dict[str, Any] = {"status": "stored", "sha256": sha256, "size": size,
                              "stored_at": at, "note": None}
    if mime_type:
        values["mime_type"] = mime_type
    await conn.execute(update(evidence).where(_c.file_key == file_key).values(**values))


async def mark(conn: AsyncConnection, file_key: str, status: str, note: str) -> None:
    await conn.execute(update(evidence).where(_c.file_key == file_key, _c.status != "stored")
                       .values(status=status, note=note))
