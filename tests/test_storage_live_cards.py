"""Live cards in storage: a matter's save queues one redraw per card (by version), a
matter's cancelled notices leave them, and a followed notice keeps only the newest."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.ports import CARD_EDIT_KIND, LiveCard, Notice
from storage.uow import SqlUnitOfWork
from tests.test_storage_helpers import (
    T0,
    World,
    add_matter,
    assign,
    migrated_engine,
    register,
    seed,
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncEngine:
    e = await migrated_engine(tmp_path / "duban.db")
    yield e  # type: ignore[misc]
    await e.dispose()


async def _edits(engine: AsyncEngine) -> list[Notice]:
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        return [n for n in await uow.outbox.due(T0 + timedelta(days=30), 100)
                if n.kind == CARD_EDIT_KIND]


async def test_a_save_redraws_every_card_once_per_version(engine: AsyncEngine) -> None:
    w: World = await seed(engine)
    m = register(w, 1)
    assign(w, m, w.unit_a, lead=True, deadline=date(2026, 3, 30))
    m = await add_matter(engine, m)
    assert m.id is not None
    async with SqlUnitOfWork(engine) as uow:
        for chat, msg in ((1001, 7), (-100, 8)):
            await uow.cards.record(LiveCard(chat, msg, m.id, "card", T0, w.admin_id))
        await uow.commit()
    assert await _edits(engine) == []   # recording queues nothing
    async with SqlUnitOfWork(engine) as uow:
        loaded = await uow.matters.get(m.id)
        loaded.set_priority(at=T0 + timedelta(hours=1), actor_id=w.admin_id, on=True,
                            reason="县委关注")
        await uow.matters.save(loaded)
        # the matter's notices cancelled (as 销号 does): its cards' redraws stay
        await uow.outbox.cancel(m.id)
        await uow.commit()
    edits = await _edits(engine)
    assert sorted((n.chat_id, n.payload["message_id"]) for n in edits) == [(-100, 8), (1001, 7)]
    assert {n.key.rsplit(":", 1)[1] for n in edits} == {str(loaded.version)}
    assert all(n.due_at == T0 + timedelta(hours=1) for n in edits)
    async with SqlUnitOfWork(engine) as uow:   # the same version again: nothing new
        assert await uow.cards.redraw(m.id, T0, (1001, 7)) == 1
        await uow.commit()
    assert len(await _edits(engine)) == 2


async def test_followed_notices_keep_the_newest(engine: AsyncEngine) -> None:
    w: World = await seed(engine)
    m = await add_matter(engine, register(w, 1))
    assert m.id is not None
    async with SqlUnitOfWork(engine) as uow:
        for msg in range(1, 6):
            await uow.cards.record(LiveCard(1001, msg, m.id, "buttons", T0, w.admin_id),
                                   keep=3)
        await uow.cards.record(LiveCard(1001, 99, m.id, "card", T0, w.admin_id), keep=None)
        await uow.commit()
        kept = await uow.cards.for_matter(m.id)
    assert sorted(c.message_id for c in kept) == [3, 4, 5, 99]
    async with SqlUnitOfWork(engine) as uow:
        await uow.cards.drop(1001, 99)
        await uow.cards.shown(1001, 5, "d" * 64)
        await uow.commit()
        assert await uow.cards.get(1001, 99) is None
        card = await uow.cards.get(1001, 5)
    assert card is not None and card.digest == "d" * 64
