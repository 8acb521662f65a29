"""Many replies at once: handled side by side, batched into few transactions, and still
each one recorded, confirmed against its own message, and in order per matter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from telegram import Chat, Message, Update, User

from bot.harness import running_bot
from bot.updates import KeyedUpdateProcessor
from handlers.batch import Batcher
from ledger.clock import FixedClock
from ledger.errors import InvalidInput
from tests.bot_e2e import START, quick_matter, text
from tests.dbs import url_for

# ---- the batcher ------------------------------------------------------------------------


async def test_callers_waiting_together_share_one_batch_and_get_their_own_results() -> None:
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        calls.append(items)
        await asyncio.sleep(0)
        return [InvalidInput(f"不要 {i}") if i == 3 else i * 10 for i in items]

    b: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(*(b.submit(i) for i in range(6)), return_exceptions=True)
    assert calls == [[0, 1, 2, 3, 4, 5]]
    assert results[:3] == [0, 10, 20] and results[4:] == [40, 50]
    assert isinstance(results[3], InvalidInput) and "不要 3" in str(results[3])
    # Alone, a call is a batch of one and waits for nothing else.
    assert await b.submit(7) == 70
    assert calls[-1] == [7]


async def test_a_failed_batch_fails_each_caller_and_the_next_batch_runs() -> None:
    fail = True

    async def run(items: list[int]) -> list[int | BaseException]:
        if fail:
            raise RuntimeError("database is locked")
        return list(items)

    b: Batcher[int, int] = Batcher(run)
    results = await asyncio.gather(b.submit(1), b.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    fail = False
    assert await b.submit(3) == 3


async def test_items_beyond_max_batch_go_in_the_next_batch() -> None:
    sizes: list[int] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        sizes.append(len(items))
        return list(items)

    b: Batcher[int, int] = Batcher(run, max_batch=4)
    assert await asyncio.gather(*(b.submit(i) for i in range(10))) == list(range(10))
    assert sizes == [4, 4, 2]


# ---- the update processor ---------------------------------------------------------------


def _update(uid: int, user: int, reply_to: int | None = None) -> Update:
    from datetime import UTC, datetime
    chat = Chat(user, Chat.PRIVATE)
    target = None if reply_to is None else Message(reply_to, datetime.now(UTC), chat)
    msg = Message(uid, datetime.now(UTC), chat, from_user=User(user, "某人", False),
                  text=f"m{uid}", reply_to_message=target)
    return Update(uid, message=msg)


async def test_same_key_in_order_different_keys_side_by_side() -> None:
    p = KeyedUpdateProcessor(8)
    log: list[str] = []
    gate = asyncio.Event()

    async def handle(name: str, wait: bool) -> None:
        log.append(f"{name} start")
        if wait:
            await gate.wait()
        log.append(f"{name} end")

    first = asyncio.create_task(p.process_update(_update(1, 100), handle("a1", True)))
    await asyncio.sleep(0)
    # Same person, same chat, not a reply: waits for a1 however long it takes.
    second = asyncio.create_task(p.process_update(_update(2, 100), handle("a2", False)))
    # A reply to card 55 and another person's message: need not wait.
    other = asyncio.create_task(p.process_update(_update(3, 100, reply_to=55),
                                                 handle("r", False)))
    third = asyncio.create_task(p.process_update(_update(4, 200), handle("b", False)))
    await asyncio.wait_for(asyncio.gather(other, third), 2)
    assert "a2 start" not in log and {"r end", "b end"} <= set(log)
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    assert log.index("a1 end") < log.index("a2 start")
    assert not p._tails  # nothing kept once done


# ---- through the bot --------------------------------------------------------------------


def _card(person: Any, number: str) -> dict[str, Any]:
    cards = [m for m in person.inbox() if number in text(m) and m.get("reply_markup")]
    assert cards, f"no card about {number}"
    return cards[0]  # type: ignore[no-any-return]


async def test_a_burst_of_replies_from_several_phones(tmp_path: Path) -> None:
    rounds = 6
    # Pacing off: the office group's feed (20 lines a minute) is not what this tests.
    async with running_bot(tmp_path, clock=FixedClock(START), rate_limited=False,
                           db_url=url_for(tmp_path / "duban.db", migrated=True)) as h:
        m1 = await quick_matter(h, "老旧小区改造 | 城关镇,县发改局 | 默认")
        m2 = await quick_matter(h, "背街小巷整治 | 城关镇,县发改局 | 默认")
        await h.settle()
        town, dept = h.people["town_handler"], h.people["dept_handler"]
        cards = {(who, m.id): _card(p, m.number)
                 for who, p in (("town", town), ("dept", dept)) for m in (m1, m2)}
        sent: dict[tuple[int, int], str] = {}  # (chat, message id) of each report → who
        for i in range(rounds):  # all at once: nobody waits for the bot between messages
            for (who, _), card in cards.items():
                words = f"{who}第{i}次进展"
                msg = await (town if who == "town" else dept).reply(card, words)
                sent[(int(msg["chat"]["id"]), int(msg["message_id"]))] = who
        await h.settle(timeout=60)

        for who, person in (("town", town), ("dept", dept)):
            confirmations = [m for m in person.inbox() if text(m).startswith("已记入台账")]
            assert len(confirmations) == 2 * rounds
            for c in confirmations:  # each quotes the report it confirms
                quoted = c["reply_to_message"]
                assert sent[(int(quoted["chat"]["id"]), int(quoted["message_id"]))] == who
        for m in (m1, m2):
            assert m.id is not None
            async with h.deps.uow() as u:
                events = await u.events.for_matter(m.id)
            for who in ("town", "dept"):
                texts = [e.after["text"] for e in events
                         if e.kind == "progress" and str(e.after["text"]).startswith(who)]
                assert texts == [f"{who}第{i}次进展" for i in range(rounds)]
        # The office group hears of every report, the waiting ones gathered into digests.
        feed = [text(m) for m in h.office_group.messages() if "报送进展" in text(m)]
        for who in ("town", "dept"):
            for i in range(rounds):
                assert sum(t.count(f"{who}第{i}次进展") for t in feed) == 2  # one per matter
        digests = [t for t in feed if t.startswith("📥 新进展")]
        assert digests and len(feed) < 4 * rounds
        intake = h.deps.intake
        assert intake.reports.items == 4 * rounds
        assert intake.reports.batches < intake.reports.items  # shared transactions
