"""The public channel's posts, one per public matter."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import (
    Row,
    false,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.ports import (
    PublicPost,
)
from storage.dialect import upsert
from storage.tables import (
    matters,
    public_posts,
)


def _post(row: Row[Any]) -> PublicPost:
    return PublicPost(matter_id=row.matter_id, chat_id=row.chat_id, message_id=row.message_id,
                      digest=row.digest, posted_at=row.posted_at, edited_at=row.edited_at)


class SqlPublicPostRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, matter_id: int) -> PublicPost | None:
        row = (await self._conn.execute(
            select(public_posts).where(public_posts.c.matter_id == matter_id))).first()
        return None if row is None else _post(row)

    async def put(self, post: PublicPost) -> None:
        values = {"matter_id": post.matter_id, "chat_id": post.chat_id,
                  "message_id": post.message_id, "digest": post.digest,
                  "posted_at": post.posted_at, "edited_at": post.edited_at}
        await self._conn.execute(
            upsert(self._conn.dialect, public_posts, values, ["matter_id"]))

    async def all(self, chat_id: int) -> builtins.list[PublicPost]:
        rows = await self._conn.execute(
            select(public_posts).where(public_posts.c.chat_id == chat_id))
        return [_post(r) for r in rows]

    async def candidates(self, office_id: int) -> dict[int, int]:
        statuses = ("in_progress", "completion_requested", "closed", "cancelled")
        rows = await self._conn.execute(
            select(matters.c.id, matters.c.version).where(
                matters.c.office_id == office_id, matters.c.confidential == false(),
                matters.c.status.in_(statuses)))
        return {int(r[0]): int(r[1]) for r in rows}
