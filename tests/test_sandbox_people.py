"""Simulated people and groups, observed through a bare PTB Bot (getUpdates, no Application)."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from sandbox.errors import SandboxUsageError
from sandbox.media import image_size, tiny_png
from sandbox.server import SandboxServer
from tests.conftest_sandbox import *  # noqa: F403

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("签收", callback_data="ack")]])


async def drain(bot: Bot) -> list[Update]:
    updates = list(await bot.get_updates(timeout=0))
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return updates


async def test_private_messages_replies_and_media(sandbox: SandboxServer, bot: Bot) -> None:
    alice = sandbox.person(first_name="张三", last_name="张", username="zhangsan")
    first = await alice.send("/start abc")
    task = await bot.send_message(alice.id, "交办事项：道路修缮", reply_markup=KEYBOARD)
    reply = await alice.reply(task.to_dict(), "进展：已完成一半 #道路")
    photo = await alice.send_photo(tiny_png(1280, 960), caption="现场", reply_to=task.to_dict())
    document = await alice.send_document(b"%PDF", filename="报告.pdf", caption="报告")

    updates = await drain(bot)
    messages = [u.message for u in updates]
    assert all(m is not None for m in messages)
    m0, m1, m2, m3 = (m for m in messages if m is not None)
    assert m0.text == "/start abc" and m0.entities[0].type == "bot_command"
    assert m0.from_user is not None and m0.from_user.username == "zhangsan"
    assert m0.chat.type == "private" and m0.chat.id == alice.id
    assert m1.reply_to_message is not None and m1.reply_to_message.message_id == task.message_id
    assert m1.entities[0].type == "hashtag"
    assert [(p.width, p.height) for p in m2.photo] == [(90, 68), (1280, 960)]
    assert m2.caption == "现场" and m2.reply_to_message is not None
    assert m3.document is not None and m3.document.mime_type == "application/pdf"
    ids = [first["message_id"], task.message_id, reply["message_id"], photo["message_id"],
           document["message_id"]]
    assert ids == [1, 2, 3, 4, 5]  # one sequence per chat, shared by both sides


async def test_wait_for_reply_is_event_driven(sandbox: SandboxServer, bot: Bot) -> None:
    alice = sandbox.person(first_name="张三")
    await alice.send("在吗")
    waiter = asyncio.create_task(alice.wait_for_reply(timeout=5))
    await asyncio.sleep(0)
    assert not waiter.done()
    await bot.send_message(alice.id, "在")
    assert (await asyncio.wait_for(waiter, 5))["text"] == "在"
    # since defaults to the person's last message: an old reply does not count
    await alice.send("还有事")
    with pytest.raises(TimeoutError, match="no bot message"):
        await alice.wait_for_reply(timeout=0.05)
    # an explicit `since` finds what already arrived
    assert (await alice.wait_for_reply(timeout=0.05, since=0))["text"] == "在"


async def test_inbox_shows_latest_state(sandbox: SandboxServer, bot: Bot) -> None:
    alice = sandbox.person(first_name="张三")
    sent = await bot.send_message(alice.id, "待签收", reply_markup=KEYBOARD)
    await bot.edit_message_text("已签收", chat_id=alice.id, message_id=sent.message_id)
    gone = await bot.send_message(alice.id, "临时")
    await bot.delete_message(alice.id, gone.message_id)
    assert [m["text"] for m in alice.inbox()] == ["已签收"]
    assert "edit_date" in alice.inbox()[0] and "reply_markup" not in alice.inbox()[0]
    records = sandbox.sent_messages(alice)
    assert [(r.text, r.deleted, r.edited) for r in records] == [
        ("已签收", False, True), ("临时", True, False)
    ]
    assert records[0].versions[0]["reply_markup"] == KEYBOARD.to_dict()


async def test_tap_answer_and_stale_query(sandbox: SandboxServer, bot: Bot) -> None:
    alice = sandbox.person(first_name="张三")
    card = await bot.send_message(alice.id, "卡片", reply_markup=KEYBOARD)
    query = await alice.tap(card.to_dict(), "签收")
    assert await alice.answered(query, timeout=0.05) is None
    (update,) = await drain(bot)
    assert update.callback_query is not None
    assert update.callback_query.data == "ack" and update.callback_query.from_user.id == alice.id
    assert await update.callback_query.answer("收到")
    answer = await alice.answered(query)
    assert answer is not None and answer.text == "收到" and not answer.show_alert
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer("再答一次")
    with pytest.raises(SandboxUsageError, match="no inline button"):
        await alice.tap(card.to_dict(), "退回")


async def test_groups_members_and_service_messages(sandbox: SandboxServer, bot: Bot) -> None:
    alice, bob = sandbox.person(first_name="张三"), sandbox.person(first_name="李四")
    carol = sandbox.person(first_name="王五")
    group = sandbox.group(title="县督查工作群", members=[alice, bob])
    await alice.send("大家好", chat=group)
    with pytest.raises(SandboxUsageError, match="not a member"):
        await carol.send("我能说话吗", chat=group)
    await group.add_member(carol)
    await carol.send("我来了", chat=group)
    await group.remove_member(bob)
    notice = await bot.send_message(group.id, "会议通知")
    await bot.pin_chat_message(group.id, notice.message_id)

    updates = await drain(bot)
    kinds = [
        "text" if u.message and u.message.text else
        "joined" if u.message and u.message.new_chat_members else
        "left" if u.message and u.message.left_chat_member else "?"
        for u in updates
    ]
    assert kinds == ["text", "joined", "text", "left"]
    assert all(u.effective_chat is not None and u.effective_chat.id == group.id for u in updates)
    assert [p.first_name for p in group.members] == ["张三", "王五"]
    assert [m["text"] for m in group.messages()] == ["会议通知"]
    assert len(group.history()) == 5
    assert group.pinned == [notice.message_id]
    chat = await bot.get_chat(group.id)
    assert chat.pinned_message is not None and chat.pinned_message.text == "会议通知"
    assert chat.type == "group" and chat.title == "县督查工作群"
    assert (await group.wait_for_message(since=0))["text"] == "会议通知"


async def test_people_edit_and_two_bots(sandbox: SandboxServer, bot: Bot) -> None:
    other_token = sandbox.create_bot(username="other_bot")
    alice = sandbox.person(first_name="张三")
    sent = await alice.send("原话")
    await alice.edit(sent, "改过的话")
    await alice.send("给另一个机器人", bot=other_token)
    updates = await drain(bot)
    assert updates[1].edited_message is not None
    assert updates[1].edited_message.text == "改过的话"
    assert len(updates) == 2  # the other bot's chat is its own
    async with Bot(other_token, base_url=sandbox.base_url) as other:
        (update,) = await other.get_updates()
        assert update.message is not None and update.message.message_id == 1
        await other.send_message(alice.id, "我是另一个")
    assert alice.inbox() == []
    assert [m["text"] for m in alice.inbox(bot=other_token)] == ["我是另一个"]


def test_media_helpers() -> None:
    assert image_size(tiny_png(7, 5)) == (7, 5)
    assert image_size(b"not an image") is None
    assert image_size(b"GIF89a\x10\x00\x20\x00") == (16, 32)
