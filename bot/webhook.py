"""Webhook mode: Telegram POSTs each update to `[webhook] url`; we answer 200 only once it
is stored in the inbox (bot.inbox), so an update Telegram was told we have is never lost.

Our own small aiohttp server rather than PTB's (tornado) one: PTB answers 200 as soon as
the update is queued in memory. It serves the path of the public URL (a reverse proxy
forwarding /telegram reaches it), refuses a POST without the secret token (403), and answers
GET /healthz on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from bot.config import Config
from bot.inbox import DurableIntake
from handlers.deps import App
from storage.inbox import counts
from storage.uow import connection_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 4 * 1024 * 1024


def webhook_secret(config: Config) -> str:
    """The configured secret, else one derived from the token: the same on every instance
    behind a load balancer, and unguessable without the token."""
    if config.webhook_secret:
        return config.webhook_secret
    assert config.token
    return hashlib.sha256(f"duban-webhook:{config.token}".encode()).hexdigest()


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


class WebhookServer:
    def __init__(self, app: App, intake: DurableIntake, config: Config) -> None:
        assert config.webhook_url
        self.app = app
        self.intake = intake
        self.config = config
        self.url = config.webhook_url
        self.path = webhook_path(config.webhook_url)
        self.secret = webhook_secret(config)
        self.accepting = False
        self.refused = 0
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._pruner: asyncio.Task[None] | None = None

    async def start(self, *, set_webhook: bool = True) -> None:
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(self.path, self._update)
        web_app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.webhook_listen, self.config.webhook_port)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self.config.webhook_port
        self.accepting = True
        self._pruner = asyncio.create_task(self.intake.prune_every(), name="duban-inbox-prune")
        if set_webhook:
            await self.app.bot.set_webhook(url=self.url, secret_token=self.secret,
                                           drop_pending_updates=False)
        log.info("webhook: serving %s on %s:%s", self.path, self.config.webhook_listen,
                 self.port)

    async def stop(self) -> None:
        """Stop taking updates (Telegram keeps them and retries later); the webhook stays
        set, since other instances behind a load balancer may still serve it."""
        self.accepting = False
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
            self._pruner = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.refused += 1
            return web.Response(status=403, text="forbidden")
        if not self.accepting:
            return web.Response(status=503, text="stopping")
        try:
            payload = json.loads(await request.read())
            upd = Update.de_json(payload, self.app.bot)
        except Exception:
            return web.Response(status=400, text="not an update")
        try:
            fresh = await self.intake.store([upd])
        except Exception:
            log.exception("webhook: storing update %s failed", upd.update_id)
            return web.Response(status=500, text="not stored")  # Telegram tries again
        for u in fresh:
            await self.app.update_queue.put(u)
        return web.Response(status=200)

    async def _health(self, request: web.Request) -> web.Response:

        try:
            async with self.intake.uow() as u:
                stored, done = await counts(connection_of(u), self.intake.bot_id)
        except Exception:
            return web.json_response({"ok": False, "database": "unreachable"}, status=503)
        return web.json_response({"ok": self.accepting, "inbox_pending": stored - done},
                                 status=200 if self.accepting else 503)
