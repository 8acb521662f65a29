"""Telegram's documented flood limits as data: the outbox dispatcher spaces each chat's
notices by them, and the chat layer's rate limiter (handlers.ratelimit) paces every call."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FloodLimits"]


@dataclass(frozen=True)
class FloodLimits:
    """Spacing (GCRA: interval and burst) plus hard windows: never more than `*_window`
    messages in any `*_window_s` seconds. The windows are a little longer than Telegram's
    (60 s, 1 s) so that a request's delay on the way cannot make two look closer."""

    overall_per_second: float = 29.5   # Telegram: 30/s; a little margin for jitter
    overall_burst: int = 8             # after a pause, this many may go at once (catch-up)…
    overall_window: int = 30           # …but never more than this many in any one second
    overall_window_s: float = 1.1
    private_interval: float = 1.1      # at most one message a second to a private chat
    private_burst: int = 1
    group_interval: float = 3.05       # spread out: 20 per minute per group…
    group_burst: int = 3
    group_window: int = 20             # …and never more than 20 in any rolling minute
    group_window_s: float = 60.5
    max_retries: int = 2               # after a 429 that slipped through anyway

    def interval(self, chat_id: int | None) -> float:
        if chat_id is None:
            return 0.0
        return self.group_interval if chat_id < 0 else self.private_interval

    def burst(self, chat_id: int | None) -> int:
        if chat_id is None:
            return 1
        return max(1, self.group_burst if chat_id < 0 else self.private_burst)

    def window(self, chat_id: int) -> tuple[int, float]:
        """(messages, seconds): the chat's hard window."""
        return (self.group_window, self.group_window_s) if chat_id < 0 else (
            1, self.private_interval)
