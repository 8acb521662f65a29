"""The bot's Bot API transport (aiohttp): answers, uploads, and failures as PTB expects."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.http import AiohttpRequest


@pytest.fixture
async def server() -> AsyncIterator[str]:
    seen: dict[str, object] = {}

    async def echo(request: web.Request) -> web.Response:
        if request.content_type == "multipart/form-data":
            parts = {}
            reader = await request.multipart()
            async for part in reader:
                parts[part.name] = (part.filename, (await part.read()).decode())
            seen["last"] = parts
        else:
            seen["last"] = dict(await request.post())
        return web.json_response({"ok": True, "result": seen["last"]})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_form_fields_and_uploads_arrive(server: str) -> None:
    r = AiohttpRequest(connections=4)
    await r.initialize()
    try:
        data = RequestData([RequestParameter.from_input("chat_id", 42),
                            RequestParameter.from_input("text", "已记入台账")])
        status, body = await r.do_request(f"{server}/echo", "POST", data)
        assert status == 200
        assert json.loads(body)["result"] == {"chat_id": "42", "text": "已记入台账"}
        doc = InputFile(b"hello", filename="台账.xlsx", attach=True)
        upload = RequestData([RequestParameter.from_input("chat_id", 42),
                              RequestParameter.from_input("document", doc)])
        status, body = await r.do_request(f"{server}/echo", "POST", upload)
        parts = json.loads(body)["result"]
        assert status == 200 and parts["chat_id"] == [None, "42"]
        # The file travels as its own part; the document field names it (attach://…).
        assert ["台账.xlsx", "hello"] in parts.values()
        assert str(parts["document"][1]).startswith("attach://")
    finally:
        await r.shutdown()


async def test_timeouts_and_refusals_become_ptb_errors(server: str) -> None:
    r = AiohttpRequest(connections=4, read_timeout=0.2)
    await r.initialize()
    try:
        with pytest.raises(TimedOut):
            await r.do_request(f"{server}/slow", "POST")
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(NetworkError):
            await r.do_request(f"http://127.0.0.1:{port}/x", "POST")
    finally:
        await r.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await r.do_request(f"{server}/echo", "POST")


def test_socks_proxy_is_refused() -> None:
    with pytest.raises(ValueError, match="SOCKS"):
        AiohttpRequest(connections=1, proxy="socks5://127.0.0.1:1080")
