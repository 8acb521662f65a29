"""Bot API semantics over raw HTTP: encodings, errors, getUpdates (offset, limit, long poll)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from sandbox.server import SandboxServer
from tests.conftest_sandbox import *  # noqa: F403


@pytest.fixture
async def http() -> Any:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, url: str, *, method: str = "POST", **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def test_every_body_encoding_is_accepted(
    sandbox: SandboxServer, bot_token: str, http: aiohttp.ClientSession
) -> None:
    alice = sandbox.person(first_name="张三")
    url = f"{sandbox.base_url}{bot_token}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "签收", "callback_data": "a"}]]}'
    answers = [
        await call(http, url, json={"chat_id": alice.id, "text": "json"}),
        await call(http, url, data={"chat_id": str(alice.id), "text": "form", "reply_markup": markup}),
        await call(http, url, method="GET", params={"chat_id": str(alice.id), "text": "query"}),
    ]
    form = aiohttp.FormData()
    form.add_field("chat_id", str(alice.id))
    form.add_field("text", "multipart")
    form.add_field("reply_markup", markup)
    form.add_field("disable_notification", "true")
    answers.append(await call(http, url, data=form))
    assert [status for status, _ in answers] == [200] * 4
    assert [m["text"] for m in alice.inbox()] == ["json", "form", "query", "multipart"]
    assert alice.inbox()[1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "签收"
    params = sandbox.calls_to("sendMessage")[3].params
    assert params["disable_notification"] is True and params["chat_id"] == alice.id


async def test_error_bodies_match_telegram(
    sandbox: SandboxServer, bot_token: str, http: aiohttp.ClientSession
) -> None:
    base = f"{sandbox.base_url}{bot_token}"
    assert await call(http, f"{base}/sendTelepathy") == (
        404, {"ok": False, "error_code": 404, "description": "Not Found"}
    )
    assert await call(http, f"{sandbox.base_url}123:{'x' * 35}/getMe") == (
        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
    )
    assert (await call(http, f"{sandbox.base_url}nonsense/getMe"))[0] == 404
    status, answer = await call(http, f"{base}/GETME")  # method names are case-insensitive
    assert status == 200 and answer["result"]["username"] == "duban_bot"

    alice = sandbox.person(first_name="张三")
    cases = {
        "missing": ({"text": "x"}, "Bad Request: chat_id is empty"),
        "integer": ({"chat_id": "abc", "message_id": "1.5"}, 'wrong type of parameter "message_id"'),
        "boolean": ({"chat_id": alice.id, "text": "x", "disable_notification": "maybe"},
                    'wrong type of parameter "disable_notification"'),
        "json": ({"chat_id": alice.id, "text": "x", "reply_markup": "{oops"},
                 "can't parse reply_markup JSON object"),
        "object": ({"chat_id": alice.id, "text": "x", "reply_markup": "[]"},
                   'wrong type of parameter "reply_markup"'),
        "nested": ({"chat_id": alice.id, "text": "x",
                    "reply_markup": '{"inline_keyboard": [[{"callback_data": "x"}]]}'},
                   "inline_keyboard[0][0].text"),
        "text button": ({"chat_id": alice.id, "text": "x",
                         "reply_markup": '{"inline_keyboard": [[{"text": "x"}]]}'},
                        "Text buttons are unallowed"),
        "callback data": ({"chat_id": alice.id, "text": "x",
                           "reply_markup": '{"inline_keyboard": [[{"text": "x", "callback_data": "'
                           + "x" * 65 + '"}]]}'},
                          "BUTTON_DATA_INVALID"),
    }
    for name, (form, expected) in cases.items():
        method = "deleteMessage" if name == "integer" else "sendMessage"
        status, answer = await call(http, f"{base}/{method}", data=form)
        assert status == 400 and answer["error_code"] == 400, name
        assert answer["description"].startswith("Bad Request: "), name
        assert expected in answer["description"], (name, answer)
    chat = {"chat_id": '{"a": 1}', "text": "x"}
    status, answer = await call(http, f"{base}/sendMessage", json={**chat, "chat_id": {"a": 1}})
    assert status == 400 and 'parameter "chat_id"' in answer["description"]


async def test_get_updates_offset_limit_and_allowed_updates(
    sandbox: SandboxServer, bot_token: str, http: aiohttp.ClientSession
) -> None:
    url = f"{sandbox.base_url}{bot_token}/getUpdates"
    alice = sandbox.person(first_name="张三")
    for i in range(5):
        await alice.send(f"m{i}")

    def texts(answer: dict[str, Any]) -> list[str]:
        return [u["message"]["text"] for u in answer["result"]]

    _, first = await call(http, url, json={"limit": 2})
    assert texts(first) == ["m0", "m1"]
    _, again = await call(http, url, json={"limit": 2})  # unconfirmed: same again
    assert texts(again) == ["m0", "m1"]
    offset = first["result"][-1]["update_id"] + 1
    _, rest = await call(http, url, json={"offset": offset})
    assert texts(rest) == ["m2", "m3", "m4"]
    _, last = await call(http, url, json={"offset": -1})  # negative: only the newest
    assert texts(last) == ["m4"]

    await sandbox.person(first_name="王五").send("按钮")
    _, only_callbacks = await call(
        http, url, json={"offset": offset + 3, "allowed_updates": ["callback_query"]}
    )
    assert only_callbacks["result"] == []
    _, everything = await call(http, url, json={"allowed_updates": []})
    assert texts(everything) == ["按钮"]


async def test_long_poll_waits_and_wakes(
    sandbox: SandboxServer, bot_token: str, http: aiohttp.ClientSession
) -> None:
    url = f"{sandbox.base_url}{bot_token}/getUpdates"
    started = time.perf_counter()
    _, empty = await call(http, url, json={"timeout": 1})
    waited = time.perf_counter() - started
    assert empty["result"] == [] and waited >= 0.9

    alice = sandbox.person(first_name="张三")
    poll = asyncio.create_task(call(http, url, json={"timeout": 30}))
    await asyncio.sleep(0.05)  # let the poll reach the server
    started = time.perf_counter()
    await alice.send("醒醒")
    _, answer = await asyncio.wait_for(poll, 5)
    print(f"long poll woke after {(time.perf_counter() - started) * 1000:.1f} ms")
    assert answer["result"][0]["message"]["text"] == "醒醒"


async def test_second_poller_terminates_the_first(
    sandbox: SandboxServer, bot_token: str, http: aiohttp.ClientSession
) -> None:
    url = f"{sandbox.base_url}{bot_token}/getUpdates"
    first = asyncio.create_task(call(http, url, json={"timeout": 30}))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(call(http, url, json={"timeout": 0}))
    status, answer = await asyncio.wait_for(first, 5)
    assert status == 409 and "terminated by other getUpdates request" in answer["description"]
    assert (await second)[0] == 200


async def test_server_stop_releases_long_polls(bot_token: str, sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{sandbox.base_url}{bot_token}/getUpdates"
        poll = asyncio.create_task(call(http, url, json={"timeout": 30}))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        await sandbox.stop()
        status, answer = await asyncio.wait_for(poll, 5)
    assert status == 200 and answer["result"] == []
    assert time.perf_counter() - started < 3


async def test_bookkeeping_records_calls_and_files(
    sandbox: SandboxServer, bot_token: str, http: aiohttp.ClientSession
) -> None:
    alice = sandbox.person(first_name="张三")
    form = aiohttp.FormData()
    form.add_field("chat_id", str(alice.id))
    form.add_field("document", b"abc", filename="a.txt", content_type="text/plain")
    status, answer = await call(http, f"{sandbox.base_url}{bot_token}/sendDocument", data=form)
    assert status == 200
    (record,) = sandbox.calls_to("sendDocument")
    assert record.params["document"] == {
        "upload": "document", "filename": "a.txt", "content_type": "text/plain", "size": 3
    }
    assert record.ok and record.chat_id == alice.id and record.time > 0
    doc = answer["result"]["document"]
    assert doc["mime_type"] == "text/plain" and doc["file_size"] == 3
    status, _ = await call(http, f"{sandbox.base_url}{bot_token}/getFile", json={"file_id": "nope"})
    assert status == 400
    async with http.get(f"{sandbox.base_file_url}{bot_token}/documents/missing.txt") as missing:
        assert missing.status == 404
