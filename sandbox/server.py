"""A local Telegram Bot API server (aiohttp) for end-to-end tests, benchmarks and demos.

PTB talks to it through its normal HTTP stack::

    ApplicationBuilder().token(token).base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")

Every request is validated against the Bot API spec file; answers are checked against the
spec's return types (`check_responses`). Flood limits, scripted faults and blocked chats
reproduce the failures a production bot meets. People (sandbox.people) act in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from sandbox.errors import (
    ApiError,
    SandboxUsageError,
    bad_request,
    forbidden,
    not_found,
    too_many_requests,
    unauthorized,
)
from sandbox.faults import Fault, FaultKind, FaultPlan
from sandbox.limits import FloodLimiter, FloodLimits, is_message_method
from sandbox.methods import HANDLERS, CallContext
from sandbox.people import Group, Person
from sandbox.spec import BotApiSpec, MethodSpec, UploadedFile
from sandbox.world import BotAccount, CallbackRecord, ChatState, MessageRecord, World

log = logging.getLogger(__name__)
T = TypeVar("T")

_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]{20,}")
_MB = 1024 * 1024


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port chosen by the OS
    flood: FloodLimits = field(default_factory=FloodLimits)
    # monotonic seconds for flood limits and call times; None: the running loop's time
    clock: Callable[[], float] | None = None
    wall_clock: Callable[[], float] = time.time  # Message.date
    spec_path: str | Path | None = None
    check_responses: bool = True  # answer 500 rather than send PTB a non-conforming object
    record_calls: bool = True
    max_poll_timeout: float = 50.0
    webhook_timeout: float = 10.0
    webhook_retry_delay: float = 0.5
    max_upload_bytes: int = 50 * _MB


@dataclass
class CallRecord:
    """One bot call as the sandbox saw it (files shown as metadata, not bytes)."""

    method: str
    params: dict[str, Any]
    time: float
    bot_id: int
    ok: bool
    error_code: int | None = None
    description: str | None = None
    fault: str | None = None

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


class SandboxServer:
    """Local Bot API server with simulated people. See the module docstring."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._spec: BotApiSpec | None = None
        self.world = World(clock=self.now, wall_clock=self.config.wall_clock)
        self.limiter = FloodLimiter(self.config.flood, self.now)
        self.faults = FaultPlan()
        self.calls: list[CallRecord] = []
        self.internal_errors: list[str] = []
        self.too_many_requests = 0  # every 429 answered: flood limits and injected ones
        self.root = ""
        self._people: dict[int, Person] = {}
        self._default_bot: BotAccount | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed: asyncio.Event | None = None
        self._webhook_tasks: dict[int, asyncio.Task[None]] = {}

    # ---- lifecycle --------------------------------------------------------------------

    @property
    def spec(self) -> BotApiSpec:
        if self._spec is None:
            self._spec = BotApiSpec.load(self.config.spec_path)
        return self._spec

    def now(self) -> float:
        clock = self.config.clock
        return clock() if clock is not None else asyncio.get_running_loop().time()

    async def start(self) -> str:
        """Serve on config.host:config.port; returns the root URL, e.g. http://127.0.0.1:4711."""
        if self._runner is not None:
            return self.root
        self.world.closing = False
        self._closed = asyncio.Event()
        if self._spec is None:
            # ~1 MB of JSON, read once per process: keep it off the event loop
            self._spec = await asyncio.to_thread(BotApiSpec.load, self.config.spec_path)
        app = web.Application(client_max_size=self.config.max_upload_bytes + _MB)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        self.root = f"http://{host}:{port}"
        for bot in self.world.bots.values():
            self.webhook_changed(bot)
        return self.root

    async def stop(self) -> None:
        """Answer pending long polls, stop webhook delivery and close the listener."""
        self.world.closing = True
        if self._closed is not None:
            self._closed.set()
        for bot in self.world.bots.values():
            bot.signal.fire()
        self.world.activity.fire()
        tasks = list(self._webhook_tasks.values())
        self._webhook_tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return int(self.root.rsplit(":", 1)[1]) if self.root else 0

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url()."""
        return f"{self.root}/bot"

    @property
    def base_file_url(self) -> str:
        """For ApplicationBuilder().base_file_url()."""
        return f"{self.root}/file/bot"

    # ---- the simulated world ------------------------------------------------------------

    def create_bot(
        self, username: str = "sandbox_bot", *, first_name: str | None = None,
        token: str | None = None,
    ) -> str:
        """Register a bot; returns its token. The first bot is the people's default bot."""
        bot = self.world.create_bot(username, first_name, token)
        if self._default_bot is None:
            self._default_bot = bot
        return bot.token

    def bot(self, token: str | None = None) -> BotAccount:
        """A bot by token (default: the first one created)."""
        if token is None:
            if self._default_bot is None:
                raise SandboxUsageError("no bot yet: call server.create_bot() first")
            return self._default_bot
        bot = self.world.bots_by_token.get(token)
        if bot is None:
            raise SandboxUsageError(f"unknown bot token {token!r}")
        return bot

    def person(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = True,
    ) -> Person:
        """A new Telegram user. started=False: has never opened a chat with any bot, so the
        bot gets 403 "bot can't initiate conversation" until the person writes to it."""
        account = self.world.create_user(first_name, last_name, username, language_code, started)
        person = Person(self, account)
        self._people[account.id] = person
        return person

    def group(
        self,
        title: str,
        members: Iterable[Person] = (),
        *,
        supergroup: bool = False,
        username: str | None = None,
    ) -> Group:
        """A group chat (negative id) with these people; every bot is in it."""
        chat = self.world.create_group(title, [p.id for p in members], supergroup, username)
        return Group(self, chat)

    def channel(self, title: str, *, username: str | None = None) -> Group:
        """A channel (-100… id) every bot may post to and edit in, e.g. a public notice
        board. Read it with `.messages()`."""
        return Group(self, self.world.create_channel(title, username))

    def people(self) -> list[Person]:
        return list(self._people.values())

    def person_by_id(self, user_id: int) -> Person:
        return self._people[user_id]

    # ---- flood limits and faults ------------------------------------------------------

    @property
    def flood(self) -> FloodLimits:
        return self.config.flood

    def set_flood_limits(
        self, limits: FloodLimits | None = None, *, enabled: bool | None = None
    ) -> None:
        """Replace and/or switch the flood limits; buckets restart full."""
        if limits is not None:
            self.config.flood = limits
            self.limiter.limits = limits
        if enabled is not None:
            self.config.flood.enabled = enabled
        self.limiter.reset()

    @property
    def flood_rejections(self) -> int:
        """429s caused by the flood limits (as opposed to injected ones)."""
        return self.limiter.rejected

    def inject_fault(
        self,
        kind: FaultKind | str | int,
        *,
        times: int = 1,
        method: str | None = None,
        chat_id: int | None = None,
        retry_after: int = 5,
        status: int = 502,
        hold: float = 30.0,
        deliver: bool = False,
    ) -> Fault:
        """Fail the next `times` calls matching method/chat_id.

        kind: "429" (RetryAfter with retry_after), "5xx" (HTTP `status`, default 502 Bad
        Gateway), "timeout" (hold the request `hold` seconds, then drop the connection;
        deliver=True performs the call first, so the message exists but the answer is
        lost) or "forbidden" (403 bot was blocked by the user). method=None matches every
        method except getUpdates.
        """
        fault = Fault(
            kind=FaultKind(str(kind)),  # 429 works as well as "429"
            remaining=times,
            method=method,
            chat_id=chat_id,
            retry_after=retry_after,
            status=status,
            hold=hold,
            deliver=deliver,
        )
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    def block_chat(self, chat_id: int, *, bot: str | None = None) -> None:
        """Every call sending to this chat gets 403 (blocked by user / kicked from group)."""
        self.world.blocked.add((self.bot(bot).id if bot else 0, chat_id))

    def unblock_chat(self, chat_id: int, *, bot: str | None = None) -> None:
        self.world.blocked.discard((self.bot(bot).id if bot else 0, chat_id))

    # ---- bookkeeping ------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = True) -> list[CallRecord]:
        """Recorded calls of one method (case-insensitive); ok=None: failed ones too."""
        name = method.lower()
        return [
            c for c in self.calls if c.method.lower() == name and (ok is None or c.ok == ok)
        ]

    def chat_state(self, chat: int | Person | Group, *, bot: str | None = None) -> ChatState:
        chat_id = chat if isinstance(chat, int) else chat.id
        state = self.world.find_chat(self.bot(bot), chat_id)
        if state is None:
            raise SandboxUsageError(f"no chat {chat_id}")
        return state

    def sent_messages(
        self,
        chat: int | Person | Group,
        *,
        bot: str | None = None,
        include_deleted: bool = True,
    ) -> list[MessageRecord]:
        """Messages bots sent to a chat (private chat: with `bot`), edits applied."""
        state = self.chat_state(chat, bot=bot)
        # a private chat belongs to one bot already; in groups `bot` narrows to one sender
        bot_id = self.bot(bot).id if bot is not None and state.type != "private" else None
        return self.world.chat_messages(
            state, from_bot=True, bot_id=bot_id, include_deleted=include_deleted
        )

    def chat_history(
        self, chat: int | Person | Group, *, bot: str | None = None, include_deleted: bool = True
    ) -> list[MessageRecord]:
        """All messages of a chat: people's and bots'."""
        state = self.chat_state(chat, bot=bot)
        return self.world.chat_messages(state, include_deleted=include_deleted)

    def callback(self, query_id: str) -> CallbackRecord:
        return self.world.callbacks[query_id]

    async def wait_until(self, probe: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Wait (event driven) until probe() returns non-None after some sandbox activity."""
        return await self.world.activity.wait_for(probe, timeout)

    def stats(self) -> dict[str, int]:
        return {
            "calls": len(self.calls),
            "failed_calls": sum(1 for c in self.calls if not c.ok),
            "too_many_requests": self.too_many_requests,
            "flood_rejections": self.flood_rejections,
            "internal_errors": len(self.internal_errors),
        }

    # ---- HTTP -------------------------------------------------------------------------

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> web.Response:
        return web.Response(
            text=json.dumps(body, ensure_ascii=False),
            status=status,
            content_type="application/json",
        )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if token not in self.world.bots_by_token:
            error = unauthorized() if _TOKEN_RE.fullmatch(token) else not_found()
            return self._json(error.to_json(), error.http_status)
        record = self.world.files_by_path.get(request.match_info["path"])
        if record is None:
            return self._json(not_found().to_json(), 404)
        return web.Response(
            body=record.data, content_type=record.mime_type or "application/octet-stream"
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        bot = self.world.bots_by_token.get(token)
        if bot is None:
            error = unauthorized() if _TOKEN_RE.fullmatch(token) else not_found()
            return self._json(error.to_json(), error.http_status)
        spec_method = self.spec.method(request.match_info["method"])
        if spec_method is None:
            return self._json(not_found().to_json(), 404)
        name = spec_method.name
        started = self.now()
        shown: dict[str, Any] = {}
        fault: Fault | None = None
        try:
            raw, uploads = await self._read_params(request)
            shown = _describe(raw)
            params = self.spec.parse_params(spec_method, raw, uploads)
            shown = _describe(params)
            chat_key = self._chat_key(bot, params.get("chat_id"))
            fault = self.faults.take(name, chat_key)
            if fault is not None:
                return await self._apply_fault(fault, request, bot, spec_method, params, uploads)
            is_message = is_message_method(name)
            if chat_key is not None and (is_message or name == "sendChatAction"):
                chat = self.world.find_chat(bot, chat_key)
                if chat is not None:
                    self.world.check_not_blocked(bot, chat)
            if is_message:
                retry_after = self.limiter.acquire(bot.id, chat_key)
                if retry_after is not None:
                    raise too_many_requests(retry_after)
            result = await self._execute(bot, spec_method, params, uploads)
        except ApiError as exc:
            self._record(name, shown, started, bot, exc, fault)
            return self._json(exc.to_json(), exc.http_status)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:
            detail = f"{name}: {exc!r}\n{traceback.format_exc()}"
            log.error("sandbox internal error in %s", detail)
            self.internal_errors.append(detail)
            error = ApiError(500, f"Internal Server Error: {exc!r}")
            self._record(name, shown, started, bot, error, fault)
            return self._json(error.to_json(), 500)
        self._record(name, shown, started, bot, None, None)
        return self._json({"ok": True, "result": result})

    async def _execute(
        self,
        bot: BotAccount,
        spec_method: MethodSpec,
        params: dict[str, Any],
        uploads: dict[str, UploadedFile],
    ) -> Any:
        handler = HANDLERS.get(spec_method.name)
        if handler is None:
            if spec_method.returns_boolean_only:
                return True
            raise bad_request("method not supported by sandbox")
        ctx = CallContext(
            world=self.world,
            bot=bot,
            uploads=uploads,
            hooks=self,
            max_poll_timeout=self.config.max_poll_timeout,
        )
        result = await handler(ctx, params)
        if self.config.check_responses:
            problems = self.spec.check_result(spec_method, result)
            if problems:
                raise RuntimeError(
                    f"sandbox answer to {spec_method.name} breaks the spec: {problems}"
                )
        return result

    async def _apply_fault(
        self,
        fault: Fault,
        request: web.Request,
        bot: BotAccount,
        spec_method: MethodSpec,
        params: dict[str, Any],
        uploads: dict[str, UploadedFile],
    ) -> web.StreamResponse:
        if fault.kind is FaultKind.TOO_MANY_REQUESTS:
            raise too_many_requests(fault.retry_after)
        if fault.kind is FaultKind.FORBIDDEN:
            raise forbidden("bot was blocked by the user")
        if fault.kind is FaultKind.BAD_GATEWAY:
            raise ApiError(fault.status, HTTPStatus(fault.status).phrase)
        # timeout: the client gives up first; then the connection just dies
        started = self.now()
        if fault.deliver:
            with contextlib.suppress(ApiError):
                await self._execute(bot, spec_method, params, uploads)
        self._record(spec_method.name, _describe(params), started, bot, None, fault)
        await self._pause(fault.hold)
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError

    async def _pause(self, seconds: float) -> None:
        """Sleep that ends early when the server stops."""
        if self._closed is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    def _chat_key(self, bot: BotAccount, chat_id: Any) -> int | None:
        if isinstance(chat_id, int):
            return chat_id
        if isinstance(chat_id, str):
            with contextlib.suppress(ApiError):
                return self.world.resolve_chat(bot, chat_id, sending=False).id
        return None

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        started: float,
        bot: BotAccount,
        error: ApiError | None,
        fault: Fault | None,
    ) -> None:
        if error is not None and error.error_code == 429:
            self.too_many_requests += 1
        if not self.config.record_calls:
            return
        self.calls.append(
            CallRecord(
                method=method,
                params=params,
                time=started,
                bot_id=bot.id,
                ok=error is None and fault is None,
                error_code=error.error_code if error else None,
                description=error.description if error else None,
                fault=fault.kind.value if fault else None,
            )
        )

    @staticmethod
    async def _read_params(
        request: web.Request,
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        """Query string plus JSON, form-urlencoded or multipart body, files kept in memory."""
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return params, uploads
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON request body must be an object")
            params.update(body)
        elif ctype == "application/x-www-form-urlencoded":
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif ctype.startswith("multipart/"):
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    upload = UploadedFile(
                        field=part.name,
                        data=bytes(await part.read(decode=True)),
                        filename=_filename(part.filename),
                        content_type=part.headers.get(aiohttp.hdrs.CONTENT_TYPE),
                    )
                    uploads[part.name] = upload
                    params[part.name] = upload
                else:
                    params[part.name] = await part.text()
        return params, uploads

    # ---- webhooks ---------------------------------------------------------------------

    def webhook_changed(self, bot: BotAccount) -> None:
        """Start delivering to the bot's webhook (the worker exits once it is removed)."""
        if bot.webhook is None or self._closed is None or self.world.closing:
            return
        task = self._webhook_tasks.get(bot.id)
        if task is None or task.done():
            self._webhook_tasks[bot.id] = asyncio.get_running_loop().create_task(
                self._deliver_webhook(bot), name=f"sandbox-webhook-{bot.id}"
            )

    async def _deliver_webhook(self, bot: BotAccount) -> None:
        failures = 0
        while not self.world.closing and bot.webhook is not None:
            hook = bot.webhook

            def probe(hook: Any = hook) -> dict[str, Any] | None:
                if self.world.closing or bot.webhook is not hook:
                    return {}
                return self.world.next_webhook_update(bot)

            update = await bot.signal.wait_for(probe, None)
            if not update:
                continue
            headers = {"Content-Type": "application/json"}
            if hook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
            error: str | None = None
            try:
                async with self._client().post(
                    hook.url,
                    data=json.dumps(update, ensure_ascii=False).encode("utf-8"),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout),
                ) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"Connection failed: {exc!r}"
            if error is None:
                failures = 0
                hook.delivered += 1
                self.world.confirm(bot, update["update_id"] + 1)
                continue
            failures += 1
            hook.last_error_date = int(self.config.wall_clock())
            hook.last_error_message = error
            await self._pause(min(self.config.webhook_retry_delay * 2 ** (failures - 1), 10.0))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session


def _filename(name: str) -> str:
    """aiohttp's client percent-encodes non-ASCII file names; httpx (PTB) sends UTF-8."""
    if "%" in name:
        try:
            decoded = unquote(name, errors="strict")
        except UnicodeDecodeError:
            return name
        if decoded != name and not decoded.isascii():
            return decoded
    return name


def _describe(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v.describe() if isinstance(v, UploadedFile) else v for k, v in params.items()}
