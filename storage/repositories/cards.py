"""Live cards: the messages that show a matter, and the redraws a matter's save queues.

Like the `assignments` projection, a card follows every save of its matter: `CardAwareMatters`
(the unit of work's matter repository) queues one `card_edit` outbox notice per recorded
card of each matter it saves, in the same transaction, keyed by the matter's new version
(`card:CHAT:MESSAGE:VERSION`), so no use case can forget it and nothing is queued twice.
The dispatcher collapses what a newer version superseded; the sender renders the card
as it is when it goes out.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.model import Matter
from ledger.ports import CARD_EDIT_KIND, LiveCard
from storage.bulk import insert_rows
from storage.dialect import upsert
from storage.repositories.matters import SqlMatterRepository
from storage.tables import live_cards, matters, outbox


def _card(row: Row[Any]) -> LiveCard:
    return LiveCard(chat_id=int(row.chat_id), message_id=int(row.message_id),
                    matter_id=row.matter_id, layout=row.layout, sent_at=row.sent_at,
                    viewer_id=row.viewer_id, kind=row.kind, files=bool(row.files),
                    digest=row.digest)


def card_key(chat_id: int, message_id: int, version: int, tag: str = "") -> str:
    return f"card:{chat_id}:{message_id}:{version}" + (f":{tag}" if tag else "")


class SqlCardRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, card: LiveCard, keep: int | None = None) -> None:
        values = {"chat_id": card.chat_id, "message_id": card.message_id,
                  "matter_id": card.matter_id, "layout": card.layout,
                  "viewer_id": card.viewer_id, "kind": card.kind, "files": card.files,
                  "digest": card.digest, "sent_at": card.sent_at}
        await self._conn.execute(
            upsert(self._conn.dialect, live_cards, values, ["chat_id", "message_id"]))
        if keep is None:
            return
        c = live_cards.c
        same = (c.chat_id == card.chat_id, c.matter_id == card.matter_id,
                c.layout == card.layout)
        newest = select(c.message_id).where(*same).order_by(c.message_id.desc()).limit(keep)
        await self._conn.execute(delete(live_cards).where(
            *same, c.message_id.not_in(newest.scalar_subquery())))

    async def get(self, chat_id: int, message_id: int) -> LiveCard | None:
        row = (await self._conn.execute(select(live_cards).where(
            live_cards.c.chat_id == chat_id, live_cards.c.message_id == message_id))).first()
        return None if row is None else _card(row)

    async def for_matter(self, matter_id: int) -> builtins.list[LiveCard]:
        rows = await self._conn.execute(
            select(live_cards).where(live_cards.c.matter_id == matter_id)
            .order_by(live_cards.c.sent_at, live_cards.c.chat_id, live_cards.c.message_id))
        return [_card(r) for r in rows]

    async def drop(self, chat_id: int, message_id: int) -> None:
        await self._conn.execute(delete(live_cards).where(
            live_cards.c.chat_id == chat_id, live_cards.c.message_id == message_id))

    async def shown(self, chat_id: int, message_id: int, digest: str) -> None:
        await self._conn.execute(update(live_cards).where(
            live_cards.c.chat_id == chat_id, live_cards.c.message_id == message_id)
            .values(digest=digest))

    async def redraw(self, matter_id: int, at: datetime,
                     message: tuple[int, int] | None = None, tag: str = "") -> int:
        row = (await self._conn.execute(select(matters.c.version, matters.c.office_id)
                                        .where(matters.c.id == matter_id))).first()
        if row is None:
            return 0
        return await queue_redraws(self._conn, [(matter_id, int(row[0]), int(row[1]), at)],
                                   message, tag)


async def queue_redraws(conn: AsyncConnection,
                        changed: Sequence[tuple[int, int, int, datetime]],
                        message: tuple[int, int] | None = None, tag: str = "") -> int:
    """One `card_edit` notice per card of each (matter id, version, office id, at); `tag`
    tells a redraw of the same version apart (the card's record changed)."""
    if not changed:
        return 0
    by_id = {mid: (version, office, at) for mid, version, office, at in changed}
    stmt = select(live_cards.c.chat_id, live_cards.c.message_id, live_cards.c.matter_id).where(
        live_cards.c.matter_id.in_(list(by_id)))
    if message is not None:
        stmt = stmt.where(live_cards.c.chat_id == message[0],
                          live_cards.c.message_id == message[1])
    rows: builtins.list[dict[str, Any]] = []
    for found in await conn.execute(stmt):
        chat_id, message_id, matter_id = int(found[0]), int(found[1]), int(found[2])
        version, office_id, at = by_id[matter_id]
        rows.append({
            "key": card_key(chat_id, message_id, version, tag), "office_id": office_id,
            "kind": CARD_EDIT_KIND, "due_at": at, "person_id": None, "chat_id": chat_id,
            "matter_id": matter_id, "assignment_no": None,
            "payload": {"message_id": message_id, "version": version},
            "status": "pending", "attempts": 0, "next_try_at": None, "sent_at": None,
            "last_error": None})
    if rows:
        await insert_rows(conn, outbox, rows, ignore=("key",))
    return len(rows)


def _changed(ms: Sequence[Matter]) -> builtins.list[tuple[int, int, int, datetime]]:
    """What a save is about to write: (id, new version, office, time of its last event)."""
    return [(m.id, m.version, m.office_id, max(e.at for e in m.pending))
            for m in ms if m.id is not None and m.pending]


class CardAwareMatters(SqlMatterRepository):
    """The matter repository of the unit of work: every save also redraws the cards."""

    async def save(self, matter: Matter) -> None:
        changed = _changed([matter])
        await super().save(matter)
        await queue_redraws(self._conn, changed)

    async def save_many(self, matters_: Sequence[Matter]) -> None:
        changed = _changed(matters_)
        await super().save_many(matters_)
        await queue_redraws(self._conn, changed)
