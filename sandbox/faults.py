"""Fault injection: scripted failures for the next calls matching a method and/or chat."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    TOO_MANY_REQUESTS = "429"
    BAD_GATEWAY = "5xx"
    TIMEOUT = "timeout"
    FORBIDDEN = "forbidden"


@dataclass
class Fault:
    """One scripted failure, used for the next `remaining` matching calls.

    method None matches every method except getUpdates (long polling would otherwise
    swallow faults meant for the bot's own calls); chat_id None matches any chat.
    """

    kind: FaultKind
    remaining: int = 1
    method: str | None = None
    chat_id: int | None = None
    retry_after: int = 5
    status: int = 502
    hold: float = 30.0
    deliver: bool = False  # timeout only: perform the call, then lose the answer
    hits: int = 0

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is None:
            if method.lower() == "getupdates":
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, chat_id):
                fault.remaining -= 1
                fault.hits += 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
