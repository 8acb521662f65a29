"""A real PTB Application against the sandbox, through PTB's HTTP stack and long polling."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox.errors import SandboxUsageError
from sandbox.media import tiny_png
from sandbox.server import SandboxServer
from sandbox.testing import build_application, running_application
from tests.conftest_sandbox import *  # noqa: F403
from tests.conftest_sandbox import BOT_USERNAME, seconds

Ctx = ContextTypes.DEFAULT_TYPE


async def test_echo_bot_replies_through_http(sandbox: SandboxServer, bot_token: str) -> None:
    app = build_application(sandbox, bot_token)

    async def echo(update: Update, context: Ctx) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"收到：{update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with running_application(app):
        alice = sandbox.person(first_name="张三", username="zhangsan")
        sent = await alice.send("进展：已完成一半")
        reply = await alice.wait_for_reply(timeout=5)
    assert reply["text"] == "收到：进展：已完成一半"
    assert reply["message_id"] > sent["message_id"]
    assert [m["text"] for m in alice.inbox()] == ["收到：进展：已完成一半"]
    assert [c.method for c in sandbox.calls_to("sendMessage")] == ["sendMessage"]


async def test_long_polling_latency_is_low(sandbox: SandboxServer, bot_token: str) -> None:
    app = build_application(sandbox, bot_token)
    seen: list[float] = []
    got = asyncio.Event()

    async def record(update: Update, context: Ctx) -> None:
        seen.append(time.perf_counter())
        got.set()

    app.add_handler(MessageHandler(filters.ALL, record))
    async with running_application(app, poll_timeout=10):
        alice = sandbox.person(first_name="李四")
        latencies = []
        for i in range(10):
            got.clear()
            start = time.perf_counter()
            await alice.send(f"消息 {i}")
            await asyncio.wait_for(got.wait(), 5)
            latencies.append(seen[-1] - start)
    ms = sorted(x * 1000 for x in latencies)
    print(f"update→handler latency ms: median {statistics.median(ms):.1f}, max {ms[-1]:.1f}")
    # generous bound: a poll-interval bug would show up as whole seconds
    assert statistics.median(ms) < 1000


async def test_commands_in_groups_respect_bot_username(
    sandbox: SandboxServer, bot_token: str
) -> None:
    app = build_application(sandbox, bot_token)
    args: list[list[str]] = []

    async def report(update: Update, context: Ctx) -> None:
        args.append(list(context.args or []))
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "报告已收到")

    app.add_handler(CommandHandler("report", report))
    alice, bob = sandbox.person(first_name="张三"), sandbox.person(first_name="王五")
    group = sandbox.group(title="县督查工作群", members=[alice, bob])
    async with running_application(app):
        await alice.send("/report@other_bot 甲", chat=group)
        await alice.send(f"/report@{BOT_USERNAME} 乙", chat=group)
        reply = await alice.wait_for_reply(chat=group)
        await bob.send("/report 丙", chat=group)
        await group.wait_for_message()
    assert reply["text"] == "报告已收到"
    assert args == [["乙"], ["丙"]]
    assert group.id < 0
    assert [m["text"] for m in group.messages()] == ["报告已收到", "报告已收到"]
    ids = [m["message_id"] for m in group.history()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_start_command_args_and_entities(sandbox: SandboxServer, bot_token: str) -> None:
    app = build_application(sandbox, bot_token)
    payloads: list[list[str]] = []

    async def start(update: Update, context: Ctx) -> None:
        payloads.append(list(context.args or []))
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>欢迎</b> 使用督办助手")

    app.add_handler(CommandHandler("start", start))
    async with running_application(app):
        alice = sandbox.person(first_name="张三")
        message = await alice.send("/start abc")
        reply = await alice.wait_for_reply()
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert payloads == [["abc"]]
    assert reply["text"] == "欢迎 使用督办助手"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 2}]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_validation_errors_become_ptb_exceptions(
    sandbox: SandboxServer, bot: Any
) -> None:
    alice = sandbox.person(first_name="张三")
    with pytest.raises(BadRequest, match=r"(?i)chat_id is empty"):
        await bot.do_api_request("sendMessage", api_kwargs={"text": "hi"})
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": alice.id})
    with pytest.raises(BadRequest, match=r'(?i)wrong type of parameter "message_id"'):
        await bot.do_api_request(
            "deleteMessage", api_kwargs={"chat_id": alice.id, "message_id": "abc"}
        )
    with pytest.raises(BadRequest, match=r"(?i)can't parse reply_markup"):
        await bot.do_api_request(
            "sendMessage",
            api_kwargs={"chat_id": alice.id, "text": "x", "reply_markup": {"inline_keyboard": 1}},
        )
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(chat_id=123, text="x")
    with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag"):
        await bot.send_message(chat_id=alice.id, text="第一行<br>第二行", parse_mode="HTML")
    # Telegram answers 404 for unknown methods; PTB turns that into EndPointNotFound
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": alice.id})
    assert sandbox.calls_to("sendMessage", ok=True) == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_429_becomes_retry_after(sandbox: SandboxServer, bot: Any) -> None:
    alice = sandbox.person(first_name="张三")
    sandbox.inject_fault("429", method="sendMessage", chat_id=alice.id, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "第一次")
    assert seconds(caught.value.retry_after) == 7
    await bot.send_message(alice.id, "第二次")
    assert sandbox.too_many_requests == 1
    assert [m["text"] for m in alice.inbox()] == ["第二次"]


async def test_forbidden_blocked_and_not_started(sandbox: SandboxServer, bot: Any) -> None:
    alice = sandbox.person(first_name="张三")
    bob = sandbox.person(first_name="王五", started=False)
    sandbox.inject_fault("forbidden", chat_id=alice.id)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(alice.id, "x")
    await bot.send_message(alice.id, "y")  # the fault was for one call only

    sandbox.block_chat(alice.id)
    for _ in range(2):
        with pytest.raises(Forbidden, match=r"(?i)blocked"):
            await bot.send_message(alice.id, "z")
    sandbox.unblock_chat(alice.id)
    await bot.send_message(alice.id, "again")

    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(bob.id, "你好")
    await bob.send("/start")
    await bot.send_message(bob.id, "你好")
    assert [m["text"] for m in bob.inbox()] == ["你好"]


async def test_person_blocking_the_bot(sandbox: SandboxServer, bot_token: str) -> None:
    app = build_application(sandbox, bot_token)
    statuses: list[str] = []
    changed = asyncio.Event()

    async def member(update: Update, context: Ctx) -> None:
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)
        changed.set()

    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    async with running_application(app):
        alice = sandbox.person(first_name="张三")
        await alice.block_bot()
        await asyncio.wait_for(changed.wait(), 5)
        with pytest.raises(Forbidden):
            await app.bot.send_message(alice.id, "还在吗")
    assert statuses == ["kicked"]


async def test_bad_gateway_and_timeout_faults(sandbox: SandboxServer, bot_token: str) -> None:
    app = build_application(sandbox, bot_token, read_timeout=0.3)
    alice = sandbox.person(first_name="张三")
    async with app:
        sandbox.inject_fault("5xx", method="sendMessage")
        with pytest.raises(NetworkError, match=r"(?i)Bad Gateway") as caught:
            await app.bot.send_message(alice.id, "x")
        assert not isinstance(caught.value, BadRequest)

        sandbox.inject_fault("timeout", method="sendMessage", hold=2.0, deliver=True)
        with pytest.raises(TimedOut):
            await app.bot.send_message(alice.id, "送达但回执丢失")
        # deliver=True: the message exists although the bot never saw the answer
        assert [m["text"] for m in alice.inbox()] == ["送达但回执丢失"]
        await app.bot.send_message(alice.id, "之后正常")
    assert [m["text"] for m in alice.inbox()] == ["送达但回执丢失", "之后正常"]


async def test_file_roundtrip_both_ways(sandbox: SandboxServer, bot_token: str) -> None:
    app = build_application(sandbox, bot_token)
    downloads: dict[str, bytes] = {}
    done = asyncio.Event()

    async def on_document(update: Update, context: Ctx) -> None:
        message = update.effective_message
        assert message is not None and message.document is not None
        file = await message.document.get_file()
        downloads[message.document.file_name or "?"] = bytes(await file.download_as_bytearray())
        done.set()

    async def on_photo(update: Update, context: Ctx) -> None:
        message = update.effective_message
        assert message is not None and message.photo
        file = await message.photo[-1].get_file()
        downloads["photo"] = bytes(await file.download_as_bytearray())
        await message.reply_photo(message.photo[-1].file_id, caption="收到照片")

    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    report = "督办事项进展报告\n".encode() * 100
    png = tiny_png(400, 300)
    async with running_application(app):
        alice = sandbox.person(first_name="张三")
        # bot → person: multipart upload, then getFile + download
        sent = await app.bot.send_document(alice.id, report, filename="报告.pdf", caption="附件")
        assert sent.document is not None
        assert sent.document.file_name == "报告.pdf"
        assert sent.document.mime_type == "application/pdf"
        fetched = await (await app.bot.get_file(sent.document.file_id)).download_as_bytearray()
        assert bytes(fetched) == report
        # person → bot
        await alice.send_document(b"%PDF-1.4 fake", filename="整改方案.pdf", caption="请审阅")
        await asyncio.wait_for(done.wait(), 5)
        photo_message = await alice.send_photo(png, caption="现场照片")
        reply = await alice.wait_for_reply()
    assert downloads == {"整改方案.pdf": b"%PDF-1.4 fake", "photo": png}
    sizes = photo_message["photo"]
    assert (sizes[-1]["width"], sizes[-1]["height"]) == (400, 300)
    assert reply["caption"] == "收到照片"
    assert reply["photo"][-1]["file_id"] == sizes[-1]["file_id"]
    stored = sandbox.sent_messages(alice)
    assert stored[0].document is not None and stored[0].caption == "附件"


async def test_button_tap_reaches_callback_handler(sandbox: SandboxServer, bot_token: str) -> None:
    app = build_application(sandbox, bot_token)

    async def task(update: Update, context: Ctx) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("签收", callback_data="ack:42")],
             [InlineKeyboardButton("详情", url="https://example.org/42")]]
        )
        await update.effective_message.reply_text("新交办事项 #42", reply_markup=keyboard)

    async def ack(update: Update, context: Ctx) -> None:
        query = update.callback_query
        assert query is not None and query.data == "ack:42"
        await query.answer("已签收", show_alert=True)
        await query.edit_message_text("新交办事项 #42（已签收）")

    app.add_handler(CommandHandler("task", task))
    app.add_handler(CallbackQueryHandler(ack, pattern=r"^ack:"))
    async with running_application(app):
        alice = sandbox.person(first_name="张三")
        await alice.send("/task")
        card = await alice.wait_for_reply()
        with pytest.raises(SandboxUsageError, match=r"(?i)no inline button"):
            await alice.tap(card, "退回")
        with pytest.raises(SandboxUsageError, match=r"(?i)no callback_data"):
            await alice.tap(card, "详情")
        query = await alice.tap(card, "签收")
        answer = await alice.answered(query, timeout=5)
        edited = await alice.wait_for_edit(card)
    assert answer is not None and answer.text == "已签收" and answer.show_alert
    assert edited["text"] == "新交办事项 #42（已签收）"
    assert "reply_markup" not in edited  # editing text without a keyboard drops it
    record = sandbox.sent_messages(alice)[0]
    assert record.edited and record.versions[0]["text"] == "新交办事项 #42"


async def test_edit_not_modified_and_delete(sandbox: SandboxServer, bot: Any) -> None:
    alice = sandbox.person(first_name="张三")
    message = await bot.send_message(alice.id, "原文")
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("原文", chat_id=alice.id, message_id=message.message_id)
    await bot.edit_message_text("新文", chat_id=alice.id, message_id=message.message_id)
    assert await bot.delete_message(alice.id, message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(alice.id, message.message_id)
    assert alice.inbox() == []
    assert alice.inbox(include_deleted=True)[0]["text"] == "新文"


async def test_webhook_delivery_and_conflict(sandbox: SandboxServer, bot: Any) -> None:
    from aiohttp import web

    received: list[tuple[dict[str, Any], str | None]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        arrived.set()
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        alice = sandbox.person(first_name="张三")
        await alice.send("通过 webhook")
        await asyncio.wait_for(arrived.wait(), 5)
        from telegram.error import Conflict

        with pytest.raises(Conflict):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert await bot.delete_webhook()
        await alice.send("回到轮询")
        updates = await bot.get_updates(timeout=5)
    finally:
        await runner.cleanup()
    assert received[0][0]["message"]["text"] == "通过 webhook"
    assert received[0][1] == "s3cret"
    assert [u.message.text for u in updates] == ["回到轮询"]
