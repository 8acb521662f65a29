"""Logging: plain text for a terminal, or one JSON object per line for a log collector.

Whatever the format, no secret is written: the bot token (it is in every Bot API URL) and
passwords in URLs are masked in the message and in the traceback alike.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO

# Libraries that talk a lot at INFO: APScheduler ~15 lines a minute when idle (every job
# run), httpx one per request (with the token in the URL), aiohttp's access log one per
# webhook POST (tornado's, in python-telegram-bot's own webhook server), alembic one per
# migration step.
NOISY = ("apscheduler", "httpx", "httpcore", "aiohttp.access", "tornado.access", "alembic")

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")

_TOKEN_RE = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{20,}")
_URL_PASSWORD_RE = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*):([^\s@/]+)@")


def redact(text: str, token: str | None = None) -> str:
    """`text` with the token (given, or anything shaped like one) and URL passwords masked."""
    if token:
        text = text.replace(token, "<token>")
    text = _TOKEN_RE.sub("<token>", text)
    return _URL_PASSWORD_RE.sub(r"\1:***@", text)


class TextFormatter(logging.Formatter):
    def __init__(self, token: str | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.token = token

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.token)


class JsonFormatter(logging.Formatter):
    """One object a line: time (ISO 8601, UTC), level, logger, message, exc (or null)."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token

    def format(self, record: logging.LogRecord) -> str:
        exc = None
        if record.exc_info:
            exc = self.formatException(record.exc_info)
        elif record.exc_text:
            exc = record.exc_text
        if record.stack_info:
            exc = (exc + "\n" if exc else "") + self.formatStack(record.stack_info)
        body = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage(), self.token),
            "exc": redact(exc, self.token) if exc else None,
        }
        return json.dumps(body, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test's capture, a redirect)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def configure_logging(fmt: str = "text", level: str = "INFO", *, token: str | None = None,
                      debug: bool = False, stream: IO[str] | None = None) -> logging.Handler:
    """One root handler to `stream` (stderr) in `fmt`, replacing the one a previous call
    installed; handlers others installed (a test runner's) stay."""
    handler: logging.Handler = (logging.StreamHandler(stream) if stream is not None
                                else _StderrHandler())
    handler.setFormatter(JsonFormatter(token) if fmt == "json" else TextFormatter(token))
    handler.set_name("duban")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "duban":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else getattr(logging, level.upper(), logging.INFO))
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
