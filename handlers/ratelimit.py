"""Telegram's flood limits, kept by the bot itself so Telegram never has to say 429.

`FloodLimits` are the documented broadcast limits (core.telegram.org/bots/faq): about one
message per second in a private chat, 20 per minute in a group, 30 per second overall.
`TelegramRateLimiter` is a python-telegram-bot `BaseRateLimiter`: every message-sending
call (send*, edit*, forward*, copy*) of the bot, replies to people and reminders alike,
waits for its chat's next free moment and then for the bot-wide pacer, so a busy chat
never holds up the others. A 429 that still arrives makes every call wait `retry_after`
(as Telegram asks), then the call is retried (`max_retries`), unless an outbox row is
being sent (`outbox_send`): the outbox retries that row itself, after `retry_after`, so a
notice has one retry policy and its attempts count every 429.

No polling: each waiter computes its moment and sleeps until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any

from telegram.error import RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from reminders.ratelimit import FloodLimits

log = logging.getLogger(__name__)

# Set while the outbox sends one row (handlers.delivery): a 429 goes back to it at once.
_OUTBOX_SEND: ContextVar[bool] = ContextVar("duban_outbox_send", default=False)


@contextlib.contextmanager
def outbox_send() -> Iterator[None]:
    """Calls made inside are not retried after a 429 (the block still holds every call)."""
    token = _OUTBOX_SEND.set(True)
    try:
        yield
    finally:
        _OUTBOX_SEND.reset(token)

JSONDict = dict[str, Any]
_Result = bool | JSONDict | list[JSONDict]


def retry_seconds(e: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds (int or timedelta, depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry = e.retry_after
    return float(retry if isinstance(retry, int | float) else retry.total_seconds())


def is_message_method(endpoint: str) -> bool:
    """Calls Telegram counts against flood limits."""
    name = endpoint.lower()
    if name in ("sendchataction", "sendmessagedraft"):
        return False
    return name.startswith(("send", "edit", "forward", "copy"))


def is_edit(endpoint: str) -> bool:
    return endpoint.lower().startswith("edit")


class Pacer:
    """GCRA: at most `burst` at once after a pause (so a short stall is made up), never more
    than `per_second` over time, and never more than `window` in any one second.
    `reserve()` hands out the next free moment (each one once)."""

    def __init__(self, per_second: float, burst: int = 1, window: int = 0,
                 window_s: float = 1.0) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.slack = (max(1, burst) - 1) * self.interval
        self._tat = 0.0  # theoretical arrival time: when the bucket is empty again
        self._recent: deque[float] = deque(maxlen=window) if window > 0 else deque(maxlen=1)
        self._window = window
        self._window_s = window_s

    def reserve(self, now: float) -> float:
        at = max(now, self._tat - self.slack)
        if self._recent:  # in order: the window below looks at the oldest
            at = max(at, self._recent[-1])
        if self._window and len(self._recent) == self._window:
            at = max(at, self._recent[0] + self._window_s)
        self._tat = max(self._tat, at) + self.interval
        self._recent.append(at)
        return at


class _Chat:
    """A chat's pacing (GCRA): `tat` is when its bucket is empty again; a message may go at
    tat - (burst - 1) * interval, and not before the oldest of its last `window` messages
    is `window_s` old."""

    __slots__ = ("lock", "recent", "tat")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.tat = 0.0
        self.recent: deque[float] = deque()

    def next_free(self, chat_id: int, limits: FloodLimits) -> float:
        slack = (limits.burst(chat_id) - 1) * limits.interval(chat_id)
        at = self.tat - slack
        n, span = limits.window(chat_id)
        if len(self.recent) >= n:
            at = max(at, self.recent[-n] + span)
        return at

    def record(self, chat_id: int, at: float, limits: FloodLimits) -> None:
        self.tat = max(self.tat, at) + limits.interval(chat_id)
        self.recent.append(at)
        n, _ = limits.window(chat_id)
        while len(self.recent) > n:
            self.recent.popleft()


class TelegramRateLimiter(BaseRateLimiter[None]):
    """Per-chat and bot-wide pacing plus honouring RetryAfter (retried `max_retries`
    times). No per-call arguments (`ExtBot[None]`, as `handlers.deps.App` expects)."""

    def __init__(self, limits: FloodLimits | None = None,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        """`clock` and `sleep`: a virtual time for tests (both or neither)."""
        self.limits = limits or FloodLimits()
        self._clock = clock
        self._sleep = sleep
        self._overall = Pacer(self.limits.overall_per_second, self.limits.overall_burst,
                              self.limits.overall_window, self.limits.overall_window_s)
        self._closed = asyncio.Event()
        self._chats: dict[int, _Chat] = {}
        self._blocked_until = 0.0
        self.retry_after_seen = 0

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        self._chats.clear()

    async def _sleep_until(self, at: float) -> None:
        delay = at - self._now()
        if delay > 0 and self._sleep is not None:
            await self._sleep(delay)
        elif delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), delay)
        if self._closed.is_set():
            # A clean stop: a call waiting for its chat's turn gives up (an outbox notice
            # stays pending and is sent after the restart).
            raise TimedOut("the bot is stopping")

    def close(self) -> None:
        """Calls waiting for their turn give up now (TimedOut), and any new call too."""
        self._closed.set()

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) > 10_000:
                self._prune()
            chat = self._chats[chat_id] = _Chat()
        return chat

    def _prune(self) -> None:
        now = self._now()
        quiet = now - self.limits.group_window_s  # a window still counting keeps its chat
        for key in [k for k, c in self._chats.items() if not c.lock.locked() and c.tat < now
                    and (not c.recent or c.recent[-1] < quiet)]:
            del self._chats[key]

    async def acquire(self, chat_id: int | None) -> None:
        """Wait until a message to `chat_id` may go out, and take that moment."""
        if chat_id is None:
            await self._overall_slot()
            return
        chat = self._chat(chat_id)
        async with chat.lock:  # one waiter per chat at a time: its messages keep their order
            await self._sleep_until(chat.next_free(chat_id, self.limits))
            at = await self._overall_slot()
            chat.record(chat_id, max(at, self._now()), self.limits)

    async def _overall_slot(self) -> float:
        while True:
            at = self._overall.reserve(max(self._now(), self._blocked_until))
            await self._sleep_until(at)
            if self._now() >= self._blocked_until:  # a 429 may have come in meanwhile
                return at

    def block(self, seconds: float) -> None:
        """Telegram said RetryAfter: nothing goes out for `seconds`."""
        self.retry_after_seen += 1
        self._blocked_until = max(self._blocked_until, self._now() + seconds)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> _Result:
        retries = 0 if _OUTBOX_SEND.get() else self.limits.max_retries
        limited = is_message_method(endpoint)
        chat_id: int | None = None
        raw = data.get("chat_id")
        if isinstance(raw, int):
            chat_id = raw
        elif isinstance(raw, str):
            with contextlib.suppress(ValueError):
                chat_id = int(raw)
        attempt = 0
        while True:
            if limited and chat_id is not None and chat_id > 0 and is_edit(endpoint):
                # Editing a message in a private chat adds no message to it: only the
                # bot-wide pace (a tapped button's card edit and its answer go together).
                await self.acquire(None)
            elif limited:
                await self.acquire(chat_id)
            else:  # not paced, and not refused at a stop either (getUpdates, getMe…)
                delay = self._blocked_until - self._now()
                if delay > 0:
                    await asyncio.sleep(delay)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as e:
                seconds = retry_seconds(e)
                self.block(seconds + 0.1)
                log.warning("Telegram RetryAfter %ss on %s (chat %s)", seconds, endpoint,
                            chat_id)
                if attempt >= retries:
                    raise
                attempt += 1
