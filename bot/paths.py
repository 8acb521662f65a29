"""Small helpers the CLI commands share (so they need not import bot.cli, the entry point)."""

from __future__ import annotations

from pathlib import Path

from storage.health import masked

__all__ = ["_display", "_ensure_dir"]


def _ensure_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _display(url: str) -> str:
    # Never print a password that may be in a PostgreSQL URL.
    return masked(url)
