"""Webhook mode end to end: the sandbox POSTs updates to the bot's own server (bot.webhook)
with the secret token; the bot answers 200 only once the update is in the inbox."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import aiohttp

from bot.config import Config, ConfigError, load_config
from bot.harness import running_bot
from bot.webhook import SECRET_HEADER, webhook_secret
from storage.inbox import counts
from storage.uow import connection_of
from tests.bot_e2e import START, text

SECRET = "s3cret_Token-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(port: int, secret: str | None = SECRET) -> Config:
    return Config(webhook_url=f"http://127.0.0.1:{port}/telegram", webhook_listen="127.0.0.1",
                  webhook_port=port, webhook_secret=secret)


async def test_an_update_posted_to_the_webhook_is_answered(tmp_path: Path) -> None:
    from ledger.clock import FixedClock

    port = _free_port()
    async with running_bot(tmp_path, clock=FixedClock(START), config=_config(port)) as h:
        account = h.server.bot(h.token)
        assert account.webhook is not None
        assert account.webhook.url == f"http://127.0.0.1:{port}/telegram"
        assert account.webhook.secret_token == SECRET
        admin = h.people["admin"]
        await admin.send("/new 老旧小区改造 | 城关镇,县发改局 | 默认")
        await h.settle()
        assert any("督" in text(m) and "老旧小区改造" in text(m) for m in admin.inbox())
        assert account.webhook.delivered >= 1
        assert account.webhook.last_error_message is None
        # Stored, and done once handled.
        async with h.deps.uow() as u:
            stored, done = await counts(connection_of(u))
        assert stored == done >= 1

        base = f"http://127.0.0.1:{port}"
        update = {"update_id": 999_999, "message": {
            "message_id": 1, "date": 0, "chat": {"id": admin.id, "type": "private"},
            "from": admin.user, "text": "/help"}}
        async with aiohttp.ClientSession() as s:
            for headers in ({}, {SECRET_HEADER: "wrong"}):
                async with s.post(f"{base}/telegram", data=json.dumps(update),
                                  headers=headers) as r:
                    assert r.status == 403
            async with s.post(f"{base}/", data=json.dumps(update),
                              headers={SECRET_HEADER: SECRET}) as r:
                assert r.status in (404, 405)   # only the path of webhook.url
            async with s.get(f"{base}/healthz") as r:
                assert r.status == 200
                assert (await r.json())["ok"] is True
        async with h.deps.uow() as u:
            stored_after, _ = await counts(connection_of(u))
        assert stored_after == stored   # nothing refused was stored


def test_webhook_settings_from_the_environment() -> None:
    cfg = load_config({"DUBAN_WEBHOOK_URL": "https://bot.example.gov.cn/telegram",
                       "DUBAN_WEBHOOK_LISTEN": "127.0.0.1", "DUBAN_WEBHOOK_PORT": "8081",
                       "DUBAN_WEBHOOK_SECRET": "abc_DEF-1"}, path=None)
    assert cfg.webhook_url == "https://bot.example.gov.cn/telegram"
    assert (cfg.webhook_listen, cfg.webhook_port, cfg.webhook_secret) == (
        "127.0.0.1", 8081, "abc_DEF-1")
    try:
        load_config({"DUBAN_WEBHOOK_SECRET": "含空格 的"}, path=None)
    except ConfigError as e:
        assert "DUBAN_WEBHOOK_SECRET" in str(e)
    else:
        raise AssertionError("a secret Telegram refuses was accepted")
    # No secret configured: one derived from the token, the same for every instance.
    a = webhook_secret(Config(token="123:abc"))
    assert a == webhook_secret(Config(token="123:abc")) != webhook_secret(Config(token="123:x"))
